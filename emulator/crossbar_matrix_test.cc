#include "emulator/crossbar_matrix.h"

#include <cstdint>
#include <vector>

#include "emulator/crossbar_test_util.h"
#include "emulator/fixed_point.h"
#include "gtest/gtest.h"

namespace nftcim::emulator {
namespace {

using testing::ParamsOrDie;
using testing::RandomInputs;
using testing::RandomWeightCodes;
using testing::StdCodesOrDie;

TEST(CrossbarMatrixTest, TilingAndPathsAgree) {
  for (int adc_bits : {0, 6}) {
    formats::HardwareConfig c = DefaultHardwareConfig();
    if (adc_bits > 0) {
      c.set_adc_bits(adc_bits);
      c.set_adc_range(formats::ADC_BIPOLAR);
      c.set_adc_shift(7);
    }
    const HardwareParams p = ParamsOrDie(c);
    const CellStdCodes s = StdCodesOrDie(p, 0.15);
    // 300 rows x 70 outputs on 128 x 128 arrays: 3 x 3 tiles, partial ones.
    const int64_t rows = 300, outs = 70, batch = 6;
    const std::vector<int16_t> w = RandomWeightCodes(p, rows, outs, 31);
    ProgrammingStats ps;
    absl::StatusOr<ProgrammedMatrix> m =
        ProgramMatrix(p, s, {w.data(), rows, outs, outs}, {8, 2}, 2, &ps);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->row_tiles(), 3);
    EXPECT_EQ(m->column_tiles(), 3);
    EXPECT_EQ(m->tile(2, 2).rows_used, 300 - 256);
    EXPECT_EQ(m->tile(2, 2).outputs_used, 70 - 64);
    EXPECT_EQ(m->tile(1, 2).first_row, 128);
    EXPECT_EQ(m->tile(1, 2).first_output, 64);
    EXPECT_EQ(ps.cells_programmed, rows * outs * 4);
    const std::vector<int32_t> x = RandomInputs(p, batch, rows, true, 32);
    std::vector<int64_t> y_ref(batch * outs), y_fast(batch * outs);
    MvmOptions options = DefaultMvmOptions(p);
    options.signed_inputs = true;
    options.num_threads = 2;
    MvmStats sr, sf;
    ASSERT_TRUE(MatrixMvm(p, *m, options, x.data(), rows, batch, y_ref.data(), outs,
                          MvmPath::kReference, &sr)
                    .ok());
    ASSERT_TRUE(
        MatrixMvm(p, *m, options, x.data(), rows, batch, y_fast.data(), outs, MvmPath::kFast, &sf)
            .ok());
    EXPECT_EQ(y_ref, y_fast);
    EXPECT_EQ(sr.adc.conversions, sf.adc.conversions);
    // Every row tile converts every used column: 3 row tiles x 70 outputs x 4.
    EXPECT_EQ(sr.adc.conversions, batch * 8 * 2 * 3 * outs * 4);
    // The sum over row tiles, tile by tile.
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t u = 0; u < 3; ++u) {
        std::vector<int64_t> sum(m->tile(0, u).outputs_used, 0);
        for (int64_t t = 0; t < 3; ++t) {
          const ProgrammedTile& tile = m->tile(t, u);
          std::vector<int64_t> part(tile.outputs_used);
          ASSERT_TRUE(CrossbarMvmReference(p, tile, options, x.data() + b * rows + tile.first_row,
                                           rows, 1, part.data(), tile.outputs_used, nullptr)
                          .ok());
          for (size_t n = 0; n < part.size(); ++n) sum[n] += part[n];
        }
        for (size_t n = 0; n < sum.size(); ++n) {
          ASSERT_EQ(y_ref[b * outs + u * 32 + n], sum[n]);
        }
      }
    }
  }
}

TEST(CrossbarMatrixTest, ExactProductWithoutVariation) {
  const HardwareParams p = ParamsOrDie(DefaultHardwareConfig());
  const CellStdCodes s = StdCodesOrDie(p, 0.0);
  const int64_t rows = 576, outs = 40, batch = 3;  // a 3x3x64 convolution
  const std::vector<int16_t> w = RandomWeightCodes(p, rows, outs, 1);
  absl::StatusOr<ProgrammedMatrix> m =
      ProgramMatrix(p, s, {w.data(), rows, outs, outs}, {0, 0}, 1, nullptr);
  ASSERT_TRUE(m.ok());
  const std::vector<int32_t> x = RandomInputs(p, batch, rows, false, 2);
  std::vector<int64_t> y(batch * outs);
  ASSERT_TRUE(MatrixMvm(p, *m, DefaultMvmOptions(p), x.data(), rows, batch, y.data(), outs,
                        MvmPath::kFast, nullptr)
                  .ok());
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t n = 0; n < outs; ++n) {
      int64_t expected = 0;
      for (int64_t r = 0; r < rows; ++r) expected += int64_t{x[b * rows + r]} * w[r * outs + n];
      ASSERT_EQ(y[b * outs + n], expected * 256);
    }
  }
}

