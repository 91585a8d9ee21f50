#include "data/prng.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::ElementsAre;

// Golden values from an independent Python transcription of the same
// definitions; any change here changes every shuffle of every run.
TEST(Xoshiro256Test, GoldenOutputs) {
  Xoshiro256 rng(42);
  EXPECT_EQ(rng.Next(), 1546998764402558742ULL);
  EXPECT_EQ(rng.Next(), 6990951692964543102ULL);
  EXPECT_EQ(rng.Next(), 12544586762248559009ULL);
}

TEST(DeriveSeedTest, GoldenAndOrderSensitive) {
  EXPECT_EQ(DeriveSeed(7, 1, 2, 3), 7799909675828971352ULL);
  EXPECT_NE(DeriveSeed(7, 1, 2, 3), DeriveSeed(7, 1, 3, 2));
  EXPECT_NE(DeriveSeed(0, 0, 0, 0), DeriveSeed(0, 0, 0, 1));
  EXPECT_NE(DeriveSeed(0, 0, 0, 0), 0u);
}

TEST(Xoshiro256Test, BelowStaysInRangeAndIsRoughlyUniform) {
  Xoshiro256 rng(1);
  constexpr int kBound = 9;
  constexpr int kDraws = 90000;
  std::vector<int> counts(kBound, 0);
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t r = rng.Below(kBound);
    ASSERT_LT(r, static_cast<uint64_t>(kBound));
    ++counts[r];
  }
  // Expected 10000 each; 5 sigma is about 475.
  for (int c : counts) EXPECT_NEAR(c, kDraws / kBound, 500);
  EXPECT_EQ(rng.Below(1), 0u);
}

TEST(Xoshiro256Test, BelowHandlesHugeBounds) {
  Xoshiro256 rng(3);
  const uint64_t bound = (uint64_t{1} << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(rng.Below(bound), bound);
}

TEST(RandomPermutationTest, GoldenPermutation) {
  EXPECT_THAT(RandomPermutation(10, 42),
              ElementsAre(7, 3, 8, 9, 5, 6, 4, 1, 0, 2));
}

TEST(RandomPermutationTest, EveryIndexExactlyOnce) {
  for (int64_t n : {1, 2, 3, 17, 1000}) {
    std::vector<int64_t> order = RandomPermutation(n, 99);
    ASSERT_EQ(static_cast<int64_t>(order.size()), n);
    std::sort(order.begin(), order.end());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(order[i], i);
  }
  EXPECT_TRUE(RandomPermutation(0, 1).empty());
  EXPECT_TRUE(RandomPermutation(-5, 1).empty());
}

TEST(RandomPermutationTest, SameSeedSameOrderDifferentSeedDifferentOrder) {
  EXPECT_EQ(RandomPermutation(500, 7), RandomPermutation(500, 7));
  EXPECT_NE(RandomPermutation(500, 7), RandomPermutation(500, 8));
}

// Every one of the 6 permutations of 3 elements should appear about equally
// often: catches an off-by-one in the Fisher-Yates bounds.
TEST(RandomPermutationTest, AllPermutationsOfThreeEquallyLikely) {
  std::vector<std::vector<int64_t>> seen;
  std::vector<int> counts;
  constexpr int kTrials = 6000;
  for (int t = 0; t < kTrials; ++t) {
    std::vector<int64_t> p = RandomPermutation(3, 1000 + t);
    auto it = std::find(seen.begin(), seen.end(), p);
    if (it == seen.end()) {
      seen.push_back(p);
      counts.push_back(1);
    } else {
      ++counts[it - seen.begin()];
    }
  }
  ASSERT_EQ(seen.size(), 6u);
  for (int c : counts) EXPECT_NEAR(c, kTrials / 6, 200);
}

}  // namespace
}  // namespace nftcim::data
