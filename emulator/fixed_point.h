#ifndef NFTCIM_EMULATOR_FIXED_POINT_H_
#define NFTCIM_EMULATOR_FIXED_POINT_H_

// The rounding and saturation primitives of docs/hardware-spec.md §1.2. Every
// integer operation of the datapath is one of these, so the emulator and an
// RTL implementation round the same way. No floating point.

#include <cstdint>
#include <limits>

namespace nftcim::emulator {

// Right shifts of negative numbers are arithmetic (floor division by 2^s) on
// GCC and Clang, and guaranteed so from C++20; the datapath relies on it.
static_assert((int64_t{-3} >> 1) == -2, "arithmetic right shift required");

// Largest / smallest value of a `bits`-bit two's complement number, 1..64.
constexpr int64_t MaxOfSignedBits(int bits) {
  return bits >= 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
}
constexpr int64_t MinOfSignedBits(int bits) {
  return bits >= 64 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (bits - 1));
}

// round_half_up(x / 2^shift) = floor((x + 2^(shift-1)) / 2^shift) for
// shift >= 1, x for shift = 0 (§1.2). Ties go towards +infinity (-2.5 -> -2,
// 2.5 -> 3). Computed as (x >> s) + bit (s-1) of x, which is the same value
// and cannot overflow. shift in 0..63.
constexpr int64_t RoundHalfUpShift(int64_t x, int shift) {
  return shift <= 0 ? x : (x >> shift) + ((x >> (shift - 1)) & 1);
}

// Clamps x to [lo, hi]; sets *saturated (if given) when it clamped.
constexpr int64_t Clamp(int64_t x, int64_t lo, int64_t hi, bool* saturated = nullptr) {
  if (x < lo) {
    if (saturated != nullptr) *saturated = true;
    return lo;
  }
  if (x > hi) {
    if (saturated != nullptr) *saturated = true;
    return hi;
  }
  return x;
}

// Sat_N(x): clamps to the `bits`-bit two's complement range (§1.2).
constexpr int64_t SaturateToSignedBits(int64_t x, int bits, bool* saturated = nullptr) {
  return Clamp(x, MinOfSignedBits(bits), MaxOfSignedBits(bits), saturated);
}

constexpr int32_t SaturateToInt32(int64_t x) {
  return static_cast<int32_t>(Clamp(x, std::numeric_limits<int32_t>::min(),
                                    std::numeric_limits<int32_t>::max()));
}
constexpr int16_t SaturateToInt16(int64_t x) {
  return static_cast<int16_t>(Clamp(x, std::numeric_limits<int16_t>::min(),
                                    std::numeric_limits<int16_t>::max()));
}
constexpr int8_t SaturateToInt8(int64_t x) {
  return static_cast<int8_t>(Clamp(x, std::numeric_limits<int8_t>::min(),
                                   std::numeric_limits<int8_t>::max()));
}
constexpr uint8_t SaturateToUint8(int64_t x) { return static_cast<uint8_t>(Clamp(x, 0, 255)); }

// Sat_N(a + b) for a, b already in the `bits`-bit range: the exact sum,
// then saturation (a 64-bit sum that overflows int64 saturates too).
inline int64_t SaturatingAddSignedBits(int64_t a, int64_t b, int bits, bool* saturated = nullptr) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) {
    if (saturated != nullptr) *saturated = true;
    return b > 0 ? MaxOfSignedBits(bits) : MinOfSignedBits(bits);
  }
  return SaturateToSignedBits(sum, bits, saturated);
}

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_FIXED_POINT_H_
