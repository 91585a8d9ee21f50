// Finite-difference checks of every layer's backward pass (public NCHW API).
// Each test uses loss = sum(output * r) for a fixed random r, so the
// output gradient fed to Backward is r.

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "trainer/nn/grad_check.h"
#include "trainer/nn/layers.h"
#include "trainer/nn/network.h"
#include "trainer/nn/random.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::GradCheckOptions;
using testing::RandomTensor;

GradCheckOptions Entries(int n) {
  GradCheckOptions o;
  o.max_entries = n;
  return o;
}

struct ConvGradCase {
  int n, cin, h, w, cout, k, stride, pad;
  bool bias;
};

class Conv2dGradTest : public ::testing::TestWithParam<ConvGradCase> {};

TEST_P(Conv2dGradTest, MatchesFiniteDifferences) {
  const ConvGradCase c = GetParam();
  Conv2d::Options o;
  o.stride = c.stride;
  o.padding = c.pad;
  o.bias = c.bias;
  Conv2d conv("conv", c.cin, c.cout, c.k, o);
  conv.weight.value = RandomTensor(conv.weight.value.shape(), 1);
  if (c.bias) conv.bias.value = RandomTensor({c.cout}, 2);
  Tensor x = RandomTensor({c.n, c.cin, c.h, c.w}, 3);
  Tensor y;
  conv.Forward(x, &y);
  const Tensor r = RandomTensor(y.shape(), 4);
  auto loss = [&] {
    Tensor out;
    conv.Forward(x, &out);
    return Dot(out, r);
  };
  Tensor dx;
  conv.Backward(x, r, &dx);
  EXPECT_TRUE(CheckGradient("dx", &x, dx, loss));
  EXPECT_TRUE(CheckGradient("dw", &conv.weight.value, conv.weight.grad, loss));
  if (c.bias) {
    EXPECT_TRUE(CheckGradient("db", &conv.bias.value, conv.bias.grad, loss));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dGradTest,
    ::testing::Values(ConvGradCase{2, 3, 6, 6, 5, 3, 1, 1, false},
                      ConvGradCase{1, 2, 7, 5, 4, 3, 2, 1, true},
                      ConvGradCase{2, 4, 5, 5, 3, 1, 2, 0, false},
                      ConvGradCase{1, 1, 8, 8, 6, 3, 1, 0, true}));

TEST(LinearGradTest, MatchesFiniteDifferences) {
  Linear fc("fc", 13, 7);
  fc.weight.value = RandomTensor({7, 13}, 1);
  fc.bias.value = RandomTensor({7}, 2);
  Tensor x = RandomTensor({3, 13}, 3);
  const Tensor r = RandomTensor({3, 7}, 4);
  auto loss = [&] {
    Tensor out;
    fc.Forward(x, &out);
    return Dot(out, r);
  };
  Tensor dx;
  fc.Backward(x, r, &dx);
  EXPECT_TRUE(CheckGradient("dx", &x, dx, loss));
  EXPECT_TRUE(CheckGradient("dw", &fc.weight.value, fc.weight.grad, loss));
  EXPECT_TRUE(CheckGradient("db", &fc.bias.value, fc.bias.grad, loss));
}

class BatchNormGradTest : public ::testing::TestWithParam<bool> {};

TEST_P(BatchNormGradTest, MatchesFiniteDifferences) {
  const bool training = GetParam();
  BatchNorm2d bn("bn", 5);
  bn.weight.value = RandomTensor({5}, 1, 0.5f, 1.5f);
  bn.bias.value = RandomTensor({5}, 2);
  bn.running_mean.value = RandomTensor({5}, 3);
  bn.running_var.value = RandomTensor({5}, 4, 0.5f, 1.5f);
  Tensor x = RandomTensor({3, 5, 4, 3}, 5, -2, 3);
  const Tensor r = RandomTensor(x.shape(), 6);
  auto loss = [&] {
    Tensor out;
    BatchNorm2d::Context ctx;
    bn.Forward(x, training, false, &out, &ctx);
    return Dot(out, r);
  };
  Tensor y, dx;
  BatchNorm2d::Context ctx;
  bn.Forward(x, training, false, &y, &ctx);
  bn.Backward(x, ctx, r, &dx);
  GradCheckOptions o;
  o.steps = {1e-3};
  EXPECT_TRUE(CheckGradient("dx", &x, dx, loss, o));
  EXPECT_TRUE(CheckGradient("dgamma", &bn.weight.value, bn.weight.grad, loss, o));
  EXPECT_TRUE(CheckGradient("dbeta", &bn.bias.value, bn.bias.grad, loss, o));
}

INSTANTIATE_TEST_SUITE_P(Modes, BatchNormGradTest, ::testing::Bool());

TEST(ReluGradTest, MatchesFiniteDifferences) {
  Tensor x = RandomTensor({2, 3, 4, 4}, 1);
  for (float& v : x) v += v > 0 ? 0.1f : -0.1f;  // away from the kink
  const Tensor r = RandomTensor(x.shape(), 2);
  auto loss = [&] {
    Tensor out;
    ReLU::Forward(x, &out);
    return Dot(out, r);
  };
  Tensor y, dx;
  ReLU::Forward(x, &y);
  ReLU::Backward(y, r, &dx);
  EXPECT_TRUE(CheckGradient("dx", &x, dx, loss, Entries(96)));
}

TEST(MaxPoolGradTest, MatchesFiniteDifferences) {
  Tensor x = RandomTensor({2, 3, 7, 6}, 1);
  const Tensor r = RandomTensor({2, 3, 3, 3}, 2);
  auto loss = [&] {
    Tensor out;
    MaxPool2d::Forward(x, &out);
    return Dot(out, r);
  };
  Tensor dx;
  MaxPool2d::Backward(x, r, &dx);
  GradCheckOptions o;
  o.steps = {1e-4};
  o.max_entries = 500;
  EXPECT_TRUE(CheckGradient("dx", &x, dx, loss, o));
}

TEST(AdaptiveAvgPoolGradTest, MatchesFiniteDifferences) {
  for (int s : {1, 3, 4, 6}) {
    AdaptiveAvgPool2d pool(s);
    Tensor x = RandomTensor({2, 3, 5, 5}, 1);
    const Tensor r = RandomTensor({2, 3, s, s}, 2);
    auto loss = [&] {
      Tensor out;
      pool.Forward(x, &out);
      return Dot(out, r);
    };
    Tensor dx;
    pool.Backward(x.shape(), r, &dx);
    EXPECT_TRUE(CheckGradient("dx", &x, dx, loss, Entries(200))) << s;
  }
}

TEST(FlattenAndAddTest, ShapesAndValues) {
  const Tensor x = RandomTensor({2, 3, 2, 2}, 1);
  Tensor y;
  Flatten::Forward(x, &y);
  EXPECT_EQ(y.shape(), Shape({2, 12}));
  EXPECT_EQ(y[7], x[7]);
  Tensor dx;
  Flatten::Backward(x.shape(), y, &dx);
  EXPECT_EQ(dx.shape(), x.shape());
  Tensor s;
  Add::Forward(x, x, &s);
  EXPECT_EQ(s[5], 2 * x[5]);
}

TEST(SoftmaxCrossEntropyGradTest, MatchesFiniteDifferences) {
  Tensor logits = RandomTensor({4, 6}, 1, -3, 3);
  const std::vector<int32_t> labels = {1, 0, 5, 2};
  Tensor d, lp;
  const double l0 = SoftmaxCrossEntropy(logits, labels, &d, &lp);
  EXPECT_GT(l0, 0);
  double manual = 0;
  for (int n = 0; n < 4; ++n) manual -= lp.at(n, labels[n]);
  EXPECT_NEAR(l0, manual / 4, 1e-6);
  auto loss = [&] { return SoftmaxCrossEntropy(logits, labels, nullptr); };
  GradCheckOptions o;
  o.steps = {1e-3};
  EXPECT_TRUE(CheckGradient("dlogits", &logits, d, loss, o));
}

TEST(IrsHeadGradTest, MatchesFiniteDifferences) {
  IrsHead head("irs1", 3, 3, 8, 5, 42);
  Tensor x = RandomTensor({2, 3, 7, 7}, 1);
  const Tensor r = RandomTensor({2, 5}, 2);
  ForwardOptions fo;
  auto loss = [&] {
    Tensor out;
    head.Forward(x, fo, nullptr, &out);
    return Dot(out, r);
  };
  IrsHead::Cache cache;
  Tensor logits, dx;
  head.Forward(x, fo, &cache, &logits);
  head.Backward(cache, r, &dx);
  EXPECT_TRUE(CheckGradient("dx", &x, dx, loss));
  for (Parameter* p : head.Parameters()) {
    EXPECT_TRUE(CheckGradient(p->name, &p->value, p->grad, loss));
  }
}

}  // namespace
}  // namespace nftcim::trainer::nn
