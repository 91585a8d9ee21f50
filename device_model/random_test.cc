#include "device_model/random.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace nftcim::device {
namespace {

using rng::PhiloxStream;

TEST(StreamIdTest, StreamsDiffer) {
  PhiloxStream a(1, StreamId({1, 2})), b(1, StreamId({2, 1})), c(2, StreamId({1, 2}));
  EXPECT_NE(a.Block(0), b.Block(0));
  EXPECT_NE(a.Block(0), c.Block(0));
  EXPECT_EQ(a.Block(5), PhiloxStream(1, StreamId({1, 2})).Block(5));
}

TEST(NormalTest, MomentsAreStandard) {
  const int n = 400000;
  std::vector<float> z(n);
  StandardNormals(PhiloxStream(42, 7), n, z.data());
  double sum = 0, sum_sq = 0, sum_4 = 0;
  int beyond_2 = 0;
  for (float v : z) {
    sum += v;
    sum_sq += v * v;
    sum_4 += static_cast<double>(v) * v * v * v;
    beyond_2 += std::fabs(v) > 2;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0, 0.006);  // ~4 standard errors
  EXPECT_NEAR(var, 1, 0.01);
  EXPECT_NEAR(sum_4 / n, 3, 0.05);  // Gaussian kurtosis
  EXPECT_NEAR(beyond_2 / static_cast<double>(n), 0.0455, 0.002);
}

TEST(NormalTest, PiecewiseFillEqualsWhole) {
  // What makes thread count irrelevant: any split gives the same values.
  const int blocks = 100;
  PhiloxStream s(9, 3);
  std::vector<float> whole(4 * blocks), pieces(4 * blocks);
  FillStandardNormal(s, 0, blocks, whole.data());
  FillStandardNormal(s, 0, 37, pieces.data());
  FillStandardNormal(s, 37, blocks - 37, pieces.data() + 4 * 37);
  EXPECT_EQ(whole, pieces);
  std::vector<float> odd(4 * blocks - 1);
  StandardNormals(s, 4 * blocks - 1, odd.data());
  for (int i = 0; i < 4 * blocks - 1; ++i) ASSERT_EQ(odd[i], whole[i]);
}

}  // namespace
}  // namespace nftcim::device
