#ifndef NFTCIM_RNG_SPLITMIX64_H_
#define NFTCIM_RNG_SPLITMIX64_H_

// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014; the constants of Vigna's
// reference splitmix64.c): a Weyl sequence with step kSplitMix64Gamma passed
// through a bijective 64-bit mixer. Used as a generator for test data and
// seeding, and through SplitMix64Mix as a hash that derives stream keys.
//
// This package depends on nothing (not even the standard library beyond
// <cstdint>), so every layer may use it, data/ included.

#include <cstdint>

namespace nftcim::rng {

// The Weyl increment: 2^64 divided by the golden ratio, odd.
inline constexpr uint64_t kSplitMix64Gamma = 0x9e3779b97f4a7c15ull;

// The output function (Stafford's "Mix13"): a bijection of 64-bit words with
// good avalanche. Mix(0) == 0, so callers that hash a tuple add the gamma
// first (SplitMix64Hash).
constexpr uint64_t SplitMix64Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The first output of SplitMix64(x): Mix(x + gamma). A stateless hash of x.
constexpr uint64_t SplitMix64Hash(uint64_t x) { return SplitMix64Mix(x + kSplitMix64Gamma); }

class SplitMix64 {
 public:
  explicit constexpr SplitMix64(uint64_t state) : state_(state) {}
  // Advances the state by the gamma and returns its mix.
  uint64_t Next() {
    state_ += kSplitMix64Gamma;
    return SplitMix64Mix(state_);
  }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

}  // namespace nftcim::rng

#endif  // NFTCIM_RNG_SPLITMIX64_H_
