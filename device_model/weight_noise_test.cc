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


DeviceModel WithNonideal(double sigma, double low, double high, double drift_seconds,
                         double nu_std, bool compensation, double read_noise = 0) {
  formats::DeviceModel p;
  p.set_sigma(sigma);
  p.set_stuck_at_low_rate(low);
  p.set_stuck_at_high_rate(high);
  p.set_drift_seconds(drift_seconds);
  if (drift_seconds > 0) {
    p.set_drift_nu_mean(0.05);
    p.set_drift_nu_std(nu_std);
  }
  p.set_drift_compensation(compensation);
  p.set_read_noise(read_noise);
  return *DeviceModel::FromProto(p);
}

std::vector<float> Layer(int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) w[k] = std::sin(0.37 * k + 0.1) * (k % 3 == 0 ? -1 : 1);
  return w;
}

TEST(ApplyDeviceTest, WithoutNonidealitiesItIsTheVariationDraw) {
  const DeviceModel d = Make(0.1, formats::FEFET2);
  const std::vector<float> w = Layer(96);
  std::vector<float> z(96), a(96), b(96);
  StandardNormals(rng::PhiloxStream(1, 2), 96, z.data());
  ApplyVariationWithNormals(d, w.data(), 96, z.data(), a.data());
  ApplyDeviceWithNormals(d, w.data(), 96, z.data(), LayerCells{0, 8, 5}, b.data());
  EXPECT_EQ(a, b);
}

TEST(ApplyDeviceTest, StuckAtEverywhere) {
  const std::vector<float> w = Layer(60);
  const std::vector<float> z(60, 1.0f);
  std::vector<float> out(60);
  const float w_max = MaxAbs(w.data(), 60);
  // All cells stuck low: every weight reads 0, whatever z (no variation).
  ApplyDeviceWithNormals(WithNonideal(0.2, 1, 0, 0, 0, false), w.data(), 60, z.data(),
                         LayerCells{1, 6, 9}, out.data());
  const DeviceModel d = Make(0, formats::GAUSSIAN);
  for (int k = 0; k < 60; ++k) {
    const double q = d.QuantizeMagnitude(w[k], w_max);
    const double wq = (w[k] < 0 && q > 0 ? -1 : 1) * q * w_max / 255;
    EXPECT_NEAR(out[k], w[k] - wq, 1e-6) << k;  // the float weight minus its quantization
  }
  // All stuck high in both arrays: the two arrays cancel, the same result.
  std::vector<float> out_high(60);
  ApplyDeviceWithNormals(WithNonideal(0.2, 0, 1, 0, 0, false), w.data(), 60, z.data(),
                         LayerCells{1, 6, 9}, out_high.data());
  for (int k = 0; k < 60; ++k) EXPECT_NEAR(out_high[k], out[k], 1e-6);
}

TEST(ApplyDeviceTest, DriftScalesAndCompensationUndoesIt) {
  const std::vector<float> w = Layer(120);
  const std::vector<float> z(120, 0.0f);
  std::vector<float> drifted(120), compensated(120);
  // Nearly fixed nu = 0.05 at t = 10^4 s: every cell times 10^-0.2 = 0.631.
  ApplyDeviceWithNormals(WithNonideal(0, 0, 0, 1e4, 1e-9, false), w.data(), 120, z.data(),
                         LayerCells{0, 10, 3}, drifted.data());
  ApplyDeviceWithNormals(WithNonideal(0, 0, 0, 1e4, 1e-9, true), w.data(), 120, z.data(),
                         LayerCells{0, 10, 3}, compensated.data());
  const float w_max = MaxAbs(w.data(), 120);
  const DeviceModel d = Make(0, formats::GAUSSIAN);
  for (int k = 0; k < 120; ++k) {
    const double q = d.QuantizeMagnitude(w[k], w_max);
    const double wq = (w[k] < 0 && q > 0 ? -1 : 1) * q * w_max / 255;
    // (nu is 0.05 to Q.16: 3277 / 65536, a 3e-5 relative difference.)
    EXPECT_NEAR(drifted[k], w[k] - wq + wq * std::pow(1e4, -3277 / 65536.0), 1e-6) << k;
    EXPECT_NEAR(compensated[k], w[k], 1e-5) << k;
  }
}

TEST(ApplyDeviceTest, ReadNoiseAndVariationAddInVariance) {
  const DeviceModel d =
      WithNonideal(0.1, 0, 0, 0, 0, false, /*read_noise=*/0.05);
  std::vector<float> w = {1.0f, 0.0f, 0.5f};
  const std::vector<float> z(3, 1.0f);
  std::vector<float> out(3);
  ApplyDeviceWithNormals(d, w.data(), 3, z.data(), LayerCells{0, 1, 1}, out.data(),
                         /*activation_bits=*/8, /*dac_bits=*/1);
  // std / W_max = sqrt((0.77763 * 0.1)^2 + 2 * (0.77763 * 0.05)^2 * 0.33595)
  // for a level-independent device (every weight has the same std).
  const double want = std::sqrt(std::pow(0.77763 * 0.1, 2) +
                                2 * std::pow(0.77763 * 0.05, 2) * (21845.0 / 65025.0));
  EXPECT_NEAR(out[0] - 1.0, want, 1e-4);
  EXPECT_NEAR(out[1] - 0.0, want, 1e-4);
}

}  // namespace
}  // namespace nftcim::device
