#ifndef NFTCIM_UTIL_DIGEST_H_
#define NFTCIM_UTIL_DIGEST_H_

// Digests of byte strings, for fingerprints that others recompute:
// - SHA-256 (FIPS 180-4), the digest coreutils' sha256sum prints: golden-set
//   inventories and model files (docs/golden-vectors.md);
// - FNV-1a 64 (Fowler/Noll/Vo: offset basis 0xcbf29ce484222325, prime
//   0x100000001b3), cheap and streaming: programming checksums and the
//   golden manifests' model_fnv1a64.
// Neither is meant to resist deliberate forgery.

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace nftcim {

// Incremental: Update any number of times, then Finish once.
class Sha256 {
 public:
  Sha256();
  void Update(absl::string_view bytes);
  std::array<uint8_t, 32> Finish();

 private:
  void Compress(const uint8_t block[64]);

  std::array<uint32_t, 8> state_;
  uint8_t block_[64];
  size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
};

// The digest as 64 lower-case hex digits, as sha256sum prints it.
std::string Sha256Hex(absl::string_view bytes);

class Fnv1a64 {
 public:
  void Update(absl::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ull;
    }
  }
  // The low `bytes` bytes of v, least significant first.
  void UpdateLittleEndian(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      hash_ ^= (v >> (8 * i)) & 0xFF;
      hash_ *= 0x100000001b3ull;
    }
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

// FNV-1a 64 of `bytes` as 16 lower-case hex digits.
std::string Fnv1a64Hex(absl::string_view bytes);

}  // namespace nftcim

#endif  // NFTCIM_UTIL_DIGEST_H_
