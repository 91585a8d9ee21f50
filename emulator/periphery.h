#ifndef NFTCIM_EMULATOR_PERIPHERY_H_
#define NFTCIM_EMULATOR_PERIPHERY_H_

// The scalar operations of the digital periphery (docs/hardware-spec.md §7):
// requantization with bias, residual add, global-average-pool scaling, the
// first layer's pixel map. The network compiler chooses the constants and
// applies these per element; tensor layout and loops are its business.
// Integer only.

#include <cstdint>

#include "emulator/fixed_point.h"

namespace nftcim::emulator {

// Output range of a periphery stage (§7.3).
struct OutputRange {
  int64_t lo = 0;
  int64_t hi = 0;
};
constexpr OutputRange UnsignedRange(int bits) { return {0, (int64_t{1} << bits) - 1}; }
constexpr OutputRange SignedRange(int bits) { return {MinOfSignedBits(bits), MaxOfSignedBits(bits)}; }

// §7.2, one output channel's constants.
struct Requantization {
  int32_t pre_shift = 0;   // p, 0..62 (per layer)
  int32_t bias = 0;        // in units of 2^p accumulator LSBs
  int32_t multiplier = 0;  // m_n, signed
  int32_t shift = 0;       // s_n, 0..62
  OutputRange range;       // output type; lo = 0 is the ReLU
};

// §7.2:
//   t = Sat_32(Sat_64(RoundHalfUpShift(acc, p) + bias))
//   y = Clamp(RoundHalfUpShift(t * m, s), lo, hi)
// *saturations (optional) counts the clamps of t and y.
inline int64_t Requantize(int64_t acc, const Requantization& q, int64_t* saturations = nullptr) {
  bool sat_t = false, sat_y = false;
  const int64_t shifted = RoundHalfUpShift(acc, q.pre_shift);
  const int64_t t = SaturateToSignedBits(SaturatingAddSignedBits(shifted, q.bias, 64, &sat_t), 32,
                                         &sat_t);
  const int64_t u = RoundHalfUpShift(t * q.multiplier, q.shift);  // |t * m| <= 2^62
  const int64_t y = Clamp(u, q.range.lo, q.range.hi, &sat_y);
  if (saturations != nullptr) *saturations += sat_t + sat_y;
  return y;
}

// §7.5: Clamp(RoundHalfUpShift(a * m_a + b * m_b, s), lo, hi), a and b at
// most 16-bit values, so the int64 sum is exact.
inline int64_t ResidualAdd(int32_t a, int32_t m_a, int32_t b, int32_t m_b, int32_t shift,
                           OutputRange range, int64_t* saturations = nullptr) {
  bool sat = false;
  const int64_t sum = static_cast<int64_t>(a) * m_a + static_cast<int64_t>(b) * m_b;
  const int64_t y = Clamp(RoundHalfUpShift(sum, shift), range.lo, range.hi, &sat);
  if (saturations != nullptr) *saturations += sat;
  return y;
}

// §7.6: the scaling of a channel's int32 sum over H x W positions:
// Clamp(RoundHalfUpShift(sum * m, s), lo, hi).
inline int64_t ScaleAverage(int32_t sum, int32_t multiplier, int32_t shift, OutputRange range,
                            int64_t* saturations = nullptr) {
  bool sat = false;
  const int64_t y = Clamp(RoundHalfUpShift(static_cast<int64_t>(sum) * multiplier, shift),
                          range.lo, range.hi, &sat);
  if (saturations != nullptr) *saturations += sat;
  return y;
}

// §7.7: a raw pixel p (0..255) of channel c to the first layer's signed
// A-bit input: Clamp(RoundHalfUpShift(p * k_c - o_c, s_in), -2^(A-1),
// 2^(A-1) - 1). Padding comes after this map, with 0.
inline int32_t PixelToActivation(uint8_t pixel, int32_t k, int64_t offset, int32_t shift,
                                 int activation_bits, int64_t* saturations = nullptr) {
  bool sat = false;
  const int64_t v = RoundHalfUpShift(static_cast<int64_t>(pixel) * k - offset, shift);
  const int64_t y = SaturateToSignedBits(v, activation_bits, &sat);
  if (saturations != nullptr) *saturations += sat;
  return static_cast<int32_t>(y);
}

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_PERIPHERY_H_
