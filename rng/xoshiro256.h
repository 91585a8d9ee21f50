#ifndef NFTCIM_RNG_XOSHIRO256_H_
#define NFTCIM_RNG_XOSHIRO256_H_

// xoshiro256** 1.0 (Blackman and Vigna, "Scrambled linear pseudorandom number
// generators", ACM TOMS 2021): 256 bits of state, period 2^256 - 1. The
// general-purpose generator of data ordering, augmentation and weight
// initialisation. How to seed it is the caller's choice (data/ and the
// trainer key it differently); the transition is here once.

#include <cstdint>

namespace nftcim::rng {

class Xoshiro256StarStar {
 public:
  // The state words as given. The all-zero state is a fixed point: callers
  // seed from SplitMix64 outputs (which are never four zeros in a row) or
  // otherwise make sure of it.
  constexpr Xoshiro256StarStar(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3)
      : s_{s0, s1, s2, s3} {}

  uint64_t Next() {
    const uint64_t result = RotateLeft(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = RotateLeft(s_[3], 45);
    return result;
  }

 private:
  static constexpr uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
};

}  // namespace nftcim::rng

#endif  // NFTCIM_RNG_XOSHIRO256_H_
