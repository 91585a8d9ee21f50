#include "rng/splitmix64.h"

#include "gtest/gtest.h"

namespace nftcim::rng {
namespace {

// Published outputs of SplitMix64 seeded with 1234567 (the values Vigna's
// splitmix64.c and Java's SplittableRandom produce).
TEST(SplitMix64Test, KnownAnswers) {
  SplitMix64 g(1234567);
  EXPECT_EQ(g.Next(), 6457827717110365317ull);
  EXPECT_EQ(g.Next(), 3203168211198807973ull);
  EXPECT_EQ(g.Next(), 9817491932198370423ull);
  EXPECT_EQ(g.Next(), 4593380528125082431ull);
  EXPECT_EQ(g.Next(), 16408922859458223821ull);
}

TEST(SplitMix64Test, HashIsTheFirstOutput) {
  for (uint64_t x : {0ull, 1ull, 1234567ull, ~0ull}) {
    EXPECT_EQ(SplitMix64Hash(x), SplitMix64(x).Next());
  }
  EXPECT_EQ(SplitMix64Mix(0), 0u);  // why hashes add the gamma first
  SplitMix64 g(5);
  g.Next();
  EXPECT_EQ(g.state(), 5 + kSplitMix64Gamma);
}

}  // namespace
}  // namespace nftcim::rng
