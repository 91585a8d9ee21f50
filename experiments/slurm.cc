#include "experiments/slurm.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "experiments/config.h"
#include "experiments/records.h"
#include "experiments/runner.h"
#include "util/atomic_file.h"
#include "util/progress.h"

namespace nftcim::experiments {
namespace {

// ---- Files of the backend ----

std::string StateDir(const SweepOptions& o) { return o.records_path + ".slurm"; }
std::string SubmissionsPath(const SweepOptions& o) { return StateDir(o) + "/submissions.txt"; }

struct Array {
  std::string id;  // the array's job id
  int level = 0;
  std::string keys_path;
  std::vector<std::string> keys;  // index = array task id
};

struct Submission {
  std::string name;  // s1, s2, ...
  std::vector<Array> arrays;
};

std::vector<std::string> ReadKeys(const std::string& path) {
  std::vector<std::string> keys;
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return keys;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    keys.emplace_back(absl::StripAsciiWhitespace(line));
  }
  return keys;
}

// Missing file: no submission yet.
std::vector<Submission> ReadSubmissions(const SweepOptions& o) {
  std::vector<Submission> out;
  absl::StatusOr<std::string> text = ReadFileToString(SubmissionsPath(o));
  if (!text.ok()) return out;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 2 && f[0] == "#") {
      out.push_back({f[1], {}});
      continue;
    }
    if (f.size() != 3 || out.empty()) continue;
    Array a;
    a.id = f[0];
    if (!absl::SimpleAtoi(f[1], &a.level)) continue;
    a.keys_path = f[2];
    a.keys = ReadKeys(a.keys_path);
    out.back().arrays.push_back(std::move(a));
  }
  return out;
}

// ---- Running the Slurm commands ----

struct Output {
  int status = -1;
  std::string text;
};

