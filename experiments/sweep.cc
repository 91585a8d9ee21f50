#include "experiments/sweep.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "experiments/config.h"
#include "experiments/records.h"
#include "experiments/runner.h"
#include "experiments/slurm.h"
#include "util/atomic_file.h"
#include "util/progress.h"

namespace nftcim::experiments {
namespace {

using Clock = std::chrono::steady_clock;

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

JobRecord Failed(JobRecord r, const std::string& error, const std::string& log_path) {
  return FailedRecord(std::move(r), error, log_path);
}

std::vector<McPoint> PointsAt(const JobRecord& r, const std::vector<double>& sigmas) {
  std::vector<McPoint> out;
  for (double s : sigmas) {
    for (const McPoint& p : r.results()) {
      if (std::fabs(p.sigma() - s) < 1e-9) out.push_back(p);
    }
  }
  return out;
}

JobRecord RunEmulator(const JobContext& ctx, const JobSpec& job, const Resolution& res,
                      JobRecord r, bool* interrupted) {
  const Experiment& e = ctx.experiment;
  const std::string checkpoint = res.final_record.train_dir() + "/checkpoint.pb";
  const std::string dir =
      absl::StrCat(res.final_record.train_dir(), "/emulator-", job.key.substr(job.key.size() - 8));
  if (absl::Status s = MakeDirectories(dir); !s.ok()) return Failed(r, std::string(s.message()), "");
  const std::string json = dir + "/results.json";
  const std::string log = dir + "/emulator.log";
  r.set_train_dir(res.final_record.train_dir());
  r.set_log_path(log);
  std::vector<std::string> sigmas;
  for (double s : job.eval_sigmas) sigmas.push_back(FormatNumber(s));
  const std::vector<std::pair<const absl::string_view, std::string>> vars = {
      {"{checkpoint}", checkpoint},
      {"{dir}", dir},
      {"{sigmas}", absl::StrJoin(sigmas, ",")},
      {"{runs}", absl::StrCat(job.eval_runs)},
      {"{seed}", absl::StrCat(e.evaluation().seed())},
      {"{test_limit}", absl::StrCat(e.evaluation().test_limit())},
      {"{json}", json},
      {"{threads}", absl::StrCat(ctx.threads)},
  };
  std::vector<std::string> commands;
  if (!e.emulator().compile_command().empty()) {
    commands.push_back(absl::StrReplaceAll(e.emulator().compile_command(), vars));
  }
  commands.push_back(absl::StrReplaceAll(e.emulator().emulate_command(), vars));
  r.set_eval_command(absl::StrJoin(commands, " && "));
  for (const std::string& c : commands) {
    const ProcessResult p = RunProcess({"/bin/sh", "-c", c}, log);
    // The shell reports a killed child as 128 + signal.
    if (p.signal != 0 || p.exit_code > 128) *interrupted = true;
    if (!p.ok()) return Failed(r, absl::StrCat("emulator command failed (", p.Describe(), "): ", c), log);
  }
  absl::StatusOr<std::string> text = ReadFileToString(json);
  if (!text.ok()) return Failed(r, std::string(text.status().message()), log);
  absl::StatusOr<std::vector<McPoint>> points = ParseMcResults(*text);
  if (!points.ok()) return Failed(r, absl::StrCat(json, ": ", points.status().message()), log);
  for (const McPoint& p : *points) *r.add_results() = p;
  for (const McPoint& p : PointsAt(res.final_record, job.eval_sigmas)) *r.add_float_results() = p;
  r.set_train_seconds(res.final_record.train_seconds());
  r.set_status("ok");
  r.set_finished_at(UtcNow());
  return r;
}

}  // namespace

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

JobRecord FailedRecord(JobRecord r, const std::string& error, const std::string& log_path) {
  r.set_status("failed");
  r.set_error(error);
  if (!log_path.empty()) r.set_log_tail(LogTail(log_path));
  r.set_finished_at(UtcNow());
  return r;
}

std::string Resolve(const JobContext& ctx, const JobSpec& j,
                    const std::map<std::string, JobRecord>& records, Resolution* res,
                    std::string* dir) {
  std::string blocked;
  if (j.beta_from_search) {
    BetaChoice c = ChooseBeta(ctx.experiment, j.method, j.sigma, records);
    res->candidates = c.candidates;
    if (!c.ok) blocked = c.error;
    res->beta = c.beta;
  }
  if (j.stage == Stage::kEmulator) {
    auto it = records.find(j.depends_on[0]);
    if (it == records.end()) {
      blocked = absl::StrCat("its final job has no record: ", j.depends_on[0]);
    } else {
      const JobRecord& f = it->second;
      if (f.status() != "ok") blocked = absl::StrCat("its final job failed: ", f.key());
      res->final_record = f;
      res->beta = f.beta();
    }
  }
  *dir = j.stage == Stage::kEmulator
             ? res->final_record.train_dir()
             : TrainId(ctx.experiment, j, j.beta_from_search ? res->beta : j.beta);
  return blocked;
}

JobRecord RecordSkeleton(const JobContext& ctx, const JobSpec& job, const Resolution& res) {
  const Experiment& e = ctx.experiment;
  JobRecord r;
  r.set_key(job.key);
  r.set_experiment(e.name());
  r.set_stage(StageName(job.stage));
  r.set_status("running");
  r.set_dataset(e.dataset());
  r.set_model(e.model());
  r.set_width(e.width());
  r.set_method(job.method);
  r.set_sigma(job.sigma);
  r.set_beta(job.beta_from_search ? res.beta : job.beta);
  r.set_seed(job.seed);
  r.set_epochs(e.epochs());
  r.set_train_images(std::max<int64_t>(0, TrainImages(e)));
  r.set_validation_images(e.beta_search().validation_images());
  r.set_device(DevicePreset(e));
  r.set_ablation(job.variant.name());
  r.set_ablation_group(job.variant.group());
  r.set_ablation_label(job.variant.label().empty() ? job.variant.name() : job.variant.label());
  r.set_feedbacks(job.variant.feedbacks());
  r.set_reversed_decay(job.variant.reversed_decay());
  r.set_reversed_orientation(job.variant.reversed_orientation());
  r.set_irs_classifier_noise_off(job.variant.irs_classifier_noise_off());
  r.set_ovf_shared_noise(job.variant.ovf_shared_noise());
  r.set_eval_split(job.eval_split);
  r.set_eval_images(job.eval_split == "validation" ? e.beta_search().validation_images()
                                                   : e.evaluation().test_limit());
  for (const BetaCandidate& c : res.candidates) *r.add_beta_candidates() = c;
  if (job.beta_from_search) r.set_beta_rule(kBetaRule);
  r.set_threads(ctx.threads);
  return r;
}

JobRecord ExecuteJob(const JobContext& ctx, const JobSpec& job, const Resolution& res,
                     bool* interrupted) {
  const auto start = Clock::now();
  bool ignored = false;
  if (interrupted == nullptr) interrupted = &ignored;
  *interrupted = false;
  const Experiment& e = ctx.experiment;
  JobRecord r = RecordSkeleton(ctx, job, res);
  auto finish = [&](JobRecord rec) {
    rec.set_wall_seconds(std::chrono::duration<double>(Clock::now() - start).count());
    return rec;
  };
  if (job.stage == Stage::kEmulator) return finish(RunEmulator(ctx, job, res, r, interrupted));

  const double beta = r.beta();
  const std::string dir = absl::StrCat(ctx.workdir, "/", TrainId(e, job, beta));
  r.set_train_dir(dir);
  if (absl::Status s = MakeDirectories(dir); !s.ok()) {
    return finish(Failed(r, std::string(s.message()), ""));
  }
  const std::string metrics_path = dir + "/metrics.json";
  const std::string checkpoint = dir + "/checkpoint.pb";
  const std::string train_log = dir + "/train.log";

  // 1. Training: reuse a finished run, resume a half-finished one.
  auto read_metrics = [&]() -> absl::StatusOr<TrainMetrics> {
    absl::StatusOr<std::string> text = ReadFileToString(metrics_path);
    if (!text.ok()) return text.status();
    return ParseTrainMetrics(*text);
  };
  absl::StatusOr<TrainMetrics> metrics = read_metrics();
  const bool finished_before = metrics.ok() && metrics->finished && FileExists(checkpoint);
  r.set_train_command(ShellJoin(
      [&] {
        std::vector<std::string> argv = {ctx.train_bin};
        for (auto& f : TrainFlags(e, job, beta, dir, ctx.threads, false)) argv.push_back(f);
        return argv;
      }()));
  if (finished_before) {
    r.set_reused_training(true);
  } else {
    const bool resume = FileExists(checkpoint);
    std::vector<std::string> argv = {ctx.train_bin};
    for (auto& f : TrainFlags(e, job, beta, dir, ctx.threads, resume)) argv.push_back(f);
    r.set_log_path(train_log);
    const ProcessResult p = RunProcess(argv, train_log);
    if (p.signal != 0) *interrupted = true;
    if (!p.ok()) {
      return finish(Failed(r, absl::StrCat("training ", resume ? "(resumed) " : "", "failed: ",
                                           p.Describe()),
                           train_log));
    }
    metrics = read_metrics();
    if (!metrics.ok() || !metrics->finished) {
      return finish(Failed(r,
                           absl::StrCat("training ended without a finished metrics.json: ",
                                        metrics.ok() ? "no monte_carlo table"
                                                     : std::string(metrics.status().message())),
                           train_log));
    }
  }
  double train_seconds = 0;
  for (const EpochPoint& p : metrics->history) {
    *r.add_history() = p;
    train_seconds += p.seconds();
  }
  r.set_train_seconds(train_seconds);

  // 2. Evaluation on the validation or test images.
  const std::string eval_id = EvalId(e, job);
  const std::string json = absl::StrCat(dir, "/", eval_id, ".json");
  const std::string eval_log = absl::StrCat(dir, "/", eval_id, ".log");
  std::vector<std::string> argv = {ctx.evaluate_bin};
  for (auto& f : EvalFlags(e, job, checkpoint, json, ctx.threads)) argv.push_back(f);
  r.set_eval_command(ShellJoin(argv));
  absl::StatusOr<std::vector<McPoint>> points = absl::NotFoundError("");
  if (absl::StatusOr<std::string> old = ReadFileToString(json); old.ok()) {
    points = ParseMcResults(*old);
  }
  if (!points.ok()) {
    r.set_log_path(eval_log);
    const ProcessResult p = RunProcess(argv, eval_log);
    if (p.signal != 0) *interrupted = true;
    if (!p.ok()) {
      return finish(Failed(r, absl::StrCat("evaluation failed: ", p.Describe()), eval_log));
    }
    absl::StatusOr<std::string> text = ReadFileToString(json);
    if (!text.ok()) return finish(Failed(r, std::string(text.status().message()), eval_log));
    points = ParseMcResults(*text);
    if (!points.ok()) {
      return finish(Failed(r, absl::StrCat(json, ": ", points.status().message()), eval_log));
    }
  }
  for (const McPoint& p : *points) *r.add_results() = p;
  r.set_status("ok");
  r.set_finished_at(UtcNow());
  return finish(r);
}

namespace {

struct Running {
  JobSpec job;
  Clock::time_point start;
  std::string train_dir;
  std::thread thread;
};

class Sweep {
 public:
  Sweep(const SweepOptions& o, JobContext ctx, std::vector<JobSpec> jobs, RecordsFile records)
      : options_(o), ctx_(std::move(ctx)), jobs_(std::move(jobs)), records_(std::move(records)) {}

