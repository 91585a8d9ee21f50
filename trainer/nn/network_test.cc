// VGG-8, ResNet-18 and the IRS heads: structure, initialisation, forward
// modes, weight override, gradient accumulation and determinism. The
// gradient checks are in network_grad_test.cc.

#include "trainer/nn/network.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "trainer/nn/grad_check.h"
#include "trainer/nn/parallel.h"
#include "trainer/nn/random.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::GradCheckOptions;
using testing::RandomTensor;

std::unique_ptr<Network> Make(const std::string& arch, double width,
                              int in_channels, int classes = 10,
                              uint64_t seed = 7) {
  ModelConfig c;
  c.arch = arch;
  c.width = width;
  c.in_channels = in_channels;
  c.num_classes = classes;
  c.input_size = 32;
  c.seed = seed;
  absl::StatusOr<std::unique_ptr<Network>> net = MakeNetwork(c);
  EXPECT_TRUE(net.ok()) << net.status();
  return std::move(net).value();
}

bool BitEqual(const Tensor& a, const Tensor& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

std::vector<std::string> Names(const Network& net) {
  std::vector<std::string> n;
  for (const Parameter* p : net.Parameters()) n.push_back(p->name);
  return n;
}

// ---- Structure ----

TEST(NetworkTest, Vgg8QuarterWidthStructure) {
  auto net = Make("vgg8", 0.25, 1);
  const std::vector<std::string> want = {
      "conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
      "bn2.bias",     "conv3.weight", "bn3.weight", "bn3.bias", "conv4.weight",
      "bn4.weight",   "bn4.bias",   "conv5.weight", "bn5.weight", "bn5.bias",
      "conv6.weight", "bn6.weight", "bn6.bias",   "fc1.weight", "fc1.bias",
      "fc2.weight",   "fc2.bias"};
  EXPECT_EQ(Names(*net), want);
  const int ch[6] = {16, 32, 64, 64, 128, 128};
  int in = 1;
  for (int i = 0; i < 6; ++i) {
    const Parameter* w = net->FindParameter("conv" + std::to_string(i + 1) + ".weight");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->value.shape(), Shape({ch[i], in, 3, 3}));
    EXPECT_TRUE(w->device_mapped);
    in = ch[i];
  }
  EXPECT_EQ(net->FindParameter("fc1.weight")->value.shape(), Shape({256, 2048}));
  EXPECT_EQ(net->FindParameter("fc2.weight")->value.shape(), Shape({10, 256}));
  for (const Parameter* p : net->Parameters()) {
    const bool is_weight = p->name.find("conv") == 0 || p->name.find("fc") == 0;
    EXPECT_EQ(p->device_mapped, is_weight && p->name.rfind(".weight") != std::string::npos)
        << p->name;
    EXPECT_EQ(p->grad.shape(), p->value.shape());
  }
  std::vector<std::string> buffers;
  for (const Buffer* b : net->Buffers()) buffers.push_back(b->name);
  ASSERT_EQ(buffers.size(), 12u);
  EXPECT_EQ(buffers[0], "bn1.running_mean");
  EXPECT_EQ(buffers[1], "bn1.running_var");
  EXPECT_EQ(buffers[11], "bn6.running_var");

  const ArchitectureInfo& info = net->info();
  EXPECT_EQ(info.channels, std::vector<int>({16, 32, 64, 64, 128, 128, 256}));
  ASSERT_EQ(info.snapshots.size(), 3u);
  EXPECT_EQ(info.snapshots[0].after, "relu1");
  EXPECT_EQ(info.snapshots[0].channels, 16);
  EXPECT_EQ(info.snapshots[0].height, 32);
  EXPECT_EQ(info.snapshots[1].after, "pool1");
  EXPECT_EQ(info.snapshots[1].channels, 32);
  EXPECT_EQ(info.snapshots[1].height, 16);
  EXPECT_EQ(info.snapshots[2].after, "pool2");
  EXPECT_EQ(info.snapshots[2].channels, 64);
  EXPECT_EQ(info.snapshots[2].height, 8);
  EXPECT_EQ(info.irs_pool_sizes, std::vector<int>({6, 4, 3}));
  EXPECT_EQ(info.irs_hidden, 128);
  EXPECT_EQ(net->num_snapshots(), 3);
  EXPECT_EQ(info.layers.front().name, "conv1");
  EXPECT_EQ(info.layers.back().name, "fc2");
  EXPECT_EQ(info.layers.back().in_channels, 256);

  Tensor x = RandomTensor({2, 1, 32, 32}, 1);
  Tensor logits;
  std::vector<Tensor> snaps;
  ForwardCache cache;
  net->Forward(x, ForwardOptions(), &cache, &logits, &snaps);
  EXPECT_EQ(logits.shape(), Shape({2, 10}));
  ASSERT_EQ(snaps.size(), 3u);
  EXPECT_EQ(snaps[0].shape(), Shape({2, 16, 32, 32}));
  EXPECT_EQ(snaps[1].shape(), Shape({2, 32, 16, 16}));
  EXPECT_EQ(snaps[2].shape(), Shape({2, 64, 8, 8}));
  // Snapshot 1 is a ReLU output, snapshot 2 its pooled successor.
  for (float v : snaps[0]) EXPECT_GE(v, 0.0f);
}