Output Capture(const std::vector<std::string>& argv) {
  Output out;
  FILE* f = ::popen((ShellJoin(argv) + " 2>&1").c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.text.append(buf, n);
  const int st = ::pclose(f);
  out.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

struct LiveTask {
  std::string state;   // RUNNING, PENDING, REQUEUED, ...
  std::string reason;  // squeue's reason (Dependency, Resources, ...)
};

// Tasks of this user's arrays that Slurm still knows as queued or running,
// by array id and task index. Returns false when squeue failed.
bool LiveTasks(std::map<std::string, std::map<int, LiveTask>>* live, std::string* error) {
  live->clear();
  const Output o = Capture({"squeue", "--me", "--noheader", "--array", "--format=%F|%K|%T|%r"});
  if (o.status != 0) {
    *error = absl::StrCat("squeue failed (exit ", o.status, "): ", absl::StripAsciiWhitespace(o.text));
    return false;
  }
  for (absl::string_view line : absl::StrSplit(o.text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(absl::StripAsciiWhitespace(line), '|');
    if (f.size() < 4) continue;
    int task = -1;
    if (!absl::SimpleAtoi(f[1], &task)) continue;  // not an array
    (*live)[f[0]][task] = {f[2], f[3]};
  }
  return true;
}

std::string AbsolutePath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

std::string CurrentDir() {
  char cwd[PATH_MAX];
  return ::getcwd(cwd, sizeof(cwd)) == nullptr ? "." : cwd;
}

struct Resources {
  std::string partition;
  int cpus = 1;
  int mem_mb = 4096;
  int time_minutes = 0;  // 0 = per array from the estimate
  int max_requeues = 3;
  int max_running = 0;
  std::vector<std::string> extra;
};

Resources ResourcesOf(const SweepOptions& o, const Experiment& e) {
  const SlurmResources& c = e.slurm();
  Resources r;
  r.partition = !o.slurm_partition.empty() ? o.slurm_partition : c.partition();
  r.cpus = o.slurm_cpus > 0 ? o.slurm_cpus : (c.cpus_per_job() > 0 ? c.cpus_per_job() : 1);
  r.mem_mb = o.slurm_mem_mb > 0 ? o.slurm_mem_mb : (c.mem_mb_per_job() > 0 ? c.mem_mb_per_job() : 4096);
  r.time_minutes = o.slurm_time_minutes > 0 ? o.slurm_time_minutes : c.time_limit_minutes();
  r.max_requeues = o.slurm_max_requeues >= 0 ? o.slurm_max_requeues
                                             : (c.max_requeues() > 0 ? c.max_requeues() : 3);
  r.max_running = o.slurm_max_running > 0 ? o.slurm_max_running : c.max_running();
  r.extra.assign(c.sbatch_args().begin(), c.sbatch_args().end());
  return r;
}

bool Recorded(const SweepOptions& o, const std::map<std::string, JobRecord>& records,
              const std::string& key) {
  auto it = records.find(key);
  return it != records.end() && (it->second.status() == "ok" || !o.retry_failed);
}

int FailedInRecords(const std::vector<JobSpec>& jobs, const std::map<std::string, JobRecord>& records) {
  int n = 0;
  for (const JobSpec& j : jobs) {
    auto it = records.find(j.key);
    if (it != records.end() && it->second.status() != "ok") ++n;
  }
  return n;
}

std::string ShortKey(const std::string& key) { return key.substr(0, key.find('#')); }

// "[ok] key 81.2% at sigma 0.4 ..." as the local backend prints it.
std::string Describe(const JobRecord& r) {
  const bool ok = r.status() == "ok";
  std::string what;
  if (ok && !r.results().empty()) {
    const McPoint& p = r.results(r.results_size() - 1);
    what = absl::StrFormat(" %.2f%% at sigma %s", p.mean_accuracy(), FormatNumber(p.sigma()));
    if (r.beta() > 0) absl::StrAppend(&what, ", beta ", FormatNumber(r.beta()));
    if (r.reused_training()) absl::StrAppend(&what, ", training reused");
  }
  if (r.slurm_restarts() > 0) absl::StrAppend(&what, ", requeued ", r.slurm_restarts(), "x");
  return absl::StrFormat("[%s] %s%s (%s, Slurm %s)%s", ok ? "ok" : "FAILED", r.key(), what,
                         Progress::FormatDuration(r.wall_seconds()), r.slurm_job_id(),
                         ok ? "" : absl::StrCat(": ", r.error()));
}

// Shows progress until no array of the submission is queued or running.
int Watch(const SweepOptions& o, const JobContext& ctx, const std::vector<JobSpec>& jobs,
          const Submission& sub, const std::map<std::string, JobRecord>& before) {
  const bool interactive = isatty(fileno(stderr)) == 1;
  std::map<std::string, const JobSpec*> by_key;
  for (const JobSpec& j : jobs) by_key[j.key] = &j;
  std::set<std::string> submitted;
  double total_cost = 0;
  for (const Array& a : sub.arrays) {
    for (const std::string& k : a.keys) {
      submitted.insert(k);
      if (by_key.count(k)) total_cost += by_key[k]->cost;
    }
  }
  std::set<std::string> reported;
  double done_cost = 0;
  int failed = 0;
  Progress bar(absl::StrCat("sweep ", ctx.experiment.name(), " on Slurm"), 1000);
  std::map<std::string, JobRecord> records = before;
  auto new_records = [&] {
    absl::StatusOr<RecordsFile> now = ReadRecords(o.records_path);
    if (!now.ok()) return;
    records = now->jobs;
    for (const std::string& k : submitted) {
      auto it = records.find(k);
      if (it == records.end() || reported.count(k)) continue;
      auto old = before.find(k);
      if (old != before.end() && old->second.finished_at() == it->second.finished_at() &&
          old->second.status() == it->second.status()) {
        continue;  // the record from before this submission
      }
      reported.insert(k);
      if (by_key.count(k)) done_cost += by_key[k]->cost;
      if (it->second.status() != "ok") ++failed;
      absl::FPrintF(stderr, "%s%s\n", interactive ? "\r\033[K" : "", Describe(it->second));
    }
  };
  std::string error;
  int squeue_failures = 0;
  while (true) {
    new_records();
    std::map<std::string, std::map<int, LiveTask>> live;
    if (!LiveTasks(&live, &error)) {
      if (++squeue_failures >= 6) {
        absl::FPrintF(stderr, "%serror: %s; the jobs go on: sweep --status shows them\n",
                      interactive ? "\r\033[K" : "", error);
        return 2;
      }
    } else {
      squeue_failures = 0;
      int queued = 0, pending = 0;
      std::vector<std::string> running;
      for (const Array& a : sub.arrays) {
        auto it = live.find(a.id);
        if (it == live.end()) continue;
        for (const auto& [task, t] : it->second) {
          ++queued;
          if (t.state == "RUNNING" && task >= 0 && task < static_cast<int>(a.keys.size())) {
            running.push_back(ShortKey(a.keys[task]));
          } else if (t.state != "RUNNING") {
            ++pending;
          }
        }
      }
      if (queued == 0) break;
      const double frac = total_cost > 0 ? done_cost / total_cost : 0;
      bar.Update(std::min<int64_t>(999, static_cast<int64_t>(1000 * frac)),
                 absl::StrFormat("%d/%d jobs%s; %d pending; running %s", reported.size(),
                                 submitted.size(),
                                 failed ? absl::StrCat(", ", failed, " failed") : "", pending,
                                 running.empty() ? "-" : absl::StrJoin(running, ", ")));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.2, o.poll_seconds)));
  }
  new_records();
  bar.Finish(absl::StrFormat("%d/%d jobs, %d failed", reported.size(), submitted.size(), failed));
  const int lost = static_cast<int>(submitted.size() - reported.size());
  if (lost > 0) {
    absl::FPrintF(stderr,
                  "%d submitted job(s) left the queue without a record (cancelled, or interrupted "
                  "with no requeue left; logs in %s/logs); the same command submits them again "
                  "and they resume from their checkpoints\n",
                  lost, StateDir(o));
  }
  const int failed_in_records = FailedInRecords(jobs, records);
  if (failed_in_records > 0) {
    absl::FPrintF(stderr,
                  "%d job(s) of this experiment are recorded as failed (see \"error\" and "
                  "\"log_tail\" in %s); --retry_failed runs them again\n",
                  failed_in_records, o.records_path);
  }
  return failed_in_records > 0 || lost > 0 ? 1 : 0;
}

// Append under a lock: O_APPEND alone is not atomic on NFS, where the
// records of a cluster usually live.
absl::Status AppendLocked(const std::string& records_path, const Record& record) {
  const std::string lock_path = records_path + ".append-lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat(lock_path, ": cannot open the append lock"));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      return absl::InternalError(absl::StrCat(lock_path, ": cannot lock"));
    }
  }
  absl::Status s = PrepareRecordsFile(records_path);
  if (s.ok()) s = AppendRecord(records_path, record);
  ::close(fd);
  return s;
}

}  // namespace

