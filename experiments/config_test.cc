#include "experiments/config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace nftcim::experiments {
namespace {

constexpr char kValid[] = R"pb(
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
  beta_search { betas: [0.1, 0.01] validation_images: 100 }
  evaluation { sigma_range { start: 0 stop: 0.4 step: 0.05 } runs: 20 seed: 1 }
  ablations { name: "ovf_n1" method: "ovf" sigma: 0.2 feedbacks: 1 }
)pb";

// The error of kValid with `from` replaced by `to` ("" when it parses).
std::string ErrorWith(const std::string& from, const std::string& to) {
  const std::string text = absl::StrReplaceAll(kValid, {{from, to}});
  EXPECT_NE(text, kValid) << "'" << from << "' not in the config";
  absl::StatusOr<Experiment> e = ParseExperiment(text, "cfg.textproto");
  return e.ok() ? "" : std::string(e.status().message());
}

TEST(ConfigTest, ValidConfigParses) {
  absl::StatusOr<Experiment> e = ParseExperiment(kValid, "cfg");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->methods_size(), 4);
  EXPECT_EQ(SearchSeeds(*e), std::vector<uint32_t>{1});
  EXPECT_TRUE(HasBetaSearch(*e));
  EXPECT_EQ(BatchSize(*e), 128);
  EXPECT_EQ(SearchRuns(*e), 10);
  EXPECT_EQ(MonitorTestLimit(*e), 500);
  EXPECT_EQ(DevicePreset(*e), "gaussian");
}

TEST(ConfigTest, SigmaRangeIsExactDecimals) {
  absl::StatusOr<Experiment> e = ParseExperiment(kValid, "cfg");
  ASSERT_TRUE(e.ok());
  const std::vector<double> s = EvaluationSigmas(e->evaluation());
  ASSERT_EQ(s.size(), 9u);
  EXPECT_EQ(s[3], 0.15);
  EXPECT_EQ(s[6], 0.3);
  EXPECT_EQ(s[8], 0.4);
  EXPECT_EQ(FormatNumber(s[3]), "0.15");
  EXPECT_EQ(FormatNumber(0.1 + 0.2), "0.3");
  EXPECT_EQ(FormatNumber(1e-4), "0.0001");
}

TEST(ConfigTest, ParseErrorsNameFileLineAndColumn) {
  absl::StatusOr<Experiment> e = ParseExperiment("format_version: 1\nbogus_field: 3\n", "x.textproto");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("x.textproto"), std::string::npos) << e.status();
  EXPECT_NE(e.status().message().find("line 2"), std::string::npos) << e.status();
  EXPECT_NE(e.status().message().find("bogus_field"), std::string::npos) << e.status();
}

