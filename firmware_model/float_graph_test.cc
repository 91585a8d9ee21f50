#include "firmware_model/float_graph.h"

#include <cmath>

#include "firmware_model/test_networks.h"
#include "gtest/gtest.h"

namespace nftcim::firmware {
namespace {

using trainer::nn::Network;
using trainer::nn::Tensor;

// The folded graph computes the network's function: its logits equal
// nn::Network::Forward's in inference mode (BatchNorm with running
// statistics) up to float rounding.
void ExpectSameLogits(const std::string& arch, int in_channels) {
  std::unique_ptr<Network> net = testing::RandomNetwork(arch, 1.0 / 16, in_channels, 10, 3);
  absl::StatusOr<FloatGraph> g = BuildFloatGraph(*net);
  ASSERT_TRUE(g.ok()) << g.status();
  const int64_t n = 3;
  std::vector<float> x = testing::RandomImages(n, in_channels, 32, 11);
  Tensor xt({n, in_channels, 32, 32});
  std::copy(x.begin(), x.end(), xt.data());
  trainer::nn::ForwardOptions opt;
  opt.training = false;
  opt.update_running_stats = false;
  Tensor logits;
  net->Forward(xt, opt, nullptr, &logits, nullptr);
  std::vector<std::vector<float>> outs;
  RunFloatGraph(*g, x.data(), n, &outs);
  ASSERT_EQ(outs.back().size(), static_cast<size_t>(logits.size()));
  double max_abs = 0;
  for (int64_t i = 0; i < logits.size(); ++i) max_abs = std::max(max_abs, std::fabs(double{logits[i]}));
  for (int64_t i = 0; i < logits.size(); ++i) {
    EXPECT_NEAR(outs.back()[i], logits[i], 1e-4 * max_abs + 1e-5) << arch << " logit " << i;
  }
}

TEST(FloatGraphTest, Vgg8MatchesNetwork) { ExpectSameLogits("vgg8", 1); }
TEST(FloatGraphTest, ResNet18MatchesNetwork) { ExpectSameLogits("resnet18", 3); }

TEST(FloatGraphTest, Vgg8Structure) {
  std::unique_ptr<Network> net = testing::RandomNetwork("vgg8", 0.25, 1, 10, 1);
  absl::StatusOr<FloatGraph> g = BuildFloatGraph(*net);
  ASSERT_TRUE(g.ok()) << g.status();
  // conv1..conv6, 3 pools, flatten, fc1, fc2.
  ASSERT_EQ(g->ops.size(), 12u);
  EXPECT_EQ(g->ops[0].name, "conv1");
  EXPECT_TRUE(g->ops[0].relu);
  EXPECT_EQ(g->ops[0].batchnorm_name, "bn1");
  EXPECT_EQ(g->ops[0].matrix_rows(), 9);
  EXPECT_EQ(g->ops[2].kind, FloatOp::Kind::kMaxPool);
  EXPECT_EQ(g->ops[9].kind, FloatOp::Kind::kFlatten);
  EXPECT_EQ(g->ops[10].name, "fc1");
  EXPECT_EQ(g->ops[10].matrix_rows(), 128 * 4 * 4);
  EXPECT_TRUE(g->ops[10].relu);
  EXPECT_FALSE(g->ops[11].relu);
}

TEST(FloatGraphTest, ResNet18Residuals) {
  std::unique_ptr<Network> net = testing::RandomNetwork("resnet18", 1.0 / 16, 3, 10, 1);
  absl::StatusOr<FloatGraph> g = BuildFloatGraph(*net);
  ASSERT_TRUE(g.ok()) << g.status();
  int residuals = 0, shortcut_convs = 0;
  for (const FloatOp& op : g->ops) {
    residuals += op.residual >= 0;
    if (op.name.find("shortcut") != std::string::npos) {
      ++shortcut_convs;
      EXPECT_FALSE(op.relu);
      EXPECT_EQ(op.kernel, 1);
    }
  }
  EXPECT_EQ(residuals, 8);
  EXPECT_EQ(shortcut_convs, 3);
}

}  // namespace
}  // namespace nftcim::firmware
