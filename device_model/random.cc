#include "device_model/random.h"

#include <cmath>
#include <cstring>

#include "rng/splitmix64.h"

namespace nftcim::device {

uint64_t StreamId(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6E6674636D6Dull;  // "nftcim"
  for (uint64_t p : parts) h = rng::SplitMix64Hash(h ^ rng::SplitMix64Hash(p));
  return h;
}

uint64_t MonteCarloRunSeed(uint64_t seed, double sigma, int run) {
  constexpr uint64_t kEmulatorPurpose = 0x454D55;  // "EMU"
  uint64_t sigma_bits;
  std::memcpy(&sigma_bits, &sigma, sizeof(sigma_bits));
  return StreamId({seed, kEmulatorPurpose, sigma_bits, static_cast<uint64_t>(run)});
}

void FillStandardNormal(const rng::PhiloxStream& stream, uint64_t first_block,
                        uint64_t blocks, float* out) {
  constexpr float kTwoPi = 6.283185307179586f;
  for (uint64_t b = 0; b < blocks; ++b) {
    const rng::PhiloxCounter r = stream.Block(first_block + b);
    for (int pair = 0; pair < 2; ++pair) {
      const float u1 = rng::UniformOpen01(r[2 * pair]);
      const float u2 = rng::UniformOpen01(r[2 * pair + 1]);
      const float radius = std::sqrt(-2.0f * std::log(u1));
      const float angle = kTwoPi * u2;
      out[4 * b + 2 * pair] = radius * std::cos(angle);
      out[4 * b + 2 * pair + 1] = radius * std::sin(angle);
    }
  }
}

void StandardNormals(const rng::PhiloxStream& stream, int64_t n, float* out) {
  const uint64_t full = static_cast<uint64_t>(n) / 4;
  FillStandardNormal(stream, 0, full, out);
  const int64_t rest = n - static_cast<int64_t>(4 * full);
  if (rest > 0) {
    float tail[4];
    FillStandardNormal(stream, full, 1, tail);
    for (int64_t i = 0; i < rest; ++i) out[4 * full + i] = tail[i];
  }
}

}  // namespace nftcim::device
