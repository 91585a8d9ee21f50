#include "rng/fnv1a.h"

#include <cstring>

#include "gtest/gtest.h"

namespace nftcim::rng {
namespace {

uint64_t Of(const char* s) {
  Fnv1a64 h;
  h.Update(s, std::strlen(s));
  return h.value();
}

// Test vectors of the FNV authors' test suite (FNV-1a, 64 bits).
TEST(Fnv1a64Test, KnownAnswers) {
  EXPECT_EQ(Of(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Of("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Of("foobar"), 0x85944171f73967e8ull);
}

TEST(Fnv1a64Test, LittleEndianIsBytewise) {
  Fnv1a64 a, b;
  a.UpdateLittleEndian(0x0201, 2);
  const unsigned char bytes[] = {0x01, 0x02};
  b.Update(bytes, 2);
  EXPECT_EQ(a.value(), b.value());
}

}  // namespace
}  // namespace nftcim::rng