TEST(NetworkTest, ResNet18Structure) {
  auto net = Make("resnet18", 1.0, 3, 100);
  const std::vector<std::string> names = Names(*net);
  ASSERT_EQ(names.size(), 62u);  // 20 convs + 20 BNs * 2 + fc weight, bias
  EXPECT_EQ(names[0], "stem.conv.weight");
  EXPECT_EQ(names[1], "stem.bn.weight");
  EXPECT_EQ(names[2], "stem.bn.bias");
  EXPECT_EQ(names[3], "layer1.0.conv1.weight");
  EXPECT_EQ(names[4], "layer1.0.bn1.weight");
  EXPECT_EQ(names[6], "layer1.0.conv2.weight");
  EXPECT_EQ(names[9], "layer1.1.conv1.weight");
  EXPECT_EQ(names[15], "layer2.0.conv1.weight");
  EXPECT_EQ(names[21], "layer2.0.shortcut.conv.weight");
  EXPECT_EQ(names[22], "layer2.0.shortcut.bn.weight");
  EXPECT_EQ(names[60], "fc.weight");
  EXPECT_EQ(names[61], "fc.bias");
  EXPECT_EQ(net->FindParameter("layer2.0.conv1.weight")->value.shape(),
            Shape({128, 64, 3, 3}));
  EXPECT_EQ(net->FindParameter("layer4.0.shortcut.conv.weight")->value.shape(),
            Shape({512, 256, 1, 1}));
  EXPECT_EQ(net->FindParameter("layer1.0.shortcut.conv.weight"), nullptr);
  EXPECT_EQ(net->FindParameter("fc.weight")->value.shape(), Shape({100, 512}));
  EXPECT_NE(net->FindBuffer("layer3.1.bn2.running_var"), nullptr);
  const ArchitectureInfo& info = net->info();
  ASSERT_EQ(info.snapshots.size(), 4u);
  EXPECT_EQ(info.snapshots[0].channels, 64);
  EXPECT_EQ(info.snapshots[0].height, 32);
  EXPECT_EQ(info.snapshots[1].channels, 64);
  EXPECT_EQ(info.snapshots[2].channels, 128);
  EXPECT_EQ(info.snapshots[2].height, 16);
  EXPECT_EQ(info.snapshots[3].channels, 256);
  EXPECT_EQ(info.snapshots[3].height, 8);
  EXPECT_EQ(info.irs_pool_sizes, std::vector<int>({6, 6, 4, 3}));
}

TEST(NetworkTest, FactoryErrors) {
  ModelConfig c;
  c.arch = "lenet";
  EXPECT_FALSE(MakeNetwork(c).ok());
  c.arch = "vgg8";
  c.width = 0;
  EXPECT_FALSE(MakeNetwork(c).ok());
  c.width = -1;
  EXPECT_FALSE(MakeNetwork(c).ok());
  c.width = 0.25;
  c.input_size = 30;
  EXPECT_FALSE(MakeNetwork(c).ok());
  c.input_size = 32;
  c.num_classes = 0;
  EXPECT_FALSE(MakeNetwork(c).ok());
  c.num_classes = 10;
  EXPECT_TRUE(MakeNetwork(c).ok());
  EXPECT_EQ(ScaledWidth(64, 0.25), 16);
  EXPECT_EQ(ScaledWidth(64, 0.01), 1);
  EXPECT_EQ(ScaledWidth(512, 0.3), 154);
}

// ---- Initialisation ----

