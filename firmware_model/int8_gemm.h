#ifndef NFTCIM_FIRMWARE_MODEL_INT8_GEMM_H_
#define NFTCIM_FIRMWARE_MODEL_INT8_GEMM_H_

// Exact integer matrix products for the lossless fast path on CPUs with
// 8-bit dot-product instructions (AVX-512 VNNI: 64 multiply-adds of u8 x s8
// into int32 per instruction, against 8 for a double FMA).
//
//   C[m][n] = sum_k A[m][k] * W[k][n]
//
// A: activations as uint8 (unsigned A-bit inputs, or signed ones offset by
// +128, corrected below). W: integer weights (the effective weights of a
// lossless crossbar layer, |W| < 2^23), split into three balanced base-256
// digits W = w0 + 2^8 w1 + 2^16 w2, each in -128..127. Each digit's product
// accumulates exactly in int32 (|sum| <= K * 255 * 128 < 2^31 for K < 65793),
// and the digits are recombined exactly in int64. With an offset input,
// 128 * sum_k W[k][n] is subtracted. Every step is integer arithmetic, so
// the result is the exact integer product whatever the blocking.
//
// Without AVX-512 VNNI at build time, Pack() reports unsupported and the
// caller keeps its double GEMM (the same integers, slower).

#include <cstdint>
#include <optional>
#include <vector>

namespace nftcim::firmware {

class Int8Gemm {
 public:
  // True when this build has the instructions.
  static bool Supported();

  // Packs the rows x cols matrix w (row-major; entries must be integers of
  // magnitude < 2^23) for inputs with `offset_inputs` (signed inputs + 128).
  // With segments > 1 the rows are `segments` equal runs, each padded to a
  // whole number of 4-row groups with zero weights: A's rows must then be
  // laid out the same way (padded_rows() bytes, run s at s * padded_rows() /
  // segments), which lets MultiplySegments read runs whose length is not a
  // multiple of 4 (a 3x3 convolution over 1 channel: runs of 3 bytes; the
  // byte read after each run meets a zero weight). nullopt when unsupported,
  // a weight is out of range or rows is not a multiple of segments.
  static std::optional<Int8Gemm> Pack(const double* w, int64_t rows, int64_t cols,
                                      bool offset_inputs, int segments = 1);

  // Rows of A, padded: A's row stride (a multiple of 4, >= rows; the padding
  // columns of A must be 0 unless the rows were packed as padded runs).
  int64_t padded_rows() const { return k_padded_; }
  int64_t cols() const { return n_; }

  // c[m * c_stride + n] = exact product for m < batch; a: batch x
  // padded_rows() uint8. `scratch` is resized as needed (int32 partials).
  void Multiply(const uint8_t* a, int64_t batch, int64_t* c, int64_t c_stride,
                std::vector<int32_t>* scratch) const;

  // The same product with A read in place (implicit GEMM): row m of A is
  // `segments` runs of padded_rows() / segments bytes, run s starting at
  // a + row_offset[m] + s * segment_stride. A convolution whose GEMM rows
  // are (kernel row, kernel column, channel) reads its kernel rows straight
  // from a padded HWC input tensor this way instead of unrolling it.
  // Needs CanSegment(segments).
  bool CanSegment(int segments) const;
  void MultiplySegments(const uint8_t* a, const int64_t* row_offset, int segments,
                        int64_t segment_stride, int64_t batch, int64_t* c, int64_t c_stride,
                        std::vector<int32_t>* scratch) const;

  // The product before recombination, for a caller that fuses it with its
  // next step: `partials` (resized) holds per row m and digit q the int32
  // sums partials[m * digit_stride() + q * cols() + n], and the product is
  // Combine(digit 0, digit 1, digit 2, correction()[n]). Rows of A as in
  // MultiplySegments (row_offset = nullptr: contiguous rows of
  // padded_rows() bytes, segments = 1).
  void Digits(const uint8_t* a, const int64_t* row_offset, int segments, int64_t segment_stride,
              int64_t batch, std::vector<int32_t>* partials) const;
  int64_t digit_stride() const { return n_digits_padded_; }
  const int64_t* correction() const { return correction_.data(); }
  static int64_t Combine(int32_t d0, int32_t d1, int32_t d2, int64_t correction) {
    return static_cast<int64_t>(d0) + 256 * static_cast<int64_t>(d1) +
           65536 * static_cast<int64_t>(d2) - correction;
  }

 private:
  void Recombine(const int32_t* partial, int64_t batch, int64_t* c, int64_t c_stride) const;

  int64_t k_ = 0, k_padded_ = 0, n_ = 0;
  int segments_ = 1;  // runs the rows were packed as (Pack)
  // Digit columns: 3 * n_ padded to a multiple of 32 (int8_gemm.cc).
  int64_t n_digits_padded_ = 0;
  bool offset_inputs_ = false;
  // Packed digits, panel-major (see int8_gemm.cc).
  std::vector<int8_t> packed_;
  // 128 * sum_k W[k][n] per column (offset inputs), else 0.
  std::vector<int64_t> correction_;
};

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_INT8_GEMM_H_
