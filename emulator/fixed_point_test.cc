#include "emulator/fixed_point.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace nftcim::emulator {
namespace {

constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();

TEST(FixedPointTest, RoundHalfUpShift) {
  EXPECT_EQ(RoundHalfUpShift(5, 0), 5);
  EXPECT_EQ(RoundHalfUpShift(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(RoundHalfUpShift(-5, 1), -2);  // -2.5 -> -2 (towards +inf)
  EXPECT_EQ(RoundHalfUpShift(6, 2), 2);    // 1.5 -> 2
  EXPECT_EQ(RoundHalfUpShift(-6, 2), -1);  // -1.5 -> -1
  EXPECT_EQ(RoundHalfUpShift(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(RoundHalfUpShift(-1, 4), 0);
  EXPECT_EQ(RoundHalfUpShift(kMax64, 1), int64_t{1} << 62);  // no overflow
  EXPECT_EQ(RoundHalfUpShift(kMin64, 63), -1);
  // Equals floor(x / 2^s + 1/2) on a range of values and shifts.
  for (int64_t x = -1000; x <= 1000; ++x) {
    for (int s = 0; s < 12; ++s) {
      ASSERT_EQ(RoundHalfUpShift(x, s),
                static_cast<int64_t>(std::floor(std::ldexp(static_cast<double>(x), -s) + 0.5)))
          << x << " >> " << s;
    }
  }
}

TEST(FixedPointTest, Saturation) {
  EXPECT_EQ(MaxOfSignedBits(8), 127);
  EXPECT_EQ(MinOfSignedBits(8), -128);
  EXPECT_EQ(MaxOfSignedBits(64), kMax64);
  EXPECT_EQ(MinOfSignedBits(64), kMin64);
  bool sat = false;
  EXPECT_EQ(SaturateToSignedBits(200, 8, &sat), 127);
  EXPECT_TRUE(sat);
  sat = false;
  EXPECT_EQ(SaturateToSignedBits(-128, 8, &sat), -128);
  EXPECT_FALSE(sat);
  EXPECT_EQ(SaturateToSignedBits(-129, 8, &sat), -128);
  EXPECT_TRUE(sat);
  EXPECT_EQ(SaturateToInt8(-1000), -128);
  EXPECT_EQ(SaturateToInt16(40000), 32767);
  EXPECT_EQ(SaturateToInt32(int64_t{1} << 40), 2147483647);
  EXPECT_EQ(SaturateToUint8(-3), 0);
  EXPECT_EQ(SaturateToUint8(256), 255);
}

TEST(FixedPointTest, SaturatingAdd) {
  bool sat = false;
  EXPECT_EQ(SaturatingAddSignedBits(30000, 30000, 16, &sat), 32767);
  EXPECT_TRUE(sat);
  sat = false;
  EXPECT_EQ(SaturatingAddSignedBits(-30000, 20000, 16, &sat), -10000);
  EXPECT_FALSE(sat);
  EXPECT_EQ(SaturatingAddSignedBits(kMax64, 1, 64, &sat), kMax64);
  EXPECT_TRUE(sat);
  sat = false;
  EXPECT_EQ(SaturatingAddSignedBits(kMin64, -1, 64, &sat), kMin64);
  EXPECT_TRUE(sat);
}

}  // namespace
}  // namespace nftcim::emulator
