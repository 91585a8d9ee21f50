#include "data/prng.h"

#include <cstddef>
#include <initializer_list>
#include <utility>

#include "rng/splitmix64.h"

namespace nftcim::data {

uint64_t DeriveSeed(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
  // Adding the golden gamma before each mix keeps a zero coordinate from
  // being a fixed point (the mixer maps 0 to 0).
  uint64_t h = rng::SplitMix64Hash(seed);
  for (uint64_t x : {purpose, a, b}) h = rng::SplitMix64Mix(h ^ (x + rng::kSplitMix64Gamma));
  return h;
}

rng::Xoshiro256StarStar Xoshiro256::Seeded(uint64_t seed) {
  // SplitMix64 is a bijection of a counter, so four consecutive outputs are
  // never all zero; the all-zero state (a fixed point) cannot occur.
  rng::SplitMix64 init(seed);
  const uint64_t s0 = init.Next(), s1 = init.Next(), s2 = init.Next();
  return rng::Xoshiro256StarStar(s0, s1, s2, init.Next());
}

Xoshiro256::Xoshiro256(uint64_t seed) : g_(Seeded(seed)) {}

uint64_t Xoshiro256::Below(uint64_t bound) {
  // 2^64 mod bound, computed in 64 bits as (-bound) mod bound.
  const uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const uint64_t r = Next();
    if (r >= threshold) return r % bound;
  }
}

std::vector<int64_t> RandomPermutation(int64_t n, uint64_t seed) {
  if (n <= 0) return {};
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  Xoshiro256 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j =
        static_cast<int64_t>(rng.Below(static_cast<uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace nftcim::data
