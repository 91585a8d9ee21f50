#include "trainer/nn/random.h"

#include <cmath>

namespace nftcim::trainer::nn {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed, uint64_t stream) {
  // Key = mix(seed) combined with mix(stream), then four splitmix64 words.
  uint64_t a = seed;
  uint64_t b = stream ^ 0x6A09E667F3BCC909ULL;
  uint64_t key = SplitMix64(&a) ^ (SplitMix64(&b) * 0xD6E8FEB86659FD93ULL);
  for (uint64_t& w : s_) w = SplitMix64(&key);
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // never all zero
}

uint64_t Rng::Next() {
  auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::Uniform() {
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

double Rng::Gaussian() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // u1 in (0, 1] so that log(u1) is finite.
  const double u1 = static_cast<double>((Next() >> 11) + 1) * 0x1.0p-53;
  const double u2 = Uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 6.283185307179586476925286766559 * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

void KaimingNormalFanOut(Tensor* w, uint64_t seed, uint64_t stream) {
  int64_t fan_out = w->dim(0);
  for (int i = 2; i < w->ndim(); ++i) fan_out *= w->dim(i);
  const double std_dev = std::sqrt(2.0 / static_cast<double>(fan_out));
  Rng rng(seed, stream);
  for (int64_t i = 0; i < w->size(); ++i) {
    (*w)[i] = static_cast<float>(std_dev * rng.Gaussian());
  }
}

}  // namespace nftcim::trainer::nn
