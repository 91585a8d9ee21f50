#include "experiments/jobs.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "experiments/config.h"
#include "gtest/gtest.h"

namespace nftcim::experiments {
namespace {

constexpr char kConfig[] = R"pb(
  format_version: 1
  name: "t"
  dataset: "fashion_mnist"
  train_limit: 1000
  model: "vgg8"
  width: 0.25
  epochs: 2
  methods: ["vanilla", "noise", "ovf", "irs"]
  train_sigmas: [0.1, 0.2]
  seeds: [1, 2]
  beta_search { betas: [0.1, 0.01, 0.001, 0.0001] validation_images: 100 runs: 4 }
  evaluation { sigma_range { start: 0 stop: 0.4 step: 0.05 } runs: 20 seed: 7 test_limit: 500 }
  ablations { name: "ovf_n1" method: "ovf" sigma: 0.2 feedbacks: 1 }
  ablations { name: "irs_fixed" method: "irs" sigma: 0.3 beta: 0.5 reversed_decay: true }
)pb";

Experiment Parse(const std::string& text = kConfig) {
  absl::StatusOr<Experiment> e = ParseExperiment(text, "cfg");
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *e : Experiment();
}

std::map<std::string, int> CountByStage(const std::vector<JobSpec>& jobs) {
  std::map<std::string, int> n;
  for (const JobSpec& j : jobs) ++n[StageName(j.stage)];
  return n;
}

bool HasFlag(const std::vector<std::string>& flags, const std::string& f) {
  return std::find(flags.begin(), flags.end(), f) != flags.end();
}

TEST(JobsTest, Expansion) {
  const std::vector<JobSpec> jobs = ExpandJobs(Parse());
  // Search: (ovf, irs) x 2 sigmas x 4 betas x 1 search seed.
  // Final: vanilla once per seed (no variation in training) + 3 methods x 2 sigmas x 2 seeds.
  // Ablations: 2 x 2 seeds.
  EXPECT_EQ(CountByStage(jobs), (std::map<std::string, int>{
                                    {"search", 16}, {"final", 14}, {"ablation", 4}}));
  std::set<std::string> keys;
  for (const JobSpec& j : jobs) EXPECT_TRUE(keys.insert(j.key).second) << "duplicate " << j.key;
  // Stages in order: search, final, ablation.
  int last = 0;
  for (const JobSpec& j : jobs) {
    EXPECT_GE(static_cast<int>(j.stage), last) << j.key;
    last = static_cast<int>(j.stage);
  }
  for (const JobSpec& j : jobs) {
    if (j.method == "vanilla") {
      EXPECT_EQ(j.sigma, 0) << j.key;
      EXPECT_TRUE(absl::StartsWith(j.key, "final/vanilla/seed=")) << j.key;
    }
    if (j.stage == Stage::kSearch) {
      EXPECT_EQ(j.eval_split, "validation");
      EXPECT_EQ(j.eval_sigmas, std::vector<double>{j.sigma});
      EXPECT_EQ(j.eval_runs, 4);
      EXPECT_EQ(j.seed, 1u);
      EXPECT_TRUE(j.depends_on.empty());
    }
    if (j.stage == Stage::kFinal) {
      EXPECT_EQ(j.eval_split, "test");
      EXPECT_EQ(j.eval_sigmas.size(), 9u);
      EXPECT_EQ(j.beta_from_search, j.method == "ovf" || j.method == "irs") << j.key;
      EXPECT_EQ(j.depends_on.size(), j.beta_from_search ? 4u : 0u) << j.key;
    }
    EXPECT_GT(j.cost, 0);
  }
  // OVF costs more than noise injection, which costs about what vanilla does.
  auto cost = [&](const std::string& prefix) {
    for (const JobSpec& j : jobs) {
      if (absl::StartsWith(j.key, prefix)) return j.cost;
    }
    return 0.0;
  };
  EXPECT_GT(cost("final/ovf/sigma=0.1/seed=1"), 1.1 * cost("final/noise/sigma=0.1/seed=1"));
  EXPECT_NEAR(cost("final/noise/sigma=0.1/seed=1"), cost("final/vanilla/seed=1"), 2);
}

TEST(JobsTest, AblationsUseSearchedOrOwnBeta) {
  const std::vector<JobSpec> jobs = ExpandJobs(Parse());
  for (const JobSpec& j : jobs) {
    if (j.stage != Stage::kAblation) continue;
    EXPECT_EQ(j.eval_sigmas, (std::vector<double>{0, j.sigma})) << j.key;
    if (j.variant.name() == "ovf_n1") {
      EXPECT_TRUE(j.beta_from_search);
      EXPECT_EQ(j.depends_on.size(), 4u);
      EXPECT_TRUE(absl::StrContains(j.depends_on[0], "search/ovf/sigma=0.2/")) << j.depends_on[0];
    } else {
      EXPECT_FALSE(j.beta_from_search);
      EXPECT_EQ(j.beta, 0.5);
      EXPECT_TRUE(j.depends_on.empty());
    }
  }
}

TEST(JobsTest, KeysDependOnSettingsNotOnNames) {
  const std::vector<JobSpec> a = ExpandJobs(Parse());
  // Another experiment name, another ablation label: same jobs, same keys.
  const std::vector<JobSpec> b = ExpandJobs(Parse(absl::StrReplaceAll(
      kConfig, {{"name: \"t\"", "name: \"other\" description: \"x\""}})));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].key, b[i].key);
  // More epochs: every key changes.
  const std::vector<JobSpec> c =
      ExpandJobs(Parse(absl::StrReplaceAll(kConfig, {{"epochs: 2", "epochs: 3"}})));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NE(a[i].key, c[i].key);
  // More evaluation runs: final keys change, search keys do not (the search
  // does not use them).
  const std::vector<JobSpec> d =
      ExpandJobs(Parse(absl::StrReplaceAll(kConfig, {{"runs: 20", "runs: 30"}})));
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].stage == Stage::kSearch) {
      EXPECT_EQ(a[i].key, d[i].key);
    } else {
      EXPECT_NE(a[i].key, d[i].key);
    }
  }
}

