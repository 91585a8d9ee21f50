#include "trainer/nft_objective.h"

#include <cmath>

#include "gtest/gtest.h"

namespace nftcim::trainer {
namespace {

TEST(DecayFactorsTest, PaperOrderAndReversed) {
  EXPECT_EQ(DecayFactors(3, false), (std::vector<double>{1, 0.1, 0.01}));
  EXPECT_EQ(DecayFactors(3, true), (std::vector<double>{0.01, 0.1, 1}));
  EXPECT_EQ(DecayFactors(4, false).back(), 0.001);
  EXPECT_TRUE(DecayFactors(0, false).empty());
}

TEST(NftObjectiveTest, NoFeedbackIsCrossEntropy) {
  // One sample, logits (1, 2, 3), label 2: loss = log(e + e^2 + e^3) - 3.
  NftObjectiveResult r = NftObjective({1, 2, 3}, {}, {}, 0.5, {2}, 3);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(r.loss, std::log(z) - 3, 1e-6);
  EXPECT_NEAR(r.d_backbone[0], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(r.d_backbone[2], std::exp(3.0) / z - 1, 1e-6);
  EXPECT_EQ(r.predictions[0], 2);
}

TEST(NftObjectiveTest, HandMadeOvfExample) {
  // Two classes, one sample, N = 2 feedbacks, beta = 0.1, alpha = (1, 0.1):
  // F = 1*(2, 0) + 0.1*(0, 4) = (2, 0.4)
  // O = ((1, 3) - 0.1*(2, 0.4)) / 3 = (0.8, 2.96) / 3
  const std::vector<float> ob = {1, 3};
  const std::vector<std::vector<float>> fb = {{2, 0}, {0, 4}};
  NftObjectiveResult r = NftObjective(ob, fb, {1, 0.1}, 0.1, {0}, 2);
  const double o0 = 0.8 / 3, o1 = 2.96 / 3;
  const double log_z = std::log(std::exp(o0) + std::exp(o1));
  EXPECT_NEAR(r.loss, log_z - o0, 1e-6);
  EXPECT_EQ(r.predictions[0], 1);
  const double p0 = std::exp(o0 - log_z), p1 = std::exp(o1 - log_z);
  // dL/dO = (p0 - 1, p1); dO/do_b = 1/3; dO/do_i = -beta alpha_i / 3.
  EXPECT_NEAR(r.d_backbone[0], (p0 - 1) / 3, 1e-6);
  EXPECT_NEAR(r.d_backbone[1], p1 / 3, 1e-6);
  EXPECT_NEAR(r.d_feedback[0][0], -(p0 - 1) / 3 * 0.1, 1e-6);
  EXPECT_NEAR(r.d_feedback[1][1], -p1 / 3 * 0.1 * 0.1, 1e-7);
}

TEST(NftObjectiveTest, GradientMatchesFiniteDifferences) {
  const int classes = 4, batch = 3;
  std::vector<float> ob = {0.3f, -1.2f, 2.0f, 0.1f, 1.0f, 1.0f, -0.5f, 0.2f, -2, 0, 0.5f, 3};
  std::vector<std::vector<float>> fb = {
      {1, 2, -1, 0, 0.5f, -0.5f, 2, 1, 0, 1, 1, -3},
      {-0.2f, 0.1f, 0.4f, 2, 1, -1, 0, 0.3f, 0.7f, -0.8f, 0.1f, 0}};
  const std::vector<double> alpha = {1, 0.1};
  const std::vector<int32_t> labels = {2, 0, 3};
  const double beta = 0.3;
  NftObjectiveResult r = NftObjective(ob, fb, alpha, beta, labels, classes);
  const float h = 1e-3f;
  for (int k = 0; k < batch * classes; ++k) {
    auto plus = ob, minus = ob;
    plus[k] += h;
    minus[k] -= h;
    const double num = (NftObjective(plus, fb, alpha, beta, labels, classes).loss -
                        NftObjective(minus, fb, alpha, beta, labels, classes).loss) / (2 * h);
    EXPECT_NEAR(r.d_backbone[k], num, 2e-4) << k;
    for (int i = 0; i < 2; ++i) {
      auto fp = fb, fm = fb;
      fp[i][k] += h;
      fm[i][k] -= h;
      const double numf = (NftObjective(ob, fp, alpha, beta, labels, classes).loss -
                           NftObjective(ob, fm, alpha, beta, labels, classes).loss) / (2 * h);
      EXPECT_NEAR(r.d_feedback[i][k], numf, 2e-4) << i << " " << k;
    }
  }
}

TEST(NftObjectiveTest, LogSoftmaxIsStableForHugeLogits) {
  const float logits[3] = {1000, 1001, 0};
  std::vector<double> lp = LogSoftmax(logits, 3);
  EXPECT_NEAR(lp[1], -std::log1p(std::exp(-1.0)), 1e-9);
  EXPECT_TRUE(std::isfinite(lp[2]));
}

}  // namespace
}  // namespace nftcim::trainer
