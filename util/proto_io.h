#ifndef NFTCIM_UTIL_PROTO_IO_H_
#define NFTCIM_UTIL_PROTO_IO_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace nftcim {

// Binary protobuf files (checkpoints, deployable models). Errors name the
// file and the message type that was expected.
absl::Status ReadBinaryProto(const std::string& path,
                             google::protobuf::Message* message);
absl::Status WriteBinaryProto(const std::string& path,
                              const google::protobuf::Message& message);

// Text-format files for people (configurations, manifests). Parse errors
// carry the file, line and column.
absl::Status ReadTextProto(const std::string& path,
                           google::protobuf::Message* message);
absl::Status ParseTextProto(const std::string& text, const std::string& origin,
                            google::protobuf::Message* message);
absl::Status WriteTextProto(const std::string& path,
                            const google::protobuf::Message& message);

// Reads binary or text format, chosen by the extension: ".textproto",
// ".txtpb", ".pbtxt" and ".txt" are text; anything else binary.
absl::Status ReadProto(const std::string& path,
                       google::protobuf::Message* message);

}  // namespace nftcim

#endif  // NFTCIM_UTIL_PROTO_IO_H_
