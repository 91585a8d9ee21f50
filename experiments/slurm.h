#ifndef NFTCIM_EXPERIMENTS_SLURM_H_
#define NFTCIM_EXPERIMENTS_SLURM_H_

// The sweep on a Slurm cluster (--backend=slurm). The jobs not yet recorded
// are grouped by dependency level (level 0: no unrecorded dependency; level
// k: its dependencies are at levels < k, e.g. beta search -> final runs that
// use the chosen beta -> emulator checks of those finals), and each level is
// one sbatch job array whose elements run this binary with --slurm_worker:
// the element reads its job's key from the level's keys file, resolves its
// beta from the records, runs the job exactly as the local backend does
// (ExecuteJob: a finished training is reused, a half-finished one resumed
// from its checkpoint) and appends its record to the shared records file
// under a lock. Level k waits for the levels below it with
// --dependency=afterok (an element exits 0 whenever it wrote a record, ok or
// failed, so a failed search candidate does not block the final runs; the
// beta rule skips it, as locally).
//
// A job whose step was killed (kill -9, the time limit's warning signal)
// requeues itself (scontrol requeue) up to max_requeues times and resumes
// from its checkpoint; preemption and node failures are requeued by Slurm
// (sbatch --requeue). Running the sweep again submits what is still
// unrecorded (and --retry_failed what failed).
//
// Files, beside the records: <records>.slurm/
//   submissions.txt       "<array job id> <level> <keys file>" per array
//   s<N>-level<L>.keys    one job key per line, line i = array index i
//   s<N>-level<L>.sh      the batch script of that array
//   logs/<array id>_<index>.out

#include <string>
#include <vector>

#include "experiments/jobs.h"
#include "experiments/sweep.h"

namespace nftcim::experiments {

// Exit codes as RunSweep: 0 ok, 1 some job failed, 2 could not run.
int SlurmSubmit(const SweepOptions& options, const JobContext& context,
                const std::vector<JobSpec>& jobs);
// Inside an array element: runs one job. 0 when a record was written (ok or
// failed), kSlurmRetry when interrupted and requeues remain, 2 otherwise.
int SlurmWorker(const SweepOptions& options, const JobContext& context,
                const std::vector<JobSpec>& jobs);
// Prints every job of the experiment with its state: done, failed (from the
// records), pending, running, requeued... (from squeue), lost (submitted,
// neither queued nor recorded) or not submitted.
int SlurmStatus(const SweepOptions& options, const JobContext& context,
                const std::vector<JobSpec>& jobs);
// scancel of every array the sweep submitted for these records.
int SlurmCancel(const SweepOptions& options);

// EX_TEMPFAIL: the batch script requeues the element.
inline constexpr int kSlurmRetry = 75;

// Dependency levels of the jobs to run: 0 when none of a job's dependencies
// is among `queued`, else 1 + the highest level among them. Same order as
// `queued`.
std::vector<int> DependencyLevels(const std::vector<JobSpec>& queued);

// Wall-time limit in minutes for an array whose most expensive job has
// estimated single-core cost `cost_seconds`, on `cpus` cores.
int TimeLimitMinutes(double cost_seconds, int cpus);

// The batch script of one array (bash): runs `worker_argv`, requeues the
// element on exit code kSlurmRetry or a killed worker while requeues remain,
// and on USR1 (sent before the time limit) stops the worker and requeues.
std::string BatchScript(const std::vector<std::string>& worker_argv, int max_requeues,
                        const std::string& what);

}  // namespace nftcim::experiments

#endif  // NFTCIM_EXPERIMENTS_SLURM_H_
