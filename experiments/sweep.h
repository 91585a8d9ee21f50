#ifndef NFTCIM_EXPERIMENTS_SWEEP_H_
#define NFTCIM_EXPERIMENTS_SWEEP_H_

// The sweep: expands an experiment into jobs, runs them in parallel worker
// processes (the trainer's binaries), and appends one record per finished job.
// Restarting with the same records file skips what is recorded and resumes
// half-trained runs from their checkpoints.

#include <string>
#include <vector>

#include "experiments/experiment.pb.h"
#include "experiments/jobs.h"
#include "experiments/record.pb.h"

namespace nftcim::experiments {

struct SweepOptions {
  std::string config_path;
  std::string records_path;
  // Job directories; empty = <folder of records>/jobs.
  std::string workdir;
  std::string train_bin;
  std::string evaluate_bin;
  // Jobs at once, and trainer threads per job (0 = cores / jobs, at least 1).
  int jobs = 1;
  int threads = 0;
  int cores = 0;  // 0 = what the machine reports
  // Run again the jobs recorded as failed.
  bool retry_failed = false;
  // Print the jobs and the time estimate; run nothing.
  bool dry_run = false;
  // Start at most this many jobs, then wait for them and stop (0 = all).
  int max_jobs = 0;
  // The sweep's own command line, for the records.
  std::string command;
};

// Returns the process exit code: 0 all jobs ok, 1 some job failed (its record
// says why), 2 the sweep could not run (bad config, records locked...).
int RunSweep(const SweepOptions& options);

// What a job needs that only exists once other jobs are done.
struct Resolution {
  double beta = 0;
  std::vector<BetaCandidate> candidates;
  // Emulator jobs: the final job's record.
  JobRecord final_record;
};

// Everything a job runs in, shared by all jobs of a sweep.
struct JobContext {
  Experiment experiment;
  std::string workdir;
  std::string train_bin;
  std::string evaluate_bin;
  int threads = 1;
};

// Runs one job to its record (status ok or failed); never throws, never
// writes the records file. Reuses a finished training run and a finished
// evaluation found in the job's directory; resumes a half-finished training.
JobRecord ExecuteJob(const JobContext& context, const JobSpec& job, const Resolution& resolution);

// The parts of a record known before the job runs (what it trains and
// evaluates).
JobRecord RecordSkeleton(const JobContext& context, const JobSpec& job,
                         const Resolution& resolution);

}  // namespace nftcim::experiments

#endif  // NFTCIM_EXPERIMENTS_SWEEP_H_
