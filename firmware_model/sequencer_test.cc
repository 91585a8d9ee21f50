#include "firmware_model/sequencer.h"

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

}  // namespace
}  // namespace nftcim::firmware
