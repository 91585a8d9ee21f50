#include "trainer/nn/random.h"

#include <cmath>

#include "rng/splitmix64.h"

namespace nftcim::trainer::nn {

rng::Xoshiro256StarStar Rng::Keyed(uint64_t seed, uint64_t stream) {
  // Key = mix(seed) combined with mix(stream), then four SplitMix64 words.
  rng::SplitMix64 key(rng::SplitMix64Hash(seed) ^
                      (rng::SplitMix64Hash(stream ^ 0x6A09E667F3BCC909ULL) * 0xD6E8FEB86659FD93ULL));
  uint64_t s[4];
  for (uint64_t& w : s) w = key.Next();
  if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;  // never all zero
  return rng::Xoshiro256StarStar(s[0], s[1], s[2], s[3]);
}

Rng::Rng(uint64_t seed, uint64_t stream) : g_(Keyed(seed, stream)) {}

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
