// Optimized kernels (kernels.h, NHWC) against the slow references
// (reference.h, NCHW, double accumulation).
//
// Tolerance: normwise relative, max|got - want| <= 1e-4 * max|want|
// (float accumulation over up to a few thousand terms vs double).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "trainer/nn/kernels.h"
#include "trainer/nn/layers.h"
#include "trainer/nn/parallel.h"
#include "trainer/nn/random.h"
#include "trainer/nn/reference.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {
namespace {

constexpr double kRelTol = 1e-4;

Tensor Random(Shape shape, uint64_t seed, float lo = -1, float hi = 1) {
  Tensor t(std::move(shape));
  Rng rng(seed, 77);
  for (float& v : t) v = static_cast<float>(lo + (hi - lo) * rng.Uniform());
  return t;
}

::testing::AssertionResult Close(const Tensor& got, const Tensor& want,
                                 double rel = kRelTol) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << got.ShapeString() << " vs " << want.ShapeString();
  }
  double scale = 0, err = 0;
  int64_t worst = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) {
      return ::testing::AssertionFailure() << "non-finite at " << i;
    }
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    const double e = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (e > err) {
      err = e;
      worst = i;
    }
  }
  if (err <= rel * std::max(scale, 1e-30)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "max abs error " << err << " at " << worst << " (got " << got[worst]
         << ", want " << want[worst] << "), scale " << scale;
}

bool BitEqual(const Tensor& a, const Tensor& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

// NCHW <-> NHWC by plain loops (independent of the kernels under test).
Tensor ToNhwc(const Tensor& x) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor y({N, H, W, C});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) y.at(n, h, w, c) = x.at(n, c, h, w);
  return y;
}
Tensor ToNchw(const Tensor& y) {
  const int64_t N = y.dim(0), H = y.dim(1), W = y.dim(2), C = y.dim(3);
  Tensor x({N, C, H, W});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) x.at(n, c, h, w) = y.at(n, h, w, c);
  return x;
}

class ThreadsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { SetNumThreads(GetParam()); }
  void TearDown() override { SetNumThreads(1); }
};

// ---- Convolution ----

struct ConvCase {
  int n, cin, h, w, cout, k, stride, pad;
};

std::string Name(const ConvCase& c) {
  return "n" + std::to_string(c.n) + "_c" + std::to_string(c.cin) + "_" +
         std::to_string(c.h) + "x" + std::to_string(c.w) + "_o" +
         std::to_string(c.cout) + "_k" + std::to_string(c.k) + "_s" +
         std::to_string(c.stride) + "_p" + std::to_string(c.pad);
}

const ConvCase kConvCases[] = {
    {1, 1, 5, 5, 3, 3, 1, 1},      // batch 1, one input channel
    {2, 1, 32, 32, 16, 3, 1, 1},   // VGG conv1 at width 1/4
    {2, 3, 7, 6, 17, 3, 2, 1},     // odd sizes, stride 2
    {3, 16, 8, 8, 32, 3, 1, 1},
    {2, 5, 9, 9, 70, 1, 2, 0},     // 1x1 stride 2 (odd phases get nothing)
    {1, 20, 6, 5, 33, 3, 1, 0},    // no padding
    {2, 4, 11, 11, 8, 5, 3, 2},    // 5x5 stride 3
    {1, 64, 4, 4, 64, 3, 1, 1},    // batch 1, 4x4
    {2, 13, 10, 7, 48, 2, 2, 0},   // 2x2 stride 2
    {2, 32, 8, 8, 128, 3, 2, 1},   // ResNet-like downsampling
    {33, 3, 32, 32, 16, 3, 1, 1},  // enough rows for grouped reductions
};

class ConvTest : public ::testing::TestWithParam<std::tuple<ConvCase, int>> {
 protected:
  void SetUp() override { SetNumThreads(std::get<1>(GetParam())); }
  void TearDown() override { SetNumThreads(1); }
};