TEST(NetworkTest, InitialisationIsKaimingFanOutAndDeterministic) {
  auto a = Make("vgg8", 0.5, 3, 10, 11);
  auto b = Make("vgg8", 0.5, 3, 10, 11);
  auto c = Make("vgg8", 0.5, 3, 10, 12);
  std::vector<Parameter*> pa = a->Parameters(), pb = b->Parameters(),
                          pc = c->Parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(BitEqual(pa[i]->value, pb[i]->value)) << pa[i]->name;
    const Tensor& v = pa[i]->value;
    if (pa[i]->device_mapped) {
      EXPECT_FALSE(BitEqual(v, pc[i]->value)) << pa[i]->name;
      int64_t fan_out = v.dim(0);
      for (int d = 2; d < v.ndim(); ++d) fan_out *= v.dim(d);
      double sum = 0, sq = 0;
      for (float x : v) {
        sum += x;
        sq += static_cast<double>(x) * x;
      }
      const double mean = sum / v.size(), sd = std::sqrt(sq / v.size() - mean * mean);
      const double want = std::sqrt(2.0 / fan_out);
      EXPECT_NEAR(sd, want, 0.1 * want) << pa[i]->name;
      EXPECT_NEAR(mean, 0, 0.1 * want) << pa[i]->name;
      // Parameter i's stream is Rng(seed, i).
      Tensor expect(v.shape());
      KaimingNormalFanOut(&expect, 11, i);
      EXPECT_TRUE(BitEqual(v, expect)) << pa[i]->name;
    } else if (pa[i]->name.find("bn") == 0 &&
               pa[i]->name.rfind(".weight") != std::string::npos) {
      for (float x : v) EXPECT_EQ(x, 1.0f);
    } else {
      for (float x : v) EXPECT_EQ(x, 0.0f) << pa[i]->name;
    }
  }
  for (const Buffer* buf : a->Buffers()) {
    const float want = buf->name.find("running_var") != std::string::npos ? 1.0f : 0.0f;
    for (float x : buf->value) EXPECT_EQ(x, want);
  }
}

TEST(RngTest, KnownValuesAndGaussianMoments) {
  Rng a(1, 2), b(1, 2), c(1, 3);
  const uint64_t first = a.Next();
  EXPECT_EQ(first, b.Next());
  EXPECT_NE(first, c.Next());
  Rng g(5);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = g.Gaussian();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0, 0.01);
  EXPECT_NEAR(sq / n, 1, 0.01);
}

// ---- Forward modes ----

TEST(NetworkTest, InferenceWithoutCacheMatchesCachedEval) {
  for (const char* arch : {"vgg8", "resnet18"}) {
    auto net = Make(arch, 0.125, 3);
    const Tensor x = RandomTensor({3, 3, 32, 32}, 2);
    // Give BatchNorm non-trivial running statistics first.
    Tensor logits;
    ForwardOptions train;
    for (int i = 0; i < 3; ++i) net->Forward(x, train, nullptr, &logits, nullptr);
    ForwardOptions eval;
    eval.training = false;
    Tensor fused, unfused;
    std::vector<Tensor> s1, s2;
    net->Forward(x, eval, nullptr, &fused, &s1);
    ForwardCache cache;
    net->Forward(x, eval, &cache, &unfused, &s2);
    float scale = 0;
    for (float v : unfused) scale = std::max(scale, std::fabs(v));
    EXPECT_LE(MaxAbsDiff(fused, unfused), 1e-4f * scale) << arch;
    for (size_t i = 0; i < s1.size(); ++i) {
      float ss = 0;
      for (float v : s2[i]) ss = std::max(ss, std::fabs(v));
      EXPECT_LE(MaxAbsDiff(s1[i], s2[i]), 1e-4f * ss) << arch << " snapshot " << i;
    }
  }
}

TEST(NetworkTest, RunningStatisticsUpdateOnlyWhenAsked) {
  auto net = Make("vgg8", 0.125, 1);
  const Tensor x = RandomTensor({4, 1, 32, 32}, 3);
  Tensor logits;
  ForwardOptions o;
  o.update_running_stats = false;
  net->Forward(x, o, nullptr, &logits, nullptr);
  for (const Buffer* b : net->Buffers()) {
    const float want = b->name.find("running_var") != std::string::npos ? 1.0f : 0.0f;
    for (float v : b->value) ASSERT_EQ(v, want) << b->name;
  }
  o.update_running_stats = true;
  net->Forward(x, o, nullptr, &logits, nullptr);
  // bn1: running_mean = 0.1 * batch mean of conv1's output.
  const Parameter* w = net->FindParameter("conv1.weight");
  double sum0 = 0;
  for (int64_t n = 0; n < 4; ++n)
    for (int i = 0; i < 32; ++i)
      for (int j = 0; j < 32; ++j) {
        double s = 0;
        for (int u = 0; u < 3; ++u)
          for (int v = 0; v < 3; ++v) {
            const int r = i + u - 1, q = j + v - 1;
            if (r < 0 || r >= 32 || q < 0 || q >= 32) continue;
            s += static_cast<double>(w->value.at(0, 0, u, v)) * x.at(n, 0, r, q);
          }
        sum0 += s;
      }
  EXPECT_NEAR(net->FindBuffer("bn1.running_mean")->value[0], 0.1 * sum0 / 4096, 1e-5);
}