  int Run();

 private:
  // Under mu_.
  bool DepsDone(const JobSpec& j) const {
    for (const std::string& k : j.depends_on) {
      if (pending_keys_.count(k) || running_.count(k) || !records_.jobs.count(k)) return false;
    }
    return true;
  }
  void WriteRecord(const JobRecord& r, const JobSpec& job, double seconds);
  void Draw(Progress& bar);

  SweepOptions options_;
  JobContext ctx_;
  std::vector<JobSpec> jobs_;
  RecordsFile records_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, JobRecord>> finished_;  // from workers
  std::map<std::string, std::unique_ptr<Running>> running_;
  std::set<std::string> pending_keys_;
  std::set<std::string> busy_dirs_;

  double total_cost_ = 0;
  double done_cost_ = 0;
  double done_wall_ = 0;
  int done_jobs_ = 0;
  int failed_jobs_ = 0;
  int total_jobs_ = 0;
  bool interactive_ = false;
};

void Sweep::WriteRecord(const JobRecord& r, const JobSpec& job, double seconds) {
  Record rec;
  rec.set_type("job");
  *rec.mutable_job() = r;
  absl::Status s = AppendRecord(options_.records_path, rec);
  if (!s.ok()) {
    absl::FPrintF(stderr, "%serror: cannot write the record of %s: %s\n",
                  interactive_ ? "\r\033[K" : "", r.key(), s.message());
  }
  records_.jobs[r.key()] = r;
  ++done_jobs_;
  done_cost_ += job.cost;
  done_wall_ += std::max(seconds, 1e-3);
  const bool ok = r.status() == "ok";
  if (!ok) ++failed_jobs_;
  std::string what;
  if (ok && !r.results().empty()) {
    const McPoint& p = r.results(r.results_size() - 1);
    what = absl::StrFormat(" %.2f%% at sigma %s", p.mean_accuracy(), FormatNumber(p.sigma()));
    if (r.beta() > 0) absl::StrAppend(&what, ", beta ", FormatNumber(r.beta()));
    if (r.reused_training()) absl::StrAppend(&what, ", training reused");
  }
  absl::FPrintF(stderr, "%s[%s] %s%s (%s)%s\n", interactive_ ? "\r\033[K" : "",
                ok ? "ok" : "FAILED", r.key(), what, Progress::FormatDuration(seconds),
                ok ? "" : absl::StrCat(": ", r.error(),
                                       r.log_path().empty() ? "" : absl::StrCat(" [log ", r.log_path(), "]")));
  std::fflush(stderr);
}

void Sweep::Draw(Progress& bar) {
  // Credit running jobs with their elapsed time at the rate seen so far.
  const double rate = done_wall_ > 0 ? done_cost_ / done_wall_ : 1.0;
  double partial = 0;
  std::vector<std::string> names;
  for (const auto& [key, run] : running_) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - run->start).count();
    partial += std::min(0.9 * run->job.cost, elapsed * rate);
    names.push_back(key.substr(0, key.find('#')));
  }
  const double frac = total_cost_ > 0 ? (done_cost_ + partial) / total_cost_ : 1;
  bar.Update(std::min<int64_t>(999, static_cast<int64_t>(1000 * frac)),
             absl::StrFormat("%d/%d jobs%s; running %s", done_jobs_, total_jobs_,
                             failed_jobs_ ? absl::StrCat(", ", failed_jobs_, " failed") : "",
                             names.empty() ? "-" : absl::StrJoin(names, ", ")));
}

