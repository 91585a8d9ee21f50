#ifndef NFTCIM_DATA_PRNG_H_
#define NFTCIM_DATA_PRNG_H_

// Small, fully specified random number generators for data ordering and
// augmentation.
//
// Why not <random>: std::shuffle and std::uniform_int_distribution are
// implementation-defined, so the same seed gives different epochs under
// libstdc++ and libc++. Everything here is plain 64-bit integer arithmetic
// whose results are identical on every platform and compiler; the tests pin
// golden values so a change of output is caught.

#include <cstdint>
#include <vector>

namespace nftcim::data {

// SplitMix64 (Steele, Lea, Flood 2014; constants as in Vigna's reference).
// Used both as a generator and, through Mix64, as a hash to derive independent
// seeds from tuples such as (seed, epoch, image index).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t Next();

 private:
  uint64_t state_;
};

// The SplitMix64 output function: a bijective 64-bit mixer.
uint64_t Mix64(uint64_t x);

// Derives a seed for one purpose from a run seed and up to three coordinates.
// Each value is absorbed through Mix64 in turn, so (a, b) and (b, a) differ
// and no coordinate can cancel another.
uint64_t DeriveSeed(uint64_t seed, uint64_t purpose, uint64_t a = 0,
                    uint64_t b = 0);

// xoshiro256** 1.0 (Blackman and Vigna), seeded by four SplitMix64 outputs as
// its authors recommend. The workhorse for Fisher-Yates shuffles.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed);
  uint64_t Next();

  // Uniform integer in [0, bound), bound > 0, without modulo bias: outputs
  // below 2^64 mod bound are rejected, then the remainder is taken. Rejection
  // keeps the mapping exact and portable (no 128-bit multiply needed).
  uint64_t Below(uint64_t bound);

 private:
  uint64_t s_[4];
};

// A uniformly random permutation of 0..n-1 from Fisher-Yates (Durstenfeld's
// variant: for i = n-1 down to 1, swap i with Below(i + 1)), driven by
// Xoshiro256(seed). n <= 0 yields an empty vector.
std::vector<int64_t> RandomPermutation(int64_t n, uint64_t seed);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_PRNG_H_