TEST(JobsTest, SearchModelIsTheFinalModelOfItsSeed) {
  const Experiment e = Parse();
  const std::vector<JobSpec> jobs = ExpandJobs(e);
  const JobSpec* search = nullptr;
  const JobSpec* final_seed1 = nullptr;
  const JobSpec* final_seed2 = nullptr;
  for (const JobSpec& j : jobs) {
    if (absl::StartsWith(j.key, "search/ovf/sigma=0.2/beta=0.001/seed=1#")) search = &j;
    if (absl::StartsWith(j.key, "final/ovf/sigma=0.2/seed=1#")) final_seed1 = &j;
    if (absl::StartsWith(j.key, "final/ovf/sigma=0.2/seed=2#")) final_seed2 = &j;
  }
  ASSERT_TRUE(search && final_seed1 && final_seed2);
  EXPECT_EQ(TrainId(e, *search, 0.001), TrainId(e, *final_seed1, 0.001));
  EXPECT_NE(TrainId(e, *search, 0.001), TrainId(e, *final_seed2, 0.001));
  EXPECT_NE(TrainId(e, *final_seed1, 0.001), TrainId(e, *final_seed1, 0.01));
  EXPECT_TRUE(absl::StartsWith(TrainId(e, *search, 0.001), "ovf_sigma0.2_beta0.001_seed1-"));
  EXPECT_NE(EvalId(e, *search), EvalId(e, *final_seed1));
}