TEST(ConfigTest, ClearErrors) {
  struct Case {
    std::string from, to, expected;
  };
  const Case cases[] = {
      {"format_version: 1", "format_version: 2", "format_version: expected 1, got 2"},
      {"format_version: 1", "", "format_version: expected 1, got 0 (missing"},
      {"name: \"t\"", "name: \"a b\"", "name: 'a b' is not a name"},
      {"\"fashion_mnist\"", "\"imagenet\"", "dataset: unknown 'imagenet'; expected one of fashion_mnist"},
      {"model: \"vgg8\"", "model: \"vgg16\"", "model: unknown 'vgg16'"},
      {"width: 0.25", "width: 0", "width: must be in (0, 16], got 0"},
      {"epochs: 2", "epochs: 0", "epochs: must be >= 1, got 0"},
      {"[\"vanilla\", \"noise\", \"ovf\", \"irs\"]", "[\"vanilla\", \"magic\"]",
       "methods: unknown method 'magic'; expected vanilla, noise, ovf or irs"},
      {"[\"vanilla\", \"noise\", \"ovf\", \"irs\"]", "[\"noise\", \"noise\"]", "methods: 'noise' listed twice"},
      {"methods: [\"vanilla\", \"noise\", \"ovf\", \"irs\"]", "", "methods: empty"},
      {"train_sigmas: [0.1, 0.2]", "train_sigmas: [0.1, -0.2]",
       "train_sigmas[1]: must be a sigma in [0, 10], got -0.2"},
      {"train_sigmas: [0.1, 0.2]", "train_sigmas: []", "train_sigmas: empty"},
      {"train_sigmas: [0.1, 0.2]", "train_sigmas: [0, 0.2]", "train_sigmas[0]: 0 trains"},
      {"seeds: [1, 2]", "", "seeds: empty"},
      {"seeds: [1, 2]", "seeds: [3, 3]", "seeds: a seed is listed twice"},
      {"betas: [0.1, 0.01]", "betas: [0.1, 2]", "beta_search.betas[1]: must be in (0, 1], got 2"},
      {"betas: [0.1, 0.01]", "betas: []", "beta_search.betas: empty"},
      {"validation_images: 100", "", "beta_search.validation_images: must be > 0 when several"},
      {"validation_images: 100", "validation_images: 1000",
       "beta_search.validation_images: 1000 leaves no training image"},
      {"runs: 20", "runs: 0", "evaluation.runs: must be >= 1, got 0"},
      {"sigma_range { start: 0 stop: 0.4 step: 0.05 }", "", "evaluation.sigmas: empty"},
      {"sigma_range { start: 0 stop: 0.4 step: 0.05 }", "sigma_range { start: 0 stop: 0.4 step: 0 }",
       "evaluation.sigma_range.step: must be > 0"},
      {"sigma_range { start: 0 stop: 0.4 step: 0.05 }",
       "sigmas: [0.1] sigma_range { start: 0 stop: 0.4 step: 0.05 }", "not both"},
      {"sigma: 0.2 feedbacks: 1", "sigma: 0.3 feedbacks: 1",
       "ablation 'ovf_n1': sigma: 0.3 is not one of train_sigmas"},
      {"method: \"ovf\" sigma: 0.2", "method: \"noise\" sigma: 0.2",
       "ablation 'ovf_n1': method: 'noise' has no feedback to ablate"},
      {"feedbacks: 1", "", "ablation 'ovf_n1': changes nothing"},
      {"feedbacks: 1", "irs_classifier_noise_off: true",
       "ablation 'ovf_n1': irs_classifier_noise_off: only IRS has classifiers"},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorWith(c.from, c.to);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "replacing '" << c.from << "' by '" << c.to << "'\n  got: " << error
        << "\n  expected to contain: " << c.expected;
    if (!error.empty()) {
      EXPECT_EQ(error.rfind("cfg.textproto: ", 0), 0u) << error;
    }
  }
}

TEST(ConfigTest, AblationOfMissingMethodNeedsBeta) {
  const std::string error =
      ErrorWith("[\"vanilla\", \"noise\", \"ovf\", \"irs\"]", "[\"vanilla\", \"noise\", \"irs\"]");
  EXPECT_NE(error.find("ablation 'ovf_n1': method: ovf is not in methods"), std::string::npos)
      << error;
  // With its own beta it needs no search.
  EXPECT_EQ(ErrorWith("feedbacks: 1 }", "feedbacks: 1 beta: 0.001 }"), "");
}

TEST(ConfigTest, SingleBetaNeedsNoValidation) {
  const std::string text = absl::StrReplaceAll(
      kValid, {{"betas: [0.1, 0.01] validation_images: 100", "betas: [0.001]"}});
  absl::StatusOr<Experiment> e = ParseExperiment(text, "cfg");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(HasBetaSearch(*e));
  EXPECT_EQ(FixedBeta(*e), 0.001);
}

TEST(ConfigTest, CommittedConfigsAreValid) {
  for (const char* path : {"experiments/smoke.textproto", "experiments/fmnist_vgg8.textproto",
                           "experiments/ablations_fmnist_vgg8.textproto",
                           "experiments/paper_scale_cifar10_resnet18.textproto"}) {
    absl::StatusOr<Experiment> e = LoadExperiment(path);
    EXPECT_TRUE(e.ok()) << path << ": " << e.status();
  }
}

}  // namespace
}  // namespace nftcim::experiments