TEST_P(ConvTest, MatchesReference) {
  const ConvCase c = std::get<0>(GetParam());
  const Tensor x = Random({c.n, c.cin, c.h, c.w}, 1);
  const Tensor w = Random({c.cout, c.cin, c.k, c.k}, 2);
  kernels::ConvGeometry g;
  g.batch = c.n;
  g.in_h = c.h;
  g.in_w = c.w;
  g.in_c = c.cin;
  g.out_c = c.cout;
  g.kernel_h = g.kernel_w = c.k;
  g.stride = c.stride;
  g.pad = c.pad;
  const int ho = g.out_h(), wo = g.out_w();

  Tensor want_y;
  reference::Conv2dForward(x, w, nullptr, c.stride, c.pad, &want_y);
  const Tensor xh = ToNhwc(x);
  Tensor yh({c.n, ho, wo, c.cout});
  kernels::ConvForward(g, xh.data(), w.data(), yh.data());
  EXPECT_TRUE(Close(ToNchw(yh), want_y)) << "forward " << Name(c);

  const Tensor dy = Random({c.n, c.cout, ho, wo}, 3);
  const Tensor dyh = ToNhwc(dy);
  Tensor want_dx, want_dw;
  reference::Conv2dBackwardData(dy, w, c.stride, c.pad, x.shape(), &want_dx);
  reference::Conv2dBackwardWeights(x, dy, c.stride, c.pad, w.shape(), &want_dw,
                                   nullptr);
  Tensor dxh = Tensor::Filled({c.n, c.h, c.w, c.cin}, 123.0f);  // overwritten
  kernels::ConvBackwardData(g, dyh.data(), w.data(), dxh.data(), false);
  EXPECT_TRUE(Close(ToNchw(dxh), want_dx)) << "backward data " << Name(c);

  // Accumulating variant: dx += ...
  Tensor acc = Tensor::Filled({c.n, c.h, c.w, c.cin}, 0.5f);
  kernels::ConvBackwardData(g, dyh.data(), w.data(), acc.data(), true);
  for (float& v : acc) v -= 0.5f;
  EXPECT_TRUE(Close(ToNchw(acc), want_dx, 1e-3)) << "accumulate " << Name(c);

  Tensor dw = Tensor::Filled(w.shape(), 1.0f);  // accumulated into
  kernels::ConvBackwardWeights(g, xh.data(), dyh.data(), dw.data());
  for (float& v : dw) v -= 1.0f;
  EXPECT_TRUE(Close(dw, want_dw, 1e-3)) << "backward weights " << Name(c);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvTest,
                         ::testing::Combine(::testing::ValuesIn(kConvCases),
                                            ::testing::Values(1, 2)));

TEST(ConvEpilogueTest, ScaleShiftReluAccumulate) {
  const ConvCase c{2, 6, 9, 9, 21, 3, 1, 1};
  const Tensor x = Random({c.n, c.cin, c.h, c.w}, 4);
  const Tensor w = Random({c.cout, c.cin, 3, 3}, 5);
  const Tensor scale = Random({c.cout}, 6, 0.5f, 2.0f);
  const Tensor shift = Random({c.cout}, 7);
  kernels::ConvGeometry g;
  g.batch = c.n;
  g.in_h = c.h;
  g.in_w = c.w;
  g.in_c = c.cin;
  g.out_c = c.cout;
  g.kernel_h = g.kernel_w = 3;
  g.pad = 1;
  Tensor want;
  reference::Conv2dForward(x, w, nullptr, 1, 1, &want);
  for (int64_t n = 0; n < c.n; ++n)
    for (int o = 0; o < c.cout; ++o)
      for (int i = 0; i < 81; ++i) {
        float& v = want[(n * c.cout + o) * 81 + i];
        v = std::max(0.0f, v * scale[o] + shift[o]) + 2.0f;
      }
  const Tensor xh = ToNhwc(x);
  Tensor yh = Tensor::Filled({c.n, 9, 9, c.cout}, 2.0f);
  kernels::Epilogue e;
  e.scale = scale.data();
  e.shift = shift.data();
  e.relu = true;
  e.accumulate = true;
  kernels::ConvForward(g, xh.data(), w.data(), yh.data(), e);
  EXPECT_TRUE(Close(ToNchw(yh), want));
}

// ---- Linear ----

struct LinearCase {
  int n, in, out;
};

class LinearTest : public ::testing::TestWithParam<std::tuple<LinearCase, int>> {
 protected:
  void SetUp() override { SetNumThreads(std::get<1>(GetParam())); }
  void TearDown() override { SetNumThreads(1); }
};

