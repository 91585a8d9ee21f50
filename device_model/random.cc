#include "device_model/random.h"

#include <cmath>

namespace nftcim::device {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

inline void MulHiLo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

PhiloxCounter Philox4x32(PhiloxCounter c, PhiloxKey k) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    MulHiLo(kMul0, c[0], &hi0, &lo0);
    MulHiLo(kMul1, c[2], &hi1, &lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kWeyl0;
    k[1] += kWeyl1;
  }
  return c;
}

uint64_t StreamId(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6E6674636D6Dull;  // "nftcim"
  for (uint64_t p : parts) h = SplitMix64(h ^ SplitMix64(p));
  return h;
}

void FillStandardNormal(const PhiloxStream& stream, uint64_t first_block,
                        uint64_t blocks, float* out) {
  constexpr float kTwoPi = 6.283185307179586f;
  for (uint64_t b = 0; b < blocks; ++b) {
    const PhiloxCounter r = stream.Block(first_block + b);
    for (int pair = 0; pair < 2; ++pair) {
      const float u1 = UniformOpen01(r[2 * pair]);
      const float u2 = UniformOpen01(r[2 * pair + 1]);
      const float radius = std::sqrt(-2.0f * std::log(u1));
      const float angle = kTwoPi * u2;
      out[4 * b + 2 * pair] = radius * std::cos(angle);
      out[4 * b + 2 * pair + 1] = radius * std::sin(angle);
    }
  }
}

void StandardNormals(const PhiloxStream& stream, int64_t n, float* out) {
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
