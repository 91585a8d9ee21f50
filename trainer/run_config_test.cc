#include "trainer/run_config.h"

#include "gtest/gtest.h"

namespace nftcim::trainer {
namespace {

formats::RunConfig Valid() {
  formats::RunConfig c;
  c.mutable_architecture()->set_arch("vgg8");
  c.mutable_architecture()->set_width(0.25);
  c.mutable_device()->set_sigma(0.2);
  c.mutable_method()->set_kind(formats::TrainingMethod::OVF);
  c.mutable_method()->set_beta(1e-3);
  c.mutable_optimizer()->set_learning_rate(1e-3);
  c.set_epochs(1);
  c.set_batch_size(128);
  c.set_threads(2);
  return c;
}

void ExpectInvalid(const formats::RunConfig& c, const std::string& flag) {
  absl::Status s = ValidateRunConfig(c);
  ASSERT_FALSE(s.ok()) << flag;
  EXPECT_NE(std::string(s.message()).find(flag), std::string::npos) << s;
}

TEST(RunConfigTest, ValidPasses) { EXPECT_TRUE(ValidateRunConfig(Valid()).ok()); }

TEST(RunConfigTest, BadFlagsAreNamed) {
  auto c = Valid();
  c.mutable_device()->set_sigma(-0.1);
  ExpectInvalid(c, "--sigma");
  c = Valid();
  c.mutable_architecture()->set_width(0);
  ExpectInvalid(c, "--width");
  c = Valid();
  c.mutable_method()->set_beta(1.5);
  ExpectInvalid(c, "--beta");
  c = Valid();
  c.mutable_architecture()->set_arch("vgg16");
  ExpectInvalid(c, "--model");
  c = Valid();
  c.mutable_method()->set_kind(formats::TrainingMethod::IRS);
  c.mutable_method()->set_num_feedbacks(4);
  ExpectInvalid(c, "--feedbacks");
  c = Valid();
  c.set_epochs(0);
  ExpectInvalid(c, "--epochs");
  EXPECT_FALSE(ParseMethod("sgd").ok());
  EXPECT_EQ(*ParseMethod("irs"), formats::TrainingMethod::IRS);
}

TEST(RunConfigTest, OvfSigmasLargestFirst) {
  auto c = Valid();
  std::vector<double> s = OvfSigmas(c);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], 0.35, 1e-12);
  EXPECT_NEAR(s[1], 0.30, 1e-12);
  EXPECT_NEAR(s[2], 0.25, 1e-12);
  c.mutable_method()->set_reversed_orientation(true);
  s = OvfSigmas(c);
  EXPECT_NEAR(s[0], 0.05, 1e-12);
  EXPECT_NEAR(s[2], 0.15, 1e-12);
  c.mutable_method()->set_num_feedbacks(1);
  c.mutable_method()->set_reversed_orientation(false);
  EXPECT_EQ(OvfSigmas(c).size(), 1u);
}

TEST(RunConfigTest, FeedbackCountsAndIrsSettings) {
  auto c = Valid();
  EXPECT_EQ(FeedbackCount(c), 3);
  c.mutable_method()->set_kind(formats::TrainingMethod::IRS);
  EXPECT_EQ(FeedbackCount(c), 3);
  c.mutable_architecture()->set_arch("resnet18");
  EXPECT_EQ(FeedbackCount(c), 4);
  EXPECT_EQ(IrsPoolSizes("resnet18"), (std::vector<int>{6, 6, 4, 3}));
  EXPECT_DOUBLE_EQ(IrsClassifierSigma(c), 0.2);
  c.mutable_method()->set_irs_sigma(0.1);
  EXPECT_DOUBLE_EQ(IrsClassifierSigma(c), 0.1);
  c.mutable_method()->set_irs_classifier_noise_off(true);
  EXPECT_DOUBLE_EQ(IrsClassifierSigma(c), 0);
  c.mutable_method()->set_kind(formats::TrainingMethod::NOISE);
  EXPECT_EQ(FeedbackCount(c), 0);
}

}  // namespace
}  // namespace nftcim::trainer
