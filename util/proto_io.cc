#include "util/proto_io.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "util/atomic_file.h"

namespace nftcim {
namespace {

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0; editors count from 1.
    errors_.push_back(absl::StrCat("line ", line + 1, ", column ", column + 1,
                                   ": ", message));
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber,
                  const std::string&) override {}
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

}  // namespace

absl::Status ReadBinaryProto(const std::string& path,
                             google::protobuf::Message* message) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  message->Clear();
  if (!message->ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' is not a valid binary ", message->GetTypeName(),
        " (", bytes->size(), " bytes could not be parsed; truncated or a different file?)"));
  }
  return absl::OkStatus();
}

absl::Status WriteBinaryProto(const std::string& path,
                              const google::protobuf::Message& message) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat("cannot serialize ", message.GetTypeName(),
                                            " for '", path, "'"));
  }
  return WriteFileAtomically(path, bytes);
}

absl::Status ParseTextProto(const std::string& text, const std::string& origin,
                            google::protobuf::Message* message) {
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  message->Clear();
  if (!parser.ParseFromString(text, message)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", origin, "' is not a valid text-format ", message->GetTypeName(), ": ",
        errors.Joined()));
  }
  return absl::OkStatus();
}

absl::Status ReadTextProto(const std::string& path,
                           google::protobuf::Message* message) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseTextProto(*text, path, message);
}

absl::Status WriteTextProto(const std::string& path,
                            const google::protobuf::Message& message) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(message, &text)) {
    return absl::InternalError(absl::StrCat("cannot print ", message.GetTypeName(),
                                            " for '", path, "'"));
  }
  return WriteFileAtomically(path, text);
}

absl::Status ReadProto(const std::string& path,
                       google::protobuf::Message* message) {
  for (const char* ext : {".textproto", ".txtpb", ".pbtxt", ".txt"}) {
    if (absl::EndsWith(path, ext)) return ReadTextProto(path, message);
  }
  return ReadBinaryProto(path, message);
}

}  // namespace nftcim
