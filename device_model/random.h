#ifndef NFTCIM_DEVICE_MODEL_RANDOM_H_
#define NFTCIM_DEVICE_MODEL_RANDOM_H_

// The device model's random draws: the stream naming both the trainer's
// noise and the emulator's conductance programming key their Philox streams
// with (rng/philox.h), and standard normals from a stream.

#include <cstdint>
#include <initializer_list>

#include "rng/philox.h"

namespace nftcim::device {

// Mixes a tuple of identifiers into 64 bits (a SplitMix64 hash chain), to
// name a stream: e.g. StreamId({step, forward_index, parameter_index}).
uint64_t StreamId(std::initializer_list<uint64_t> parts);

// The seed of Monte Carlo run `run` at `sigma` (the programming seed of one
// variation instance): StreamId({seed, "EMU", bits of sigma, run}). The
// emulator programs with it, and the trainer keys its stuck-at map and drift
// exponents with it, so run r of both Monte Carlos has the same fault map.
uint64_t MonteCarloRunSeed(uint64_t seed, double sigma, int run);

// Standard normal floats: values [4*first_block, 4*first_block + 4*blocks) of
// the stream, via Box-Muller on pairs of uniforms. Element i of the stream
// depends only on (seed, stream, i), so a range can be filled in pieces by
// several threads with identical results. `out` holds 4 * blocks values.
void FillStandardNormal(const rng::PhiloxStream& stream, uint64_t first_block,
                        uint64_t blocks, float* out);

// Convenience: n standard normals (n rounded up internally; exactly n
// written), element i being element i of the stream.
void StandardNormals(const rng::PhiloxStream& stream, int64_t n, float* out);

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_RANDOM_H_