TEST_P(LinearTest, MatchesReference) {
  const LinearCase c = std::get<0>(GetParam());
  const Tensor x = Random({c.n, c.in}, 11);
  const Tensor w = Random({c.out, c.in}, 12);
  const Tensor b = Random({c.out}, 13);
  Tensor want;
  reference::LinearForward(x, w, &b, &want);
  Tensor y({c.n, c.out});
  kernels::LinearForward(c.n, c.in, c.out, x.data(), w.data(), b.data(), false,
                         y.data());
  EXPECT_TRUE(Close(y, want));
  Tensor yr({c.n, c.out});
  kernels::LinearForward(c.n, c.in, c.out, x.data(), w.data(), b.data(), true,
                         yr.data());
  for (float& v : want) v = std::max(v, 0.0f);
  EXPECT_TRUE(Close(yr, want));

  const Tensor dy = Random({c.n, c.out}, 14);
  Tensor want_dx, want_dw, want_db;
  reference::LinearBackward(x, w, dy, &want_dx, &want_dw, &want_db);
  Tensor dx({c.n, c.in});
  kernels::LinearBackwardData(c.n, c.in, c.out, dy.data(), w.data(), dx.data(),
                              false);
  EXPECT_TRUE(Close(dx, want_dx));
  Tensor dw({c.out, c.in}), db({c.out});
  kernels::LinearBackwardWeights(c.n, c.in, c.out, x.data(), dy.data(),
                                 dw.data(), db.data());
  EXPECT_TRUE(Close(dw, want_dw));
  EXPECT_TRUE(Close(db, want_db));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LinearTest,
    ::testing::Combine(::testing::Values(LinearCase{1, 1, 1}, LinearCase{5, 37, 70},
                                         LinearCase{128, 200, 10},
                                         LinearCase{3, 2048, 256},
                                         LinearCase{130, 64, 17}),
                       ::testing::Values(1, 2)));

// ---- BatchNorm ----

TEST_P(ThreadsTest, BatchNormForwardAndBackwardMatchReference) {
  for (bool training : {true, false}) {
    const int64_t N = 3, C = 19, H = 5, W = 7;
    // A large mean relative to the spread tests the variance's stability.
    const Tensor x = Random({N, C, H, W}, 21, 3.0f, 5.0f);
    const Tensor gamma = Random({C}, 22, 0.5f, 1.5f);
    const Tensor beta = Random({C}, 23);
    const Tensor rm = Random({C}, 24);
    const Tensor rv = Random({C}, 25, 0.5f, 2.0f);
    Tensor want_y, want_mean, want_var;
    reference::BatchNormForward(x, gamma, beta, rm, rv, training, 1e-5, &want_y,
                                &want_mean, &want_var);

    BatchNorm2d bn("bn", C);
    bn.weight.value.CopyFrom(gamma);
    bn.bias.value.CopyFrom(beta);
    bn.running_mean.value.CopyFrom(rm);
    bn.running_var.value.CopyFrom(rv);
    Tensor y;
    BatchNorm2d::Context ctx;
    bn.Forward(x, training, true, &y, &ctx);
    EXPECT_TRUE(Close(y, want_y));
    EXPECT_TRUE(Close(ctx.mean, want_mean));

    if (training) {
      Tensor new_rm = rm.Clone(), new_rv = rv.Clone();
      reference::BatchNormUpdateRunning(want_mean, want_var, N * H * W, 0.1,
                                        &new_rm, &new_rv);
      EXPECT_TRUE(Close(bn.running_mean.value, new_rm));
      EXPECT_TRUE(Close(bn.running_var.value, new_rv));
    } else {
      EXPECT_TRUE(BitEqual(bn.running_mean.value, rm));
      EXPECT_TRUE(BitEqual(bn.running_var.value, rv));
    }

    const Tensor dy = Random({N, C, H, W}, 26);
    Tensor want_dx, want_dg, want_db;
    reference::BatchNormBackward(x, gamma, want_mean, want_var, training, 1e-5,
                                 dy, &want_dx, &want_dg, &want_db);
    Tensor dx;
    bn.Backward(x, ctx, dy, &dx);
    EXPECT_TRUE(Close(dx, want_dx, 1e-3)) << "training " << training;
    EXPECT_TRUE(Close(bn.weight.grad, want_dg));
    EXPECT_TRUE(Close(bn.bias.grad, want_db));
  }
}

