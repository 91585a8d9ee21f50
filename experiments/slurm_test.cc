#include "experiments/slurm.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "experiments/config.h"
#include "gtest/gtest.h"
#include "util/atomic_file.h"

namespace nftcim::experiments {
namespace {

JobSpec Job(const std::string& key, std::vector<std::string> deps = {}) {
  JobSpec j;
  j.key = key;
  j.depends_on = std::move(deps);
  return j;
}

TEST(DependencyLevels, RecordedDependenciesDoNotCount) {
  // "s2" is not queued (already recorded): f2 needs nothing more.
  const std::vector<JobSpec> q = {Job("s1"), Job("f1", {"s1"}), Job("f2", {"s2"}),
                                  Job("e1", {"f1"}), Job("a1", {"s1", "s2"})};
  EXPECT_EQ(DependencyLevels(q), (std::vector<int>{0, 1, 0, 2, 1}));
}

TEST(DependencyLevels, OrderDoesNotMatter) {
  const std::vector<JobSpec> q = {Job("e1", {"f1"}), Job("f1", {"s1"}), Job("s1")};
  EXPECT_EQ(DependencyLevels(q), (std::vector<int>{2, 1, 0}));
}

TEST(DependencyLevels, SmokeExperimentHasSearchThenFinals) {
  absl::StatusOr<Experiment> e = LoadExperiment("experiments/smoke.textproto");
  ASSERT_TRUE(e.ok()) << e.status();
  const std::vector<JobSpec> jobs = ExpandJobs(*e);
  const std::vector<int> levels = DependencyLevels(jobs);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].stage == Stage::kSearch || !jobs[i].beta_from_search) {
      EXPECT_EQ(levels[i], 0) << jobs[i].key;
    } else {
      EXPECT_EQ(levels[i], 1) << jobs[i].key;
    }
  }
}

TEST(TimeLimitMinutes, ThreeTimesTheEstimatePlusTenMinutes) {
  EXPECT_EQ(TimeLimitMinutes(0, 1), 10);
  EXPECT_EQ(TimeLimitMinutes(3600, 1), 190);
  EXPECT_EQ(TimeLimitMinutes(3600, 4), 55);
  EXPECT_EQ(TimeLimitMinutes(3600, 0), 190);  // 0 cpus counts as 1
}

// Runs the batch script with `worker` as the worker and a fake scontrol that
// logs its arguments; returns the script's exit status and what scontrol saw.
std::pair<int, std::string> RunScript(const std::string& worker, int max_requeues,
                                      const std::string& restart_count) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/script", ::getpid(), "_",
                                       worker.size(), "_", restart_count);
  EXPECT_TRUE(MakeDirectories(dir).ok());
  const std::string log = dir + "/scontrol.log";
  EXPECT_TRUE(WriteFileAtomically(dir + "/scontrol",
                                  absl::StrCat("#!/bin/sh\necho \"$@\" >> ", log, "\n"))
                  .ok());
  ::chmod((dir + "/scontrol").c_str(), 0755);
  const std::string script = dir + "/job.sh";
  EXPECT_TRUE(WriteFileAtomically(script, BatchScript({"/bin/sh", "-c", worker}, max_requeues, "test"))
                  .ok());
  const std::string cmd = absl::StrCat("PATH=", dir, ":$PATH SLURM_JOB_ID=42 SLURM_RESTART_COUNT=",
                                       restart_count, " /bin/bash ", script, " > ", dir,
                                       "/out.txt 2>&1");
  const int st = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, ss.str()};
}

TEST(BatchScript, RequeuesInterruptedJobsWhileRequeuesRemain) {
  EXPECT_EQ(RunScript("exit 0", 3, "0"), std::make_pair(0, std::string()));
  // A job that failed by itself wrote its record: no requeue.
  EXPECT_EQ(RunScript("exit 1", 3, "0"), std::make_pair(1, std::string()));
  EXPECT_EQ(RunScript("exit 75", 3, "0"), std::make_pair(75, std::string("requeue 42\n")));
  EXPECT_EQ(RunScript("exit 75", 3, "2"), std::make_pair(75, std::string("requeue 42\n")));
  EXPECT_EQ(RunScript("exit 75", 3, "3"), std::make_pair(75, std::string()));
  // The worker itself killed.
  EXPECT_EQ(RunScript("kill -9 $$", 3, "0"), std::make_pair(137, std::string("requeue 42\n")));
}

}  // namespace
}  // namespace nftcim::experiments