int Sweep::Run() {
  interactive_ = isatty(fileno(stderr)) == 1;
  std::vector<JobSpec> queue;
  for (const JobSpec& j : jobs_) {
    auto it = records_.jobs.find(j.key);
    const bool recorded = it != records_.jobs.end() &&
                          (it->second.status() == "ok" || !options_.retry_failed);
    if (!recorded) {
      queue.push_back(j);
      pending_keys_.insert(j.key);
      total_cost_ += j.cost;
    }
  }
  total_jobs_ = static_cast<int>(queue.size());
  const int already = static_cast<int>(jobs_.size() - queue.size());
  const int workers = std::max(1, options_.jobs);
  absl::FPrintF(stderr,
                "sweep %s: %d jobs, %d already recorded in %s, %d to run on %d workers x %d "
                "threads (estimate %s of work if the machine is otherwise idle, about %s)\n",
                ctx_.experiment.name(), jobs_.size(), already, options_.records_path, queue.size(),
                workers, ctx_.threads, Progress::FormatDuration(total_cost_),
                Progress::FormatDuration(total_cost_ / std::min(workers, std::max(1, options_.cores))));

  Record start;
  start.set_type("sweep");
  SweepStart* s = start.mutable_sweep();
  s->set_experiment(ctx_.experiment.name());
  s->set_config_path(options_.config_path);
  if (absl::StatusOr<std::string> text = ReadFileToString(options_.config_path); text.ok()) {
    s->set_config_text(*text);
  }
  s->set_command(options_.command);
  s->set_started_at(UtcNow());
  s->set_jobs(workers);
  s->set_threads_per_job(ctx_.threads);
  s->set_cores(options_.cores);
  s->set_jobs_total(static_cast<int>(jobs_.size()));
  s->set_jobs_already_done(already);
  s->set_host(Hostname());
  s->set_backend("local");
  if (absl::Status st = AppendRecord(options_.records_path, start); !st.ok()) {
    absl::FPrintF(stderr, "error: %s\n", st.message());
    return 2;
  }

  Progress bar(absl::StrCat("sweep ", ctx_.experiment.name()), 1000);
  int launched = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!queue.empty() || !running_.empty()) {
    // Collect finished jobs.
    while (!finished_.empty()) {
      auto [key, rec] = std::move(finished_.front());
      finished_.pop_front();
      std::unique_ptr<Running> run = std::move(running_[key]);
      running_.erase(key);
      busy_dirs_.erase(run->train_dir);
      lock.unlock();
      run->thread.join();
      lock.lock();
      WriteRecord(rec, run->job, std::chrono::duration<double>(Clock::now() - run->start).count());
    }
    // Start what is ready, in queue order.
    const bool may_start = options_.max_jobs <= 0 || launched < options_.max_jobs;
    for (size_t i = 0; may_start && i < queue.size() &&
                       static_cast<int>(running_.size()) < workers;) {
      const JobSpec& j = queue[i];
      if (!DepsDone(j)) {
        ++i;
        continue;
      }
      Resolution res;
      std::string dir;
      const std::string blocked = Resolve(ctx_, j, records_.jobs, &res, &dir);
      if (blocked.empty() && busy_dirs_.count(dir)) {
        ++i;  // another job trains this very model right now
        continue;
      }
      JobSpec job = j;
      queue.erase(queue.begin() + i);
      pending_keys_.erase(job.key);
      if (!blocked.empty()) {
        JobRecord r = Failed(RecordSkeleton(ctx_, job, res), blocked, "");
        WriteRecord(r, job, 0);
        continue;
      }
      ++launched;
      auto run = std::make_unique<Running>();
      run->job = job;
      run->start = Clock::now();
      run->train_dir = dir;
      busy_dirs_.insert(dir);
      Running* raw = run.get();
      running_[job.key] = std::move(run);
      raw->thread = std::thread([this, job, res]() {
        JobRecord r = ExecuteJob(ctx_, job, res);
        std::lock_guard<std::mutex> g(mu_);
        finished_.emplace_back(job.key, std::move(r));
        cv_.notify_all();
      });
      if (options_.max_jobs > 0 && launched >= options_.max_jobs) break;
    }
    if (running_.empty() && finished_.empty()) {
      if (!queue.empty() && options_.max_jobs > 0 && launched >= options_.max_jobs) {
        absl::FPrintF(stderr, "%sstopping after --max_jobs=%d; %d jobs left for the next run\n",
                      interactive_ ? "\r\033[K" : "", options_.max_jobs, queue.size());
        break;
      }
      if (!queue.empty()) {
        // Nothing runs and nothing can start: dependencies that will never
        // be recorded (cannot happen for an expanded experiment).
        for (const JobSpec& j : queue) {
          Resolution none;
          WriteRecord(Failed(RecordSkeleton(ctx_, j, none), "dependencies never finished", ""), j, 0);
        }
        queue.clear();
      }
      break;
    }
    Draw(bar);
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return !finished_.empty(); });
  }
  lock.unlock();
  bar.Finish(absl::StrFormat("%d/%d jobs, %d failed", done_jobs_, total_jobs_, failed_jobs_));

  int failed_in_records = 0;
  for (const JobSpec& j : jobs_) {
    auto it = records_.jobs.find(j.key);
    if (it != records_.jobs.end() && it->second.status() != "ok") ++failed_in_records;
  }
  if (failed_in_records > 0) {
    absl::FPrintF(stderr,
                  "%d job(s) of this experiment are recorded as failed (see \"error\" and "
                  "\"log_tail\" in %s); --retry_failed runs them again\n",
                  failed_in_records, options_.records_path);
    return 1;
  }
  return 0;
}

}  // namespace