TEST(JobsTest, TrainerFlags) {
  const Experiment e = Parse();
  const std::vector<JobSpec> jobs = ExpandJobs(e);
  for (const JobSpec& j : jobs) {
    const std::vector<std::string> f = TrainFlags(e, j, 0.01, "/w/d", 3, false);
    EXPECT_TRUE(HasFlag(f, "--validation_split=100")) << absl::StrJoin(f, " ");
    EXPECT_TRUE(HasFlag(f, "--train_limit=1000"));
    EXPECT_TRUE(HasFlag(f, "--threads=3"));
    EXPECT_TRUE(HasFlag(f, "--out=/w/d"));
    EXPECT_TRUE(HasFlag(f, "--method=" + j.method));
    if (j.variant.name() == "ovf_n1") {
      EXPECT_TRUE(HasFlag(f, "--feedbacks=1"));
    }
    if (j.variant.name() == "irs_fixed") {
      EXPECT_TRUE(HasFlag(f, "--reversed_decay=true"));
    }
    const std::vector<std::string> r = TrainFlags(e, j, 0.01, "/w/d", 3, true);
    EXPECT_EQ(r, (std::vector<std::string>{"--resume", "--out=/w/d", "--threads=3",
                                           "--eval_runs=1", "--validation_split=100"}));
    const std::vector<std::string> ev = EvalFlags(e, j, "/w/d/checkpoint.pb", "/w/d/e.json", 3);
    EXPECT_TRUE(HasFlag(ev, "--seed=7"));
    if (j.stage == Stage::kSearch) {
      EXPECT_TRUE(HasFlag(ev, "--split=validation"));
      EXPECT_TRUE(HasFlag(ev, "--validation_split=100"));
      EXPECT_TRUE(HasFlag(ev, "--runs=4"));
    } else {
      EXPECT_TRUE(HasFlag(ev, "--test_limit=500"));
      EXPECT_FALSE(HasFlag(ev, "--split=validation"));
    }
  }
}

TEST(JobsTest, FixedBetaHasNoSearch) {
  const Experiment e = Parse(absl::StrReplaceAll(
      kConfig, {{"betas: [0.1, 0.01, 0.001, 0.0001] validation_images: 100 runs: 4", "betas: [0.003]"},
                {"ablations { name: \"ovf_n1\" method: \"ovf\" sigma: 0.2 feedbacks: 1 }", ""}}));
  const std::vector<JobSpec> jobs = ExpandJobs(e);
  EXPECT_EQ(CountByStage(jobs), (std::map<std::string, int>{{"final", 14}, {"ablation", 2}}));
  for (const JobSpec& j : jobs) {
    EXPECT_FALSE(j.beta_from_search);
    if (j.stage == Stage::kFinal && (j.method == "ovf" || j.method == "irs")) {
      EXPECT_EQ(j.beta, 0.003);
    }
    if (j.method == "noise") {
      EXPECT_EQ(j.beta, 0);
    }
    const std::vector<std::string> f = TrainFlags(e, j, j.beta, "d", 1, false);
    for (const std::string& flag : f) EXPECT_FALSE(absl::StartsWith(flag, "--validation_split"));
  }
}

TEST(JobsTest, EmulatorJobsFollowTheirFinalJob) {
  const Experiment e = Parse(absl::StrCat(
      kConfig, "emulator { enabled: true train_sigma: 0.2 emulate_command: \"emu {checkpoint} {json}\" }"));
  const std::vector<JobSpec> jobs = ExpandJobs(e);
  std::map<std::string, const JobSpec*> by_key;
  for (const JobSpec& j : jobs) by_key[j.key] = &j;
  int emulator = 0;
  for (const JobSpec& j : jobs) {
    if (j.stage != Stage::kEmulator) continue;
    ++emulator;
    ASSERT_EQ(j.depends_on.size(), 1u);
    const JobSpec* f = by_key.at(j.depends_on[0]);
    EXPECT_EQ(f->stage, Stage::kFinal);
    EXPECT_EQ(f->seed, 1u);
    EXPECT_EQ(f->method, j.method);
    if (j.method != "vanilla") {
      EXPECT_EQ(f->sigma, 0.2);
    }
  }
  EXPECT_EQ(emulator, 4);  // one model per method
}

