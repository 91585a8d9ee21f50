#include "data/geometry.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/prng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

TEST(ResizeModeTest, ParseAndName) {
  for (ResizeMode mode :
       {ResizeMode::kNone, ResizeMode::kPad, ResizeMode::kResize}) {
    auto parsed = ParseResizeMode(ResizeModeName(mode));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, mode);
  }
  auto bad = ParseResizeMode("bilinear");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("\"bilinear\": expected one of none, pad, resize"));
}

TEST(PadPlaneTest, PlacesImageInZeroCanvas) {
  const std::vector<uint8_t> src = {1, 2, 3, 4};
  std::vector<uint8_t> dst(16, 99);
  PadPlane(src.data(), 2, 2, 1, 1, 4, 4, dst.data());
  EXPECT_THAT(dst, ElementsAre(0, 0, 0, 0,  //
                               0, 1, 2, 0,  //
                               0, 3, 4, 0,  //
                               0, 0, 0, 0));
}

// 2x2 -> 4x4 by hand. Per axis (n = 2, m = 4, D = 8) the taps are
// S = -2 -> 0, 2, 6, 10 -> 8: (i0, f) = (0, 0), (0, 2), (0, 6), (1, 0),
// i.e. weights 0, 1/4, 3/4 on the second pixel, then the second pixel.
TEST(ResizePlaneBilinearTest, HandComputedUpscale) {
  const std::vector<uint8_t> src = {0, 100,  //
                                    200, 255};
  std::vector<uint8_t> dst(16);
  ResizePlaneBilinear(src.data(), 2, 2, 4, 4, dst.data());
  // Row 0: 0, 25, 75, 100.
  // Row 1 (y weight 1/4): x=0: 50; x=1: 0.75*25 + 0.25*213.75 = 72.1875;
  //   x=2: 0.75*75 + 0.25*241.25 = 116.5625; x=3: 0.75*100 + 0.25*255 = 138.75.
  // Row 2 (y weight 3/4): 150, 0.25*25 + 0.75*213.75 = 166.5625,
  //   0.25*75 + 0.75*241.25 = 199.6875, 0.25*100 + 0.75*255 = 216.25.
  // Row 3: 200, 213.75, 241.25, 255.
  EXPECT_THAT(dst, ElementsAre(0, 25, 75, 100,        //
                               50, 72, 117, 139,      //
                               150, 167, 200, 216,    //
                               200, 214, 241, 255));
}

// Exact halves round up: a corner weight of 1/16 on 8 gives 0.5 -> 1, on 24
// gives 1.5 -> 2.
TEST(ResizePlaneBilinearTest, TiesRoundHalfUp) {
  std::vector<uint8_t> dst(16);
  const std::vector<uint8_t> eight = {0, 0, 0, 8};
  ResizePlaneBilinear(eight.data(), 2, 2, 4, 4, dst.data());
  EXPECT_EQ(dst[1 * 4 + 1], 1);
  const std::vector<uint8_t> twenty_four = {0, 0, 0, 24};
  ResizePlaneBilinear(twenty_four.data(), 2, 2, 4, 4, dst.data());
  EXPECT_EQ(dst[1 * 4 + 1], 2);
}

// Halving samples exactly between pixel pairs: a 2x2 box average.
TEST(ResizePlaneBilinearTest, HalvingIsBoxAverage) {
  const std::vector<uint8_t> src = {10, 20, 30, 40,  //
                                    50, 60, 70, 80,  //
                                    1, 2, 3, 4,      //
                                    5, 6, 7, 9};
  std::vector<uint8_t> dst(4);
  ResizePlaneBilinear(src.data(), 4, 4, 2, 2, dst.data());
  // (10+20+50+60)/4 = 35, (30+40+70+80)/4 = 55, (1+2+5+6)/4 = 3.5 -> 4,
  // (3+4+7+9)/4 = 5.75 -> 6.
  EXPECT_THAT(dst, ElementsAre(35, 55, 4, 6));
}

TEST(ResizePlaneBilinearTest, ConstantStaysConstantAndIdentityIsExact) {
  std::vector<uint8_t> src(28 * 28, 173);
  std::vector<uint8_t> dst(32 * 32);
  ResizePlaneBilinear(src.data(), 28, 28, 32, 32, dst.data());
  for (uint8_t v : dst) ASSERT_EQ(v, 173);
  Xoshiro256 rng(5);
  for (uint8_t& v : src) v = static_cast<uint8_t>(rng.Next());
  std::vector<uint8_t> same(28 * 28);
  ResizePlaneBilinear(src.data(), 28, 28, 28, 28, same.data());
  EXPECT_EQ(same, src);
}

