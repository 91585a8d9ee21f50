// bazel run //experiments:sweep -- --config=experiments/fmnist_vgg8.textproto
//     --records=runs/fmnist/records.jsonl --jobs=2
//
// Runs the experiment described by a text-format Experiment
// (experiments/experiment.proto): the beta search on a validation split, the
// final runs, ablations; each job as child processes of //trainer:train and
// //trainer:evaluate, --jobs at a time. One JSON line per finished job goes to
// --records (fsynced); running the same command again skips recorded jobs and
// resumes half-trained ones. Relative paths are relative to where you typed
// the command. Then: python3 experiments/make_report.py --records=... --out=docs/results.md

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "experiments/runner.h"
#include "experiments/sweep.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, config, "", "Experiment configuration (text-format experiment.proto).");
ABSL_FLAG(std::string, records, "", "Records file (JSON lines), appended to; required.");
ABSL_FLAG(std::string, workdir, "",
          "Folder of the job directories (checkpoints, logs); default <records folder>/jobs.");
ABSL_FLAG(int32_t, jobs, 1, "Jobs run at once.");
ABSL_FLAG(int32_t, threads, 0, "Trainer threads per job; 0 = cores / jobs (at least 1).");
ABSL_FLAG(int32_t, cores, 0, "Cores to plan for; 0 = all the machine reports.");
ABSL_FLAG(std::string, train_bin, "", "//trainer:train binary; default: from the runfiles.");
ABSL_FLAG(std::string, evaluate_bin, "", "//trainer:evaluate binary; default: from the runfiles.");
ABSL_FLAG(bool, retry_failed, false, "Run again the jobs the records show as failed.");
ABSL_FLAG(bool, dry_run, false, "List the jobs with their estimated cost; run nothing.");
ABSL_FLAG(int32_t, max_jobs, 0, "Start at most this many jobs, then stop (0 = all).");
ABSL_FLAG(std::string, backend, "local",
          "local: jobs are child processes here (--jobs at once). slurm: every job is an element "
          "of an sbatch job array, one array per dependency level (experiments/slurm.h).");
ABSL_FLAG(bool, status, false,
          "Slurm backend: print every job's state (done/failed from the records, pending/"
          "running/... from squeue) and exit.");
ABSL_FLAG(bool, cancel, false, "Slurm backend: scancel the sweep's queued and running jobs.");
ABSL_FLAG(bool, detach, false, "Slurm backend: submit and exit instead of showing progress.");
ABSL_FLAG(double, poll_seconds, 10, "Slurm backend: seconds between looks at squeue and the records.");
ABSL_FLAG(std::string, slurm_partition, "", "Slurm partition (default: the config's slurm.partition).");
ABSL_FLAG(int32_t, slurm_cpus, 0, "CPUs per job (default: the config's slurm.cpus_per_job, else 1).");
ABSL_FLAG(int32_t, slurm_mem_mb, 0, "MiB per job (default: slurm.mem_mb_per_job, else 4096).");
ABSL_FLAG(int32_t, slurm_time_minutes, 0,
          "Time limit per job in minutes (default: slurm.time_limit_minutes, else from the estimate).");
ABSL_FLAG(int32_t, slurm_max_requeues, -1,
          "Requeues of an interrupted job (default: slurm.max_requeues, else 3).");
ABSL_FLAG(int32_t, slurm_max_running, 0, "Jobs of an array running at once (0 = config / no limit).");
ABSL_FLAG(std::string, slurm_worker, "",
          "Internal (the batch script of an array): run the job at line $SLURM_ARRAY_TASK_ID of "
          "this keys file.");
ABSL_FLAG(int32_t, slurm_task, -1, "Internal: the task index instead of $SLURM_ARRAY_TASK_ID.");