// The fused form used by Network: out = relu(bn(z) + residual).
TEST_P(ThreadsTest, FusedBatchNormReluResidualBackward) {
  const int64_t N = 2, C = 35, H = 6, W = 6;
  const Tensor x = Random({N, C, H, W}, 31);
  const Tensor res = Random({N, C, H, W}, 32);
  const Tensor gamma = Random({C}, 33, 0.5f, 1.5f);
  const Tensor beta = Random({C}, 34);
  const Tensor dy = Random({N, C, H, W}, 35);
  Tensor bn_y, mean, var;
  const Tensor unused({C});
  reference::BatchNormForward(x, gamma, beta, unused, unused, true, 1e-5, &bn_y,
                              &mean, &var);
  Tensor pre = bn_y.Clone();
  for (int64_t i = 0; i < pre.size(); ++i) pre[i] += res[i];
  Tensor out;
  reference::ReluForward(pre, &out);
  Tensor dpre, want_dx, want_dg, want_db;
  reference::ReluBackward(out, dy, &dpre);
  reference::BatchNormBackward(x, gamma, mean, var, true, 1e-5, dpre, &want_dx,
                               &want_dg, &want_db);

  const int64_t rows = N * H * W;
  const Tensor zh = ToNhwc(x), outh = ToNhwc(out), dyh = ToNhwc(dy);
  Tensor meanf({C}), invstd({C});
  std::vector<double> m(C), v(C);
  kernels::ChannelMeanVar(rows, C, zh.data(), m.data(), v.data());
  for (int o = 0; o < C; ++o) {
    meanf[o] = static_cast<float>(m[o]);
    invstd[o] = static_cast<float>(1 / std::sqrt(v[o] + 1e-5));
  }
  EXPECT_TRUE(Close(meanf, mean));
  Tensor dz({N, H, W, C}), dres = Tensor::Filled({N, H, W, C}, 1.0f);
  Tensor dg({C}), db({C});
  kernels::BatchNormBackwardArgs a;
  a.rows = rows;
  a.c = C;
  a.z = zh.data();
  a.out = outh.data();
  a.dout = dyh.data();
  a.mean = meanf.data();
  a.invstd = invstd.data();
  a.gamma = gamma.data();
  a.dz = dz.data();
  a.dgamma = dg.data();
  a.dbeta = db.data();
  a.dresidual = dres.data();
  a.accumulate_residual = true;
  kernels::BatchNormBackward(a);
  EXPECT_TRUE(Close(ToNchw(dz), want_dx, 1e-3));
  EXPECT_TRUE(Close(dg, want_dg));
  EXPECT_TRUE(Close(db, want_db));
  for (float& d : dres) d -= 1.0f;
  EXPECT_TRUE(Close(ToNchw(dres), dpre));
}

// ---- Pools, ReLU, layout, loss ----

TEST_P(ThreadsTest, MaxPoolMatchesReferenceIncludingTiesAndOddSizes) {
  for (auto [h, w] : {std::pair{8, 8}, std::pair{7, 5}, std::pair{2, 3}, std::pair{1, 4}}) {
    const int64_t N = 2, C = 21;
    Tensor x = Random({N, C, h, w}, 41);
    // Quantize so that windows contain ties.
    for (float& v : x) v = std::round(v * 2) / 2;
    Tensor want_y, want_dx;
    reference::MaxPool2x2Forward(x, &want_y);
    Tensor y;
    MaxPool2d::Forward(x, &y);
    EXPECT_TRUE(Close(y, want_y, 0)) << h << "x" << w;  // -0 vs +0 may differ
    const Tensor dy = Random(want_y.shape(), 42);
    reference::MaxPool2x2Backward(x, dy, &want_dx);
    Tensor dx;
    MaxPool2d::Backward(x, dy, &dx);
    EXPECT_TRUE(Close(dx, want_dx, 0)) << h << "x" << w;
  }
}

