#include "firmware_model/int8_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#define NFTCIM_HAVE_VNNI 1
#else
#define NFTCIM_HAVE_VNNI 0
#endif

namespace nftcim::firmware {
namespace {

// Digit columns per panel: four 16-lane int32 accumulators per row. When
// the digit columns leave a remainder of 32 (e.g. 32 outputs = 96 digit
// columns), the last panel is a half panel of two vectors rather than a
// full one a third empty.
constexpr int64_t kPanel = 64;
constexpr int64_t kHalfPanel = 32;
// Rows of A per micro-kernel call: 6 x 4 accumulators + 4 weight vectors +
// 1 broadcast = 29 of the 32 vector registers.
constexpr int kRows = 6;

#if NFTCIM_HAVE_VNNI
// c[i][0..63] = sum over k of A[i][k] * panel digits, for kR <= kRows rows
// of A. Row i of A is `segments` runs of 4 * seg_k4s bytes, run s at
// rows[i] + s * seg_stride (one run: a plain row; a convolution's kernel
// rows read in place from its padded input tensor: no unrolled copy). The
// panel holds, per group of 4 k, 64 columns x 4 bytes laid out as four
// vectors of 16 lanes x 4 k (the dpbusd operand order).
// Written with one named accumulator per (row, vector) so that the compiler
// keeps all 4 kR of them in registers (an array of vectors was spilled); the
// weights are memory operands of the dot products.
#define NFTCIM_DOT_ROW(i)                                                    \
  if (kR > i) {                                                              \
    int32_t quad;                                                            \
    std::memcpy(&quad, a##i + 4 * k4, sizeof(quad));                         \
    const __m512i av = _mm512_set1_epi32(quad);                              \
    c##i##0 = _mm512_dpbusd_epi32(c##i##0, av, _mm512_loadu_si512(b));         \
    c##i##1 = _mm512_dpbusd_epi32(c##i##1, av, _mm512_loadu_si512(b + 64));    \
    if (kV > 2) {                                                            \
      c##i##2 = _mm512_dpbusd_epi32(c##i##2, av, _mm512_loadu_si512(b + 128)); \
      c##i##3 = _mm512_dpbusd_epi32(c##i##3, av, _mm512_loadu_si512(b + 192)); \
    }                                                                        \
  }
#define NFTCIM_STORE_ROW(i)                                    \
  if (kR > i) {                                                \
    _mm512_storeu_si512(c + i * ldc, c##i##0);                 \
    _mm512_storeu_si512(c + i * ldc + 16, c##i##1);            \
    if (kV > 2) {                                              \
      _mm512_storeu_si512(c + i * ldc + 32, c##i##2);          \
      _mm512_storeu_si512(c + i * ldc + 48, c##i##3);          \
    }                                                          \
  }

// kV: vectors of 16 digit columns in the panel (4, or 2 for a half panel).
template <int kR, int kV>
void MicroKernel(const uint8_t* const* rows, int segments, int64_t seg_stride, int64_t seg_k4s,
                 const int8_t* panel, int32_t* c, int64_t ldc) {
  const __m512i z = _mm512_setzero_si512();
  __m512i c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
  __m512i c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
  __m512i c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z;
  const int8_t* b = panel;
  for (int s = 0; s < segments; ++s) {
    const int64_t off = s * seg_stride;
    // Rows beyond kR alias row 0 (never read).
    const uint8_t* a0 = rows[0] + off;
    const uint8_t* a1 = rows[kR > 1 ? 1 : 0] + off;
    const uint8_t* a2 = rows[kR > 2 ? 2 : 0] + off;
    const uint8_t* a3 = rows[kR > 3 ? 3 : 0] + off;
    const uint8_t* a4 = rows[kR > 4 ? 4 : 0] + off;
    const uint8_t* a5 = rows[kR > 5 ? 5 : 0] + off;
    for (int64_t k4 = 0; k4 < seg_k4s; ++k4, b += kV * 64) {
      NFTCIM_DOT_ROW(0)
      NFTCIM_DOT_ROW(1)
      NFTCIM_DOT_ROW(2)
      NFTCIM_DOT_ROW(3)
      NFTCIM_DOT_ROW(4)
      NFTCIM_DOT_ROW(5)
    }
  }
  NFTCIM_STORE_ROW(0)
  NFTCIM_STORE_ROW(1)
  NFTCIM_STORE_ROW(2)
  NFTCIM_STORE_ROW(3)
  NFTCIM_STORE_ROW(4)
  NFTCIM_STORE_ROW(5)
}

#undef NFTCIM_DOT_ROW
#undef NFTCIM_STORE_ROW

template <int kV>
void Block(int n, const uint8_t* const* rows, int segments, int64_t seg_stride, int64_t seg_k4s,
           const int8_t* panel, int32_t* c, int64_t ldc) {
  switch (n) {
    case 6: MicroKernel<6, kV>(rows, segments, seg_stride, seg_k4s, panel, c, ldc); break;
    case 5: MicroKernel<5, kV>(rows, segments, seg_stride, seg_k4s, panel, c, ldc); break;
    case 4: MicroKernel<4, kV>(rows, segments, seg_stride, seg_k4s, panel, c, ldc); break;
    case 3: MicroKernel<3, kV>(rows, segments, seg_stride, seg_k4s, panel, c, ldc); break;
    case 2: MicroKernel<2, kV>(rows, segments, seg_stride, seg_k4s, panel, c, ldc); break;
    default: MicroKernel<1, kV>(rows, segments, seg_stride, seg_k4s, panel, c, ldc); break;
  }
}
#endif

}  // namespace

bool Int8Gemm::Supported() { return NFTCIM_HAVE_VNNI != 0; }

std::optional<Int8Gemm> Int8Gemm::Pack(const double* w, int64_t rows, int64_t cols,
                                       bool offset_inputs, int segments) {
  if (!Supported() || rows < 1 || cols < 1 || rows >= 65536) return std::nullopt;
  if (segments < 1 || rows % segments != 0) return std::nullopt;
  Int8Gemm g;
  g.k_ = rows;
  // Each of the `segments` runs of rows padded to whole groups of 4 (zero
  // weights), so that a run can be read in place (MultiplySegments).
  const int64_t run = rows / segments, run_padded = (run + 3) / 4 * 4;
  g.segments_ = segments;
  g.k_padded_ = segments * run_padded;
  g.n_ = cols;
  g.n_digits_padded_ = (3 * cols + kHalfPanel - 1) / kHalfPanel * kHalfPanel;
  g.offset_inputs_ = offset_inputs;
  // Balanced base-256 digits of every weight.
  std::vector<int8_t> digits(static_cast<size_t>(3 * rows * cols));
  g.correction_.assign(static_cast<size_t>(cols), 0);
  for (int64_t k = 0; k < rows; ++k) {
    for (int64_t n = 0; n < cols; ++n) {
      const double v = w[k * cols + n];
      if (!(std::fabs(v) < 8388608.0) || v != std::floor(v)) return std::nullopt;
      int64_t x = static_cast<int64_t>(v);
      if (offset_inputs) g.correction_[n] += 128 * x;
      for (int q = 0; q < 3; ++q) {
        const int64_t d = ((x + 128) & 255) - 128;  // in -128..127, x - d divisible by 256
        digits[(q * rows + k) * cols + n] = static_cast<int8_t>(d);
        x = (x - d) / 256;
      }
      if (x != 0) return std::nullopt;  // needs a fourth digit
    }
  }
  // Panel p (width kPanel, the last one possibly kHalfPanel) starts at
  // p * k4s * 4 * kPanel bytes; per group of 4 k it holds its vectors of 16
  // lanes x 4 k.
  const int64_t k4s = g.k_padded_ / 4;
  g.packed_.assign(static_cast<size_t>(g.n_digits_padded_ * k4s * 4), 0);
  for (int64_t p0 = 0; p0 < g.n_digits_padded_; p0 += kPanel) {
    const int64_t width = std::min(kPanel, g.n_digits_padded_ - p0);
    int8_t* panel = g.packed_.data() + p0 * k4s * 4;
    for (int64_t k4 = 0; k4 < k4s; ++k4) {
      for (int64_t v = 0; v < width / 16; ++v) {
        for (int64_t lane = 0; lane < 16; ++lane) {
          const int64_t dc = p0 + v * 16 + lane;  // digit column
          if (dc >= 3 * cols) continue;
          const int64_t q = dc / cols, n = dc % cols;
          for (int64_t b = 0; b < 4; ++b) {
            const int64_t kp = 4 * k4 + b;  // padded row
            if (kp % run_padded >= run) continue;
            const int64_t k = kp / run_padded * run + kp % run_padded;
            panel[(k4 * (width / 16) + v) * 64 + lane * 4 + b] = digits[(q * rows + k) * cols + n];
          }
        }
      }
    }
  }
  return g;
}

void Int8Gemm::Multiply(const uint8_t* a, int64_t batch, int64_t* c, int64_t c_stride,
                        std::vector<int32_t>* scratch) const {
  Digits(a, nullptr, 1, 0, batch, scratch);
  Recombine(scratch->data(), batch, c, c_stride);
}

bool Int8Gemm::CanSegment(int segments) const {
  if (segments < 1 || k_padded_ % (4 * static_cast<int64_t>(segments)) != 0) return false;
  // Rows packed as padded runs can only be read as those runs; otherwise any
  // split into whole groups of 4 works.
  return segments == segments_ || k_ == k_padded_;
}

void Int8Gemm::MultiplySegments(const uint8_t* a, const int64_t* row_offset, int segments,
                                int64_t segment_stride, int64_t batch, int64_t* c,
                                int64_t c_stride, std::vector<int32_t>* scratch) const {
  Digits(a, row_offset, segments, segment_stride, batch, scratch);
  Recombine(scratch->data(), batch, c, c_stride);
}

void Int8Gemm::Digits(const uint8_t* a, const int64_t* row_offset, int segments,
                      int64_t segment_stride, int64_t batch, std::vector<int32_t>* partials) const {
#if NFTCIM_HAVE_VNNI
  const int64_t ldc = n_digits_padded_;
  partials->resize(static_cast<size_t>(batch * ldc));
  int32_t* partial = partials->data();
  const int64_t k4s = k_padded_ / 4;
  const int64_t seg_k4s = k4s / segments;
  for (int64_t p0 = 0; p0 < n_digits_padded_; p0 += kPanel) {
    const int8_t* panel = packed_.data() + p0 * k4s * 4;
    const bool half = n_digits_padded_ - p0 < kPanel;
    for (int64_t m0 = 0; m0 < batch; m0 += kRows) {
      const int n = static_cast<int>(std::min<int64_t>(kRows, batch - m0));
      const uint8_t* rows[kRows];
      for (int i = 0; i < n; ++i) {
        rows[i] = a + (row_offset != nullptr ? row_offset[m0 + i] : (m0 + i) * k_padded_);
      }
      int32_t* out = partial + m0 * ldc + p0;
      if (half) {
        Block<2>(n, rows, segments, segment_stride, seg_k4s, panel, out, ldc);
      } else {
        Block<4>(n, rows, segments, segment_stride, seg_k4s, panel, out, ldc);
      }
    }
  }
#else
  (void)a;
  (void)row_offset;
  (void)segments;
  (void)segment_stride;
  (void)batch;
  (void)partials;
#endif
}

void Int8Gemm::Recombine(const int32_t* partial, int64_t batch, int64_t* c,
                         int64_t c_stride) const {
  // Exact in int64. Local restrict pointers: without them the compiler
  // reloads the members after every store (out may alias them) and the loop
  // stays scalar.
  const int64_t n = n_, ldc = n_digits_padded_;
  const int64_t* __restrict corr = correction_.data();
  for (int64_t m = 0; m < batch; ++m) {
    const int32_t* __restrict d0 = partial + m * ldc;
    const int32_t* __restrict d1 = d0 + n;
    const int32_t* __restrict d2 = d0 + 2 * n;
    int64_t* __restrict out = c + m * c_stride;
    for (int64_t j = 0; j < n; ++j) out[j] = Combine(d0[j], d1[j], d2[j], corr[j]);
  }
}

}  // namespace nftcim::firmware
