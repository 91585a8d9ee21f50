#ifndef NFTCIM_EXPERIMENTS_CONFIG_H_
#define NFTCIM_EXPERIMENTS_CONFIG_H_

// Reading and checking an experiment configuration (experiment.proto), and
// the values derived from it that every part of the sweep agrees on.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"

namespace nftcim::experiments {

inline constexpr int kFormatVersion = 1;

// Reads a text-format Experiment and validates it. Errors name the file and,
// for a parse error, the line and column; for a bad value, the field.
absl::StatusOr<Experiment> LoadExperiment(const std::string& path);
absl::StatusOr<Experiment> ParseExperiment(const std::string& text, const std::string& origin);

// Checks every field; the first problem is returned as
// "<field>: <what is wrong>; <what is expected>".
absl::Status ValidateExperiment(const Experiment& e);

// The evaluation sigmas, explicit or expanded from the range, each rounded
// to 1e-9 so that 3 * 0.05 is 0.15.
std::vector<double> EvaluationSigmas(const Evaluation& evaluation);

// Shortest decimal text of a sigma or beta ("0.15", "0.001"), the same on
// the command line, in keys and in records.
std::string FormatNumber(double v);

// Methods whose objective uses beta (the negative feedback ones).
bool UsesBeta(const std::string& method);

// Derived settings with their defaults applied.
int64_t MonitorTestLimit(const Experiment& e);
int32_t BatchSize(const Experiment& e);
int32_t SearchRuns(const Experiment& e);
std::vector<uint32_t> SearchSeeds(const Experiment& e);
// True when there is more than one beta candidate.
bool HasBetaSearch(const Experiment& e);
// The only candidate, when there is no search.
double FixedBeta(const Experiment& e);
std::string DevicePreset(const Experiment& e);  // "gaussian" when empty

}  // namespace nftcim::experiments

#endif  // NFTCIM_EXPERIMENTS_CONFIG_H_