TEST(CrossbarMatrixTest, AccumulatorSaturatesInRowTileOrder) {
  // W = 24: each tile's output fits, the sum over 4 row tiles does not.
  // sigma = 0, lossless: tile output = 256 * 128 * 255 * 255 = 2,130,739,200
  // with all-max inputs and weights -- too big; use inputs of 1 instead:
  // 256 * 128 * 255 = 8,355,840 < 2^23 - 1 = 8,388,607, and two tiles
  // exceed it.
  formats::HardwareConfig c = DefaultHardwareConfig();
  c.set_accumulator_bits(24);
  const HardwareParams p = ParamsOrDie(c);
  const CellStdCodes s = StdCodesOrDie(p, 0.0);
  const int64_t rows = 512, outs = 2;
  std::vector<int16_t> w(rows * outs);
  for (int64_t r = 0; r < rows; ++r) {
    // Output 0: +255 in the first three row tiles, -255 in the last:
    // saturates after tile 1 and comes back down by one tile after tile 3.
    w[r * outs] = r < 384 ? 255 : -255;
    w[r * outs + 1] = r < 256 ? -255 : 255;
  }
  absl::StatusOr<ProgrammedMatrix> m =
      ProgramMatrix(p, s, {w.data(), rows, outs, outs}, {0, 0}, 1, nullptr);
  ASSERT_TRUE(m.ok());
  const std::vector<int32_t> x(rows, 1);
  const int64_t tile_out = 256 * 128 * 255;
  const int64_t max = MaxOfSignedBits(24), min = MinOfSignedBits(24);
  for (MvmPath path : {MvmPath::kReference, MvmPath::kFast}) {
    std::vector<int64_t> y(outs);
    MvmStats stats;
    ASSERT_TRUE(
        MatrixMvm(p, *m, DefaultMvmOptions(p), x.data(), rows, 1, y.data(), outs, path, &stats).ok());
    // Output 0: t, 2t -> max, max + t -> max, max - t.
    EXPECT_EQ(y[0], max - tile_out);
    // Output 1: -t, -2t -> min, min + t, min + 2t.
    EXPECT_EQ(y[1], min + 2 * tile_out);
    EXPECT_EQ(stats.accumulator_saturations, 3);
    EXPECT_FALSE(AccumulationCannotSaturate(p, rows, false));
  }
}

TEST(CrossbarMatrixTest, RejectsBadArguments) {
  const HardwareParams p = ParamsOrDie(DefaultHardwareConfig());
  const CellStdCodes s = StdCodesOrDie(p, 0.1);
  std::vector<int16_t> w(10, 1);
  EXPECT_FALSE(ProgramMatrix(p, s, {w.data(), 0, 10, 10}, {}, 1, nullptr).ok());
  EXPECT_FALSE(ProgramMatrix(p, s, {w.data(), 1, 10, 9}, {}, 1, nullptr).ok());
  w[9] = 300;
  absl::StatusOr<ProgrammedMatrix> bad = ProgramMatrix(p, s, {w.data(), 1, 10, 10}, {}, 1, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tile (0, 0)"), std::string::npos) << bad.status();
  w[9] = 1;
  absl::StatusOr<ProgrammedMatrix> m = ProgramMatrix(p, s, {w.data(), 1, 10, 10}, {}, 1, nullptr);
  ASSERT_TRUE(m.ok());
  std::vector<int32_t> x = {1000};
  std::vector<int64_t> y(10);
  EXPECT_FALSE(MatrixMvm(p, *m, DefaultMvmOptions(p), x.data(), 1, 1, y.data(), 10, MvmPath::kFast,
                         nullptr)
                   .ok());
  EXPECT_FALSE(MatrixMvm(p, *m, DefaultMvmOptions(p), x.data(), 1, 1, y.data(), 9, MvmPath::kFast,
                         nullptr)
                   .ok());
}

}  // namespace
}  // namespace nftcim::emulator
