#include "device_model/integer_gaussian.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace nftcim::device {
namespace {

// Right shifts of negative values are arithmetic on every compiler we build
// with (and defined so from C++20); the fixed-point code relies on it.
static_assert((-3 >> 1) == -2, "arithmetic right shift required");

constexpr int32_t kTable[kGaussianTableSize] = {
#include "device_model/gaussian_table.inc"
};

// (x + 2^(s-1)) >> s without overflow, for s >= 1.
inline int64_t RoundHalfUpShift(int64_t x, int s) { return (x >> s) + ((x >> (s - 1)) & 1); }

}  // namespace

const int32_t* GaussianQuantileTable() { return kTable; }

int32_t MaxStandardNormalQ24() { return kTable[kGaussianTableSize - 1]; }

int32_t StandardNormalQ24(uint64_t bits) {
  const bool negative = (bits >> 63) != 0;
  // t = m / 2^63: the upper-tail probability of |Z|, 63 bits.
  const uint64_t m = bits & ((uint64_t{1} << 63) - 1);
  int32_t magnitude;
  // Segment e: the leading one of m is bit 62 - e, i.e. t in [2^-(e+1), 2^-e).
  const int e = m == 0 ? 63 : __builtin_clzll(m) - 1;
  if (e >= kGaussianSegments) {
    // t < 2^-40: the truncated tail (hardware-spec §3.3).
    magnitude = kTable[kGaussianTableSize - 1];
  } else {
    // Normalise so the leading one is bit 62; the bits below it give the
    // position s in [0, 1) within the segment: t = 2^-(e+1) * (1 + s).
    const uint64_t normalized = m << e;
    const int idx = static_cast<int>((normalized >> (62 - kGaussianStepBits)) &
                                     (kGaussianSteps - 1));
    const int64_t frac = static_cast<int64_t>(
        (normalized >> (62 - kGaussianStepBits - kGaussianInterpBits)) &
        ((1u << kGaussianInterpBits) - 1));
    // Table entries run the other way (j = 256 * (1 - s)): interpolate from
    // entry `base` towards base + 1 with weight (2^16 - frac) / 2^16.
    const int base = e * kGaussianSteps + (kGaussianSteps - 1 - idx);
    const int64_t weight = (int64_t{1} << kGaussianInterpBits) - frac;  // 1 .. 2^16
    const int64_t lo = kTable[base];
    const int64_t hi = kTable[base + 1];
    magnitude = static_cast<int32_t>(lo + RoundHalfUpShift((hi - lo) * weight, kGaussianInterpBits));
  }
  return negative ? -magnitude : magnitude;
}

absl::StatusOr<int32_t> StdToQ16(double std) {
  if (!std::isfinite(std) || std < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("standard deviation must be a finite number >= 0, got ", std));
  }
  if (std >= 16384.0) {
    return absl::OutOfRangeError(absl::StrCat(
        "standard deviation ", std, " is too large for the Q.16 sampler (must be < 2^14)"));
  }
  const long long q = std::llround(std::ldexp(std, kStdFracBits));
  return static_cast<int32_t>(q > kMaxStdQ16 ? kMaxStdQ16 : q);
}

int64_t ScaleStandardNormal(int32_t z_q24, int32_t std_q16) {
  const int64_t product = static_cast<int64_t>(z_q24) * std_q16;
  return RoundHalfUpShift(product, kGaussianFracBits + kStdFracBits);
}

}  // namespace nftcim::device
