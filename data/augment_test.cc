#include "data/augment.h"

#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::ElementsAre;

bool operator==(const CropFlip& a, const CropFlip& b) {
  return a.dy == b.dy && a.dx == b.dx && a.flip == b.flip;
}

// Pinned from an independent Python transcription: the draws must never
// change silently, or resumed runs would see other pixels.
TEST(DrawCropFlipTest, GoldenDraws) {
  const CropFlip want[] = {{0, 6, false}, {0, 0, true}, {4, 5, true},
                           {4, 7, true}};
  for (int i = 0; i < 4; ++i) {
    const CropFlip got = DrawCropFlip(42, 3, i, 4);
    EXPECT_TRUE(got == want[i]) << i << ": " << got.dy << " " << got.dx << " "
                                << got.flip;
  }
}

TEST(DrawCropFlipTest, DeterministicPerSeedEpochAndIndex) {
  for (int64_t i = 0; i < 100; ++i) {
    EXPECT_TRUE(DrawCropFlip(7, 2, i, 4) == DrawCropFlip(7, 2, i, 4));
  }
  int differ_epoch = 0, differ_seed = 0;
  for (int64_t i = 0; i < 100; ++i) {
    differ_epoch += !(DrawCropFlip(7, 2, i, 4) == DrawCropFlip(7, 3, i, 4));
    differ_seed += !(DrawCropFlip(7, 2, i, 4) == DrawCropFlip(8, 2, i, 4));
  }
  // 162 equally likely outcomes: a collision rate near 1/162.
  EXPECT_GT(differ_epoch, 90);
  EXPECT_GT(differ_seed, 90);
}

TEST(DrawCropFlipTest, CoversTheRangeUniformly) {
  std::vector<int> dy_counts(9, 0), dx_counts(9, 0);
  int flips = 0;
  constexpr int kImages = 18000;
  for (int64_t i = 0; i < kImages; ++i) {
    const CropFlip c = DrawCropFlip(1, 0, i, 4);
    ASSERT_GE(c.dy, 0);
    ASSERT_LE(c.dy, 8);
    ASSERT_GE(c.dx, 0);
    ASSERT_LE(c.dx, 8);
    ++dy_counts[c.dy];
    ++dx_counts[c.dx];
    flips += c.flip;
  }
  for (int k = 0; k < 9; ++k) {
    EXPECT_NEAR(dy_counts[k], kImages / 9, 250);
    EXPECT_NEAR(dx_counts[k], kImages / 9, 250);
  }
  EXPECT_NEAR(flips, kImages / 2, 400);
}

TEST(DrawCropFlipTest, ZeroPaddingNeverShifts) {
  for (int64_t i = 0; i < 50; ++i) {
    const CropFlip c = DrawCropFlip(3, 1, i, 0);
    EXPECT_EQ(c.dy, 0);
    EXPECT_EQ(c.dx, 0);
  }
}

// A 2-channel 3x3 image: channel 0 = 1..9, channel 1 = 11..19.
std::vector<uint8_t> Image() {
  return {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19};
}

TEST(ApplyCropFlipTest, CentredCropWithoutFlipIsIdentity) {
  std::vector<uint8_t> out(18);
  ApplyCropFlip(Image().data(), 2, 3, 3, 4, CropFlip{4, 4, false},
                out.data());
  EXPECT_EQ(out, Image());
}

TEST(ApplyCropFlipTest, CentredFlipMirrorsColumns) {
  std::vector<uint8_t> out(18);
  ApplyCropFlip(Image().data(), 2, 3, 3, 4, CropFlip{4, 4, true}, out.data());
  EXPECT_THAT(out, ElementsAre(3, 2, 1, 6, 5, 4, 9, 8, 7,  //
                               13, 12, 11, 16, 15, 14, 19, 18, 17));
}

// dy = p + 1 takes the crop one row lower: rows move up, zeros enter below.
// dx = p - 1 takes it one column left: columns move right, zeros enter left.
TEST(ApplyCropFlipTest, ShiftsFillWithZeros) {
  std::vector<uint8_t> out(18);
  ApplyCropFlip(Image().data(), 2, 3, 3, 4, CropFlip{5, 3, false}, out.data());
  EXPECT_THAT(out, ElementsAre(0, 4, 5, 0, 7, 8, 0, 0, 0,  //
                               0, 14, 15, 0, 17, 18, 0, 0, 0));
}

// The flip applies to the cropped image: crop first (shift), then mirror.
TEST(ApplyCropFlipTest, FlipAppliesAfterCrop) {
  std::vector<uint8_t> out(9);
  ApplyCropFlip(Image().data(), 1, 3, 3, 4, CropFlip{4, 5, true}, out.data());
  // Crop one column right: rows become (2, 3, 0); mirrored: (0, 3, 2).
  EXPECT_THAT(out, ElementsAre(0, 3, 2, 0, 6, 5, 0, 9, 8));
}

TEST(ApplyCropFlipTest, ShiftBeyondImageGivesZeros) {
  std::vector<uint8_t> out(9, 77);
  ApplyCropFlip(Image().data(), 1, 3, 3, 4, CropFlip{8, 0, false}, out.data());
  for (uint8_t v : out) EXPECT_EQ(v, 0);
}

}  // namespace
}  // namespace nftcim::data
