// FastMatrix (the firmware's layer-wide fast path) against the emulator's
// reference loops, emulator::MatrixMvm(kReference): identical outputs and
// counters on random layers, shapes that do not fill a tile, every ADC
// setting, unsigned and signed inputs, saturating accumulators, and the
// extremes (all inputs at their maximum, all weights at W_max, large
// variation).

#include "firmware_model/fast_mvm.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "emulator/crossbar_matrix.h"
#include "emulator/crossbar_test_util.h"
#include "emulator/hardware_config.h"
#include "gtest/gtest.h"

namespace nftcim::firmware {
namespace {

namespace et = emulator::testing;

struct Case {
  std::string name;
  int adc_bits = 0;
  formats::AdcRange range = formats::ADC_BIPOLAR;
  formats::AdcShiftPolicy policy = formats::ADC_SHIFT_PER_LAYER;
  int adc_shift = 0;
  int accumulator_bits = 64;
  int dac_bits = 1;
  int64_t rows = 200, outputs = 45, batch = 7;
  bool signed_inputs = false;
  double sigma = 0.1;
  bool extremes = false;
  int array_cols = 128;
  bool unprogrammed_variation = false;
  // -1: either; 0/1: the int16 ADC kernel must (not) be the one tested.
  int expect_int16 = -1;
};

void RunCase(const Case& c) {
  SCOPED_TRACE(c.name);
  formats::HardwareConfig config = emulator::DefaultHardwareConfig();
  config.set_adc_bits(c.adc_bits);
  if (c.adc_bits > 0) {
    config.set_adc_range(c.range);
    config.set_adc_shift_policy(c.policy);
    config.set_adc_shift(c.adc_shift);
  }
  config.set_accumulator_bits(c.accumulator_bits);
  config.set_dac_bits(c.dac_bits);
  config.set_array_cols(c.array_cols);
  config.set_unprogrammed_variation(c.unprogrammed_variation);
  const emulator::HardwareParams p = et::ParamsOrDie(config);
  const emulator::CellStdCodes std_codes = et::StdCodesOrDie(p, c.sigma);
  std::vector<int16_t> w = et::RandomWeightCodes(p, c.rows, c.outputs, 17);
  std::vector<int32_t> x = et::RandomInputs(p, c.batch, c.rows, c.signed_inputs, 23);
  if (c.extremes) {
    for (size_t k = 0; k < w.size(); ++k) w[k] = static_cast<int16_t>(k % 3 == 0 ? -p.max_magnitude : p.max_magnitude);
    for (int32_t& v : x) v = emulator::InputMax(p, c.signed_inputs);
    if (c.signed_inputs) {
      for (int64_t r = 0; r < c.rows; r += 2) x[r] = emulator::InputMin(p, true);
    }
  }
  emulator::ProgrammingStats ps;
  absl::StatusOr<emulator::ProgrammedMatrix> m = emulator::ProgramMatrix(
      p, std_codes, emulator::WeightMatrixView{w.data(), c.rows, c.outputs, c.outputs},
      emulator::ProgrammingKey{5, 3}, 1, &ps);
  ASSERT_TRUE(m.ok()) << m.status();

  emulator::MvmOptions o;
  o.signed_inputs = c.signed_inputs;
  if (c.adc_bits > 0) {
    // A shift for column sums 1/128 of the worst case: typical sums convert,
    // the extreme ones saturate.
    o.adc_shift = c.policy == formats::ADC_SHIFT_FIXED ? c.adc_shift
                                                        : emulator::AdcShiftForColumnSum(
                                                              p, emulator::ColumnSumBound(p, static_cast<int32_t>(std::min<int64_t>(c.rows, p.array_rows))) / 128);
  }
  std::vector<int64_t> want(c.batch * c.outputs), got(c.batch * (c.outputs + 2), -7);
  emulator::MvmStats want_stats, got_stats;
  ASSERT_TRUE(emulator::MatrixMvm(p, *m, o, x.data(), c.rows, c.batch, want.data(), c.outputs,
                                  emulator::MvmPath::kReference, &want_stats)
                  .ok());
  const FastMatrix f = FastMatrix::Build(p, *m, c.signed_inputs);
  if (c.expect_int16 >= 0) {
    EXPECT_EQ(f.uses_int16_adc(), c.expect_int16 == 1 && FastMatrix::Int16AdcSupported());
  }
  FastMvmScratch scratch;
  f.Mvm(p, o, x.data(), c.rows, c.batch, got.data(), c.outputs + 2, &got_stats, &scratch);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t n = 0; n < c.outputs; ++n)
      ASSERT_EQ(got[b * (c.outputs + 2) + n], want[b * c.outputs + n]) << "b=" << b << " n=" << n;
  EXPECT_EQ(got_stats.adc.conversions, want_stats.adc.conversions);
  EXPECT_EQ(got_stats.adc.saturated_high, want_stats.adc.saturated_high);
  EXPECT_EQ(got_stats.adc.saturated_low, want_stats.adc.saturated_low);
  EXPECT_EQ(got_stats.accumulator_saturations, want_stats.accumulator_saturations);
  // The extreme cases really reach the clamps being compared.
  if (c.extremes && c.adc_bits > 0) {
    EXPECT_GT(want_stats.adc.saturated_high + want_stats.adc.saturated_low, 0);
  }
  if (c.extremes && c.accumulator_bits < 32) {
    EXPECT_GT(want_stats.accumulator_saturations, 0);
  }
  // The same scratch again (buffers already sized) gives the same result.
  std::vector<int64_t> again(got.size(), -7);
  emulator::MvmStats again_stats;
  f.Mvm(p, o, x.data(), c.rows, c.batch, again.data(), c.outputs + 2, &again_stats, &scratch);
  EXPECT_EQ(again, got);
}

TEST(FastMatrixTest, LosslessMatchesReference) {
  RunCase({.name = "lossless"});
  RunCase({.name = "lossless signed", .signed_inputs = true});
  RunCase({.name = "lossless tiny", .rows = 3, .outputs = 1, .batch = 1});
  RunCase({.name = "lossless one full tile", .rows = 128, .outputs = 32, .batch = 4});
  RunCase({.name = "lossless W=20 saturating", .accumulator_bits = 20, .extremes = true});
  RunCase({.name = "lossless extremes", .sigma = 0.5, .extremes = true});
  RunCase({.name = "lossless extremes signed", .signed_inputs = true, .sigma = 0.5, .extremes = true});
}

TEST(FastMatrixTest, AdcSettingsMatchReference) {
  for (int bits : {2, 4, 6, 8}) {
    for (formats::AdcRange range : {formats::ADC_BIPOLAR, formats::ADC_UNIPOLAR}) {
      const std::string name = std::to_string(bits) + "-bit " +
                               (range == formats::ADC_BIPOLAR ? "bipolar" : "unipolar");
      RunCase({.name = name, .adc_bits = bits, .range = range});
      RunCase({.name = name + " signed", .adc_bits = bits, .range = range, .signed_inputs = true});
      RunCase({.name = name + " fixed shift 0", .adc_bits = bits, .range = range,
               .policy = formats::ADC_SHIFT_FIXED, .adc_shift = 0});
      RunCase({.name = name + " extremes", .adc_bits = bits, .range = range, .sigma = 0.5,
               .extremes = true});
    }
  }
  RunCase({.name = "8-bit W=20", .adc_bits = 8, .accumulator_bits = 20, .extremes = true});
  RunCase({.name = "8-bit 2-bit DAC", .adc_bits = 8, .dac_bits = 2});
  RunCase({.name = "8-bit 2-bit DAC signed", .adc_bits = 8, .dac_bits = 2, .signed_inputs = true});
  RunCase({.name = "8-bit odd shape", .adc_bits = 8, .rows = 129, .outputs = 33, .batch = 3});
}

// The int16 kernel (AVX-512BW builds) on the paper's configuration, and the
// configurations it must leave to the generic path.
TEST(FastMatrixTest, Int16AdcKernelMatchesReference) {
  RunCase({.name = "int16 8-bit", .adc_bits = 8, .expect_int16 = 1});
  RunCase({.name = "int16 8-bit signed", .adc_bits = 8, .signed_inputs = true, .expect_int16 = 1});
  // All rows driven: slices longer than the int16 window, summed in chunks.
  RunCase({.name = "int16 8-bit all rows", .adc_bits = 8, .rows = 300, .sigma = 0.3,
           .extremes = true, .expect_int16 = 1});
  RunCase({.name = "int16 8-bit all rows signed", .adc_bits = 8, .rows = 300,
           .signed_inputs = true, .sigma = 0.3, .extremes = true, .expect_int16 = 1});
  // 64 outputs per tile: two groups of 32 per tile.
  RunCase({.name = "int16 8-bit 256 columns", .adc_bits = 8, .outputs = 70, .array_cols = 256,
           .expect_int16 = 1});
  RunCase({.name = "int16 4-bit fixed shift 0", .adc_bits = 4, .policy = formats::ADC_SHIFT_FIXED,
           .adc_shift = 0, .sigma = 0.5, .extremes = true, .expect_int16 = 1});
  // Both arrays non-zero for one weight; recombination beyond int16.
  RunCase({.name = "unprogrammed variation", .adc_bits = 8, .unprogrammed_variation = true,
           .expect_int16 = 0});
  RunCase({.name = "8-bit unipolar", .adc_bits = 8, .range = formats::ADC_UNIPOLAR,
           .expect_int16 = 0});
  RunCase({.name = "2-bit DAC", .adc_bits = 8, .dac_bits = 2, .expect_int16 = 0});
}

}  // namespace
}  // namespace nftcim::firmware
