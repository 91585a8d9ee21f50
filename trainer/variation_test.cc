#include "trainer/variation.h"

#include <cmath>

#include "device_model/weight_noise.h"
#include "gtest/gtest.h"
#include "trainer/nn/parallel.h"

namespace nftcim::trainer {
namespace {

struct Params {
  nn::Parameter weight, bias;
  std::vector<nn::Parameter*> list;
  Params(int64_t n) {
    nn::InitParameter(&weight, "fc.weight", {n / 10, 10}, true);
    nn::InitParameter(&bias, "fc.bias", {n / 10}, false);
    for (int64_t i = 0; i < weight.value.size(); ++i) {
      weight.value[i] = std::sin(0.37f * static_cast<float>(i));  // W_max ~ 1
    }
    list = {&weight, &bias};
  }
};

TEST(VariationTest, OnlyDeviceMappedParametersAreDrawn) {
  Params p(1000);
  StandardNormalDraw d = DrawStandardNormals(p.list, 1, NoisePurpose::kTrainBackbone, 0, 0);
  EXPECT_GE(d.z[0].size(), 1000u);
  EXPECT_TRUE(d.z[1].empty());
  NoisyWeights noisy;
  noisy.Build(p.list, *device::DeviceModel::Create(8, 2, 0.1, formats::GAUSSIAN), d);
  ASSERT_NE((*noisy.overrides())[0], nullptr);
  EXPECT_EQ((*noisy.overrides())[1], nullptr);
  noisy.Build(p.list, *device::DeviceModel::Create(8, 2, 0.0, formats::GAUSSIAN), d);
  EXPECT_EQ((*noisy.overrides())[0], nullptr);
}

TEST(VariationTest, KeyedAndThreadIndependent) {
  Params p(200000);
  nn::SetNumThreads(1);
  StandardNormalDraw a = DrawStandardNormals(p.list, 7, NoisePurpose::kTrainBackbone, 3, 0);
  nn::SetNumThreads(2);
  StandardNormalDraw b = DrawStandardNormals(p.list, 7, NoisePurpose::kTrainBackbone, 3, 0);
  StandardNormalDraw c = DrawStandardNormals(p.list, 7, NoisePurpose::kTrainBackbone, 4, 0);
  StandardNormalDraw e = DrawStandardNormals(p.list, 7, NoisePurpose::kEvaluate, 3, 0);
  nn::SetNumThreads(1);
  EXPECT_EQ(a.z[0], b.z[0]);
  EXPECT_NE(a.z[0], c.z[0]);
  EXPECT_NE(a.z[0], e.z[0]);
}

TEST(VariationTest, NoisyWeightsHaveTheDeviceModelsSpread) {
  Params p(200000);
  const float w_max = device::MaxAbs(p.weight.value.data(), p.weight.value.size());
  NoisyWeights noisy;
  noisy.Build(p.list, *device::DeviceModel::Create(8, 2, 0.2, formats::GAUSSIAN),
              DrawStandardNormals(p.list, 1, NoisePurpose::kTrainBackbone, 0, 0));
  const nn::Tensor& w = *(*noisy.overrides())[0];
  double ss = 0;
  for (int64_t i = 0; i < w.size(); ++i) ss += std::pow(w[i] - p.weight.value[i], 2);
  const double std = std::sqrt(ss / w.size());
  EXPECT_NEAR(std / (0.77763 * 0.2 * w_max), 1.0, 0.01);
}

TEST(VariationTest, StuckAtCellsApplyAtSigmaZeroAndFollowTheCellSeed) {
  Params p(1000);
  formats::DeviceModel dp;
  dp.set_stuck_at_low_rate(0.05);
  const device::DeviceModel d = *device::DeviceModel::FromProto(dp);
  const StandardNormalDraw z = DrawStandardNormals(p.list, 1, NoisePurpose::kEvaluate, 0, 0);
  NoisyWeights a, b, c;
  a.Build(p.list, d, z, 11);
  b.Build(p.list, d, z, 11);
  c.Build(p.list, d, z, 12);
  ASSERT_NE((*a.overrides())[0], nullptr);  // sigma 0, yet faults
  const nn::Tensor& wa = *(*a.overrides())[0];
  const nn::Tensor& wb = *(*b.overrides())[0];
  const nn::Tensor& wc = *(*c.overrides())[0];
  int changed = 0, differ = 0;
  for (int64_t i = 0; i < wa.size(); ++i) {
    EXPECT_EQ(wa[i], wb[i]);
    changed += wa[i] != p.weight.value[i];
    differ += wa[i] != wc[i];
  }
  // 1 - 0.95^4 = 18.5% of the weights have a stuck-low programmed cell
  // (a stuck cell at level 0 changes nothing, so somewhat fewer move).
  EXPECT_GT(changed, 80);
  EXPECT_LT(changed, 260);
  EXPECT_GT(differ, 80);
}

}  // namespace
}  // namespace nftcim::trainer
