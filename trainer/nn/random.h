#ifndef NFTCIM_TRAINER_NN_RANDOM_H_
#define NFTCIM_TRAINER_NN_RANDOM_H_

// Portable pseudo-random numbers: the same bits on every machine and
// standard library (std::normal_distribution is implementation-defined).
//
// Rng is xoshiro256** (rng/xoshiro256.h) keyed through SplitMix64;
// Gaussian() is Box-Muller in double precision (both values of each pair are
// used).

#include <cstdint>

#include "rng/xoshiro256.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {

class Rng {
 public:
  // A stream keyed by (seed, stream): different streams are independent for
  // practical purposes, and a stream does not depend on how many numbers
  // other streams drew.
  explicit Rng(uint64_t seed, uint64_t stream = 0);

  uint64_t Next() { return g_.Next(); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Standard normal.
  double Gaussian();

 private:
  static rng::Xoshiro256StarStar Keyed(uint64_t seed, uint64_t stream);

  rng::Xoshiro256StarStar g_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Kaiming-normal initialisation with mode fan_out and ReLU gain, as the NFT
// reference implementation uses for convolution and linear weights:
// w ~ N(0, 2 / fan_out) with fan_out = dim(0) * (product of dims 2..),
// i.e. Cout*kh*kw for [Cout, Cin, kh, kw] and out_features for [out, in].
// Values come from Rng(seed, stream) in row-major order.
void KaimingNormalFanOut(Tensor* w, uint64_t seed, uint64_t stream);

}  // namespace nftcim::trainer::nn

#endif  // NFTCIM_TRAINER_NN_RANDOM_H_
