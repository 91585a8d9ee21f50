#ifndef NFTCIM_RNG_FNV1A_H_
#define NFTCIM_RNG_FNV1A_H_

// FNV-1a 64 (Fowler, Noll and Vo; offset basis 0xcbf29ce484222325 =
// 14695981039346656037, prime 0x100000001b3 = 2^40 + 2^8 + 0xb3): a cheap
// streaming hash for fingerprints others recompute (programming checksums,
// golden manifests, job keys). Not meant to resist deliberate collisions.
// Lives beside the generators because it is the same kind of thing: a
// fixed, published integer recipe that must give the same bits everywhere.

#include <cstddef>
#include <cstdint>

namespace nftcim::rng {

class Fnv1a64 {
 public:
  void Update(const void* data, size_t size) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) Byte(p[i]);
  }
  // The low `bytes` bytes of v, least significant first.
  void UpdateLittleEndian(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) Byte(static_cast<unsigned char>(v >> (8 * i)));
  }
  uint64_t value() const { return hash_; }

 private:
  void Byte(unsigned char c) {
    hash_ ^= c;
    hash_ *= 0x100000001b3ull;
  }

  uint64_t hash_ = 0xcbf29ce484222325ull;
};

}  // namespace nftcim::rng

#endif  // NFTCIM_RNG_FNV1A_H_
