#include "util/digest.h"

#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "rng/fnv1a.h"

namespace nftcim {
namespace {

// Known answers from FIPS 180-4's examples (NIST CSRC "SHA256.pdf") and
// coreutils' sha256sum.
TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, PaddingBoundariesAndIncrementalUpdatesAgree) {
  // Lengths around the 55/56/64-byte padding boundaries, fed whole and in
  // uneven pieces.
  std::string all;
  for (int i = 0; i < 200; ++i) all.push_back(static_cast<char>(i * 37 + 11));
  for (size_t n : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200}) {
    const std::string s = all.substr(0, n);
    Sha256 h;
    for (size_t pos = 0; pos < n; pos += 7) h.Update(absl::string_view(s).substr(pos, 7));
    std::string hex;
    for (uint8_t b : h.Finish()) {
      static const char* d = "0123456789abcdef";
      hex.push_back(d[b >> 4]);
      hex.push_back(d[b & 15]);
    }
    EXPECT_EQ(hex, Sha256Hex(s)) << n;
  }
  // Different inputs of the same length give different digests.
  EXPECT_NE(Sha256Hex(all.substr(0, 64)), Sha256Hex(all.substr(1, 64)));
}

// Published FNV-1a 64 test vectors (the FNV authors' test suite).
TEST(Fnv1a64Test, KnownAnswers) {
  EXPECT_EQ(Fnv1a64Hex(""), "cbf29ce484222325");
  EXPECT_EQ(Fnv1a64Hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(Fnv1a64Hex("foobar"), "85944171f73967e8");
}

TEST(Fnv1a64Test, LittleEndianUpdateIsBytewise) {
  rng::Fnv1a64 a;
  a.UpdateLittleEndian(0xBEEF, 2);
  a.UpdateLittleEndian(0x12345678, 4);
  EXPECT_EQ(absl::StrFormat("%016x", a.value()), Fnv1a64Hex(std::string("\xef\xbe\x78\x56\x34\x12", 6)));
}

}  // namespace
}  // namespace nftcim
