#include "emulator/programming.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "device_model/integer_gaussian.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/crossbar_test_util.h"
#include "gtest/gtest.h"
#include "rng/fnv1a.h"

namespace nftcim::emulator {
namespace {

using testing::ParamsOrDie;
using testing::ProgramTileOrDie;
using testing::RandomWeightCodes;
using testing::StdCodesOrDie;

HardwareParams Default() { return ParamsOrDie(DefaultHardwareConfig()); }

TEST(ProgrammingTest, SignedWeightCode) {
  const device::DeviceModel d = testing::DeviceOrDie(Default(), 0.1);
  EXPECT_EQ(SignedWeightCode(d, 0.5, 1.0), 128);  // 127.5 rounds away from 0
  EXPECT_EQ(SignedWeightCode(d, -1.0, 1.0), -255);
  EXPECT_EQ(SignedWeightCode(d, -0.001, 1.0), 0);  // magnitude 0: +0
  EXPECT_EQ(SignedWeightCode(d, 2.0, 1.0), 255);
}

TEST(ProgrammingTest, StdCodesPerLevel) {
  const HardwareParams p = Default();
  // Gaussian sigma 0.1: 0.3 levels = 76.8 codes at every level.
  CellStdCodes s = StdCodesOrDie(p, 0.1);
  ASSERT_EQ(s.std_q16.size(), 4u);
  for (int32_t v : s.std_q16) EXPECT_EQ(v, std::llround(0.1 * 3 * 256 * 65536));
  // FeFET2: intermediate levels twice the extremes.
  s = StdCodesOrDie(p, 0.1, formats::FEFET2);
  EXPECT_EQ(s.std_q16[1], s.std_q16[2]);
  EXPECT_NEAR(s.std_q16[1], 2 * s.std_q16[0], 1);
  EXPECT_EQ(s.std_q16[0], s.std_q16[3]);
  // Mismatched device bits and too-large variation are errors.
  absl::StatusOr<device::DeviceModel> d4 = device::DeviceModel::Create(8, 4, 0.1, formats::GAUSSIAN);
  ASSERT_TRUE(d4.ok());
  EXPECT_FALSE(MakeCellStdCodes(p, *d4).ok());
  EXPECT_FALSE(MakeCellStdCodes(p, testing::DeviceOrDie(p, 100.0)).ok());
}

TEST(ProgrammingTest, IdealCellsWithoutVariation) {
  const HardwareParams p = Default();
  const CellStdCodes s = StdCodesOrDie(p, 0.0);
  // 2 rows x 3 outputs: 0b11100100 = 228 -> levels 0,1,2,3 (LSB cell first).
  const std::vector<int16_t> w = {228, -228, 0, -1, 255, 64};
  ProgrammingStats stats;
  TileWeightsView view{w.data(), 3, 2, 3, 0, 0};
  absl::StatusOr<ProgrammedTile> t = ProgramCells(p, s, view, {1, 0}, 1, &stats);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->columns_used, 12);
  const int16_t L = 256;
  const std::vector<int16_t> pos_row0 = {0, L, 2 * L, 3 * L, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<int16_t> neg_row0 = {0, 0, 0, 0, 0, L, 2 * L, 3 * L, 0, 0, 0, 0};
  const std::vector<int16_t> pos_row1 = {0, 0, 0, 0, 3 * L, 3 * L, 3 * L, 3 * L, 0, 0, 0, L};
  const std::vector<int16_t> neg_row1 = {L, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int c = 0; c < 12; ++c) {
    EXPECT_EQ(t->Code(ArraySide::kPositive, 0, c), pos_row0[c]) << c;
    EXPECT_EQ(t->Code(ArraySide::kNegative, 0, c), neg_row0[c]) << c;
    EXPECT_EQ(t->Code(ArraySide::kPositive, 1, c), pos_row1[c]) << c;
    EXPECT_EQ(t->Code(ArraySide::kNegative, 1, c), neg_row1[c]) << c;
  }
  EXPECT_EQ(stats.cells_programmed, 24);
  EXPECT_EQ(stats.cells_varied, 0);
}

TEST(ProgrammingTest, ConductanceCodeFormula) {
  HardwareParams p = Default();
  const uint64_t bits = CellRandomBits({5, 2}, ArraySide::kNegative, 3, 4);
  const int32_t std_q16 = 100 << 16;
  const int64_t delta = device::GaussianDelta(bits, std_q16);
  EXPECT_EQ(ConductanceCode(p, 2, std_q16, bits, nullptr), 512 + delta);
  // Clipping to [0, 3 * 256].
  p.clip_conductance = true;
  ProgrammingStats stats;
  EXPECT_EQ(ConductanceCode(p, 0, 100000 << 6, uint64_t{1} << 63, &stats), 0);  // -7 sigma
  EXPECT_EQ(ConductanceCode(p, 3, 100000 << 6, 0, &stats), 768);               // +7 sigma
  EXPECT_EQ(stats.codes_clipped, 2);
  // Saturation to G bits when not clipped.
  p.clip_conductance = false;
  EXPECT_EQ(ConductanceCode(p, 3, device::kMaxStdQ16, 0, &stats), 32767);
  EXPECT_EQ(ConductanceCode(p, 0, device::kMaxStdQ16, uint64_t{1} << 63, &stats), -32768);
  EXPECT_EQ(stats.codes_saturated, 2);
}

TEST(ProgrammingTest, DeterministicAcrossThreadsAndRuns) {
  formats::HardwareConfig c = DefaultHardwareConfig();
  c.set_unprogrammed_variation(true);
  const HardwareParams p = ParamsOrDie(c);
  const CellStdCodes s = StdCodesOrDie(p, 0.2, formats::RRAM4);
  const std::vector<int16_t> w = RandomWeightCodes(p, 128, 32, 11);
  const ProgrammedTile one = ProgramTileOrDie(p, s, w, 128, 32, {42, 3}, 1);
  const ProgrammedTile two = ProgramTileOrDie(p, s, w, 128, 32, {42, 3}, 2);
  const ProgrammedTile five = ProgramTileOrDie(p, s, w, 128, 32, {42, 3}, 5);
  const ProgrammedTile again = ProgramTileOrDie(p, s, w, 128, 32, {42, 3}, 1);
  EXPECT_EQ(one.positive, two.positive);
  EXPECT_EQ(one.negative, two.negative);
  EXPECT_EQ(one.positive, five.positive);
  EXPECT_EQ(one.negative, five.negative);
  EXPECT_EQ(one.positive, again.positive);
  const ProgrammedTile other_seed = ProgramTileOrDie(p, s, w, 128, 32, {43, 3}, 1);
  const ProgrammedTile other_layer = ProgramTileOrDie(p, s, w, 128, 32, {42, 4}, 1);
  EXPECT_NE(one.positive, other_seed.positive);
  EXPECT_NE(one.negative, other_seed.negative);
  EXPECT_NE(one.positive, other_layer.positive);
  // Positive and negative arrays draw independently.
  EXPECT_NE(CellRandomBits({42, 3}, ArraySide::kPositive, 0, 0),
            CellRandomBits({42, 3}, ArraySide::kNegative, 0, 0));
}

TEST(ProgrammingTest, IndependentOfTiling) {
  // The same layer on 128 x 128 and on 32 x 64 arrays: each cell keeps its
  // layer-matrix position, hence its variation.
  formats::HardwareConfig c = DefaultHardwareConfig();
  const HardwareParams big = ParamsOrDie(c);
  c.set_array_rows(32);
  c.set_array_cols(64);
  const HardwareParams small = ParamsOrDie(c);
  const std::vector<int16_t> w = RandomWeightCodes(big, 100, 30, 5);
  const CellStdCodes s = StdCodesOrDie(big, 0.15);
  WeightMatrixView view{w.data(), 100, 30, 30};
  absl::StatusOr<ProgrammedMatrix> a = ProgramMatrix(big, s, view, {9, 1}, 1, nullptr);
  absl::StatusOr<ProgrammedMatrix> b = ProgramMatrix(small, s, view, {9, 1}, 2, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->row_tiles(), 1);
  ASSERT_EQ(b->row_tiles(), 4);
  ASSERT_EQ(b->column_tiles(), 2);
  for (int64_t r = 0; r < 100; ++r) {
    for (int64_t col = 0; col < 30 * 4; ++col) {
      const ProgrammedTile& tb = b->tile(r / 32, col / 64);
      for (ArraySide side : {ArraySide::kPositive, ArraySide::kNegative}) {
        ASSERT_EQ(a->tile(0, 0).Code(side, static_cast<int32_t>(r), static_cast<int32_t>(col)),
                  tb.Code(side, static_cast<int32_t>(r % 32), static_cast<int32_t>(col % 64)));
      }
    }
  }
}

TEST(ProgrammingTest, VariationStatistics) {
  // Every level's deviation has mean ~0 and the device model's std.
  const HardwareParams p = Default();
  for (formats::DevicePreset preset : {formats::GAUSSIAN, formats::FEFET6}) {
    const double sigma = 0.2;
    const device::DeviceModel d = testing::DeviceOrDie(p, sigma, preset);
    const CellStdCodes s = StdCodesOrDie(p, sigma, preset);
    // All four levels in every weight: 0b11100100 (228) and its negation.
    std::vector<int16_t> w(128 * 32);
    for (size_t i = 0; i < w.size(); ++i) w[i] = i % 2 ? 228 : -228;
    double sum[4] = {0, 0, 0, 0}, sum_sq[4] = {0, 0, 0, 0};
    int64_t n = 0;
    for (uint64_t seed = 0; seed < 8; ++seed) {
      const ProgrammedTile t = ProgramTileOrDie(p, s, w, 128, 32, {seed, 0});
      for (int32_t r = 0; r < 128; ++r) {
        for (int32_t o = 0; o < 32; ++o) {
          const ArraySide side = w[r * 32 + o] > 0 ? ArraySide::kPositive : ArraySide::kNegative;
          for (int32_t level = 0; level < 4; ++level) {
            const double dev = t.Code(side, r, o * 4 + level) - level * 256.0;
            sum[level] += dev;
            sum_sq[level] += dev * dev;
          }
          ++n;
        }
      }
    }
    for (int level = 0; level < 4; ++level) {
      const double expected = d.CellStdInLevels(level) * 256;
      const double mean = sum[level] / n;
      EXPECT_NEAR(mean, 0, 5 * expected / std::sqrt(n)) << level;
      EXPECT_NEAR(std::sqrt(sum_sq[level] / n - mean * mean) / expected, 1, 0.03)
          << "preset " << preset << " level " << level;
    }
  }
}

TEST(ProgrammingTest, UnprogrammedCells) {
  formats::HardwareConfig c = DefaultHardwareConfig();
  HardwareParams p = ParamsOrDie(c);
  const CellStdCodes s = StdCodesOrDie(p, 0.3);
  const std::vector<int16_t> w(16 * 8, 17);  // all positive
  ProgrammedTile t = ProgramTileOrDie(p, s, w, 16, 8, {1, 1});
  for (int16_t code : t.negative) ASSERT_EQ(code, 0);  // exactly 0 by default
  c.set_unprogrammed_variation(true);
  p = ParamsOrDie(c);
  t = ProgramTileOrDie(p, s, w, 16, 8, {1, 1});
  int nonzero = 0;
  for (int16_t code : t.negative) nonzero += code != 0;
  EXPECT_GT(nonzero, 100);  // level 0 with std 230 codes
  c.set_clip_conductance(true);
  p = ParamsOrDie(c);
  t = ProgramTileOrDie(p, s, w, 16, 8, {1, 1});
  for (int16_t code : t.negative) ASSERT_GE(code, 0);
  for (int16_t code : t.positive) {
    ASSERT_GE(code, 0);
    ASSERT_LE(code, 768);
  }
}

TEST(ProgrammingTest, RejectsBadTiles) {
  const HardwareParams p = Default();
  const CellStdCodes s = StdCodesOrDie(p, 0.1);
  std::vector<int16_t> w(4, 1);
  TileWeightsView view{w.data(), 2, 2, 2, 0, 0};
  EXPECT_TRUE(ProgramCells(p, s, view, {}, 1, nullptr).ok());
  w[3] = 256;  // > 2^8 - 1
  EXPECT_FALSE(ProgramCells(p, s, view, {}, 1, nullptr).ok());
  w[3] = 1;
  view.rows_used = 129;
  EXPECT_FALSE(ProgramCells(p, s, view, {}, 1, nullptr).ok());
  view.rows_used = 2;
  view.outputs_used = 33;
  EXPECT_FALSE(ProgramCells(p, s, view, {}, 1, nullptr).ok());
  view.outputs_used = 2;
  EXPECT_FALSE(ProgramCells(p, s, view, {}, 0, nullptr).ok());
  EXPECT_FALSE(ProgramCells(p, CellStdCodes{}, view, {}, 1, nullptr).ok());
  view.first_row = int64_t{1} << 32;
  EXPECT_FALSE(ProgramCells(p, s, view, {}, 1, nullptr).ok());
}

// Regression test of bit-exactness of programming as a whole (Philox keying,
// sampler, code formula): a checksum over one programmed tile.
TEST(ProgrammingTest, KnownTileChecksum) {
  formats::HardwareConfig c = DefaultHardwareConfig();
  c.set_unprogrammed_variation(true);
  const HardwareParams p = ParamsOrDie(c);
  const CellStdCodes s = StdCodesOrDie(p, 0.25, formats::FEFET2);
  const std::vector<int16_t> w = RandomWeightCodes(p, 64, 16, 3);
  const ProgrammedTile t = ProgramTileOrDie(p, s, w, 64, 16, {20240601, 7});
  rng::Fnv1a64 h;  // over the codes, 16-bit two's complement, low byte first
  for (const std::vector<int16_t>* v : {&t.positive, &t.negative}) {
    for (int16_t code : *v) h.UpdateLittleEndian(static_cast<uint16_t>(code), 2);
  }
  // Cross-checked against an independent Python implementation of
  // hardware-spec §2.3 and §3 (Philox, the §3.3 sampler, the code formula).
  EXPECT_EQ(s.std_q16, (std::vector<int32_t>{8483398, 16966795, 16966795, 8483398}));
  EXPECT_EQ(t.Code(ArraySide::kPositive, 0, 0), 21);
  // The standard FNV-1a 64 of the codes; the same codes hashed to
  // 10040994749197316705 under the earlier test's own 16-bit FNV variant.
  EXPECT_EQ(h.value(), 14338189930605784369ull);
}


CellStdCodes NonIdealCodes(const HardwareParams& p, double sigma, double low, double high,
                           double drift_seconds) {
  formats::DeviceModel d = testing::DeviceOrDie(p, sigma).ToProto();
  d.set_stuck_at_low_rate(low);
  d.set_stuck_at_high_rate(high);
  d.set_drift_seconds(drift_seconds);
  absl::StatusOr<device::DeviceModel> dm = device::DeviceModel::FromProto(d);
  EXPECT_TRUE(dm.ok()) << dm.status();
  absl::StatusOr<CellStdCodes> codes = MakeCellStdCodes(p, *dm);
  EXPECT_TRUE(codes.ok()) << codes.status();
  return *codes;
}

// §3.7: stuck cells read 0 or L * 2^F in both arrays, the map is the device
// model's, independent of threads and of the weights.
TEST(ProgrammingTest, StuckAtCellsFollowTheDeviceModelsMap) {
  const HardwareParams p = Default();
  const CellStdCodes s = NonIdealCodes(p, 0.05, 0.03, 0.04, 0);
  const std::vector<int16_t> w = RandomWeightCodes(p, 100, 32, 8);
  const ProgrammingKey key{77, 3};
  ProgrammingStats stats;
  TileWeightsView view{w.data(), 32, 100, 32, 0, 0};
  absl::StatusOr<ProgrammedTile> t = ProgramCells(p, s, view, key, 1, &stats);
  ASSERT_TRUE(t.ok()) << t.status();
  const ProgrammedTile t4 = ProgramTileOrDie(p, s, w, 100, 32, key, 4);
  EXPECT_EQ(t->positive, t4.positive);
  EXPECT_EQ(t->negative, t4.negative);
  const CellStdCodes clean = StdCodesOrDie(p, 0.05);
  const ProgrammedTile t0 = ProgramTileOrDie(p, clean, w, 100, 32, key, 1);
  int64_t low = 0, high = 0;
  for (ArraySide side : {ArraySide::kPositive, ArraySide::kNegative}) {
    for (int32_t r = 0; r < 100; ++r) {
      for (int32_t c = 0; c < t->columns_used; ++c) {
        const device::CellFault f = device::StuckAtState(
            s.stuck_at, key.seed,
            device::CellId{key.layer, static_cast<uint32_t>(side), static_cast<uint32_t>(r),
                           static_cast<uint32_t>(c)});
        const int16_t code = t->Code(side, r, c);
        if (f == device::CellFault::kStuckLow) {
          EXPECT_EQ(code, 0);
          ++low;
        } else if (f == device::CellFault::kStuckHigh) {
          EXPECT_EQ(code, 768);
          ++high;
        } else {
          // A healthy cell is programmed exactly as without faults.
          EXPECT_EQ(code, t0.Code(side, r, c));
        }
      }
    }
  }
  EXPECT_EQ(stats.cells_stuck_low, low);
  EXPECT_EQ(stats.cells_stuck_high, high);
  EXPECT_GT(low, 0.03 * 25600 * 0.7);
  EXPECT_LT(low, 0.03 * 25600 * 1.3);
  EXPECT_GT(high, 0.04 * 25600 * 0.7);
  EXPECT_LT(high, 0.04 * 25600 * 1.3);
}

// §3.8: every healthy cell's code is its §3.5 raw value scaled by its own
// drift factor; unprogrammed cells stay exactly 0.
TEST(ProgrammingTest, DriftScalesEveryProgrammedCell) {
  const HardwareParams p = Default();
  const CellStdCodes s = NonIdealCodes(p, 0.02, 0, 0, 86400);
  ASSERT_TRUE(s.drift.active);
  const std::vector<int16_t> w = RandomWeightCodes(p, 50, 32, 9);
  const ProgrammingKey key{5, 1};
  ProgrammingStats stats;
  const ProgrammedTile t = ProgramTileOrDie(p, s, w, 50, 32, key, 2);
  const ProgrammedTile t1 = ProgramTileOrDie(p, s, w, 50, 32, key, 1);
  EXPECT_EQ(t.positive, t1.positive);
  double ratio_sum = 0;
  int ratios = 0;
  for (int32_t r = 0; r < 50; ++r) {
    for (int32_t n = 0; n < 32; ++n) {
      const int32_t wq = w[r * 32 + n];
      const ArraySide side = wq < 0 ? ArraySide::kNegative : ArraySide::kPositive;
      const ArraySide other = wq < 0 ? ArraySide::kPositive : ArraySide::kNegative;
      const int32_t q = std::abs(wq);
      for (int i = 0; i < 4; ++i) {
        const int32_t c = n * 4 + i;
        const int32_t level = (q >> (2 * i)) & 3;
        const device::CellId cell{key.layer, static_cast<uint32_t>(side),
                                  static_cast<uint32_t>(r), static_cast<uint32_t>(c)};
        const int64_t f = device::DriftFactorQ30(
            s.drift, device::DriftExponentQ16(s.drift, key.seed, cell));
        const int64_t raw = (int64_t{level} << 8) +
                            device::GaussianDelta(CellRandomBits(key, side, r, c),
                                                  s.std_q16[level]);
        EXPECT_EQ(t.Code(side, r, c), device::DriftCode(raw, f));
        EXPECT_EQ(t.Code(other, r, c), 0);
        if (level == 3) {
          ratio_sum += t.Code(side, r, c) / 768.0;
          ++ratios;
        }
      }
    }
  }
  // Mean drift factor over cells: E[86400^-nu], nu ~ N(0.05, 0.02), about
  // 86400^-0.05 * exp(0.5 (0.02 ln 86400)^2) = 0.5665 * 1.0262 = 0.581.
  ASSERT_GT(ratios, 100);
  EXPECT_NEAR(ratio_sum / ratios, 0.581, 0.02);
}

TEST(ProgrammingTest, NominalCodeIsTheStuckCodeOrTheLevel) {
  const HardwareParams p = Default();
  const CellStdCodes s = NonIdealCodes(p, 0, 0.5, 0.5, 0);
  int low = 0;
  for (uint32_t c = 0; c < 64; ++c) {
    const int64_t n = NominalCode(p, s, {1, 0}, ArraySide::kPositive, 0, c, 2);
    EXPECT_TRUE(n == 0 || n == 768) << n;  // every cell is stuck
    low += n == 0;
  }
  EXPECT_GT(low, 10);
  EXPECT_LT(low, 54);
  const CellStdCodes none = StdCodesOrDie(p, 0);
  EXPECT_EQ(NominalCode(p, none, {1, 0}, ArraySide::kPositive, 0, 3, 2), 512);
}

}  // namespace
}  // namespace nftcim::emulator
