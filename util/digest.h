#ifndef NFTCIM_UTIL_DIGEST_H_
#define NFTCIM_UTIL_DIGEST_H_

// Digests of byte strings, for fingerprints that others recompute:
// - SHA-256 (FIPS 180-4), the digest coreutils' sha256sum prints: golden-set
//   inventories and model files (docs/golden-vectors.md);
// - FNV-1a 64 (rng/fnv1a.h, the one implementation), as hex: the golden
//   manifests' model_fnv1a64.
// Neither is meant to resist deliberate forgery.

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "rng/fnv1a.h"

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

// FNV-1a 64 of `bytes` as 16 lower-case hex digits.
std::string Fnv1a64Hex(absl::string_view bytes);

}  // namespace nftcim

#endif  // NFTCIM_UTIL_DIGEST_H_
