#ifndef NFTCIM_DATA_PRNG_H_
#define NFTCIM_DATA_PRNG_H_

// Fully specified random numbers for data ordering and augmentation, on the
// generators of rng/ (the one package of ours data/ depends on: it has no
// project semantics, only published integer recipes).
//
// Why not <random>: std::shuffle and std::uniform_int_distribution are
// implementation-defined, so the same seed gives different epochs under
// libstdc++ and libc++. Everything here is plain 64-bit integer arithmetic
// whose results are identical on every platform and compiler; the tests pin
// golden values so a change of output is caught.

#include <cstdint>
#include <vector>

#include "rng/xoshiro256.h"

namespace nftcim::data {

// Derives a seed for one purpose from a run seed and up to three coordinates.
// Each value is absorbed through the SplitMix64 mixer (rng/splitmix64.h) in
// turn, so (a, b) and (b, a) differ
// and no coordinate can cancel another.
uint64_t DeriveSeed(uint64_t seed, uint64_t purpose, uint64_t a = 0,
                    uint64_t b = 0);

// xoshiro256** 1.0 (rng/xoshiro256.h), seeded by the first four outputs of
// SplitMix64(seed) as its authors recommend. The workhorse for Fisher-Yates
// shuffles.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed);
  uint64_t Next() { return g_.Next(); }

  // Uniform integer in [0, bound), bound > 0, without modulo bias: outputs
  // below 2^64 mod bound are rejected, then the remainder is taken. Rejection
  // keeps the mapping exact and portable (no 128-bit multiply needed).
  uint64_t Below(uint64_t bound);

 private:
  static rng::Xoshiro256StarStar Seeded(uint64_t seed);

  rng::Xoshiro256StarStar g_;
};

// A uniformly random permutation of 0..n-1 from Fisher-Yates (Durstenfeld's
// variant: for i = n-1 down to 1, swap i with Below(i + 1)), driven by
// Xoshiro256(seed). n <= 0 yields an empty vector.
std::vector<int64_t> RandomPermutation(int64_t n, uint64_t seed);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_PRNG_H_
