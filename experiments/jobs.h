#ifndef NFTCIM_EXPERIMENTS_JOBS_H_
#define NFTCIM_EXPERIMENTS_JOBS_H_

// From an experiment to jobs: what each job trains and evaluates, its key,
// its training directory, the trainer command lines, its dependencies, and
// the beta selection rule that resolves a final job's beta from the search
// records.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "experiments/record.pb.h"

namespace nftcim::experiments {

enum class Stage { kSearch, kFinal, kAblation, kEmulator };
const char* StageName(Stage stage);

// A job before its beta is known.
struct JobSpec {
  Stage stage = Stage::kFinal;
  std::string key;
  std::string method;
  // Training sigma (0 for vanilla, which trains without variation).
  double sigma = 0;
  uint32_t seed = 0;
  // Fixed beta, or (beta_from_search) the one the search chooses for
  // (method, sigma). Methods without feedback train with beta 0.
  double beta = 0;
  bool beta_from_search = false;
  // Variant (ablations); the name is empty for the main grid.
  Ablation variant;
  // "validation" (search) or "test".
  std::string eval_split = "test";
  std::vector<double> eval_sigmas;
  int32_t eval_runs = 0;
  // Keys whose records must exist before this job can start: the search jobs
  // of (method, sigma) when beta_from_search; the final job for an emulator
  // job.
  std::vector<std::string> depends_on;
  // Estimated cost in seconds of one core (VGG-8 width 0.25 calibration),
  // used for the order of jobs, the progress bar and --dry_run.
  double cost = 0;
};

// Every job of the experiment, in the order the sweep prefers to start them
// (search first, then final, ablation, emulator; expensive first within a
// stage). Keys are unique.
std::vector<JobSpec> ExpandJobs(const Experiment& e);

// 64-bit FNV-1a of the text, as 8 hex digits (the top 32 bits).
std::string Fingerprint(const std::string& text);

// Name of the training directory of a job once its beta is known, e.g.
// "ovf_sigma0.2_beta0.001_seed1-1a2b3c4d". Two jobs that train the same
// model (a search candidate and the final run it is chosen as) share it.
std::string TrainId(const Experiment& e, const JobSpec& job, double beta);

// Name of the evaluation output within the training directory, e.g.
// "eval-test-5e6f7a8b" (".json" and ".log" are appended).
std::string EvalId(const Experiment& e, const JobSpec& job);

// Training images: train_limit - V (or -1 when train_limit is 0: all - V).
int64_t TrainImages(const Experiment& e);

// Command-line flags for //trainer:train (a fresh run, or --resume) and
// //trainer:evaluate; the binary is not included.
std::vector<std::string> TrainFlags(const Experiment& e, const JobSpec& job, double beta,
                                    const std::string& out_dir, int threads, bool resume);
std::vector<std::string> EvalFlags(const Experiment& e, const JobSpec& job,
                                   const std::string& checkpoint, const std::string& json,
                                   int threads);

// The beta selection rule, stated once: among the candidates whose search
// runs all succeeded, the highest validation Monte Carlo mean accuracy at the
// training sigma (averaged over the search seeds); an exact tie (within
// 1e-9 points) goes to the SMALLER beta, the weaker change to the objective.
inline constexpr char kBetaRule[] =
    "highest validation Monte Carlo mean accuracy at the training sigma (mean over the search "
    "seeds); ties go to the smaller beta";

struct BetaChoice {
  // False while some search job of (method, sigma) has no record yet.
  bool ready = false;
  // Set when ready and at least one candidate succeeded.
  bool ok = false;
  double beta = 0;
  std::string error;
  std::vector<BetaCandidate> candidates;
};

// Applies kBetaRule to candidates (only those with ok = true count).
absl::StatusOr<double> SelectBeta(const std::vector<BetaCandidate>& candidates);

// The choice for (method, sigma) from the records of its search jobs.
BetaChoice ChooseBeta(const Experiment& e, const std::string& method, double sigma,
                      const std::map<std::string, JobRecord>& records);

// Key of the search job of (method, sigma, beta, seed).
std::string SearchKey(const Experiment& e, const std::string& method, double sigma, double beta,
                      uint32_t seed);

}  // namespace nftcim::experiments

#endif  // NFTCIM_EXPERIMENTS_JOBS_H_