BetaCandidate Candidate(double beta, double accuracy, bool ok = true) {
  BetaCandidate c;
  c.set_beta(beta);
  c.set_validation_accuracy(accuracy);
  c.set_ok(ok);
  return c;
}

TEST(BetaSelectionTest, HighestValidationAccuracyWins) {
  absl::StatusOr<double> b = SelectBeta(
      {Candidate(0.1, 50), Candidate(0.01, 61.5), Candidate(0.001, 61.4), Candidate(1e-4, 20)});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 0.01);
}

TEST(BetaSelectionTest, TiesGoToTheSmallerBeta) {
  EXPECT_EQ(*SelectBeta({Candidate(0.1, 60), Candidate(0.001, 60), Candidate(0.01, 60)}), 0.001);
  EXPECT_EQ(*SelectBeta({Candidate(0.001, 60), Candidate(0.1, 60)}), 0.001);
}

TEST(BetaSelectionTest, FailedCandidatesDoNotCount) {
  EXPECT_EQ(*SelectBeta({Candidate(0.1, 90, false), Candidate(0.01, 30)}), 0.01);
  EXPECT_FALSE(SelectBeta({Candidate(0.1, 90, false)}).ok());
  EXPECT_FALSE(SelectBeta({}).ok());
}

JobRecord SearchRecord(const std::string& key, double sigma, double accuracy, bool ok = true) {
  JobRecord r;
  r.set_key(key);
  r.set_status(ok ? "ok" : "failed");
  McPoint* p = r.add_results();
  p->set_sigma(sigma);
  p->set_mean_accuracy(accuracy);
  p->set_ci95(1);
  return r;
}

TEST(BetaSelectionTest, ChooseBetaFromRecords) {
  const Experiment e = Parse(absl::StrReplaceAll(kConfig, {{"validation_images: 100", "validation_images: 100 seeds: [1, 2]"}}));
  std::map<std::string, JobRecord> records;
  const double betas[] = {0.1, 0.01, 0.001, 0.0001};
  // Seeds 1 and 2: beta 0.001 has the best mean (70 + 60) / 2 = 65.
  const double acc[4][2] = {{50, 50}, {80, 40}, {70, 60}, {10, 10}};
  for (int b = 0; b < 4; ++b) {
    for (int s = 0; s < 2; ++s) {
      const std::string key = SearchKey(e, "ovf", 0.2, betas[b], s + 1);
      if (b == 3 && s == 1) continue;  // one record missing
      records[key] = SearchRecord(key, 0.2, acc[b][s]);
    }
  }
  BetaChoice c = ChooseBeta(e, "ovf", 0.2, records);
  EXPECT_FALSE(c.ready);
  const std::string last = SearchKey(e, "ovf", 0.2, 1e-4, 2);
  records[last] = SearchRecord(last, 0.2, 0, /*ok=*/false);
  c = ChooseBeta(e, "ovf", 0.2, records);
  ASSERT_TRUE(c.ready);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.beta, 0.001);
  ASSERT_EQ(c.candidates.size(), 4u);
  EXPECT_EQ(c.candidates[1].validation_accuracy(), 60);
  EXPECT_FALSE(c.candidates[3].ok());
  EXPECT_NEAR(c.candidates[2].validation_ci95(), std::sqrt(2.0) / 2, 1e-12);
  // All failed: not ok, with a reason naming method and sigma.
  for (auto& [k, r] : records) r.set_status("failed");
  c = ChooseBeta(e, "ovf", 0.2, records);
  EXPECT_TRUE(c.ready);
  EXPECT_FALSE(c.ok);
  EXPECT_TRUE(absl::StrContains(c.error, "beta search for ovf at sigma 0.2")) << c.error;
}

TEST(JobsTest, FingerprintIsStable) {
  EXPECT_EQ(Fingerprint(""), "cbf29ce4");
  EXPECT_EQ(Fingerprint("a").size(), 8u);
  EXPECT_NE(Fingerprint("a"), Fingerprint("b"));
}

}  // namespace
}  // namespace nftcim::experiments
