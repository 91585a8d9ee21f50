#ifndef NFTCIM_EMULATOR_EXACT_GEMM_H_
#define NFTCIM_EMULATOR_EXACT_GEMM_H_

// Row-major matrix products for the crossbar fast path (hardware-spec §9.2).
// The callers only pass integer-valued matrices whose every partial sum is an
// integer below 2^24 (float) or 2^53 (double) in magnitude, so the result is
// exact whatever order, blocking or FMA use the GEMM kernel picks.

#include <cstdint>

namespace nftcim::emulator {

// c[m x n] = a[m x k] * b[k x n], all row-major and contiguous.
void GemmRowMajor(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n);
void GemmRowMajor(const double* a, const double* b, double* c, int64_t m, int64_t k, int64_t n);

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_EXACT_GEMM_H_