// The fused BN-affine + ReLU + max pool against its unfused composition.
TEST_P(ThreadsTest, FusedBnReluMaxPoolMatchesComposition) {
  for (auto [h, w, c] : {std::tuple{8, 8, 32}, std::tuple{7, 5, 19}, std::tuple{1, 3, 4},
                         std::tuple{4, 6, 70}}) {
    const int64_t n = 3;
    const int64_t rows = n * h * w;
    Tensor z = Random({n, h, w, c}, 91);
    for (float& v : z) v = std::round(v * 4) / 4;  // ties in windows
    Tensor scale = Random({c}, 92, 0.5f, 2.0f);
    scale[0] = -1.0f;  // a negative gamma reverses the order of maxima
    const Tensor shift = Random({c}, 93, -0.5f, 0.5f);
    const Tensor mean = Random({c}, 94, -0.2f, 0.2f);
    const Tensor invstd = Random({c}, 95, 0.5f, 2.0f);
    const Tensor gamma = Random({c}, 96, 0.5f, 1.5f);
    // Unfused.
    Tensor y(z.shape()), pooled({n, h / 2, w / 2, c});
    kernels::ChannelAffine(rows, c, z.data(), scale.data(), shift.data(), nullptr,
                           true, y.data());
    kernels::MaxPool2x2Forward(n, h, w, c, y.data(), pooled.data());
    Tensor fused(pooled.shape());
    kernels::BnReluMaxPoolForward(n, h, w, c, z.data(), scale.data(), shift.data(),
                                  fused.data());
    EXPECT_TRUE(Close(fused, pooled, 0));

    for (bool batch_stats : {true, false}) {
      const Tensor dp = Random(pooled.shape(), 97);
      Tensor dy(z.shape()), want_dz(z.shape()), dg1({c}), db1({c});
      kernels::MaxPool2x2Backward(n, h, w, c, y.data(), dp.data(), dy.data());
      kernels::BatchNormBackwardArgs a;
      a.rows = rows;
      a.c = c;
      a.z = z.data();
      a.out = y.data();
      a.dout = dy.data();
      a.mean = mean.data();
      a.invstd = invstd.data();
      a.gamma = gamma.data();
      a.batch_stats = batch_stats;
      a.dz = want_dz.data();
      a.dgamma = dg1.data();
      a.dbeta = db1.data();
      kernels::BatchNormBackward(a);

      Tensor dz = Tensor::Filled(z.shape(), 7.0f), dg2({c}), db2({c});
      kernels::BnReluMaxPoolBackwardArgs f;
      f.batch = n;
      f.h = h;
      f.w = w;
      f.c = c;
      f.z = z.data();
      f.scale = scale.data();
      f.shift = shift.data();
      f.dout = dp.data();
      f.mean = mean.data();
      f.invstd = invstd.data();
      f.gamma = gamma.data();
      f.batch_stats = batch_stats;
      f.dz = dz.data();
      f.dgamma = dg2.data();
      f.dbeta = db2.data();
      kernels::BnReluMaxPoolBackward(f);
      EXPECT_TRUE(Close(dz, want_dz, 1e-5)) << h << "x" << w << "x" << c;
      EXPECT_TRUE(Close(dg2, dg1, 1e-5));
      EXPECT_TRUE(Close(db2, db1, 1e-5));
    }
  }
}

TEST_P(ThreadsTest, AdaptiveAvgPoolMatchesReference) {
  for (auto [h, s] : {std::pair{32, 6}, std::pair{16, 4}, std::pair{8, 3},
                      std::pair{7, 3}, std::pair{4, 6}, std::pair{5, 1}}) {
    const Tensor x = Random({2, 5, h, h}, 51);
    Tensor want_y, want_dx, y, dx;
    reference::AdaptiveAvgPool2dForward(x, s, &want_y);
    AdaptiveAvgPool2d pool(s);
    pool.Forward(x, &y);
    EXPECT_TRUE(Close(y, want_y)) << h << " -> " << s;
    const Tensor dy = Random(want_y.shape(), 52);
    reference::AdaptiveAvgPool2dBackward(dy, x.shape(), &want_dx);
    pool.Backward(x.shape(), dy, &dx);
    EXPECT_TRUE(Close(dx, want_dx)) << h << " -> " << s;
  }
}

TEST_P(ThreadsTest, GlobalAvgPoolMatchesAdaptiveOne) {
  const Tensor x = Random({3, 40, 4, 4}, 53);
  Tensor want_y, want_dx;
  reference::AdaptiveAvgPool2dForward(x, 1, &want_y);
  const Tensor xh = ToNhwc(x);
  Tensor y({3, 40});
  kernels::GlobalAvgPoolForward(3, 16, 40, xh.data(), y.data());
  EXPECT_TRUE(Close(y, want_y));
  const Tensor dy = Random({3, 40, 1, 1}, 54);
  reference::AdaptiveAvgPool2dBackward(dy, x.shape(), &want_dx);
  Tensor dxh({3, 4, 4, 40});
  kernels::GlobalAvgPoolBackward(3, 16, 40, dy.data(), dxh.data(), false);
  EXPECT_TRUE(Close(ToNchw(dxh), want_dx));
}