std::vector<int> DependencyLevels(const std::vector<JobSpec>& queued) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < queued.size(); ++i) index[queued[i].key] = i;
  std::vector<int> level(queued.size(), -1);
  // Dependencies always point at jobs expanded earlier (search before final
  // before emulator), but do not rely on the order: iterate to a fixpoint.
  bool changed = true;
  for (int round = 0; changed && round <= static_cast<int>(queued.size()); ++round) {
    changed = false;
    for (size_t i = 0; i < queued.size(); ++i) {
      int l = 0;
      for (const std::string& d : queued[i].depends_on) {
        auto it = index.find(d);
        if (it != index.end()) l = std::max(l, level[it->second] < 0 ? 1 : level[it->second] + 1);
      }
      if (l != level[i]) {
        level[i] = l;
        changed = true;
      }
    }
  }
  return level;
}

int TimeLimitMinutes(double cost_seconds, int cpus) {
  const double seconds = 3 * cost_seconds / std::max(1, cpus) + 600;
  return static_cast<int>(std::ceil(seconds / 60));
}

std::string BatchScript(const std::vector<std::string>& worker_argv, int max_requeues,
                        const std::string& what) {
  return absl::StrCat(
      "#!/bin/bash\n"
      "# Written by //experiments:sweep --backend=slurm: ", what, ".\n"
      "# Each array element runs one job of the sweep; see experiments/slurm.h.\n"
      "requeue() {\n"
      "  if [ \"${SLURM_RESTART_COUNT:-0}\" -lt ", max_requeues, " ]; then\n"
      "    echo \"sweep: requeueing ${SLURM_JOB_ID} (restart $((${SLURM_RESTART_COUNT:-0} + 1)) of ",
      max_requeues, "); it resumes from its checkpoint\"\n"
      "    scontrol requeue \"${SLURM_JOB_ID}\"\n"
      "  else\n"
      "    echo \"sweep: ${SLURM_JOB_ID} interrupted and ", max_requeues,
      " requeues used; not requeued\"\n"
      "  fi\n"
      "}\n",
      ShellJoin(worker_argv), " &\n",
      "worker=$!\n"
      "# USR1 comes before the time limit (sbatch --signal): stop the step, whose\n"
      "# checkpoint survives, and come back.\n"
      "trap 'echo \"sweep: time limit near\"; kill -TERM $worker; wait $worker; requeue; exit ",
      kSlurmRetry, "' USR1\n"
      "wait $worker\n"
      "rc=$?\n"
      "# ", kSlurmRetry, ": a step was killed (kill -9, out of memory); > 128: the worker itself was.\n"
      "if [ $rc -eq ", kSlurmRetry, " ] || [ $rc -gt 128 ]; then\n"
      "  requeue\n"
      "fi\n"
      "exit $rc\n");
}

