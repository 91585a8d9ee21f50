#ifndef NFTCIM_DEVICE_MODEL_INTEGER_GAUSSIAN_H_
#define NFTCIM_DEVICE_MODEL_INTEGER_GAUSSIAN_H_

// An integer-only Gaussian sampler (docs/hardware-spec.md §3.3).
//
// Why not Box-Muller in float (random.h)? log/sin/cos differ in their last
// bits between libm versions, compilers and vector widths, so the same seed
// could program different conductances on two machines, and the emulator is
// the golden model an RTL simulation must match bit for bit. This sampler
// uses only integer operations on a quantile table that was computed once by
// tools/gen_gaussian_table.py and checked in (gaussian_table.inc).
//
// Method: inverse CDF of |Z| with exponent segments. Of 64 uniform bits, bit
// 63 is the sign and bits 62..0 are the upper-tail probability t of |Z|.
// The leading-zero count of t picks segment e (t in [2^-(e+1), 2^-e)), the
// next 8 bits a sub-interval and the next 16 bits the linear interpolation
// weight. Tails are therefore as accurate as the centre down to
// t = 2^-40 (|z| = 7.14); the mass below (probability 2^-40) is returned as
// |z| = 7.14, the only truncation.

#include <cstdint>

#include "absl/status/statusor.h"

namespace nftcim::device {

// Standard normals are Q8.24: value = z * 2^24 (|z| < 8 fits int32).
inline constexpr int kGaussianFracBits = 24;
// Standard deviations are Q.16: value = std * 2^16, in [0, 2^30).
inline constexpr int kStdFracBits = 16;
inline constexpr int32_t kMaxStdQ16 = (int32_t{1} << 30) - 1;

// Table geometry (see tools/gen_gaussian_table.py).
inline constexpr int kGaussianSegments = 40;
inline constexpr int kGaussianSteps = 256;       // 8 index bits
inline constexpr int kGaussianStepBits = 8;
inline constexpr int kGaussianInterpBits = 16;   // interpolation weight bits
inline constexpr int kGaussianTableSize = kGaussianSegments * kGaussianSteps + 1;

// The checked-in quantile table: entry n = e*256 + j is |z| (Q8.24) at
// upper-tail probability 2^-(e+1) * (2 - j/256); increasing in n.
const int32_t* GaussianQuantileTable();

// A standard normal in Q8.24 from 64 uniform random bits (§3.3). A pure
// function of `bits`; symmetric: flipping bit 63 negates the result.
int32_t StandardNormalQ24(uint64_t bits);

// The largest magnitude StandardNormalQ24 returns (the last table entry).
int32_t MaxStandardNormalQ24();

// Converts a standard deviation (any unit, e.g. conductance-code units) to
// Q.16 once, at programming time: round half away from zero of
// std * 2^16 (std::ldexp is exact, std::llround is IEEE-exact), so it is the
// same on every IEEE-754 machine for the same double. Errors when std is not
// finite, negative, or >= 2^14 (so that z * std fits 57 bits).
absl::StatusOr<int32_t> StdToQ16(double std);

// round_half_up(z * std) in the unit of std, for z in Q8.24 and std in Q.16:
// (z_q24 * std_q16 + 2^39) >> 40 in int64 (|product| < 2^57).
int64_t ScaleStandardNormal(int32_t z_q24, int32_t std_q16);

// ScaleStandardNormal(StandardNormalQ24(bits), std_q16).
inline int64_t GaussianDelta(uint64_t bits, int32_t std_q16) {
  return ScaleStandardNormal(StandardNormalQ24(bits), std_q16);
}

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_INTEGER_GAUSSIAN_H_
