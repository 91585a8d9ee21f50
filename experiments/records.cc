#include "experiments/records.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "util/atomic_file.h"

namespace nftcim::experiments {
namespace {

namespace pbu = google::protobuf::util;

// %g prints non-finite doubles as nan/inf, which JSON lacks; proto3 JSON
// spells them "NaN" / "Infinity".
std::string FixNonFinite(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"' && (i == 0 || json[i - 1] != '\\')) in_string = !in_string;
    if (!in_string) {
      auto at = [&](const char* word) { return json.compare(i, std::strlen(word), word) == 0; };
      if (at("-nan")) { out += "\"NaN\""; i += 3; continue; }
      if (at("nan")) { out += "\"NaN\""; i += 2; continue; }
      if (at("-inf")) { out += "\"-Infinity\""; i += 3; continue; }
      if (at("inf")) { out += "\"Infinity\""; i += 2; continue; }
    }
    out += c;
  }
  return out;
}

template <typename M>
absl::Status ParseJson(const std::string& json, M* message) {
  pbu::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = pbu::JsonStringToMessage(FixNonFinite(json), message, options);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return absl::OkStatus();
}

}  // namespace

std::string RecordToJson(const Record& record) {
  pbu::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  const auto status = pbu::MessageToJsonString(record, &out, options);
  if (!status.ok()) return "{}";
  return out;
}

absl::StatusOr<Record> RecordFromJson(const std::string& line) {
  Record r;
  if (absl::Status s = ParseJson(line, &r); !s.ok()) return s;
  if (r.type() != "job" && r.type() != "sweep") {
    return absl::InvalidArgumentError(absl::StrCat("unknown record type '", r.type(), "'"));
  }
  if (r.type() == "job" && r.job().key().empty()) {
    return absl::InvalidArgumentError("job record without a key");
  }
  return r;
}

absl::StatusOr<RecordsFile> ReadRecords(const std::string& path) {
  RecordsFile file;
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return file;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return file;
    return text.status();
  }
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    absl::StatusOr<Record> r = RecordFromJson(std::string(line));
    if (!r.ok()) {
      file.warnings.push_back(absl::StrCat(path, ":", line_number, ": skipped, not a record (",
                                           r.status().message().substr(0, 120), ")"));
      continue;
    }
    if (r->type() == "job") {
      file.jobs[r->job().key()] = r->job();
    } else {
      file.sweeps.push_back(r->sweep());
    }
  }
  return file;
}

absl::Status PrepareRecordsFile(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    if (absl::Status s = MakeDirectories(path.substr(0, slash)); !s.ok()) return s;
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat(path, ": cannot open records: ", std::strerror(errno)));
  }
  struct stat st;
  absl::Status status;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      // A kill tore the last line: end it so the next record starts clean.
      if (::pwrite(fd, "\n", 1, st.st_size) != 1 || ::fsync(fd) != 0) {
        status = absl::InternalError(absl::StrCat(path, ": cannot repair: ", std::strerror(errno)));
      }
    }
  }
  ::close(fd);
  return status;
}

absl::Status AppendRecord(const std::string& path, const Record& record) {
  return AppendLineDurably(path, RecordToJson(record));
}

absl::StatusOr<TrainMetrics> ParseTrainMetrics(const std::string& json) {
  TrainerMetricsJson m;
  if (absl::Status s = ParseJson(json, &m); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("metrics.json: ", s.message()));
  }
  TrainMetrics out;
  out.history.assign(m.history().begin(), m.history().end());
  out.finished = m.has_monte_carlo();
  return out;
}

absl::StatusOr<std::vector<McPoint>> ParseMcResults(const std::string& json) {
  McResultsJson m;
  if (absl::Status s = ParseJson(json, &m); !s.ok()) return s;
  if (m.results().empty()) return absl::InvalidArgumentError("no \"results\"");
  return std::vector<McPoint>(m.results().begin(), m.results().end());
}

}  // namespace nftcim::experiments
