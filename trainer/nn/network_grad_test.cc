// Whole-network gradient checks of VGG-8 and ResNet-18: finite differences
// (through the logits and the snapshots, BatchNorm in training and eval
// mode) and a hand-composed backprop through the individually checked layer
// classes.

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

// ---- Whole-network finite differences ----

struct FdCase {
  const char* arch;
  int in_channels;
  bool training;
};

class NetworkGradTest : public ::testing::TestWithParam<FdCase> {};

TEST_P(NetworkGradTest, MatchesFiniteDifferences) {
  const FdCase fc = GetParam();
  auto net = Make(fc.arch, 0.0625, fc.in_channels);
  const Tensor x = RandomTensor({2, fc.in_channels, 32, 32}, 12);
  if (!fc.training) {
    // Non-trivial running statistics.
    ForwardOptions warm;
    for (int i = 0; i < 2; ++i) net->Forward(x, warm, nullptr, nullptr, nullptr);
  }
  ForwardOptions o;
  o.training = fc.training;
  o.update_running_stats = false;
  Tensor logits;
  std::vector<Tensor> snaps;
  ForwardCache cache;
  net->Forward(x, o, &cache, &logits, &snaps);
  // Gradient flows in through the logits and every snapshot; the last
  // snapshot's gradient is left empty (zero) to test that case.
  const Tensor r = RandomTensor(logits.shape(), 13);
  std::vector<Tensor> ds(snaps.size());
  for (size_t i = 0; i + 1 < snaps.size(); ++i)
    ds[i] = RandomTensor(snaps[i].shape(), 30 + i, -0.05f, 0.05f);
  auto loss = [&] {
    Tensor l;
    std::vector<Tensor> s;
    net->Forward(x, o, nullptr, &l, &s);
    double total = Dot(l, r);
    for (size_t i = 0; i < s.size(); ++i)
      if (!ds[i].empty()) total += Dot(s[i], ds[i]);
    return total;
  };
  net->ZeroGrad();
  net->Backward(cache, r, ds);
  GradCheckOptions opt;
  opt.max_entries = 6;
  opt.steps = {1e-2, 3e-3, 1e-3, 3e-4};
  opt.tol = 3e-2;
  for (Parameter* p : net->Parameters()) {
    opt.seed = std::hash<std::string>()(p->name);
    EXPECT_TRUE(CheckGradient(p->name, &p->value, p->grad, loss, opt));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, NetworkGradTest,
    ::testing::Values(FdCase{"vgg8", 1, true}, FdCase{"vgg8", 3, false},
                      FdCase{"resnet18", 3, true}, FdCase{"resnet18", 1, false}),
    [](const ::testing::TestParamInfo<FdCase>& info) {
      return std::string(info.param.arch) + "_in" +
             std::to_string(info.param.in_channels) +
             (info.param.training ? "_train" : "_eval");
    });

// ---- The same networks composed by hand from the layer classes ----
//
// Each layer class is finite-difference checked on its own
// (layers_grad_test.cc); composing them with explicit backprop gives an
// independent check of Network's graph: wiring, fused BN+ReLU+residual,
// gradient accumulation at branches and the snapshot gradients. Tolerance:
// normwise relative 1e-3.

void AddInto(const Tensor& src, Tensor* dst) {
  for (int64_t i = 0; i < dst->size(); ++i) (*dst)[i] += src[i];
}

// conv -> BatchNorm (training) -> [+ residual] -> [ReLU], with its caches.
struct RefConvBn {
  RefConvBn(Network* net, const std::string& conv, const std::string& bn,
            int cin, int cout, int k, int stride, int pad)
      : c(conv, cin, cout, k, Conv2d::Options{stride, pad, false}), b(bn, cout) {
    c.weight.value.CopyFrom(net->FindParameter(conv + ".weight")->value);
  }
  void Forward(const Tensor& in, const Tensor* residual, bool relu, Tensor* out) {
    x = in.Clone();
    c.Forward(x, &z);
    b.Forward(z, true, false, &pre, &ctx);
    if (residual != nullptr) AddInto(*residual, &pre);
    has_relu = relu;
    if (relu) {
      ReLU::Forward(pre, &y);
    } else {
      y = pre.Clone();
    }
    *out = y.Clone();
  }
  // dy -> dx (if wanted); dres (if not null) receives the residual's grad.
  void Backward(const Tensor& dy, Tensor* dx, Tensor* dres) {
    Tensor dpre;
    if (has_relu) {
      ReLU::Backward(y, dy, &dpre);
    } else {
      dpre = dy.Clone();
    }
    if (dres != nullptr) *dres = dpre.Clone();
    Tensor dz;
    b.Backward(z, ctx, dpre, &dz);
    c.Backward(x, dz, dx);
  }
  void Compare(Network* net) const {
    for (const Parameter* p : {&c.weight, &b.weight, &b.bias}) {
      const Parameter* q = net->FindParameter(p->name);
      ASSERT_NE(q, nullptr) << p->name;
      float scale = 0;
      for (float v : p->grad) scale = std::max(scale, std::fabs(v));
      EXPECT_LE(MaxAbsDiff(p->grad, q->grad), 1e-3f * scale + 1e-6f) << p->name;
    }
  }
  Conv2d c;
  BatchNorm2d b;
  Tensor x, z, pre, y;
  BatchNorm2d::Context ctx;
  bool has_relu = false;
};

void CompareLinear(const Linear& fc, Network* net) {
  for (const Parameter* p : {&fc.weight, &fc.bias}) {
    const Parameter* q = net->FindParameter(p->name);
    float scale = 0;
    for (float v : p->grad) scale = std::max(scale, std::fabs(v));
    EXPECT_LE(MaxAbsDiff(p->grad, q->grad), 1e-3f * scale + 1e-6f) << p->name;
  }
}

void ExpectClose(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  float scale = 0;
  for (float v : b) scale = std::max(scale, std::fabs(v));
  EXPECT_LE(MaxAbsDiff(a, b), 1e-4f * scale + 1e-6f) << what;
}

TEST(ComposedReferenceTest, Vgg8) {
  auto net = Make("vgg8", 0.0625, 3);
  const Tensor x = RandomTensor({2, 3, 32, 32}, 50);
  ForwardOptions o;
  o.update_running_stats = false;
  ForwardCache cache;
  Tensor logits;
  std::vector<Tensor> snaps;
  net->Forward(x, o, &cache, &logits, &snaps);

  const std::vector<int>& ch = net->info().channels;
  std::vector<std::unique_ptr<RefConvBn>> blocks;
  int cin = 3;
  for (int i = 0; i < 6; ++i) {
    const std::string k = std::to_string(i + 1);
    blocks.push_back(std::make_unique<RefConvBn>(net.get(), "conv" + k, "bn" + k,
                                                 cin, ch[i], 3, 1, 1));
    cin = ch[i];
  }
  Linear fc1("fc1", ch[5] * 16, ch[6]), fc2("fc2", ch[6], 10);
  for (Linear* fc : {&fc1, &fc2}) {
    fc->weight.value.CopyFrom(net->FindParameter(fc->weight.name)->value);
  }
  Tensor cur = x.Clone(), acts[6], pooled[3], flat, h1pre, h1, ref_logits;
  for (int i = 0; i < 6; ++i) {
    blocks[i]->Forward(cur, nullptr, true, &acts[i]);
    cur = acts[i].Clone();
    if (i % 2 == 1) {
      MaxPool2d::Forward(acts[i], &pooled[i / 2]);
      cur = pooled[i / 2].Clone();
    }
  }
  Flatten::Forward(cur, &flat);
  fc1.Forward(flat, &h1pre);
  ReLU::Forward(h1pre, &h1);
  fc2.Forward(h1, &ref_logits);
  ExpectClose(logits, ref_logits, "logits");
  ExpectClose(snaps[0], acts[0], "snapshot 1");
  ExpectClose(snaps[1], pooled[0], "snapshot 2");
  ExpectClose(snaps[2], pooled[1], "snapshot 3");

  const Tensor dlogits = RandomTensor(logits.shape(), 51);
  std::vector<Tensor> ds;
  for (int i = 0; i < 3; ++i) ds.push_back(RandomTensor(snaps[i].shape(), 52 + i));
  net->ZeroGrad();
  net->Backward(cache, dlogits, ds);

  Tensor dh1, dh1pre, dflat, dcur;
  fc2.Backward(h1, dlogits, &dh1);
  ReLU::Backward(h1, dh1, &dh1pre);
  fc1.Backward(flat, dh1pre, &dflat);
  Flatten::Backward(pooled[2].shape(), dflat, &dcur);
  for (int i = 5; i >= 0; --i) {
    if (i % 2 == 1) {
      if (i / 2 < 2) AddInto(ds[1 + i / 2], &dcur);
      Tensor d;
      MaxPool2d::Backward(acts[i], dcur, &d);
      dcur = std::move(d);
    }
    if (i == 0) AddInto(ds[0], &dcur);
    Tensor dx;
    blocks[i]->Backward(dcur, i > 0 ? &dx : nullptr, nullptr);
    dcur = std::move(dx);
  }
  for (const auto& b : blocks) b->Compare(net.get());
  CompareLinear(fc1, net.get());
  CompareLinear(fc2, net.get());
}

TEST(ComposedReferenceTest, ResNet18) {
  auto net = Make("resnet18", 0.0625, 3);
  const Tensor x = RandomTensor({2, 3, 32, 32}, 60);
  ForwardOptions o;
  o.update_running_stats = false;
  ForwardCache cache;
  Tensor logits;
  std::vector<Tensor> snaps;
  net->Forward(x, o, &cache, &logits, &snaps);

  const std::vector<int>& ch = net->info().channels;
  RefConvBn stem(net.get(), "stem.conv", "stem.bn", 3, ch[0], 3, 1, 1);
  struct Block {
    std::unique_ptr<RefConvBn> c1, c2, sc;
    Tensor in, mid, out;
  };
  std::vector<Block> blocks;
  int cin = ch[0];
  for (int s = 0; s < 4; ++s) {
    for (int k = 0; k < 2; ++k) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(k) + ".";
      const int stride = (k == 0 && s > 0) ? 2 : 1;
      Block b;
      b.c1 = std::make_unique<RefConvBn>(net.get(), p + "conv1", p + "bn1", cin, ch[s + 1], 3, stride, 1);
      b.c2 = std::make_unique<RefConvBn>(net.get(), p + "conv2", p + "bn2", ch[s + 1], ch[s + 1], 3, 1, 1);
      if (stride != 1 || cin != ch[s + 1]) {
        b.sc = std::make_unique<RefConvBn>(net.get(), p + "shortcut.conv", p + "shortcut.bn",
                                           cin, ch[s + 1], 1, stride, 0);
      }
      blocks.push_back(std::move(b));
      cin = ch[s + 1];
    }
  }
  Linear fc("fc", ch[4], 10);
  fc.weight.value.CopyFrom(net->FindParameter("fc.weight")->value);

  Tensor cur, stem_out;
  stem.Forward(x, nullptr, true, &stem_out);
  cur = stem_out.Clone();
  std::vector<Tensor> ref_snaps;
  ref_snaps.push_back(stem_out.Clone());
  for (size_t i = 0; i < blocks.size(); ++i) {
    Block& b = blocks[i];
    b.in = cur.Clone();
    b.c1->Forward(b.in, nullptr, true, &b.mid);
    Tensor shortcut;
    if (b.sc) {
      b.sc->Forward(b.in, nullptr, false, &shortcut);
    } else {
      shortcut = b.in.Clone();
    }
    b.c2->Forward(b.mid, &shortcut, true, &b.out);
    cur = b.out.Clone();
    if (i % 2 == 1 && i < 7) ref_snaps.push_back(cur.Clone());
  }
  AdaptiveAvgPool2d gap(1);
  Tensor pooled, flat, ref_logits;
  gap.Forward(cur, &pooled);
  Flatten::Forward(pooled, &flat);
  fc.Forward(flat, &ref_logits);
  ExpectClose(logits, ref_logits, "logits");
  for (int i = 0; i < 4; ++i) ExpectClose(snaps[i], ref_snaps[i], "snapshot");

  const Tensor dlogits = RandomTensor(logits.shape(), 61);
  std::vector<Tensor> ds(4);
  for (int i = 0; i < 3; ++i) ds[i] = RandomTensor(snaps[i].shape(), 62 + i);  // ds[3] empty
  net->ZeroGrad();
  net->Backward(cache, dlogits, ds);

  Tensor dflat, dpooled, dcur;
  fc.Backward(flat, dlogits, &dflat);
  Flatten::Backward(pooled.shape(), dflat, &dpooled);
  gap.Backward(cur.shape(), dpooled, &dcur);
  for (int i = static_cast<int>(blocks.size()) - 1; i >= 0; --i) {
    Block& b = blocks[i];
    if (i % 2 == 1 && i < 7 && !ds[(i + 1) / 2].empty()) AddInto(ds[(i + 1) / 2], &dcur);
    Tensor dmid, dres, dx1, dx2;
    b.c2->Backward(dcur, &dmid, &dres);
    b.c1->Backward(dmid, &dx1, nullptr);
    if (b.sc) {
      b.sc->Backward(dres, &dx2, nullptr);
    } else {
      dx2 = std::move(dres);
    }
    AddInto(dx2, &dx1);
    dcur = std::move(dx1);
  }
  AddInto(ds[0], &dcur);
  stem.Backward(dcur, nullptr, nullptr);

  stem.Compare(net.get());
  for (const Block& b : blocks) {
    b.c1->Compare(net.get());
    b.c2->Compare(net.get());
    if (b.sc) b.sc->Compare(net.get());
  }
  CompareLinear(fc, net.get());
}

}  // namespace
}  // namespace nftcim::trainer::nn
