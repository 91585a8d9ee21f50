#ifndef NFTCIM_EXPERIMENTS_SWEEP_H_
#define NFTCIM_EXPERIMENTS_SWEEP_H_

// The sweep: expands an experiment into jobs, runs them in parallel worker
// processes (the trainer's binaries), and appends one record per finished job.
// Restarting with the same records file skips what is recorded and resumes
// half-trained runs from their checkpoints.

#include <map>
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

  // "local" (child processes here) or "slurm" (experiments/slurm.h).
  std::string backend = "local";
  // Slurm backend: sbatch resources (override the config's `slurm`; 0 or
  // empty = the config's value), this binary (the jobs run it), and what to do.
  std::string slurm_partition;
  int slurm_cpus = 0;
  int slurm_mem_mb = 0;
  int slurm_time_minutes = 0;
  int slurm_max_requeues = -1;
  int slurm_max_running = 0;
  std::string sweep_bin;
  // Submit and return at once instead of showing progress until the jobs end.
  bool detach = false;
  // Seconds between looks at squeue and the records while showing progress.
  double poll_seconds = 10;
  // Print the state of every job (records + squeue); cancel the submitted jobs.
  bool status = false;
  bool cancel = false;
  // Set inside a Slurm job: run the job named by this keys file at line
  // $SLURM_ARRAY_TASK_ID (or slurm_task, when >= 0).
  std::string slurm_worker;
  int slurm_task = -1;
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
// *interrupted is set when a step ended by a signal (killed, preempted): the
// job may succeed when run again, unlike a failure of its own.
JobRecord ExecuteJob(const JobContext& context, const JobSpec& job, const Resolution& resolution,
                     bool* interrupted = nullptr);

// What a ready job needs from the records of its dependencies: the chosen
// beta, or the final record of an emulator job. Returns "" or why the job
// cannot run (its search or its final job failed). Sets *dir to the job's
// training directory name (within the workdir).
std::string Resolve(const JobContext& context, const JobSpec& job,
                    const std::map<std::string, JobRecord>& records, Resolution* resolution,
                    std::string* dir);

// A failed record: error, log tail, time.
JobRecord FailedRecord(JobRecord record, const std::string& error, const std::string& log_path);

std::string UtcNow();
std::string Hostname();

// The parts of a record known before the job runs (what it trains and
// evaluates).
JobRecord RecordSkeleton(const JobContext& context, const JobSpec& job,
                         const Resolution& resolution);

}  // namespace nftcim::experiments

#endif  // NFTCIM_EXPERIMENTS_SWEEP_H_