int SlurmSubmit(const SweepOptions& o, const JobContext& ctx, const std::vector<JobSpec>& jobs) {
  if (o.max_jobs > 0) {
    absl::FPrintF(stderr, "error: --max_jobs is for --backend=local; on Slurm use --slurm_max_running\n");
    return 2;
  }
  if (o.sweep_bin.empty() || ::access(o.sweep_bin.c_str(), X_OK) != 0) {
    absl::FPrintF(stderr, "error: cannot find this sweep binary ('%s') for the jobs to run\n",
                  o.sweep_bin);
    return 2;
  }
  if (absl::Status st = PrepareRecordsFile(o.records_path); !st.ok()) {
    absl::FPrintF(stderr, "error: %s\n", st.message());
    return 2;
  }
  {
    // A local sweep on the same records would run the same jobs.
    const std::string lock_path = o.records_path + ".lock";
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      absl::FPrintF(stderr, "error: %s is in use by a local sweep (lock %s)\n", o.records_path,
                    lock_path);
      return 2;
    }
    ::close(fd);
  }
  absl::StatusOr<RecordsFile> records = ReadRecords(o.records_path);
  if (!records.ok()) {
    absl::FPrintF(stderr, "error: %s\n", records.status().message());
    return 2;
  }
  for (const std::string& w : records->warnings) absl::FPrintF(stderr, "warning: %s\n", w);
  for (const std::string& dir : {StateDir(o), StateDir(o) + "/logs", ctx.workdir}) {
    if (absl::Status st = MakeDirectories(dir); !st.ok()) {
      absl::FPrintF(stderr, "error: %s\n", st.message());
      return 2;
    }
  }
  std::vector<Submission> previous = ReadSubmissions(o);
  std::map<std::string, std::map<int, LiveTask>> live;
  std::string error;
  if (!LiveTasks(&live, &error)) {
    absl::FPrintF(stderr, "error: %s (is this a Slurm cluster? SLURM_CONF=%s)\n", error,
                  std::getenv("SLURM_CONF") ? std::getenv("SLURM_CONF") : "");
    return 2;
  }
  std::vector<std::string> still;
  for (const Submission& s : previous) {
    for (const Array& a : s.arrays) {
      if (live.count(a.id)) still.push_back(a.id);
    }
  }
  if (!still.empty()) {
    absl::FPrintF(stderr,
                  "error: jobs of an earlier submission for %s are still queued or running "
                  "(arrays %s); watch them with --status, or stop them with --cancel\n",
                  o.records_path, absl::StrJoin(still, ", "));
    return 2;
  }

  std::vector<JobSpec> queue;
  for (const JobSpec& j : jobs) {
    if (!Recorded(o, records->jobs, j.key)) queue.push_back(j);
  }
  const int already = static_cast<int>(jobs.size() - queue.size());
  if (queue.empty()) {
    absl::FPrintF(stderr, "sweep %s: all %d jobs are recorded in %s; nothing to submit\n",
                  ctx.experiment.name(), jobs.size(), o.records_path);
    return FailedInRecords(jobs, records->jobs) > 0 ? 1 : 0;
  }
  const std::vector<int> levels = DependencyLevels(queue);
  const int top = *std::max_element(levels.begin(), levels.end());
  const Resources res = ResourcesOf(o, ctx.experiment);

  Submission sub;
  sub.name = absl::StrCat("s", previous.size() + 1);
  if (absl::Status st = AppendLineDurably(SubmissionsPath(o), absl::StrCat("# ", sub.name, " ", UtcNow()));
      !st.ok()) {
    absl::FPrintF(stderr, "error: %s\n", st.message());
    return 2;
  }
  const std::string config = AbsolutePath(o.config_path);
  const std::string records_abs = AbsolutePath(o.records_path);
  const std::string workdir = AbsolutePath(ctx.workdir);
  auto abandon = [&](const std::string& why) {
    absl::FPrintF(stderr, "error: %s\n", why);
    for (const Array& a : sub.arrays) Capture({"scancel", a.id});
    if (!sub.arrays.empty()) {
      absl::FPrintF(stderr, "cancelled the arrays already submitted (%d)\n", sub.arrays.size());
    }
    return 2;
  };
  for (int level = 0; level <= top; ++level) {
    Array a;
    a.level = level;
    double max_cost = 0;
    for (size_t i = 0; i < queue.size(); ++i) {
      if (levels[i] != level) continue;
      a.keys.push_back(queue[i].key);
      max_cost = std::max(max_cost, queue[i].cost);
    }
    if (a.keys.empty()) continue;
    const std::string base = absl::StrCat(StateDir(o), "/", sub.name, "-level", level);
    a.keys_path = AbsolutePath(base + ".keys");
    if (absl::Status st = WriteFileAtomically(a.keys_path, absl::StrCat(absl::StrJoin(a.keys, "\n"), "\n"));
        !st.ok()) {
      return abandon(std::string(st.message()));
    }
    std::vector<std::string> worker = {
        o.sweep_bin,
        absl::StrCat("--slurm_worker=", a.keys_path),
        absl::StrCat("--config=", config),
        absl::StrCat("--records=", records_abs),
        absl::StrCat("--workdir=", workdir),
        absl::StrCat("--train_bin=", ctx.train_bin),
        absl::StrCat("--evaluate_bin=", ctx.evaluate_bin),
        absl::StrCat("--threads=", res.cpus),
        absl::StrCat("--slurm_max_requeues=", res.max_requeues),
    };
    const std::string script_path = AbsolutePath(base + ".sh");
    const std::string what = absl::StrCat("experiment ", ctx.experiment.name(), ", submission ",
                                          sub.name, ", dependency level ", level, ", ",
                                          a.keys.size(), " jobs");
    if (absl::Status st = WriteFileAtomically(script_path, BatchScript(worker, res.max_requeues, what));
        !st.ok()) {
      return abandon(std::string(st.message()));
    }
    ::chmod(script_path.c_str(), 0755);
    const int minutes = res.time_minutes > 0 ? res.time_minutes : TimeLimitMinutes(max_cost, res.cpus);
    // The warning comes a quarter of the limit (at most 2 minutes) early.
    const int warn = std::max(10, std::min(120, minutes * 15));
    std::vector<std::string> argv = {
        "sbatch",
        "--parsable",
        absl::StrCat("--job-name=nft-", ctx.experiment.name(), "-L", level),
        absl::StrCat("--array=0-", a.keys.size() - 1,
                     res.max_running > 0 ? absl::StrCat("%", res.max_running) : ""),
        "--ntasks=1",
        absl::StrCat("--cpus-per-task=", res.cpus),
        absl::StrCat("--mem=", res.mem_mb, "M"),
        absl::StrCat("--time=", minutes),
        absl::StrCat("--output=", AbsolutePath(StateDir(o)), "/logs/%A_%a.out"),
        "--requeue",
        absl::StrCat("--signal=B:USR1@", warn),
        absl::StrCat("--chdir=", CurrentDir()),
        "--kill-on-invalid-dep=yes",
    };
    if (!res.partition.empty()) argv.push_back(absl::StrCat("--partition=", res.partition));
    std::vector<std::string> after;
    for (const Array& b : sub.arrays) after.push_back(b.id);
    if (!after.empty()) argv.push_back(absl::StrCat("--dependency=afterok:", absl::StrJoin(after, ":")));
    for (const std::string& x : res.extra) argv.push_back(x);
    argv.push_back(script_path);
    const Output out = Capture(argv);
    std::string id(absl::StripAsciiWhitespace(out.text));
    id = id.substr(0, id.find(';'));  // "id;cluster" on federations
    int numeric = 0;
    if (out.status != 0 || !absl::SimpleAtoi(id, &numeric)) {
      return abandon(absl::StrCat("sbatch failed (exit ", out.status, "): ",
                                  absl::StripAsciiWhitespace(out.text), "\n  command: ",
                                  ShellJoin(argv)));
    }
    a.id = id;
    if (absl::Status st = AppendLineDurably(SubmissionsPath(o),
                                            absl::StrCat(a.id, " ", level, " ", a.keys_path));
        !st.ok()) {
      sub.arrays.push_back(a);
      return abandon(std::string(st.message()));
    }
    absl::FPrintF(stderr,
                  "submitted array %s: level %d, %d jobs, %d cpus, %d MiB, %d min each%s\n", a.id,
                  level, a.keys.size(), res.cpus, res.mem_mb, minutes,
                  after.empty() ? "" : absl::StrCat(", after ", absl::StrJoin(after, ", ")));
    sub.arrays.push_back(std::move(a));
  }

  Record start;
  start.set_type("sweep");
  SweepStart* s = start.mutable_sweep();
  s->set_experiment(ctx.experiment.name());
  s->set_config_path(o.config_path);
  if (absl::StatusOr<std::string> text = ReadFileToString(o.config_path); text.ok()) {
    s->set_config_text(*text);
  }
  s->set_command(o.command);
  s->set_started_at(UtcNow());
  s->set_threads_per_job(res.cpus);
  s->set_jobs_total(static_cast<int>(jobs.size()));
  s->set_jobs_already_done(already);
  s->set_host(Hostname());
  s->set_backend("slurm");
  for (const Array& a : sub.arrays) s->add_slurm_job_ids(a.id);
  if (absl::Status st = AppendLocked(o.records_path, start); !st.ok()) {
    absl::FPrintF(stderr, "warning: %s\n", st.message());
  }
  absl::FPrintF(stderr,
                "sweep %s: %d jobs, %d already recorded in %s, %d submitted to Slurm in %d "
                "arrays (%s of single-core work estimated)\n"
                "  state: --status; stop: --cancel (same --config and --records)\n",
                ctx.experiment.name(), jobs.size(), already, o.records_path, queue.size(),
                sub.arrays.size(), Progress::FormatDuration([&] {
                  double t = 0;
                  for (const JobSpec& j : queue) t += j.cost;
                  return t;
                }()));
  if (o.detach) return 0;
  return Watch(o, ctx, jobs, sub, records->jobs);
}

