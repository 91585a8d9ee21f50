#include "emulator/periphery.h"

#include <cmath>
#include <cstdint>

#include "gtest/gtest.h"

namespace nftcim::emulator {
namespace {

TEST(PeripheryTest, RequantizeMatchesTheSpecFormula) {
  Requantization q;
  q.pre_shift = 4;
  q.bias = -3;
  q.multiplier = 3 << 28;  // 0.75 * 2^30
  q.shift = 30;
  q.range = UnsignedRange(8);  // ReLU to uint8
  // acc = 200: 200 >> 4 with rounding = 12.5 -> 13; +bias = 10; * 0.75 = 7.5 -> 8.
  EXPECT_EQ(Requantize(200, q), 8);
  // Negative results clamp at 0 (ReLU) and are counted.
  int64_t sat = 0;
  EXPECT_EQ(Requantize(-1000, q, &sat), 0);
  EXPECT_EQ(sat, 1);
  // Large results clamp at 255.
  EXPECT_EQ(Requantize(int64_t{1} << 20, q, &sat), 255);
  EXPECT_EQ(sat, 2);
  // The int32 stage saturates (counted) before the multiply.
  q.range = SignedRange(32);
  q.multiplier = 1;
  q.shift = 0;
  q.pre_shift = 0;
  q.bias = 0;
  sat = 0;
  EXPECT_EQ(Requantize(int64_t{1} << 40, q, &sat), 2147483647);
  EXPECT_EQ(sat, 1);
  // A negative multiplier (BatchNorm gamma < 0) and round half up: -2.5 -> -2.
  q.multiplier = -5;
  q.shift = 1;
  EXPECT_EQ(Requantize(1, q), -2);
  // Against double arithmetic on a grid.
  q = Requantization{3, 17, 1234567891, 33, SignedRange(8)};
  for (int64_t acc = -100000; acc <= 100000; acc += 37) {
    const double t = std::floor(acc / 8.0 + 0.5) + 17;
    const double y = std::floor(t * 1234567891.0 / 8589934592.0 + 0.5);
    ASSERT_EQ(Requantize(acc, q), static_cast<int64_t>(std::fmin(127, std::fmax(-128, y)))) << acc;
  }
}

TEST(PeripheryTest, ResidualAverageAndPixels) {
  // (100 * 3 + (-20) * 5) / 4 = 50.
  EXPECT_EQ(ResidualAdd(100, 3, -20, 5, 2, UnsignedRange(8)), 50);
  int64_t sat = 0;
  EXPECT_EQ(ResidualAdd(-100, 1, 20, 1, 0, UnsignedRange(8), &sat), 0);  // fused ReLU
  EXPECT_EQ(sat, 1);
  // Average of 16 values summing to 1000: 62.5 -> 63 with m = 1, s = 4.
  EXPECT_EQ(ScaleAverage(1000, 1, 4, UnsignedRange(8)), 63);
  // Pixels: mean 0.5, std 0.25, S_in = 2 / 127 (so x in [-2, 2] uses the
  // int8 range): k = round(2^20 / (255 * 0.25 * 2/127)), o = round(127.5 * k).
  const double s_in = 2.0 / 127;
  const int32_t k = static_cast<int32_t>(std::lround(std::ldexp(1, 20) / (255 * 0.25 * s_in)));
  const int64_t o = std::llround(127.5 * k);
  EXPECT_EQ(PixelToActivation(0, k, o, 20, 8), -127);
  EXPECT_EQ(PixelToActivation(255, k, o, 20, 8), 127);
  // Pixels 127 and 128 straddle normalised zero (p0 = 127.5).
  EXPECT_EQ(PixelToActivation(127, k, o, 20, 8), 0);   // -0.498 -> 0
  EXPECT_EQ(PixelToActivation(128, k, o, 20, 8), 0);   // +0.498 -> 0
}

}  // namespace
}  // namespace nftcim::emulator
