#include "device_model/weight_noise.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace nftcim::device {
namespace {

DeviceModel Make(double sigma, formats::DevicePreset preset) {
  return *DeviceModel::Create(8, 2, sigma, preset);
}

// Many noisy copies of one small layer; the empirical std of each weight's
// deviation must match the device model's formula.
void CheckEmpiricalStd(formats::DevicePreset preset) {
  const DeviceModel d = Make(0.2, preset);
  // Weights with magnitude codes 255 (W_max), 0, 85 (all cells level 1),
  // 170 (all level 2) and 99 (mixed).
  const std::vector<float> w = {-1.0f, 0.0f, 85 / 255.0f, -170 / 255.0f, 99 / 255.0f};
  const int n = static_cast<int>(w.size());
  const int draws = 40000;
  std::vector<double> sum_sq(n, 0);
  std::vector<float> out(n), scratch(n);
  for (int t = 0; t < draws; ++t) {
    ApplyVariation(d, w.data(), n, rng::PhiloxStream(5, StreamId({static_cast<uint64_t>(t)})),
                   scratch.data(), out.data());
    for (int i = 0; i < n; ++i) sum_sq[i] += std::pow(out[i] - w[i], 2);
  }
  for (int i = 0; i < n; ++i) {
    const double expected = d.WeightStdOverWmax(d.QuantizeMagnitude(w[i], 1.0));
    // Relative standard error of a std estimate is 1/sqrt(2 draws) = 0.35%.
    EXPECT_NEAR(std::sqrt(sum_sq[i] / draws), expected, 0.015 * expected)
        << "weight " << i << " preset " << preset;
  }
  if (preset == formats::GAUSSIAN) {
    EXPECT_NEAR(std::sqrt(sum_sq[0] / draws), 0.77763 * 0.2, 0.015 * 0.77763 * 0.2);
  }
}

TEST(WeightNoiseTest, EmpiricalStdMatchesFormulaGaussian) { CheckEmpiricalStd(formats::GAUSSIAN); }
TEST(WeightNoiseTest, EmpiricalStdMatchesFormulaFeFET6) { CheckEmpiricalStd(formats::FEFET6); }

TEST(WeightNoiseTest, StateDependenceShowsInTheData) {
  // Under FeFET6, a weight whose cells are all intermediate is noisier than
  // one at W_max (all cells at the top level).
  const DeviceModel d = Make(0.2, formats::FEFET6);
  EXPECT_GT(d.WeightStdOverWmax(85), 5 * d.WeightStdOverWmax(255));
}

TEST(WeightNoiseTest, ScalesWithWmaxAndIsZeroAtSigmaZero) {
  const std::vector<float> w = {0.5f, -2.0f, 1.0f};
  std::vector<float> z = {1.0f, 1.0f, -1.0f}, out(3);
  const DeviceModel d = Make(0.1, formats::GAUSSIAN);
  ApplyVariationWithNormals(d, w.data(), 3, z.data(), out.data());
  const float expected = static_cast<float>(0.77763 * 0.1 * 2.0);
  EXPECT_NEAR(out[0] - w[0], expected, 1e-4);
  EXPECT_NEAR(out[1] - w[1], expected, 1e-4);
  EXPECT_NEAR(out[2] - w[2], -expected, 1e-4);
  ApplyVariationWithNormals(d.WithSigma(0), w.data(), 3, z.data(), out.data());
  EXPECT_EQ(out, w);
}

TEST(WeightNoiseTest, SharedNormalsScaleWithSigma) {
  // OVF's shared-noise option: the same z at two sigmas gives deviations in
  // the ratio of the sigmas.
  const std::vector<float> w = {0.3f, -0.7f, 1.0f, 0.01f};
  std::vector<float> z(4), a(4), b(4);
  StandardNormals(rng::PhiloxStream(1, 1), 4, z.data());
  ApplyVariationWithNormals(Make(0.1, formats::FEFET2), w.data(), 4, z.data(), a.data());
  ApplyVariationWithNormals(Make(0.3, formats::FEFET2), w.data(), 4, z.data(), b.data());
  for (int i = 0; i < 4; ++i) EXPECT_NEAR((b[i] - w[i]), 3 * (a[i] - w[i]), 1e-5);
}

}  // namespace
}  // namespace nftcim::device