int SlurmWorker(const SweepOptions& o, const JobContext& ctx_in, const std::vector<JobSpec>& jobs) {
  int task = o.slurm_task;
  if (task < 0) {
    const char* t = std::getenv("SLURM_ARRAY_TASK_ID");
    if (t == nullptr || !absl::SimpleAtoi(t, &task)) {
      absl::FPrintF(stderr, "error: --slurm_worker needs SLURM_ARRAY_TASK_ID (or --slurm_task)\n");
      return 2;
    }
  }
  const std::vector<std::string> keys = ReadKeys(o.slurm_worker);
  if (task < 0 || task >= static_cast<int>(keys.size())) {
    absl::FPrintF(stderr, "error: %s has %d keys, no line for task %d\n", o.slurm_worker,
                  keys.size(), task);
    return 2;
  }
  const std::string& key = keys[task];
  const JobSpec* job = nullptr;
  for (const JobSpec& j : jobs) {
    if (j.key == key) job = &j;
  }
  if (job == nullptr) {
    absl::FPrintF(stderr,
                  "error: job %s is not a job of %s (was the config changed after submitting?)\n",
                  key, o.config_path);
    return 2;
  }
  JobContext ctx = ctx_in;
  absl::StatusOr<RecordsFile> records = ReadRecords(o.records_path);
  if (!records.ok()) {
    absl::FPrintF(stderr, "error: %s\n", records.status().message());
    return 2;
  }
  if (auto it = records->jobs.find(key); it != records->jobs.end() && it->second.status() == "ok") {
    absl::FPrintF(stderr, "%s is already recorded ok; nothing to do\n", key);
    return 0;
  }
  std::string slurm_id;
  if (const char* a = std::getenv("SLURM_ARRAY_JOB_ID")) {
    slurm_id = absl::StrCat(a, "_", task);
  } else if (const char* j = std::getenv("SLURM_JOB_ID")) {
    slurm_id = j;
  }
  int restarts = 0;
  if (const char* r = std::getenv("SLURM_RESTART_COUNT")) (void)absl::SimpleAtoi(r, &restarts);
  auto write = [&](JobRecord r) {
    r.set_slurm_job_id(slurm_id);
    r.set_slurm_restarts(restarts);
    Record rec;
    rec.set_type("job");
    *rec.mutable_job() = r;
    if (absl::Status s = AppendLocked(o.records_path, rec); !s.ok()) {
      absl::FPrintF(stderr, "error: cannot write the record of %s: %s\n", key, s.message());
      return 2;
    }
    absl::FPrintF(stderr, "%s\n", Describe(r));
    return 0;
  };
  Resolution res;
  std::string blocked;
  for (const std::string& d : job->depends_on) {
    if (!records->jobs.count(d)) blocked = absl::StrCat("dependency without a record: ", d);
  }
  std::string dir;
  if (blocked.empty()) blocked = Resolve(ctx, *job, records->jobs, &res, &dir);
  if (!blocked.empty()) return write(FailedRecord(RecordSkeleton(ctx, *job, res), blocked, ""));

  // Two jobs of one array may train the same model (an ablation equal to a
  // final run): the second waits and then reuses the training.
  if (absl::Status st = MakeDirectories(ctx.workdir); !st.ok()) {
    absl::FPrintF(stderr, "error: %s\n", st.message());
    return 2;
  }
  const std::string lock_path = absl::StrCat(ctx.workdir, "/", dir, ".lock");
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock >= 0) {
    while (::flock(lock, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  absl::FPrintF(stderr, "sweep: job %s (Slurm %s, restart %d) on %s, %d threads\n", key, slurm_id,
                restarts, Hostname(), ctx.threads);
  bool interrupted = false;
  JobRecord r = ExecuteJob(ctx, *job, res, &interrupted);
  if (lock >= 0) ::close(lock);
  const int max_requeues = o.slurm_max_requeues >= 0 ? o.slurm_max_requeues : 3;
  if (r.status() != "ok" && interrupted && restarts < max_requeues) {
    absl::FPrintF(stderr, "sweep: %s interrupted (%s); to be requeued\n", key, r.error());
    return kSlurmRetry;
  }
  return write(r);
}

int SlurmStatus(const SweepOptions& o, const JobContext& ctx, const std::vector<JobSpec>& jobs) {
  absl::StatusOr<RecordsFile> records = ReadRecords(o.records_path);
  if (!records.ok()) {
    absl::FPrintF(stderr, "error: %s\n", records.status().message());
    return 2;
  }
  const std::vector<Submission> subs = ReadSubmissions(o);
  std::map<std::string, std::map<int, LiveTask>> live;
  std::string error;
  const bool have_queue = LiveTasks(&live, &error);
  if (!have_queue) absl::FPrintF(stderr, "warning: %s; showing the records only\n", error);
  // Latest submission of each key.
  std::map<std::string, std::pair<const Array*, int>> where;
  for (const Submission& s : subs) {
    for (const Array& a : s.arrays) {
      for (size_t i = 0; i < a.keys.size(); ++i) where[a.keys[i]] = {&a, static_cast<int>(i)};
    }
  }
  std::map<std::string, int> counts;
  absl::PrintF("%-22s %-9s %-12s %s\n", "state", "stage", "slurm", "job");
  for (const JobSpec& j : jobs) {
    std::string state;
    std::string slurm = "-";
    auto w = where.find(j.key);
    if (w != where.end()) {
      slurm = absl::StrCat(w->second.first->id, "_", w->second.second);
      auto a = live.find(w->second.first->id);
      if (a != live.end()) {
        auto t = a->second.find(w->second.second);
        if (t != a->second.end()) {
          state = absl::AsciiStrToLower(t->second.state);
          counts[state]++;
          if (state == "pending" && !t->second.reason.empty() && t->second.reason != "None") {
            absl::StrAppend(&state, " (", t->second.reason, ")");
          }
        }
      }
    }
    std::string detail;
    if (state.empty()) {
      auto r = records->jobs.find(j.key);
      if (r != records->jobs.end()) {
        state = r->second.status() == "ok" ? "done" : "failed";
        if (!r->second.slurm_job_id().empty()) slurm = r->second.slurm_job_id();
        if (r->second.status() != "ok") detail = absl::StrCat("  ", r->second.error().substr(0, 100));
      } else if (w != where.end()) {
        state = "lost";  // left the queue without a record
      } else {
        state = "not submitted";
      }
      counts[state]++;
    }
    absl::PrintF("%-22s %-9s %-12s %s%s\n", state, StageName(j.stage), slurm, j.key, detail);
  }
  std::vector<std::string> summary;
  for (const auto& [state, n] : counts) summary.push_back(absl::StrCat(n, " ", state));
  absl::PrintF("%s: %d jobs: %s\n", ctx.experiment.name(), jobs.size(), absl::StrJoin(summary, ", "));
  return 0;
}

int SlurmCancel(const SweepOptions& o) {
  const std::vector<Submission> subs = ReadSubmissions(o);
  std::map<std::string, std::map<int, LiveTask>> live;
  std::string error;
  if (!LiveTasks(&live, &error)) {
    absl::FPrintF(stderr, "error: %s\n", error);
    return 2;
  }
  std::vector<std::string> ids;
  int tasks = 0;
  for (const Submission& s : subs) {
    for (const Array& a : s.arrays) {
      auto it = live.find(a.id);
      if (it == live.end()) continue;
      ids.push_back(a.id);
      tasks += static_cast<int>(it->second.size());
    }
  }
  if (ids.empty()) {
    absl::FPrintF(stderr, "no job of %s is queued or running\n", o.records_path);
    return 0;
  }
  std::vector<std::string> argv = {"scancel"};
  for (const std::string& id : ids) argv.push_back(id);
  const Output out = Capture(argv);
  if (out.status != 0) {
    absl::FPrintF(stderr, "error: scancel failed (exit %d): %s\n", out.status, out.text);
    return 2;
  }
  absl::FPrintF(stderr,
                "cancelled arrays %s (%d jobs queued or running); the records are kept, and the "
                "same sweep command submits the rest again (resuming from checkpoints)\n",
                absl::StrJoin(ids, ", "), tasks);
  return 0;
}

}  // namespace nftcim::experiments
