#include "firmware_model/sequencer.h"

#include <cmath>
#include <string>
#include <vector>

#include "device_model/device_model.h"
#include "emulator/hardware_config.h"
#include "firmware_model/compiler.h"
#include "firmware_model/model.h"
#include "firmware_model/programmed_model.h"
#include "firmware_model/test_networks.h"
#include "gtest/gtest.h"

namespace nftcim::firmware {
namespace {

using formats::ADC_BIPOLAR;
using formats::ADC_SHIFT_FIXED;
using formats::ADC_SHIFT_PER_LAYER;
using formats::ADC_UNIPOLAR;

struct PathResult {
  std::vector<int32_t> logits;
  InferenceStats stats;
};

PathResult RunPath(const CompiledModel& model, const ProgrammedModel& pm, Path path,
                   const std::vector<uint8_t>& pixels, int n) {
  Sequencer::Options so;
  so.max_batch = n;
  so.path = path;
  so.max_mvm_entries = 300;  // several MVM calls per layer, a partial last one
  absl::StatusOr<Sequencer> seq = Sequencer::Create(model, so);
  EXPECT_TRUE(seq.ok()) << seq.status();
  PathResult r;
  r.logits.resize(static_cast<size_t>(n) * model.num_classes());
  absl::Status s = seq->Run(pm, pixels.data(), n, r.logits.data(), &r.stats);
  EXPECT_TRUE(s.ok()) << s;
  return r;
}

void ExpectSameStats(const InferenceStats& a, const InferenceStats& b, const std::string& what) {
  EXPECT_EQ(a.mvm.adc.conversions, b.mvm.adc.conversions) << what;
  EXPECT_EQ(a.mvm.adc.saturated_high, b.mvm.adc.saturated_high) << what;
  EXPECT_EQ(a.mvm.adc.saturated_low, b.mvm.adc.saturated_low) << what;
  EXPECT_EQ(a.mvm.accumulator_saturations, b.mvm.accumulator_saturations) << what;
  EXPECT_EQ(a.periphery_saturations, b.periphery_saturations) << what;
  EXPECT_EQ(a.outputs_at_full_scale, b.outputs_at_full_scale) << what;
}

// Reference (the spec's loops), the emulator's per-tile fast path and the
// firmware's layer-wide fast path give the same logits and counters, bit
// for bit, on whole networks.
void ExpectPathsAgree(const formats::DeployableModel& proto, const std::string& label, int images,
                      bool expect_adc_saturation = false) {
  absl::StatusOr<CompiledModel> model = CompiledModel::FromProto(proto, label);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<uint8_t> pixels =
      testing::RandomPixels(images, model->in_channels(), model->input_size(), 77);
  int64_t adc_saturations = 0;
  for (double sigma : {0.0, 0.3}) {
    absl::StatusOr<device::DeviceModel> device = device::DeviceModel::Create(8, 2, sigma, formats::GAUSSIAN);
    ASSERT_TRUE(device.ok());
    ProgramOptions po;
    po.seed = 1234;
    absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(*model, *device, po, nullptr);
    ASSERT_TRUE(pm.ok()) << pm.status();
    const std::string what = label + " sigma " + std::to_string(sigma);
    const PathResult ref = RunPath(*model, *pm, Path::kReference, pixels, images);
    const PathResult tile = RunPath(*model, *pm, Path::kTile, pixels, images);
    const PathResult fast = RunPath(*model, *pm, Path::kFast, pixels, images);
    EXPECT_EQ(ref.logits, tile.logits) << what;
    EXPECT_EQ(ref.logits, fast.logits) << what;
    ExpectSameStats(ref.stats, tile.stats, what + " (tile)");
    ExpectSameStats(ref.stats, fast.stats, what + " (fast)");
    EXPECT_GT(ref.stats.mvm.adc.conversions, 0);
    adc_saturations += ref.stats.adc_saturations();
    // Logits are not all equal (the network computes something).
    bool differ = false;
    for (int32_t v : ref.logits) differ |= v != ref.logits[0];
    EXPECT_TRUE(differ) << what;
  }
  if (expect_adc_saturation) {
    EXPECT_GT(adc_saturations, 0) << label;
  }
}

formats::DeployableModel Retargeted(const formats::DeployableModel& m, formats::HardwareConfig hw) {
  absl::StatusOr<formats::DeployableModel> r = RetargetHardware(m, hw);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

TEST(SequencerTest, Vgg8PathsAgreeAcrossAdcSettings) {
  const formats::DeployableModel base =
      testing::CompiledRandomModel("vgg8", 1, emulator::DefaultHardwareConfig());
  ExpectPathsAgree(base, "vgg8 lossless", 2);
  ExpectPathsAgree(Retargeted(base, testing::AdcConfig(8, ADC_BIPOLAR, ADC_SHIFT_PER_LAYER)),
                   "vgg8 8-bit bipolar", 2);
  ExpectPathsAgree(Retargeted(base, testing::AdcConfig(6, ADC_UNIPOLAR, ADC_SHIFT_PER_LAYER)),
                   "vgg8 6-bit unipolar", 2, /*expect_adc_saturation=*/true);
  ExpectPathsAgree(Retargeted(base, testing::AdcConfig(4, ADC_BIPOLAR, ADC_SHIFT_FIXED, 7)),
                   "vgg8 4-bit bipolar fixed shift 7", 2, /*expect_adc_saturation=*/true);
}

TEST(SequencerTest, Vgg8PathsAgreeWithSaturatingAccumulators) {
  const formats::DeployableModel base =
      testing::CompiledRandomModel("vgg8", 1, emulator::DefaultHardwareConfig());
  formats::HardwareConfig w32 = emulator::DefaultHardwareConfig();
  w32.set_accumulator_bits(32);
  ExpectPathsAgree(Retargeted(base, w32), "vgg8 lossless W=32", 2);
  formats::HardwareConfig w20 = testing::AdcConfig(8, ADC_BIPOLAR, ADC_SHIFT_PER_LAYER);
  w20.set_accumulator_bits(20);
  ExpectPathsAgree(Retargeted(base, w20), "vgg8 8-bit W=20", 2);
}

TEST(SequencerTest, Vgg8PathsAgreeWithTwoBitDac) {
  formats::HardwareConfig hw = testing::AdcConfig(5, ADC_BIPOLAR, ADC_SHIFT_PER_LAYER);
  hw.set_dac_bits(2);
  hw.set_array_rows(64);
  hw.set_array_cols(96);
  ExpectPathsAgree(testing::CompiledRandomModel("vgg8", 3, hw), "vgg8 DAC 2, 5-bit, 64x96", 2);
}

TEST(SequencerTest, ResNet18PathsAgree) {
  const formats::DeployableModel base =
      testing::CompiledRandomModel("resnet18", 3, emulator::DefaultHardwareConfig());
  ExpectPathsAgree(base, "resnet18 lossless", 1);
  formats::HardwareConfig hw = testing::AdcConfig(5, ADC_UNIPOLAR, ADC_SHIFT_PER_LAYER);
  hw.set_accumulator_bits(24);
  ExpectPathsAgree(Retargeted(base, hw), "resnet18 5-bit unipolar W=24", 1);
}

TEST(SequencerTest, BatchCompositionDoesNotChangeLogits) {
  absl::StatusOr<CompiledModel> model = CompiledModel::FromProto(
      testing::CompiledRandomModel("vgg8", 1, emulator::DefaultHardwareConfig()), "vgg8");
  ASSERT_TRUE(model.ok());
  absl::StatusOr<device::DeviceModel> device = device::DeviceModel::Create(8, 2, 0.2, formats::GAUSSIAN);
  ProgramOptions po;
  po.seed = 9;
  absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(*model, *device, po, nullptr);
  ASSERT_TRUE(pm.ok());
  const std::vector<uint8_t> pixels = testing::RandomPixels(5, 1, 32, 3);
  const PathResult all = RunPath(*model, *pm, Path::kFast, pixels, 5);
  for (int i = 0; i < 5; ++i) {
    std::vector<uint8_t> one(pixels.begin() + i * 1024, pixels.begin() + (i + 1) * 1024);
    const PathResult r = RunPath(*model, *pm, Path::kFast, one, 1);
    for (int k = 0; k < 10; ++k) EXPECT_EQ(r.logits[k], all.logits[i * 10 + k]);
  }
}

TEST(SequencerTest, RejectsBadCalls) {
  absl::StatusOr<CompiledModel> model = CompiledModel::FromProto(
      testing::CompiledRandomModel("vgg8", 1, emulator::DefaultHardwareConfig()), "vgg8");
  ASSERT_TRUE(model.ok());
  absl::StatusOr<CompiledModel> other = CompiledModel::FromProto(model->proto(), "copy");
  ASSERT_TRUE(other.ok());
  absl::StatusOr<device::DeviceModel> device = device::DeviceModel::Create(8, 2, 0, formats::GAUSSIAN);
  ProgramOptions po;
  po.prepare_fast_path = false;
  absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(*model, *device, po, nullptr);
  ASSERT_TRUE(pm.ok());
  Sequencer::Options so;
  so.max_batch = 2;
  absl::StatusOr<Sequencer> seq = Sequencer::Create(*other, so);
  ASSERT_TRUE(seq.ok());
  std::vector<uint8_t> pixels(3 * 1024, 0);
  std::vector<int32_t> logits(30);
  EXPECT_NE(seq->Run(*pm, pixels.data(), 3, logits.data(), nullptr).message().find("1..2"),
            std::string::npos);
  EXPECT_NE(seq->Run(*pm, pixels.data(), 1, logits.data(), nullptr).message().find("another model"),
            std::string::npos);
  absl::StatusOr<Sequencer> own = Sequencer::Create(*model, so);
  ASSERT_TRUE(own.ok());
  EXPECT_NE(own->Run(*pm, pixels.data(), 1, logits.data(), nullptr).message().find("fast path"),
            std::string::npos);
  so.max_batch = 0;
  EXPECT_FALSE(Sequencer::Create(*model, so).ok());
  // A device whose bits differ from the hardware's cannot program it.
  absl::StatusOr<device::DeviceModel> d4 = device::DeviceModel::Create(4, 2, 0, formats::GAUSSIAN);
  EXPECT_FALSE(ProgrammedModel::Program(*model, *d4, po, nullptr).ok());
  EXPECT_FALSE(ParsePath("quick").ok());
}


device::DeviceModel NonIdealDevice(double sigma, double low, double high, double drift_seconds,
                                   bool compensation) {
  formats::DeviceModel p;
  p.set_sigma(sigma);
  p.set_stuck_at_low_rate(low);
  p.set_stuck_at_high_rate(high);
  p.set_drift_seconds(drift_seconds);
  p.set_drift_compensation(compensation);
  absl::StatusOr<device::DeviceModel> d = device::DeviceModel::FromProto(p);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

// Stuck-at cells and drift live in the programmed codes and compensation in
// the requantization constants, so all three paths see them and agree bit
// for bit (hardware-spec §3.6-3.9).
TEST(SequencerTest, PathsAgreeWithStuckAtDriftAndCompensation) {
  const formats::DeployableModel base =
      testing::CompiledRandomModel("vgg8", 1, emulator::DefaultHardwareConfig());
  for (const formats::DeployableModel& proto :
       {base, Retargeted(base, testing::AdcConfig(8, ADC_BIPOLAR, ADC_SHIFT_PER_LAYER))}) {
    absl::StatusOr<CompiledModel> model = CompiledModel::FromProto(proto, "vgg8");
    ASSERT_TRUE(model.ok()) << model.status();
    const std::vector<uint8_t> pixels =
        testing::RandomPixels(2, model->in_channels(), model->input_size(), 78);
    ProgramOptions po;
    po.seed = 99;
    absl::StatusOr<ProgrammedModel> clean =
        ProgrammedModel::Program(*model, NonIdealDevice(0.05, 0, 0, 0, false), po, nullptr);
    ASSERT_TRUE(clean.ok());
    const PathResult clean_ref = RunPath(*model, *clean, Path::kReference, pixels, 2);
    for (bool compensation : {false, true}) {
      const device::DeviceModel d = NonIdealDevice(0.05, 0.01, 0.01, 3.15e7, compensation);
      emulator::ProgrammingStats ps;
      absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(*model, d, po, &ps);
      ASSERT_TRUE(pm.ok()) << pm.status();
      EXPECT_GT(ps.cells_stuck_low, 0);
      EXPECT_GT(ps.cells_stuck_high, 0);
      EXPECT_GT(ps.cells_drifted, 0);
      const std::string what = compensation ? "compensated" : "uncompensated";
      const PathResult ref = RunPath(*model, *pm, Path::kReference, pixels, 2);
      const PathResult tile = RunPath(*model, *pm, Path::kTile, pixels, 2);
      const PathResult fast = RunPath(*model, *pm, Path::kFast, pixels, 2);
      EXPECT_EQ(ref.logits, tile.logits) << what;
      EXPECT_EQ(ref.logits, fast.logits) << what;
      ExpectSameStats(ref.stats, tile.stats, what + " (tile)");
      ExpectSameStats(ref.stats, fast.stats, what + " (fast)");
      EXPECT_NE(ref.logits, clean_ref.logits) << what;
      for (int32_t index : model->crossbar_layers()) {
        const uint32_t alpha = pm->compensation_q16(index);
        if (!compensation) {
          EXPECT_EQ(alpha, 1u << 16);
          EXPECT_EQ(&pm->requant(index), &model->layers()[index].requant);
          continue;
        }
        // A year of nu ~ 0.05 drift: about 17.27 * 0.05 in the exponent,
        // so alpha is near e^0.86 = 2.4 (stuck cells and the spread of nu
        // move it).
        EXPECT_GT(alpha, 1.8 * 65536) << index;
        EXPECT_LT(alpha, 3.2 * 65536) << index;
        const emulator::Requantization& q0 = model->layers()[index].requant[0];
        const emulator::Requantization& q1 = pm->requant(index)[0];
        EXPECT_NEAR(q1.multiplier / std::ldexp(1.0, q1.shift),
                    alpha / 65536.0 * q0.multiplier / std::ldexp(1.0, q0.shift),
                    1e-6 * std::fabs(alpha / 65536.0 * q0.multiplier / std::ldexp(1.0, q0.shift)));
      }
    }
  }
}

}  // namespace
}  // namespace nftcim::firmware