// ---- Weight override, accumulation, caches ----

TEST(NetworkTest, WeightOverrideIsUsedAndGradientsAreStraightThrough) {
  auto net = Make("vgg8", 0.125, 1);
  const Tensor x = RandomTensor({2, 1, 32, 32}, 4);
  const Tensor r = RandomTensor({2, 10}, 5);
  std::vector<Parameter*> params = net->Parameters();

  // Noisy weights for every device-mapped parameter.
  std::vector<Tensor> noisy(params.size());
  std::vector<const Tensor*> ov(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i]->device_mapped) continue;
    noisy[i] = params[i]->value.Clone();
    Rng rng(9, i);
    for (float& v : noisy[i]) v += static_cast<float>(0.05 * rng.Gaussian());
    ov[i] = &noisy[i];
  }
  ForwardOptions o;
  o.update_running_stats = false;
  o.weight_override = &ov;
  Tensor with_ov;
  ForwardCache c1;
  net->Forward(x, o, &c1, &with_ov, nullptr);
  net->ZeroGrad();
  net->Backward(c1, r, {});
  std::vector<Tensor> grad_ov;
  for (Parameter* p : params) grad_ov.push_back(p->grad.Clone());

  // The same as setting the weights to the noisy values.
  auto twin = Make("vgg8", 0.125, 1);
  std::vector<Parameter*> tp = twin->Parameters();
  for (size_t i = 0; i < tp.size(); ++i) {
    if (ov[i] != nullptr) tp[i]->value.CopyFrom(noisy[i]);
  }
  ForwardOptions plain;
  plain.update_running_stats = false;
  Tensor direct;
  ForwardCache c2;
  twin->Forward(x, plain, &c2, &direct, nullptr);
  twin->Backward(c2, r, {});
  EXPECT_TRUE(BitEqual(with_ov, direct));
  for (size_t i = 0; i < tp.size(); ++i) {
    EXPECT_TRUE(BitEqual(grad_ov[i], tp[i]->grad)) << tp[i]->name;
  }

  // And different from the clean forward.
  Tensor clean;
  net->Forward(x, plain, nullptr, &clean, nullptr);
  EXPECT_GT(MaxAbsDiff(clean, with_ov), 1e-3f);

  // Override tensors numerically identical to the clean weights give the
  // clean results exactly; they may be freed right after Forward.
  std::vector<const Tensor*> same(params.size(), nullptr);
  {
    std::vector<Tensor> copies(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      copies[i] = params[i]->value.Clone();
      same[i] = &copies[i];
    }
    o.weight_override = &same;
    Tensor l1;
    net->Forward(x, o, &c1, &l1, nullptr);
    EXPECT_TRUE(BitEqual(l1, clean));
  }
  net->ZeroGrad();
  net->Backward(c1, r, {});
  std::vector<Tensor> g1;
  for (Parameter* p : params) g1.push_back(p->grad.Clone());
  net->ZeroGrad();
  net->Forward(x, plain, &c2, nullptr, nullptr);
  net->Backward(c2, r, {});
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(BitEqual(g1[i], params[i]->grad)) << params[i]->name;
  }
}

TEST(NetworkTest, GradientsAccumulateAndCachesAreIndependent) {
  auto net = Make("resnet18", 0.0625, 3);
  const Tensor xa = RandomTensor({2, 3, 32, 32}, 6);
  const Tensor xb = RandomTensor({2, 3, 32, 32}, 7);
  const Tensor ra = RandomTensor({2, 10}, 8);
  const Tensor rb = RandomTensor({2, 10}, 9);
  std::vector<Parameter*> params = net->Parameters();
  ForwardOptions o;
  o.update_running_stats = false;

  auto grads = [&] {
    std::vector<Tensor> g;
    for (Parameter* p : params) g.push_back(p->grad.Clone());
    return g;
  };
  ForwardCache ca, cb;
  net->ZeroGrad();
  net->Forward(xa, o, &ca, nullptr, nullptr);
  net->Backward(ca, ra, {});
  const std::vector<Tensor> ga = grads();
  net->ZeroGrad();
  net->Forward(xb, o, &cb, nullptr, nullptr);
  net->Backward(cb, rb, {});
  const std::vector<Tensor> gb = grads();

  // Two forwards, then both backwards in reverse order, accumulating.
  ForwardCache c1, c2;
  net->ZeroGrad();
  net->Forward(xa, o, &c1, nullptr, nullptr);
  net->Forward(xb, o, &c2, nullptr, nullptr);
  net->Backward(c2, rb, {});
  net->Backward(c1, ra, {});
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor sum = ga[i].Clone();
    for (int64_t k = 0; k < sum.size(); ++k) sum[k] += gb[i][k];
    float scale = 0;
    for (float v : sum) scale = std::max(scale, std::fabs(v));
    EXPECT_LE(MaxAbsDiff(sum, params[i]->grad), 1e-5f * scale + 1e-12f) << params[i]->name;
  }
}

