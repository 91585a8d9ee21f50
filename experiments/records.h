#ifndef NFTCIM_EXPERIMENTS_RECORDS_H_
#define NFTCIM_EXPERIMENTS_RECORDS_H_

// The sweep's records file (record.proto): JSON lines appended durably, read
// back tolerantly (a line torn by a kill is skipped with a warning), plus the
// readers of the trainer's own JSON outputs.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "experiments/record.pb.h"

namespace nftcim::experiments {

struct RecordsFile {
  // Job records by key; the last line of a key wins.
  std::map<std::string, JobRecord> jobs;
  std::vector<SweepStart> sweeps;
  // Lines that were not records (torn by a kill, edited by hand), with their
  // line numbers.
  std::vector<std::string> warnings;
};

// One line of JSON, no trailing newline.
std::string RecordToJson(const Record& record);
absl::StatusOr<Record> RecordFromJson(const std::string& line);

// A missing file is an empty RecordsFile.
absl::StatusOr<RecordsFile> ReadRecords(const std::string& path);

// Makes sure the next append starts on a fresh line (a kill may have torn the
// last one) and that the file and its folder exist.
absl::Status PrepareRecordsFile(const std::string& path);

// Appends one record as a line and fsyncs (util/atomic_file.h).
absl::Status AppendRecord(const std::string& path, const Record& record);

// //trainer:train's metrics.json: the per-epoch history, and whether the run
// finished (the file then has its final "monte_carlo" table).
struct TrainMetrics {
  std::vector<EpochPoint> history;
  bool finished = false;
};
absl::StatusOr<TrainMetrics> ParseTrainMetrics(const std::string& json);

// //trainer:evaluate's (and //emulator:emulate's) {"results": [...]} JSON.
absl::StatusOr<std::vector<McPoint>> ParseMcResults(const std::string& json);

}  // namespace nftcim::experiments

#endif  // NFTCIM_EXPERIMENTS_RECORDS_H_
