#include "emulator/crossbar.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/crossbar_test_util.h"
#include "emulator/fixed_point.h"
#include "gtest/gtest.h"

namespace nftcim::emulator {
namespace {

using testing::ParamsOrDie;
using testing::ProgramTileOrDie;
using testing::RandomInputs;
using testing::RandomWeightCodes;
using testing::StdCodesOrDie;

formats::HardwareConfig WithAdc(int bits, formats::AdcRange range, int shift) {
  formats::HardwareConfig c = DefaultHardwareConfig();
  c.set_adc_bits(bits);
  c.set_adc_range(range);
  c.set_adc_shift(shift);
  return c;
}

TEST(InputSliceTest, SlicesRecombineExactly) {
  for (int dac : {1, 2, 4, 8}) {
    formats::HardwareConfig c = DefaultHardwareConfig();
    c.set_dac_bits(dac);
    const HardwareParams p = ParamsOrDie(c);
    for (bool is_signed : {false, true}) {
      for (int32_t x = InputMin(p, is_signed); x <= InputMax(p, is_signed); ++x) {
        int64_t sum = 0;
        for (int32_t j = 0; j < p.num_slices; ++j) {
          const int32_t d = InputSlice(p, x, j, is_signed);
          const bool top_signed = is_signed && j == p.num_slices - 1;
          ASSERT_GE(d, top_signed ? -(1 << (dac - 1)) : 0);
          ASSERT_LE(d, top_signed ? (1 << (dac - 1)) - 1 : (1 << dac) - 1);
          sum += static_cast<int64_t>(d) * (int64_t{1} << (dac * j));
        }
        ASSERT_EQ(sum, x) << "dac " << dac << " signed " << is_signed;
      }
    }
  }
  // LSB first: 0b10110010 with a 1-bit DAC.
  const HardwareParams p = ParamsOrDie(DefaultHardwareConfig());
  const int32_t expected[8] = {0, 1, 0, 0, 1, 1, 0, 1};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(InputSlice(p, 0b10110010, j, false), expected[j]);
  // Signed -1: every bit set, the top slice worth -1.
  EXPECT_EQ(InputSlice(p, -1, 7, true), -1);
  EXPECT_EQ(InputSlice(p, -1, 0, true), 1);
}

TEST(AdcTest, Formula) {
  const HardwareParams bip = ParamsOrDie(WithAdc(4, formats::ADC_BIPOLAR, 3));  // -8..7
  AdcStats stats;
  EXPECT_EQ(AdcConvert(bip, 0, 3, &stats), 0);
  EXPECT_EQ(AdcConvert(bip, 3, 3, &stats), 0);    // 0.375
  EXPECT_EQ(AdcConvert(bip, 4, 3, &stats), 1);    // 0.5 rounds up
  EXPECT_EQ(AdcConvert(bip, -4, 3, &stats), 0);   // -0.5 rounds up to 0
  EXPECT_EQ(AdcConvert(bip, -5, 3, &stats), -1);  // -0.625
  EXPECT_EQ(AdcConvert(bip, 59, 3, &stats), 7);   // 7.375
  EXPECT_EQ(stats.saturated_high, 0);
  EXPECT_EQ(AdcConvert(bip, 60, 3, &stats), 7);   // 7.5 -> 8 -> saturates
  EXPECT_EQ(AdcConvert(bip, -68, 3, &stats), -8); // -8.5 -> -8
  EXPECT_EQ(AdcConvert(bip, -69, 3, &stats), -8); // -8.625 -> -9 -> saturates
  EXPECT_EQ(stats.saturated_high, 1);
  EXPECT_EQ(stats.saturated_low, 1);
  EXPECT_EQ(stats.conversions, 9);
  const HardwareParams uni = ParamsOrDie(WithAdc(4, formats::ADC_UNIPOLAR, 0));  // 0..15
  stats = AdcStats();
  EXPECT_EQ(AdcConvert(uni, -1, 0, &stats), 0);
  EXPECT_EQ(AdcConvert(uni, 15, 0, &stats), 15);
  EXPECT_EQ(AdcConvert(uni, 16, 0, &stats), 15);
  EXPECT_EQ(stats.saturated_low, 1);
  EXPECT_EQ(stats.saturated_high, 1);
  const HardwareParams lossless = ParamsOrDie(DefaultHardwareConfig());
  EXPECT_EQ(AdcConvert(lossless, -123456789, 0, nullptr), -123456789);
}

TEST(AdcTest, ShiftForColumnSum) {
  const HardwareParams uni = ParamsOrDie(WithAdc(8, formats::ADC_UNIPOLAR, 0));  // 0..255
  EXPECT_EQ(AdcShiftForColumnSum(uni, 255), 0);
  EXPECT_EQ(AdcShiftForColumnSum(uni, 256), 1);
  EXPECT_EQ(AdcShiftForColumnSum(uni, 510), 1);   // 255
  EXPECT_EQ(AdcShiftForColumnSum(uni, 511), 2);   // 255.5 -> 256
  const HardwareParams bip = ParamsOrDie(WithAdc(8, formats::ADC_BIPOLAR, 0));  // -128..127
  EXPECT_EQ(AdcShiftForColumnSum(bip, 127), 0);
  EXPECT_EQ(AdcShiftForColumnSum(bip, 128), 1);
  EXPECT_EQ(AdcShiftForColumnSum(bip, 254), 1);
  EXPECT_EQ(AdcShiftForColumnSum(ParamsOrDie(DefaultHardwareConfig()), 1 << 30), 0);
}

// Everything the hardware spec exposes, compared path against path.
struct Case {
  std::string name;
  formats::HardwareConfig config;
  double sigma = 0.1;
  formats::DevicePreset preset = formats::GAUSSIAN;
  int32_t rows = 128;
  int32_t outputs = 32;
  int32_t adc_shift = 0;
  bool signed_inputs = false;
};

void ExpectPathsAgree(const Case& c, int64_t batch, uint64_t seed, MvmStats* fast_stats_out = nullptr) {
  SCOPED_TRACE(c.name);
  const HardwareParams p = ParamsOrDie(c.config);
  const CellStdCodes s = StdCodesOrDie(p, c.sigma, c.preset);
  const std::vector<int16_t> w = RandomWeightCodes(p, c.rows, c.outputs, seed);
  const ProgrammedTile tile = ProgramTileOrDie(p, s, w, c.rows, c.outputs, {seed, 1});
  // Padded strides, to check that they are honoured.
  const int64_t x_stride = c.rows + 3, y_stride = c.outputs + 2;
  std::vector<int32_t> x = RandomInputs(p, batch, x_stride, c.signed_inputs, seed + 1);
  std::vector<int64_t> y_ref(batch * y_stride, -7), y_fast(batch * y_stride, -7),
      y_fast2(batch * y_stride, -7);
  MvmOptions options;
  options.adc_shift = c.adc_shift;
  options.signed_inputs = c.signed_inputs;
  MvmStats ref_stats, fast_stats, fast2_stats;
  ASSERT_TRUE(CrossbarMvmReference(p, tile, options, x.data(), x_stride, batch, y_ref.data(),
                                   y_stride, &ref_stats)
                  .ok());
  ASSERT_TRUE(
      CrossbarMvmFast(p, tile, options, x.data(), x_stride, batch, y_fast.data(), y_stride, &fast_stats)
          .ok());
  options.num_threads = 2;
  ASSERT_TRUE(CrossbarMvmFast(p, tile, options, x.data(), x_stride, batch, y_fast2.data(), y_stride,
                              &fast2_stats)
                  .ok());
  EXPECT_EQ(y_ref, y_fast);
  EXPECT_EQ(y_ref, y_fast2);
  EXPECT_EQ(ref_stats.adc.conversions, batch * p.num_slices * 2 * c.outputs * p.cells_per_weight);
  EXPECT_EQ(ref_stats.adc.conversions, fast_stats.adc.conversions);
  EXPECT_EQ(ref_stats.adc.saturated_high, fast_stats.adc.saturated_high);
  EXPECT_EQ(ref_stats.adc.saturated_low, fast_stats.adc.saturated_low);
  EXPECT_EQ(ref_stats.accumulator_saturations, fast_stats.accumulator_saturations);
  EXPECT_EQ(fast2_stats.adc.saturated_high, fast_stats.adc.saturated_high);
  // Padding untouched.
  for (int64_t b = 0; b < batch; ++b) {
    ASSERT_EQ(y_fast[b * y_stride + c.outputs], -7);
  }
  if (fast_stats_out != nullptr) *fast_stats_out = fast_stats;
}

TEST(CrossbarTest, ReferenceEqualsFastAcrossSettings) {
  std::vector<Case> cases;
  for (bool is_signed : {false, true}) {
    for (int dac : {1, 2}) {
      const std::string tag = absl::StrCat(is_signed ? "signed" : "unsigned", " dac", dac);
      formats::HardwareConfig lossless = DefaultHardwareConfig();
      lossless.set_dac_bits(dac);
      cases.push_back({"lossless " + tag, lossless, 0.1, formats::GAUSSIAN, 128, 32, 0, is_signed});
      for (int bits = 4; bits <= 8; ++bits) {
        for (formats::AdcRange range : {formats::ADC_UNIPOLAR, formats::ADC_BIPOLAR}) {
          for (int shift : {0, 5, 9}) {
            formats::HardwareConfig c = WithAdc(bits, range, shift);
            c.set_dac_bits(dac);
            cases.push_back({absl::StrCat("adc", bits, " range", range, " shift", shift, " ", tag),
                             c, 0.1, formats::GAUSSIAN, 128, 32, shift, is_signed});
          }
        }
      }
    }
  }
  for (size_t i = 0; i < cases.size(); ++i) ExpectPathsAgree(cases[i], 6, 100 + i);
}

TEST(CrossbarTest, PartialTilesAndDevices) {
  const formats::HardwareConfig adc = WithAdc(6, formats::ADC_BIPOLAR, 6);
  formats::HardwareConfig clip = adc;
  clip.set_clip_conductance(true);
  clip.set_unprogrammed_variation(true);
  formats::HardwareConfig unprog = DefaultHardwareConfig();
  unprog.set_unprogrammed_variation(true);
  const std::vector<Case> cases = {
      {"1x1 lossless", DefaultHardwareConfig(), 0.2, formats::GAUSSIAN, 1, 1, 0, false},
      {"37x5 lossless", DefaultHardwareConfig(), 0.2, formats::RRAM1, 37, 5, 0, true},
      {"128x31 adc", adc, 0.05, formats::FEFET2, 128, 31, 6, false},
      {"100x32 adc rram4", adc, 0.3, formats::RRAM4, 100, 32, 6, true},
      {"3x32 adc fefet6", adc, 0.4, formats::FEFET6, 3, 32, 6, false},
      {"clip + unprogrammed", clip, 0.4, formats::GAUSSIAN, 77, 19, 6, true},
      {"unprogrammed lossless", unprog, 0.4, formats::GAUSSIAN, 128, 32, 0, true},
      {"no variation adc", adc, 0.0, formats::GAUSSIAN, 128, 32, 6, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) ExpectPathsAgree(cases[i], 21, 500 + i);
}

TEST(CrossbarTest, OddArrayShapes) {
  // M = 6, K = 3 (2 cells), 50 x 61 arrays (30 outputs, one leftover column).
  formats::HardwareConfig c = WithAdc(5, formats::ADC_UNIPOLAR, 8);
  c.set_weight_bits(6);
  c.set_cell_bits(3);
  c.set_array_rows(50);
  c.set_array_cols(61);
  c.set_activation_bits(6);
  c.set_dac_bits(3);
  ExpectPathsAgree({"m6 k3 50x61", c, 0.1, formats::GAUSSIAN, 50, 30, 8, false}, 13, 7);
  ExpectPathsAgree({"m6 k3 50x61 signed", c, 0.1, formats::GAUSSIAN, 45, 17, 8, true}, 13, 8);
}

TEST(CrossbarTest, LosslessWithoutVariationIsTheExactProduct) {
  // sigma = 0, lossless ADC: tile output = 2^F * sum_r x_r * w_r exactly.
  const HardwareParams p = ParamsOrDie(DefaultHardwareConfig());
  const CellStdCodes s = StdCodesOrDie(p, 0.0);
  for (bool is_signed : {false, true}) {
    const std::vector<int16_t> w = RandomWeightCodes(p, 128, 32, 3);
    const ProgrammedTile tile = ProgramTileOrDie(p, s, w, 128, 32, {1, 1});
    const int64_t batch = 5;
    const std::vector<int32_t> x = RandomInputs(p, batch, 128, is_signed, 4);
    std::vector<int64_t> y(batch * 32);
    MvmOptions options;
    options.signed_inputs = is_signed;
    ASSERT_TRUE(CrossbarMvmReference(p, tile, options, x.data(), 128, batch, y.data(), 32, nullptr).ok());
    for (int64_t b = 0; b < batch; ++b) {
      for (int n = 0; n < 32; ++n) {
        int64_t expected = 0;
        for (int r = 0; r < 128; ++r) expected += int64_t{x[b * 128 + r]} * w[r * 32 + n];
        ASSERT_EQ(y[b * 32 + n], expected * 256);
      }
    }
  }
}

TEST(CrossbarTest, AdcStepIsTheDocumentedUnit) {
  // sigma = 0, 8-bit unipolar ADC with shift 2, one row, unsigned input 1:
  // column sum of cell i = level_i * 256, ADC = level_i * 64, output =
  // 64 * q: the product in units of 2^(shift - F) = 1/64 of x * q.
  const HardwareParams p = ParamsOrDie(WithAdc(8, formats::ADC_UNIPOLAR, 2));
  const CellStdCodes s = StdCodesOrDie(p, 0.0);
  const std::vector<int16_t> w = {200, -57};
  const ProgrammedTile tile = ProgramTileOrDie(p, s, w, 1, 2, {1, 1});
  const std::vector<int32_t> x = {1};
  std::vector<int64_t> y(2);
  MvmOptions options;
  options.adc_shift = 2;
  ASSERT_TRUE(CrossbarMvmFast(p, tile, options, x.data(), 1, 1, y.data(), 2, nullptr).ok());
  EXPECT_EQ(y[0], 200 * 64);
  EXPECT_EQ(y[1], -57 * 64);
}

TEST(CrossbarTest, ExtremeValues) {
  // All inputs at maximum, all weights at +-W_max, maximum variation that
  // still fits, with and without clipping; an ADC that saturates; a small
  // accumulator that saturates.
  for (bool clip : {false, true}) {
    for (int acc_bits : {64, 32, 20}) {
      for (int adc_bits : {0, 4, 8}) {
        formats::HardwareConfig c =
            adc_bits == 0 ? DefaultHardwareConfig() : WithAdc(adc_bits, formats::ADC_BIPOLAR, 5);
        c.set_clip_conductance(clip);
        c.set_accumulator_bits(acc_bits);
        const HardwareParams p = ParamsOrDie(c);
        // sigma 1.0 (3 levels = 768 codes std; tails saturate int16 at ~42
        // std only with FeFET6, so use a small code width to force it).
        for (bool is_signed : {false, true}) {
          const std::string name = absl::StrCat("clip ", clip, " acc ", acc_bits, " adc ", adc_bits,
                                                " signed ", is_signed);
          SCOPED_TRACE(name);
          const CellStdCodes s = StdCodesOrDie(p, 1.0, formats::FEFET6);
          std::vector<int16_t> w(128 * 32);
          // Whole columns of one sign, so the positive and negative arrays'
          // saturated conversions do not cancel.
          for (size_t i = 0; i < w.size(); ++i) w[i] = (i % 32) % 3 == 0 ? -255 : 255;
          const ProgrammedTile tile = ProgramTileOrDie(p, s, w, 128, 32, {77, 0});
          const int64_t batch = 4;
          std::vector<int32_t> x(batch * 128, InputMax(p, is_signed));
          for (int r = 0; r < 128; ++r) x[128 + r] = InputMin(p, is_signed);
          std::vector<int64_t> y_ref(batch * 32), y_fast(batch * 32);
          MvmOptions options = DefaultMvmOptions(p);
          options.signed_inputs = is_signed;
          MvmStats ref_stats, fast_stats;
          ASSERT_TRUE(CrossbarMvmReference(p, tile, options, x.data(), 128, batch, y_ref.data(), 32,
                                           &ref_stats)
                          .ok());
          ASSERT_TRUE(CrossbarMvmFast(p, tile, options, x.data(), 128, batch, y_fast.data(), 32,
                                      &fast_stats)
                          .ok());
          EXPECT_EQ(y_ref, y_fast);
          EXPECT_EQ(ref_stats.accumulator_saturations, fast_stats.accumulator_saturations);
          EXPECT_EQ(ref_stats.adc.saturated_high, fast_stats.adc.saturated_high);
          EXPECT_EQ(ref_stats.adc.saturated_low, fast_stats.adc.saturated_low);
          for (int64_t v : y_ref) {
            ASSERT_LE(v, p.accumulator_max);
            ASSERT_GE(v, p.accumulator_min);
            ASSERT_LE(v < 0 ? -v : v, TileOutputBound(p, 128, is_signed));
          }
          if (adc_bits != 0) {
            EXPECT_GT(ref_stats.adc.saturated_high, 0);
          }
          if (acc_bits == 20 && adc_bits != 4) {
            EXPECT_GT(ref_stats.accumulator_saturations, 0);
          }
          if (acc_bits == 64) {
            EXPECT_EQ(ref_stats.accumulator_saturations, 0);
          }
        }
      }
    }
  }
}

TEST(CrossbarTest, SaturatedConductanceCodes) {
  // An 8-bit code with F = 4: levels up to 48, variation saturates at +-128.
  formats::HardwareConfig c = WithAdc(8, formats::ADC_BIPOLAR, 3);
  c.set_conductance_code_bits(8);
  c.set_conductance_frac_bits(4);
  const HardwareParams p = ParamsOrDie(c);
  const CellStdCodes s = StdCodesOrDie(p, 1.0);
  const std::vector<int16_t> w = RandomWeightCodes(p, 128, 32, 9);
  ProgrammingStats pstats;
  TileWeightsView view{w.data(), 32, 128, 32, 0, 0};
  absl::StatusOr<ProgrammedTile> tile = ProgramCells(p, s, view, {5, 5}, 2, &pstats);
  ASSERT_TRUE(tile.ok());
  EXPECT_GT(pstats.codes_saturated, 0);
  EXPECT_EQ(tile->MaxAbsCode(), 128);
  ExpectPathsAgree({"8-bit codes", c, 1.0, formats::GAUSSIAN, 128, 32, 3, true}, 7, 3);
}

TEST(CrossbarTest, DoubleAndIntegerFallbacks) {
  // Column sums beyond 2^24: 1024 rows, 2-bit DAC, codes up to 3 * 2^13.
  formats::HardwareConfig c = WithAdc(8, formats::ADC_BIPOLAR, 20);
  c.set_array_rows(1024);
  c.set_dac_bits(2);
  c.set_conductance_frac_bits(13);
  MvmStats stats;
  ExpectPathsAgree({"double column sums", c, 0.05, formats::GAUSSIAN, 1024, 8, 20, false}, 3, 1,
                   &stats);
  EXPECT_EQ(stats.double_gemm_calls, 1);
  EXPECT_EQ(stats.float_gemm_calls, 0);
  // Lossless products beyond 2^53: M = 15, K = 1, 4096 rows, 16-bit inputs.
  formats::HardwareConfig big = DefaultHardwareConfig();
  big.set_weight_bits(15);
  big.set_cell_bits(1);
  big.set_conductance_frac_bits(14);
  big.set_array_rows(4096);
  big.set_activation_bits(16);
  ExpectPathsAgree({"int64 lossless", big, 0.01, formats::GAUSSIAN, 4096, 2, 0, false}, 2, 2,
                   &stats);
  EXPECT_EQ(stats.integer_calls, 1);
  // And the default takes the exact float / double GEMMs.
  ExpectPathsAgree({"default", DefaultHardwareConfig(), 0.1, formats::GAUSSIAN, 128, 32, 0, false},
                   2, 3, &stats);
  EXPECT_EQ(stats.double_gemm_calls, 1);
  ExpectPathsAgree({"adc", WithAdc(8, formats::ADC_UNIPOLAR, 4), 0.1, formats::GAUSSIAN, 128, 32, 4,
                    false},
                   2, 3, &stats);
  EXPECT_EQ(stats.float_gemm_calls, 1);
}

TEST(CrossbarTest, ThreadCountsAndBatchesAgree) {
  const HardwareParams p = ParamsOrDie(WithAdc(7, formats::ADC_UNIPOLAR, 5));
  const CellStdCodes s = StdCodesOrDie(p, 0.2);
  const std::vector<int16_t> w = RandomWeightCodes(p, 128, 32, 21);
  const ProgrammedTile tile = ProgramTileOrDie(p, s, w, 128, 32, {3, 3});
  const int64_t batch = 300;  // several chunks, uneven split
  const std::vector<int32_t> x = RandomInputs(p, batch, 128, false, 22);
  MvmOptions options;
  options.adc_shift = 5;
  std::vector<int64_t> y1(batch * 32), y3(batch * 32), y_each(batch * 32);
  ASSERT_TRUE(CrossbarMvmFast(p, tile, options, x.data(), 128, batch, y1.data(), 32, nullptr).ok());
  options.num_threads = 3;
  ASSERT_TRUE(CrossbarMvmFast(p, tile, options, x.data(), 128, batch, y3.data(), 32, nullptr).ok());
  EXPECT_EQ(y1, y3);
  // One input at a time gives the same outputs (a sample of them).
  for (int64_t b = 0; b < batch; b += 7) {
    ASSERT_TRUE(CrossbarMvmFast(p, tile, options, x.data() + b * 128, 128, 1, y_each.data() + b * 32,
                                32, nullptr)
                    .ok());
    for (int n = 0; n < 32; ++n) ASSERT_EQ(y_each[b * 32 + n], y1[b * 32 + n]) << b;
  }
}

TEST(CrossbarTest, RejectsBadArguments) {
  const HardwareParams p = ParamsOrDie(DefaultHardwareConfig());
  const CellStdCodes s = StdCodesOrDie(p, 0.1);
  const std::vector<int16_t> w = RandomWeightCodes(p, 4, 2, 1);
  const ProgrammedTile tile = ProgramTileOrDie(p, s, w, 4, 2, {1, 1});
  std::vector<int32_t> x = {1, 2, 3, 256};
  std::vector<int64_t> y(2);
  MvmOptions options;
  absl::Status st = CrossbarMvmFast(p, tile, options, x.data(), 4, 1, y.data(), 2, nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("row 3"), std::string::npos) << st;
  x[3] = -1;
  EXPECT_FALSE(CrossbarMvmReference(p, tile, options, x.data(), 4, 1, y.data(), 2, nullptr).ok());
  options.signed_inputs = true;
  EXPECT_TRUE(CrossbarMvmReference(p, tile, options, x.data(), 4, 1, y.data(), 2, nullptr).ok());
  options.adc_shift = 1;  // lossless needs 0
  EXPECT_FALSE(CrossbarMvmFast(p, tile, options, x.data(), 4, 1, y.data(), 2, nullptr).ok());
  options.adc_shift = 0;
  EXPECT_FALSE(CrossbarMvmFast(p, tile, options, x.data(), 3, 1, y.data(), 2, nullptr).ok());
  EXPECT_TRUE(CrossbarMvmFast(p, tile, options, nullptr, 4, 0, nullptr, 2, nullptr).ok());
  // ADC_SHIFT_FIXED pins the shift.
  formats::HardwareConfig fixed = WithAdc(8, formats::ADC_UNIPOLAR, 4);
  fixed.set_adc_shift_policy(formats::ADC_SHIFT_FIXED);
  const HardwareParams pf = ParamsOrDie(fixed);
  options = DefaultMvmOptions(pf);
  x = {1, 2, 3, 4};
  EXPECT_TRUE(CrossbarMvmFast(pf, tile, options, x.data(), 4, 1, y.data(), 2, nullptr).ok());
  options.adc_shift = 5;
  EXPECT_FALSE(CrossbarMvmFast(pf, tile, options, x.data(), 4, 1, y.data(), 2, nullptr).ok());
}

TEST(BoundsTest, AccumulatorProofs) {
  const HardwareParams p = ParamsOrDie(DefaultHardwareConfig());
  // Lossless tile: 128 * 255 * 85 * 2^16 = 181,835,366,400 (< 2^38).
  EXPECT_EQ(TileOutputBound(p, 128, false), int64_t{128} * 255 * 85 * 65536);
  EXPECT_EQ(ColumnSumBound(p, 128), int64_t{128} * 32768);
  // VGG-8's largest matrices (512 * 9 and 8192 rows) are exact in 64 bits.
  EXPECT_TRUE(AccumulationCannotSaturate(p, 4608, false));
  EXPECT_TRUE(AccumulationCannotSaturate(p, 8192, true));
  formats::HardwareConfig c = DefaultHardwareConfig();
  c.set_accumulator_bits(32);
  EXPECT_FALSE(AccumulationCannotSaturate(ParamsOrDie(c), 128, false));
  // An 8-bit ADC: 2 * 85 * 255 * 128 = 5,548,800 per tile; 32 bits hold 387
  // full tiles.
  c.set_adc_bits(8);
  c.set_adc_range(formats::ADC_BIPOLAR);
  const HardwareParams adc = ParamsOrDie(c);
  EXPECT_EQ(TileOutputBound(adc, 128, false), int64_t{2} * 85 * 255 * 128);
  EXPECT_TRUE(AccumulationCannotSaturate(adc, 387 * 128, false));
  EXPECT_FALSE(AccumulationCannotSaturate(adc, 388 * 128, false));
  // Every valid configuration's tile output fits int64 with room (§6.2).
  formats::HardwareConfig worst = DefaultHardwareConfig();
  worst.set_weight_bits(15);
  worst.set_cell_bits(1);
  worst.set_array_rows(4096);
  worst.set_activation_bits(16);
  EXPECT_LT(TileOutputBound(ParamsOrDie(worst), 4096, false), int64_t{1} << 62);
}

}  // namespace
}  // namespace nftcim::emulator
