#include "trainer/optimizer.h"

#include <cmath>

#include "gtest/gtest.h"

namespace nftcim::trainer {
namespace {

formats::OptimizerConfig Adam(double lr) {
  formats::OptimizerConfig c;
  c.set_kind(formats::OptimizerConfig::ADAM);
  c.set_learning_rate(lr);
  return c;
}

TEST(OptimizerTest, AdamFirstStepMovesByLr) {
  // Adam's first step is lr * g / (|g| + eps'): sign(g) * lr for any g.
  std::vector<float> w = {1.0f, -2.0f}, g = {0.5f, -1e-3f};
  Optimizer opt(Adam(0.01));
  opt.Step({{"w", w.data(), g.data(), 2}}, 0.01);
  EXPECT_NEAR(w[0], 0.99, 1e-6);
  EXPECT_NEAR(w[1], -1.99, 1e-5);
}

TEST(OptimizerTest, AdamMinimisesAQuadratic) {
  std::vector<float> w = {3.0f}, g(1);
  Optimizer opt(Adam(0.1));
  for (int t = 0; t < 500; ++t) {
    g[0] = 2 * (w[0] - 1.0f);  // d/dw (w - 1)^2
    opt.Step({{"w", w.data(), g.data(), 1}}, 0.1);
  }
  EXPECT_NEAR(w[0], 1.0, 0.02);
  EXPECT_EQ(opt.steps(), 500);
}

TEST(OptimizerTest, SgdMomentum) {
  formats::OptimizerConfig c;
  c.set_kind(formats::OptimizerConfig::SGD);
  c.set_momentum(0.9);
  std::vector<float> w = {0.f}, g = {1.f};
  Optimizer opt(c);
  opt.Step({{"w", w.data(), g.data(), 1}}, 0.1);  // buf = 1
  EXPECT_NEAR(w[0], -0.1, 1e-7);
  opt.Step({{"w", w.data(), g.data(), 1}}, 0.1);  // buf = 1.9
  EXPECT_NEAR(w[0], -0.29, 1e-6);
}

TEST(OptimizerTest, CosineSchedule) {
  formats::OptimizerConfig c = Adam(1e-3);
  c.set_cosine(true);
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 0, 10), 1e-3);
  EXPECT_NEAR(LearningRateAt(c, 5, 10), 0.5e-3, 1e-15);
  EXPECT_NEAR(LearningRateAt(c, 10, 10), 0, 1e-15);
  c.set_cosine(false);
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 7, 10), 1e-3);
}

TEST(OptimizerTest, StateRoundTripContinuesIdentically) {
  std::vector<float> a = {1, 2, 3}, b = {1, 2, 3}, g = {0.1f, -0.2f, 0.3f};
  Optimizer one(Adam(0.01)), two(Adam(0.01));
  for (int t = 0; t < 3; ++t) one.Step({{"p", a.data(), g.data(), 3}}, 0.01);
  for (int t = 0; t < 3; ++t) two.Step({{"p", b.data(), g.data(), 3}}, 0.01);
  formats::OptimizerState saved;
  two.SaveState({{"p", b.data(), g.data(), 3}}, &saved);
  Optimizer restored(Adam(0.01));
  ASSERT_TRUE(restored.LoadState({{"p", b.data(), g.data(), 3}}, saved).ok());
  one.Step({{"p", a.data(), g.data(), 3}}, 0.01);
  restored.Step({{"p", b.data(), g.data(), 3}}, 0.01);
  EXPECT_EQ(a, b);
  EXPECT_EQ(restored.steps(), 4);
}

TEST(OptimizerTest, LoadStateRejectsMismatch) {
  std::vector<float> a = {1, 2}, g = {0, 0};
  Optimizer opt(Adam(0.01));
  opt.Step({{"p", a.data(), g.data(), 2}}, 0.01);
  formats::OptimizerState saved;
  opt.SaveState({{"p", a.data(), g.data(), 2}}, &saved);
  Optimizer other(Adam(0.01));
  absl::Status s = other.LoadState({{"q", a.data(), g.data(), 2}}, saved);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("'q'"), std::string::npos) << s;
}

}  // namespace
}  // namespace nftcim::trainer
