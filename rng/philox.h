#ifndef NFTCIM_RNG_PHILOX_H_
#define NFTCIM_RNG_PHILOX_H_

// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
// easy as 1, 2, 3", SC'11): a counter-based generator, block = f(counter,
// key) with no state.
//
// Why counter-based: a draw is a pure function of (key, counter), so the
// variation of weight i of layer l at step t is the same no matter how many
// threads draw it, in what order, or on which machine. Both the trainer's
// noise and the emulator's conductance programming are keyed this way.

#include <array>
#include <cstdint>

namespace nftcim::rng {

using PhiloxKey = std::array<uint32_t, 2>;
using PhiloxCounter = std::array<uint32_t, 4>;

// One Philox4x32 block with 10 rounds: 128 random bits.
PhiloxCounter Philox4x32(PhiloxCounter counter, PhiloxKey key);

// A stream of random blocks identified by (seed, stream): block b of the
// stream is Philox4x32({b_lo, b_hi, stream_lo, stream_hi}, {seed_lo, seed_hi}).
class PhiloxStream {
 public:
  PhiloxStream(uint64_t seed, uint64_t stream)
      : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)},
        stream_(stream) {}

  PhiloxCounter Block(uint64_t block) const {
    return Philox4x32({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                       static_cast<uint32_t>(stream_), static_cast<uint32_t>(stream_ >> 32)},
                      key_);
  }

 private:
  PhiloxKey key_;
  uint64_t stream_;
};

// A uniform float from 32 random bits (the top 24 used): ((bits >> 8) + 1/2)
// / 2^24. Never 0, so log() of it is finite (Box-Muller); the largest input
// gives 1.0f, not just below it (2^24 - 1/2 rounds up in float), which
// Box-Muller tolerates (radius 0).
inline float UniformOpen01(uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

}  // namespace nftcim::rng

#endif  // NFTCIM_RNG_PHILOX_H_