// The integer result equals the real-valued bilinear formula rounded half
// up, checked against an independent double-precision evaluation.
TEST(ResizePlaneBilinearTest, MatchesRealValuedFormula28To32) {
  Xoshiro256 rng(11);
  std::vector<uint8_t> src(28 * 28);
  for (uint8_t& v : src) v = static_cast<uint8_t>(rng.Next());
  std::vector<uint8_t> dst(32 * 32);
  ResizePlaneBilinear(src.data(), 28, 28, 32, 32, dst.data());
  auto tap = [](int o, int n, int m, int* i0, int* i1, double* f) {
    double s = (o + 0.5) * n / m - 0.5;
    s = std::fmin(std::fmax(s, 0.0), n - 1.0);
    *i0 = static_cast<int>(std::floor(s));
    *i1 = std::min(*i0 + 1, n - 1);
    *f = s - *i0;
  };
  for (int oy = 0; oy < 32; ++oy) {
    int y0, y1;
    double fy;
    tap(oy, 28, 32, &y0, &y1, &fy);
    for (int ox = 0; ox < 32; ++ox) {
      int x0, x1;
      double fx;
      tap(ox, 28, 32, &x0, &x1, &fx);
      const double v = src[y0 * 28 + x0] * (1 - fy) * (1 - fx) +
                       src[y0 * 28 + x1] * (1 - fy) * fx +
                       src[y1 * 28 + x0] * fy * (1 - fx) +
                       src[y1 * 28 + x1] * fy * fx;
      if (std::fabs(v - std::floor(v) - 0.5) < 1e-9) continue;  // a tie
      ASSERT_EQ(dst[oy * 32 + ox], static_cast<int>(std::floor(v + 0.5)))
          << "at (" << oy << ", " << ox << "), exact value " << v;
    }
  }
}

RawDataset TwoImagesTwoChannels(int32_t side) {
  RawDataset d;
  d.num_images = 2;
  d.channels = 2;
  d.height = side;
  d.width = side;
  d.num_classes = 10;
  d.labels = {4, 7};
  for (int64_t i = 0; i < 2 * 2 * side * side; ++i) {
    d.pixels.push_back(static_cast<uint8_t>(1 + i % 250));
  }
  return d;
}

TEST(ApplyGeometryTest, Pad28To32PutsTwoZeroPixelsOnEachSide) {
  const RawDataset in = TwoImagesTwoChannels(28);
  auto out = ApplyGeometry(in, ResizeMode::kPad, 32, 32);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->height, 32);
  EXPECT_EQ(out->width, 32);
  EXPECT_EQ(out->num_images, 2);
  EXPECT_EQ(out->labels, in.labels);
  ASSERT_EQ(out->pixels.size(), 2u * 2 * 32 * 32);
  for (int64_t plane = 0; plane < 4; ++plane) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        const uint8_t got = out->pixels[plane * 1024 + y * 32 + x];
        const bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        const uint8_t want =
            inside ? in.pixels[plane * 784 + (y - 2) * 28 + (x - 2)] : 0;
        ASSERT_EQ(got, want) << plane << " " << y << " " << x;
      }
    }
  }
}

TEST(ApplyGeometryTest, OddPaddingPutsExtraRowAtBottomRight) {
  RawDataset d;
  d.num_images = 1;
  d.channels = 1;
  d.height = 1;
  d.width = 1;
  d.num_classes = 2;
  d.pixels = {7};
  d.labels = {1};
  auto out = ApplyGeometry(d, ResizeMode::kPad, 4, 4);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->pixels[1 * 4 + 1], 7);  // top = left = (4 - 1) / 2 = 1
}

TEST(ApplyGeometryTest, ResizeChangesShapeOfEveryPlane) {
  auto out =
      ApplyGeometry(TwoImagesTwoChannels(28), ResizeMode::kResize, 32, 32);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->height, 32);
  EXPECT_EQ(out->pixels.size(), 2u * 2 * 32 * 32);
  EXPECT_EQ(out->pixels[0], 1);  // corners sample the corner pixels
}

TEST(ApplyGeometryTest, NoneAndMatchingSizeAreUntouched) {
  const RawDataset small = TwoImagesTwoChannels(28);
  auto none = ApplyGeometry(small, ResizeMode::kNone, 32, 32);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->height, 28);
  EXPECT_EQ(none->pixels, small.pixels);
  const RawDataset cifar_like = TwoImagesTwoChannels(32);
  for (ResizeMode mode : {ResizeMode::kPad, ResizeMode::kResize}) {
    auto same = ApplyGeometry(cifar_like, mode, 32, 32);
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(same->pixels, cifar_like.pixels);
  }
}

TEST(ApplyGeometryTest, PadCannotShrink) {
  auto out = ApplyGeometry(TwoImagesTwoChannels(32), ResizeMode::kPad, 28, 28);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.status().message()),
              HasSubstr("expected >= 32x32, found target 28x28"));
}

TEST(ApplyGeometryTest, RejectsNonPositiveTarget) {
  EXPECT_FALSE(
      ApplyGeometry(TwoImagesTwoChannels(28), ResizeMode::kResize, 0, 32).ok());
}

}  // namespace
}  // namespace nftcim::data
