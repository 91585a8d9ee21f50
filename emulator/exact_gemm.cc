// GCC 12 reports false -Wmaybe-uninitialized positives inside its own
// AVX-512 intrinsics when Eigen's GEMM kernels are inlined (GCC bug 105593);
// this file holds nothing but the Eigen call, so silencing that one warning
// here hides nothing of ours.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "emulator/exact_gemm.h"

#include "Eigen/Core"

namespace nftcim::emulator {
namespace {

template <typename T>
void Gemm(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const Mat> ma(a, m, k);
  Eigen::Map<const Mat> mb(b, k, n);
  Eigen::Map<Mat> mc(c, m, n);
  mc.noalias() = ma * mb;
}

}  // namespace

void GemmRowMajor(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  Gemm(a, b, c, m, k, n);
}

void GemmRowMajor(const double* a, const double* b, double* c, int64_t m, int64_t k, int64_t n) {
  Gemm(a, b, c, m, k, n);
}

}  // namespace nftcim::emulator
