#ifndef NFTCIM_DEVICE_MODEL_RANDOM_H_
#define NFTCIM_DEVICE_MODEL_RANDOM_H_

// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
//
// Why counter-based: a draw is a pure function of (key, counter), so the
// variation of weight i of layer l at step t is the same no matter how many
// threads draw it, in what order, or on which machine. Both the trainer's
// noise and the emulator's conductance programming are keyed this way.

#include <array>
#include <cstdint>

namespace nftcim::device {

using PhiloxKey = std::array<uint32_t, 2>;
using PhiloxCounter = std::array<uint32_t, 4>;

// One Philox4x32 block with 10 rounds: 128 random bits.
PhiloxCounter Philox4x32(PhiloxCounter counter, PhiloxKey key);

// Mixes a tuple of identifiers into 64 bits (splitmix64 finalizer chain), to
// name a stream: e.g. StreamId({step, forward_index, parameter_index}).
uint64_t StreamId(std::initializer_list<uint64_t> parts);

// A stream of random blocks identified by (seed, stream): block b of the
// stream is Philox4x32({b_lo, b_hi, stream_lo, stream_hi}, seed).
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

// A uniform float in the open interval (0, 1) from 32 random bits (24 used).
inline float UniformOpen01(uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

// Standard normal floats: values [4*first_block, 4*first_block + 4*blocks) of
// the stream, via Box-Muller on pairs of uniforms. Element i of the stream
// depends only on (seed, stream, i), so a range can be filled in pieces by
// several threads with identical results. `out` holds 4 * blocks values.
void FillStandardNormal(const PhiloxStream& stream, uint64_t first_block,
                        uint64_t blocks, float* out);

// Convenience: n standard normals (n rounded up internally; exactly n
// written), element i being element i of the stream.
void StandardNormals(const PhiloxStream& stream, int64_t n, float* out);

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_RANDOM_H_