namespace {

std::string Absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

bool Executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

// The trainer binaries are data dependencies: find them in the runfiles
// (bazel run / bazel-bin) or beside this binary's package in bazel-bin.
std::string FindBinary(const std::string& argv0, const std::string& rel) {
  std::vector<std::string> candidates;
  if (const char* d = std::getenv("RUNFILES_DIR")) candidates.push_back(absl::StrCat(d, "/nftcim/", rel));
  candidates.push_back(absl::StrCat(argv0, ".runfiles/nftcim/", rel));
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    candidates.push_back(absl::StrCat(self, ".runfiles/nftcim/", rel));
    const std::string exe(self);
    const size_t pkg = exe.rfind("/experiments/");
    if (pkg != std::string::npos) candidates.push_back(absl::StrCat(exe.substr(0, pkg), "/", rel));
  }
  const size_t pkg = argv0.rfind("/experiments/");
  if (pkg != std::string::npos) candidates.push_back(absl::StrCat(argv0.substr(0, pkg), "/", rel));
  candidates.push_back(rel);  // cwd = the runfiles root under bazel run
  for (const std::string& c : candidates) {
    if (Executable(c)) return Absolute(c);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs an NFT experiment (beta search, final runs, ablations) as parallel trainer jobs.\n"
      "  bazel run //experiments:sweep -- --config=experiments/smoke.textproto "
      "--records=runs/smoke/records.jsonl --jobs=2");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    absl::FPrintF(stderr, "error: unexpected argument '%s'\n", rest[1]);
    return 2;
  }
  const std::string argv0 = Absolute(argv[0]);
  nftcim::experiments::SweepOptions o;
  // Binaries are found before moving to the user's folder (their runfiles
  // paths are relative to where bazel run started us).
  o.train_bin = absl::GetFlag(FLAGS_train_bin).empty()
                    ? FindBinary(argv0, "trainer/train")
                    : Absolute(nftcim::ResolveUserPath(absl::GetFlag(FLAGS_train_bin)));
  o.evaluate_bin = absl::GetFlag(FLAGS_evaluate_bin).empty()
                       ? FindBinary(argv0, "trainer/evaluate")
                       : Absolute(nftcim::ResolveUserPath(absl::GetFlag(FLAGS_evaluate_bin)));
  bool under_bazel_run = false;
  if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY"); wd != nullptr && *wd != '\0') {
    // Job directories, records and data paths then mean what the user typed.
    if (::chdir(wd) != 0) {
      absl::FPrintF(stderr, "error: cannot enter %s\n", wd);
      return 2;
    }
    under_bazel_run = true;
  }
  o.config_path = absl::GetFlag(FLAGS_config);
  o.records_path = absl::GetFlag(FLAGS_records);
  if (o.config_path.empty()) {
    absl::FPrintF(stderr, "error: --config is required (an experiments/*.textproto file)\n");
    return 2;
  }
  if (o.records_path.empty() && !absl::GetFlag(FLAGS_dry_run)) {
    // (also for --status and --cancel, which read the records' .slurm folder)
    absl::FPrintF(stderr, "error: --records is required (a .jsonl file, created if missing)\n");
    return 2;
  }
  o.workdir = absl::GetFlag(FLAGS_workdir);
  o.jobs = absl::GetFlag(FLAGS_jobs);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.cores = absl::GetFlag(FLAGS_cores);
  if (o.jobs < 1 || o.jobs > 256) {
    absl::FPrintF(stderr, "error: --jobs must be in 1..256, got %d\n", o.jobs);
    return 2;
  }
  if (o.threads < 0 || o.cores < 0) {
    absl::FPrintF(stderr, "error: --threads and --cores must be >= 0\n");
    return 2;
  }
  o.retry_failed = absl::GetFlag(FLAGS_retry_failed);
  o.dry_run = absl::GetFlag(FLAGS_dry_run);
  o.max_jobs = absl::GetFlag(FLAGS_max_jobs);
  o.backend = absl::GetFlag(FLAGS_backend);
  if (o.backend != "local" && o.backend != "slurm") {
    absl::FPrintF(stderr, "error: --backend must be local or slurm, got '%s'\n", o.backend);
    return 2;
  }
  o.status = absl::GetFlag(FLAGS_status);
  o.cancel = absl::GetFlag(FLAGS_cancel);
  o.detach = absl::GetFlag(FLAGS_detach);
  o.poll_seconds = absl::GetFlag(FLAGS_poll_seconds);
  o.slurm_partition = absl::GetFlag(FLAGS_slurm_partition);
  o.slurm_cpus = absl::GetFlag(FLAGS_slurm_cpus);
  o.slurm_mem_mb = absl::GetFlag(FLAGS_slurm_mem_mb);
  o.slurm_time_minutes = absl::GetFlag(FLAGS_slurm_time_minutes);
  o.slurm_max_requeues = absl::GetFlag(FLAGS_slurm_max_requeues);
  o.slurm_max_running = absl::GetFlag(FLAGS_slurm_max_running);
  o.slurm_worker = absl::GetFlag(FLAGS_slurm_worker);
  o.slurm_task = absl::GetFlag(FLAGS_slurm_task);
  if (o.slurm_cpus < 0 || o.slurm_mem_mb < 0 || o.slurm_time_minutes < 0 || o.slurm_max_running < 0) {
    absl::FPrintF(stderr, "error: --slurm_cpus, --slurm_mem_mb, --slurm_time_minutes and "
                          "--slurm_max_running must be >= 0\n");
    return 2;
  }
  if (o.slurm_worker.empty() && (o.status || o.cancel) && o.records_path.empty()) {
    absl::FPrintF(stderr, "error: --status and --cancel need --records\n");
    return 2;
  }
  {
    // The jobs run this very binary (its absolute path; on a cluster it must
    // be on a filesystem every node sees, like the records).
    char self[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
      self[n] = '\0';
      o.sweep_bin = self;
    }
  }
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  o.command = under_bazel_run
                  ? absl::StrCat("bazel run //experiments:sweep -- ",
                                 nftcim::experiments::ShellJoin(args))
                  : nftcim::experiments::ShellJoin(std::vector<std::string>(argv, argv + argc));
  return nftcim::experiments::RunSweep(o);
}