TEST_P(ThreadsTest, ReluAndLayoutAndAccumulate) {
  const Tensor x = Random({3, 7, 5, 3}, 61);
  Tensor want, y;
  reference::ReluForward(x, &want);
  ReLU::Forward(x, &y);
  EXPECT_TRUE(BitEqual(y, want));
  const Tensor dy = Random(x.shape(), 62);
  Tensor want_dx, dx;
  reference::ReluBackward(y, dy, &want_dx);
  ReLU::Backward(y, dy, &dx);
  EXPECT_TRUE(BitEqual(dx, want_dx));

  Tensor h({3, 5, 3, 7});
  kernels::NchwToNhwc(3, 7, 15, x.data(), h.data());
  EXPECT_TRUE(BitEqual(h, ToNhwc(x)));
  Tensor back({3, 7, 5, 3});
  kernels::NhwcToNchw(3, 7, 15, h.data(), back.data());
  EXPECT_TRUE(BitEqual(back, x));

  Tensor sum = x.Clone();
  kernels::Accumulate(x.size(), dy.data(), sum.data());
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(sum[i], x[i] + dy[i]);
}

TEST(SoftmaxCrossEntropyTest, MatchesReference) {
  const Tensor logits = Random({6, 10}, 71, -20, 20);
  const std::vector<int32_t> labels = {0, 3, 9, 9, 4, 1};
  Tensor want_d, want_lp, d, lp;
  const double want = reference::SoftmaxCrossEntropy(logits, labels, &want_d, &want_lp);
  const double got = SoftmaxCrossEntropy(logits, labels, &d, &lp);
  EXPECT_NEAR(got, want, 1e-9 * std::fabs(want));
  EXPECT_TRUE(Close(d, want_d));
  EXPECT_TRUE(Close(lp, want_lp));
  // Sanity: each row of log_probs exponentiates to 1.
  for (int n = 0; n < 6; ++n) {
    double s = 0;
    for (int k = 0; k < 10; ++k) s += std::exp(lp.at(n, k));
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadsTest, ::testing::Values(1, 2));

// ---- Determinism: the same bits for any thread count, run to run ----

TEST(DeterminismTest, ConvAndLinearBitIdenticalAcrossThreadCounts) {
  const ConvCase c{40, 8, 32, 32, 16, 3, 1, 1};  // grouped reductions
  const Tensor xh = Random({c.n, c.h, c.w, c.cin}, 81);
  const Tensor w = Random({c.cout, c.cin, 3, 3}, 82);
  const Tensor dyh = Random({c.n, c.h, c.w, c.cout}, 83);
  kernels::ConvGeometry g;
  g.batch = c.n;
  g.in_h = c.h;
  g.in_w = c.w;
  g.in_c = c.cin;
  g.out_c = c.cout;
  g.kernel_h = g.kernel_w = 3;
  g.pad = 1;
  Tensor y[3], dx[3], dw[3], stats[3];
  const int threads[3] = {1, 2, 2};
  for (int r = 0; r < 3; ++r) {
    SetNumThreads(threads[r]);
    y[r] = Tensor({c.n, c.h, c.w, c.cout});
    dx[r] = Tensor(xh.shape());
    dw[r] = Tensor(w.shape());
    stats[r] = Tensor({2 * c.cout});
    kernels::ConvForward(g, xh.data(), w.data(), y[r].data());
    kernels::ConvBackwardData(g, dyh.data(), w.data(), dx[r].data(), false);
    kernels::ConvBackwardWeights(g, xh.data(), dyh.data(), dw[r].data());
    std::vector<double> m(c.cout), v(c.cout);
    kernels::ChannelMeanVar(y[r].size() / c.cout, c.cout, y[r].data(), m.data(), v.data());
    for (int o = 0; o < c.cout; ++o) {
      stats[r][o] = static_cast<float>(m[o]);
      stats[r][c.cout + o] = static_cast<float>(v[o]);
    }
  }
  SetNumThreads(1);
  for (int r = 1; r < 3; ++r) {
    EXPECT_TRUE(BitEqual(y[0], y[r]));
    EXPECT_TRUE(BitEqual(dx[0], dx[r]));
    EXPECT_TRUE(BitEqual(dw[0], dw[r]));
    EXPECT_TRUE(BitEqual(stats[0], stats[r]));
  }
}

}  // namespace
}  // namespace nftcim::trainer::nn