int RunSweep(const SweepOptions& options) {
  absl::StatusOr<Experiment> e = LoadExperiment(options.config_path);
  if (!e.ok()) {
    absl::FPrintF(stderr, "error: %s\n", e.status().message());
    return 2;
  }
  std::vector<JobSpec> jobs = ExpandJobs(*e);
  const int cores = options.cores > 0 ? options.cores
                                      : std::max(1u, std::thread::hardware_concurrency());
  const int workers = std::max(1, options.jobs);
  JobContext ctx;
  ctx.experiment = *e;
  ctx.threads = options.threads > 0 ? options.threads : std::max(1, cores / workers);
  ctx.train_bin = options.train_bin;
  ctx.evaluate_bin = options.evaluate_bin;
  ctx.workdir = options.workdir;
  if (ctx.workdir.empty()) {
    const size_t slash = options.records_path.rfind('/');
    ctx.workdir = (slash == std::string::npos ? std::string(".")
                                               : options.records_path.substr(0, slash)) +
                  "/jobs";
  }

  if (options.status) return SlurmStatus(options, ctx, jobs);
  if (options.cancel) return SlurmCancel(options);

  if (options.dry_run) {
    double total = 0;
    absl::PrintF("%-9s %10s  %s\n", "stage", "est. cost", "key");
    for (const JobSpec& j : jobs) {
      absl::PrintF("%-9s %10s  %s%s\n", StageName(j.stage), Progress::FormatDuration(j.cost), j.key,
                   j.depends_on.empty() ? "" : absl::StrCat("  (after ", j.depends_on.size(), " jobs)"));
      total += j.cost;
    }
    absl::PrintF(
        "%d jobs, %s of single-core work (calibrated on VGG-8 width 0.25, 1 thread, idle "
        "machine): about %s on %d workers\n",
        jobs.size(), Progress::FormatDuration(total),
        Progress::FormatDuration(total / std::min(workers, cores)), std::min(workers, cores));
    return 0;
  }

  if (ctx.train_bin.empty() || ctx.evaluate_bin.empty() || ::access(ctx.train_bin.c_str(), X_OK) != 0 ||
      ::access(ctx.evaluate_bin.c_str(), X_OK) != 0) {
    absl::FPrintF(stderr,
                  "error: trainer binaries not found or not executable (--train_bin='%s', "
                  "--evaluate_bin='%s'); run through bazel run //experiments:sweep or pass them\n",
                  ctx.train_bin, ctx.evaluate_bin);
    return 2;
  }
  if (!options.slurm_worker.empty()) return SlurmWorker(options, ctx, jobs);
  if (options.backend == "slurm") return SlurmSubmit(options, ctx, jobs);
  if (absl::Status st = PrepareRecordsFile(options.records_path); !st.ok()) {
    absl::FPrintF(stderr, "error: %s\n", st.message());
    return 2;
  }
  // One sweep per records file: a second would run the same jobs.
  const std::string lock_path = options.records_path + ".lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    absl::FPrintF(stderr,
                  "error: %s is in use by another sweep (lock %s); wait for it or stop it\n",
                  options.records_path, lock_path);
    return 2;
  }
  absl::StatusOr<RecordsFile> records = ReadRecords(options.records_path);
  if (!records.ok()) {
    absl::FPrintF(stderr, "error: %s\n", records.status().message());
    return 2;
  }
  for (const std::string& w : records->warnings) absl::FPrintF(stderr, "warning: %s\n", w);
  if (absl::Status st = MakeDirectories(ctx.workdir); !st.ok()) {
    absl::FPrintF(stderr, "error: %s\n", st.message());
    return 2;
  }
  SweepOptions o = options;
  o.cores = cores;
  Sweep sweep(o, std::move(ctx), std::move(jobs), std::move(*records));
  const int code = sweep.Run();
  ::close(lock_fd);
  return code;
}

}  // namespace nftcim::experiments