TEST(NetworkTest, BitIdenticalAcrossThreadCountsAndRuns) {
  for (const char* arch : {"vgg8", "resnet18"}) {
    Tensor logits[3];
    std::vector<std::vector<Tensor>> grads(3);
    const int threads[3] = {1, 2, 2};
    for (int r = 0; r < 3; ++r) {
      SetNumThreads(threads[r]);
      auto net = Make(arch, 0.25, 3);
      const Tensor x = RandomTensor({5, 3, 32, 32}, 10);
      ForwardCache cache;
      std::vector<Tensor> snaps;
      net->Forward(x, ForwardOptions(), &cache, &logits[r], &snaps);
      std::vector<Tensor> ds;
      for (size_t i = 0; i < snaps.size(); ++i)
        ds.push_back(RandomTensor(snaps[i].shape(), 20 + i));
      net->Backward(cache, RandomTensor({5, 10}, 11), ds);
      for (Parameter* p : net->Parameters()) grads[r].push_back(p->grad.Clone());
    }
    SetNumThreads(1);
    for (int r = 1; r < 3; ++r) {
      EXPECT_TRUE(BitEqual(logits[0], logits[r])) << arch;
      for (size_t i = 0; i < grads[0].size(); ++i)
        EXPECT_TRUE(BitEqual(grads[0][i], grads[r][i])) << arch << " param " << i;
    }
  }
}

// ---- IRS heads ----

TEST(IrsHeadTest, BuiltFromArchitectureInfo) {
  auto net = Make("vgg8", 0.25, 1);
  auto heads = MakeIrsHeads(net->info(), {}, 3);
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_EQ(heads[0]->Parameters()[0]->name, "irs1.fc1.weight");
  EXPECT_EQ(heads[2]->Parameters()[3]->name, "irs3.fc2.bias");
  EXPECT_EQ(heads[0]->Parameters()[0]->value.shape(), Shape({128, 16 * 6 * 6}));
  EXPECT_EQ(heads[1]->Parameters()[0]->value.shape(), Shape({128, 32 * 4 * 4}));
  EXPECT_EQ(heads[2]->Parameters()[0]->value.shape(), Shape({128, 64 * 3 * 3}));
  EXPECT_EQ(heads[2]->Parameters()[2]->value.shape(), Shape({10, 128}));
  EXPECT_TRUE(heads[0]->Parameters()[0]->device_mapped);
  EXPECT_FALSE(heads[0]->Parameters()[1]->device_mapped);
  EXPECT_FALSE(BitEqual(heads[0]->Parameters()[2]->value,
                        heads[1]->Parameters()[2]->value));

  // Snapshots feed the heads; head gradients flow back into the backbone.
  const Tensor x = RandomTensor({2, 1, 32, 32}, 14);
  ForwardCache cache;
  Tensor logits;
  std::vector<Tensor> snaps;
  net->Forward(x, ForwardOptions(), &cache, &logits, &snaps);
  std::vector<Tensor> ds(3);
  for (int i = 0; i < 3; ++i) {
    IrsHead::Cache hc;
    Tensor hl;
    heads[i]->Forward(snaps[i], ForwardOptions(), &hc, &hl);
    EXPECT_EQ(hl.shape(), Shape({2, 10}));
    heads[i]->Backward(hc, RandomTensor({2, 10}, 40 + i), &ds[i]);
    EXPECT_EQ(ds[i].shape(), snaps[i].shape());
  }
  net->Backward(cache, Tensor({2, 10}), ds);
  double g = 0;
  for (float v : net->FindParameter("conv1.weight")->grad) g += std::fabs(v);
  EXPECT_GT(g, 0);
}

}  // namespace
}  // namespace nftcim::trainer::nn
