#include "device_model/device_model.h"

#include <cmath>

#include "gtest/gtest.h"

namespace nftcim::device {
namespace {

DeviceModel Make(double sigma, formats::DevicePreset preset = formats::GAUSSIAN, int m = 8,
                 int k = 2) {
  absl::StatusOr<DeviceModel> d = DeviceModel::Create(m, k, sigma, preset);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

TEST(DeviceModelTest, DefaultsArePapers) {
  absl::StatusOr<DeviceModel> d = DeviceModel::FromProto(formats::DeviceModel());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->weight_bits(), 8);
  EXPECT_EQ(d->cell_bits(), 2);
  EXPECT_EQ(d->cells_per_weight(), 4);
  EXPECT_EQ(d->max_level(), 3);
  EXPECT_EQ(d->max_magnitude(), 255);
  EXPECT_EQ(d->CellSignificance(3), 64);
  EXPECT_EQ(d->preset(), formats::GAUSSIAN);
}

TEST(DeviceModelTest, Quantization) {
  DeviceModel d = Make(0.1);
  EXPECT_EQ(d.QuantizeMagnitude(1.0, 1.0), 255);
  EXPECT_EQ(d.QuantizeMagnitude(-1.0, 1.0), 255);
  EXPECT_EQ(d.QuantizeMagnitude(0.0, 1.0), 0);
  EXPECT_EQ(d.QuantizeMagnitude(0.5, 1.0), 128);  // 127.5 rounds away from zero
  EXPECT_EQ(d.QuantizeMagnitude(1.0 / 510 * 0.99, 1.0), 0);
  EXPECT_EQ(d.QuantizeMagnitude(2.0, 1.0), 255);  // clamped
  EXPECT_EQ(d.QuantizeMagnitude(0.3, 0.0), 0);
}

TEST(DeviceModelTest, SplitIntoCells) {
  DeviceModel d = Make(0.1);
  EXPECT_EQ(d.SplitIntoCells(255), (std::vector<int>{3, 3, 3, 3}));
  EXPECT_EQ(d.SplitIntoCells(0), (std::vector<int>{0, 0, 0, 0}));
  // 0b10'01'11'00 = 156: cells (lsb first) 0, 3, 1, 2.
  EXPECT_EQ(d.SplitIntoCells(156), (std::vector<int>{0, 3, 1, 2}));
  int64_t recombined = 0;
  for (int i = 0; i < 4; ++i) recombined += d.SplitIntoCells(156)[i] * d.CellSignificance(i);
  EXPECT_EQ(recombined, 156);
}

TEST(DeviceModelTest, ClosedFormForUniformDevices) {
  // nft-spec.md: std = 0.77763 * sigma * W_max for M = 8, K = 2.
  for (formats::DevicePreset p : {formats::GAUSSIAN, formats::RRAM1}) {
    DeviceModel d = Make(0.2, p);
    EXPECT_NEAR(d.UniformWeightStdOverWmax(), 0.77763 * 0.2, 1e-5);
    for (int64_t q = 0; q <= 255; ++q) {
      ASSERT_NEAR(d.WeightStdOverWmax(q), 0.77763 * 0.2, 1e-5) << q;
    }
  }
  EXPECT_NEAR(Make(0.1).WeightStdOverWmax(17), std::sqrt(4369.0) / 85 * 0.1, 1e-12);
}

TEST(DeviceModelTest, StateDependentPresets) {
  for (auto [preset, s] : {std::pair{formats::FEFET2, 2.0}, {formats::RRAM4, 4.0},
                           {formats::FEFET6, 6.0}}) {
    DeviceModel d = Make(0.3, preset);
    EXPECT_EQ(d.state_factor(), s);
    const double eff = 0.3 / std::sqrt(0.4 * s * s + 0.6);
    EXPECT_NEAR(d.effective_sigma(), eff, 1e-12);
    EXPECT_NEAR(d.CellStdInLevels(0), eff * 3, 1e-12);
    EXPECT_NEAR(d.CellStdInLevels(3), eff * 3, 1e-12);
    EXPECT_NEAR(d.CellStdInLevels(1), eff * 3 * s, 1e-12);
    EXPECT_NEAR(d.CellStdInLevels(2), eff * 3 * s, 1e-12);
    // q = 0b01'10'00'11 = 99: cells 3, 0, 2, 1 -> intermediate at 16 and 64.
    const double expect = std::sqrt(std::pow(1 * eff * 3, 2) + std::pow(4 * eff * 3, 2) +
                                    std::pow(16 * eff * 3 * s, 2) +
                                    std::pow(64 * eff * 3 * s, 2)) / 255;
    EXPECT_NEAR(d.WeightStdOverWmax(99), expect, 1e-12);
  }
}

TEST(DeviceModelTest, OtherBitWidths) {
  DeviceModel d = Make(0.1, formats::GAUSSIAN, 6, 3);
  EXPECT_EQ(d.cells_per_weight(), 2);
  EXPECT_EQ(d.max_level(), 7);
  EXPECT_EQ(d.SplitIntoCells(0b101011), (std::vector<int>{3, 5}));
  // sigma * 7 * sqrt(1 + 64) / 63
  EXPECT_NEAR(d.WeightStdOverWmax(5), 0.1 * 7 * std::sqrt(65.0) / 63, 1e-12);
}

TEST(DeviceModelTest, RejectsBadConfigurations) {
  auto expect_error = [](int m, int k, double sigma, const char* what) {
    absl::StatusOr<DeviceModel> d = DeviceModel::Create(m, k, sigma, formats::GAUSSIAN);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(std::string(d.status().message()).find(what), std::string::npos)
        << d.status();
  };
  expect_error(8, 3, 0.1, "multiple of cell_bits");
  expect_error(17, 1, 0.1, "weight_bits");
  expect_error(8, 9, 0.1, "cell_bits");
  expect_error(8, 2, -0.1, "sigma");
  expect_error(8, 2, std::nan(""), "sigma");
  formats::DeviceModel proto;
  proto.set_preset(static_cast<formats::DevicePreset>(99));
  EXPECT_FALSE(DeviceModel::FromProto(proto).ok());
}

TEST(DeviceModelTest, PresetNames) {
  EXPECT_EQ(*ParsePreset("FeFET6"), formats::FEFET6);
  EXPECT_EQ(*ParsePreset("rram4"), formats::RRAM4);
  EXPECT_EQ(PresetName(*ParsePreset("FEFET2")), "FeFET2");
  absl::StatusOr<formats::DevicePreset> bad = ParsePreset("pcm");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("RRAM1"), std::string::npos);
}

TEST(DeviceModelTest, WithSigmaKeepsBitsAndPreset) {
  DeviceModel d = Make(0.1, formats::FEFET2, 6, 2).WithSigma(0.4);
  EXPECT_EQ(d.sigma(), 0.4);
  EXPECT_EQ(d.weight_bits(), 6);
  EXPECT_EQ(d.preset(), formats::FEFET2);
}

}  // namespace
}  // namespace nftcim::device
