#include "rng/philox.h"

#include "gtest/gtest.h"

namespace nftcim::rng {
namespace {

// Known-answer vectors published with the Random123 library (philox4x32_10).
TEST(PhiloxTest, KnownAnswers) {
  EXPECT_EQ(Philox4x32({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(Philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                       {0xffffffffu, 0xffffffffu}),
            (PhiloxCounter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(Philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                       {0xa4093822u, 0x299f31d0u}),
            (PhiloxCounter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(PhiloxTest, StreamBlockIsThePermutationOfItsCounter) {
  const PhiloxStream s(0x0123456789abcdefull, 0xfedcba9876543210ull);
  EXPECT_EQ(s.Block(0x1122334455667788ull),
            Philox4x32({0x55667788u, 0x11223344u, 0x76543210u, 0xfedcba98u},
                       {0x89abcdefu, 0x01234567u}));
}

TEST(PhiloxTest, UniformOpen01IsNeverZero) {
  EXPECT_EQ(UniformOpen01(0), 0.5f / 16777216.0f);
  EXPECT_EQ(UniformOpen01(0xffffffffu), 1.0f);  // 2^24 - 1/2 rounds up in float
  EXPECT_EQ(UniformOpen01(0x80000000u), 0.5f + 0.5f / 16777216.0f);
}

}  // namespace
}  // namespace nftcim::rng
