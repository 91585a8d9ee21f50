#include "data/prng.h"

#include <cstddef>
#include <utility>

namespace nftcim::data {
namespace {

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

inline uint64_t RotateLeft(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::Next() {
  state_ += kGoldenGamma;
  return Mix64(state_);
}

uint64_t DeriveSeed(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
  // Adding the golden gamma before each mix keeps a zero coordinate from
  // being a fixed point (Mix64(0) == 0).
  uint64_t h = Mix64(seed + kGoldenGamma);
  h = Mix64(h ^ (purpose + kGoldenGamma));
  h = Mix64(h ^ (a + kGoldenGamma));
  h = Mix64(h ^ (b + kGoldenGamma));
  return h;
}

Xoshiro256::Xoshiro256(uint64_t seed) {
  SplitMix64 init(seed);
  for (uint64_t& word : s_) word = init.Next();
  // SplitMix64 is a bijection of a counter, so four consecutive outputs are
  // never all zero; the all-zero state (a fixed point) cannot occur.
}

uint64_t Xoshiro256::Next() {
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
