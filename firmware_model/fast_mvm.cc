#include "firmware_model/fast_mvm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define NFTCIM_HAVE_AVX512BW 1
// GCC 12 warns inside its own AVX-512 headers (the undefined upper halves
// of _mm512_castsi512_si256 and friends); nothing here reads them.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#else
#define NFTCIM_HAVE_AVX512BW 0
#endif

#include "emulator/exact_gemm.h"
#include "emulator/fixed_point.h"

namespace nftcim::firmware {
namespace {

using emulator::HardwareParams;
using emulator::MvmStats;
using emulator::ArraySide;
using emulator::ProgrammedTile;

// §9.2: double holds every integer of magnitude <= 2^53.
constexpr double kDoubleExact = 9007199254740992.0;  // 2^53

// Input vectors per GEMM call of the lossless path.
constexpr int64_t kChunk = 256;

// 16 int32 lanes (GCC/Clang vector extension: one zmm register with
// AVX-512, two ymm with AVX2, ...). The bit-serial column sums are written
// with it so that the compiler vectorizes across columns (its own choice was
// to gather across rows).
typedef int32_t V16 __attribute__((vector_size(64)));

inline V16 Load16(const int32_t* p) {
  V16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void Store16(int32_t* p, V16 v) { std::memcpy(p, &v, sizeof(v)); }

// 32 int16 lanes: while the codes' partial sums provably fit 16 bits, twice
// the columns per instruction and half the bytes per row.
typedef int16_t V32h __attribute__((vector_size(64)));
typedef int16_t V16h __attribute__((vector_size(32)));

inline V32h Load32h(const int16_t* p) {
  V32h v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline V16 WidenLow(V32h v) {
  return __builtin_convertvector(
      __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), V16);
}
inline V16 WidenHigh(V32h v) {
  return __builtin_convertvector(__builtin_shufflevector(v, v, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                                                         25, 26, 27, 28, 29, 30, 31),
                                 V16);
}

int64_t MaxAbsInput(const HardwareParams& params, bool signed_inputs) {
  return std::max<int64_t>(-static_cast<int64_t>(emulator::InputMin(params, signed_inputs)),
                           emulator::InputMax(params, signed_inputs));
}

// §6.1's Sat_W of a tile output, then §6.3's saturating accumulation into
// *y (both clamps counted in *saturations).
inline void AccumulateTileOutput(int64_t tile_output, int32_t W, int64_t* y, int64_t* saturations) {
  bool sat_tile = false, sat_acc = false;
  const int64_t v = emulator::SaturateToSignedBits(tile_output, W, &sat_tile);
  *y = emulator::SaturatingAddSignedBits(*y, v, W, &sat_acc);
  *saturations += sat_tile + sat_acc;
}

// The §5.4 counters of one B-bit MVM call.
inline void AddAdcCounts(int64_t conversions, int64_t high, int64_t low, int64_t acc_sats,
                         MvmStats* stats) {
  stats->adc.conversions += conversions;
  stats->adc.saturated_high += high;
  stats->adc.saturated_low += low;
  stats->accumulator_saturations += acc_sats;
}

// FastMatrix::AdcMvmInt16's preconditions (fast_mvm.h): AVX-512BW; 1-bit
// DAC; P <= 4; the slice recombination sum_j 2^j ADC in int16 (|sum| <=
// (2^A - 1) max|ADC|); every code in -32767..32767; no row and output with
// non-zero codes in both arrays (unprogrammed cells are 0).
bool Int16AdcApplies(const HardwareParams& params, const emulator::ProgrammedMatrix& matrix) {
  if (!NFTCIM_HAVE_AVX512BW) return false;
  if (params.dac_bits != 1 || params.cells_per_weight > 4) return false;
  const int64_t max_code = std::max<int64_t>(-static_cast<int64_t>(params.adc_min), params.adc_max);
  if (((int64_t{1} << params.activation_bits) - 1) * max_code > 32767) return false;
  const int32_t P = params.cells_per_weight;
  for (int64_t t = 0; t < matrix.row_tiles(); ++t) {
    for (int64_t u = 0; u < matrix.column_tiles(); ++u) {
      const ProgrammedTile& tile = matrix.tile(t, u);
      if (tile.MaxAbsCode() > 32767) return false;
      for (int32_t r = 0; r < tile.rows_used; ++r) {
        for (int32_t n = 0; n < tile.outputs_used; ++n) {
          bool pos = false, neg = false;
          for (int32_t i = 0; i < P; ++i) {
            pos |= tile.Code(ArraySide::kPositive, r, n * P + i) != 0;
            neg |= tile.Code(ArraySide::kNegative, r, n * P + i) != 0;
          }
          if (pos && neg) return false;
        }
      }
    }
  }
  return true;
}

}  // namespace

bool FastMatrix::Int16AdcSupported() { return NFTCIM_HAVE_AVX512BW != 0; }

void FastMvmScratch::Reserve(const HardwareParams& params, int64_t batch, int64_t rows,
                             int64_t outputs) {
  const int64_t tile_rows = std::min<int64_t>(params.array_rows, rows);
  const int64_t lists = batch * params.num_slices * tile_rows;
  if (params.lossless_adc()) {
    xd.reserve(static_cast<size_t>(batch * rows));
    yd.reserve(static_cast<size_t>(batch * outputs));
    wd.reserve(static_cast<size_t>(tile_rows * outputs));
    partial.reserve(static_cast<size_t>(batch * outputs));
  } else {
    nz_row.reserve(static_cast<size_t>(lists));
    if (params.dac_bits > 1) nz_digit.reserve(static_cast<size_t>(lists));
    nz_count.reserve(static_cast<size_t>(batch * params.num_slices));
    tile_out.reserve(static_cast<size_t>(batch * ((params.outputs_per_tile + 31) / 32) * 32));
  }
}

FastMatrix FastMatrix::Build(const HardwareParams& params,
                             const emulator::ProgrammedMatrix& matrix, bool signed_inputs,
                             const std::vector<int64_t>& gemm_row_order, int gemm_segments) {
  FastMatrix f;
  f.matrix_ = &matrix;
  f.rows_ = matrix.rows();
  f.outputs_ = matrix.outputs();
  f.signed_inputs_ = signed_inputs;
  f.lossless_ = params.lossless_adc();
  const int32_t P = params.cells_per_weight;
  for (int64_t t = 0; t < matrix.row_tiles(); ++t) {
    for (int64_t u = 0; u < matrix.column_tiles(); ++u) f.columns_ += matrix.tile(t, u).columns_used;
  }
  if (f.lossless_) {
    // Weff over the whole matrix (§9.2), and the largest |Weff| for the
    // exactness bound.
    f.weff_.assign(static_cast<size_t>(f.rows_ * f.outputs_), 0.0);
    int64_t max_weff = 0;
    for (int64_t t = 0; t < matrix.row_tiles(); ++t) {
      for (int64_t u = 0; u < matrix.column_tiles(); ++u) {
        const ProgrammedTile& tile = matrix.tile(t, u);
        for (int32_t r = 0; r < tile.rows_used; ++r) {
          for (int32_t n = 0; n < tile.outputs_used; ++n) {
            int64_t w = 0;
            for (int32_t i = 0; i < P; ++i) {
              const int32_t c = n * P + i;
              // Multiplied, not shifted: the difference may be negative.
              w += (static_cast<int64_t>(tile.Code(emulator::ArraySide::kPositive, r, c)) -
                    tile.Code(emulator::ArraySide::kNegative, r, c)) *
                   (int64_t{1} << (params.cell_bits * i));
            }
            max_weff = std::max(max_weff, std::abs(w));
            f.weff_[(tile.first_row + r) * f.outputs_ + tile.first_output + n] =
                static_cast<double>(w);
          }
        }
      }
    }
    // One GEMM over all rows is the layer output when every partial sum is
    // exact in double and §6.3 cannot saturate (then no tile output or
    // accumulation clamps either, and the order of the exact sum is free).
    const double bound = static_cast<double>(f.rows_) * MaxAbsInput(params, signed_inputs) *
                         static_cast<double>(max_weff);
    f.lossless_single_gemm_ =
        bound <= kDoubleExact &&
        emulator::AccumulationCannotSaturate(params, f.rows_, signed_inputs);
    if (f.lossless_single_gemm_ && !gemm_row_order.empty()) {
      // Rows in the caller's order (any order: the sum is exact).
      f.order_ = gemm_row_order;
      std::vector<double> permuted(f.weff_.size());
      for (int64_t k = 0; k < f.rows_; ++k) {
        std::copy(f.weff_.begin() + f.order_[k] * f.outputs_,
                  f.weff_.begin() + (f.order_[k] + 1) * f.outputs_,
                  permuted.begin() + k * f.outputs_);
      }
      f.weff_ = std::move(permuted);
    }
    if (f.lossless_single_gemm_ && params.activation_bits <= 8) {
      f.int8_ = Int8Gemm::Pack(f.weff_.data(), f.rows_, f.outputs_, signed_inputs,
                               f.rows_ % gemm_segments == 0 ? gemm_segments : 1);
    }
    // Per-tile double GEMMs need the same bound per tile (R rows at most);
    // otherwise LosslessMvm falls back to int64 loops.
  } else if (Int16AdcApplies(params, matrix)) {
    f.adc_int16_ = true;
    for (int64_t t = 0; t < matrix.row_tiles(); ++t) {
      for (int64_t u = 0; u < matrix.column_tiles(); ++u) {
        const ProgrammedTile& tile = matrix.tile(t, u);
        Adc16Tile a;
        a.rows_used = tile.rows_used;
        a.outputs_used = tile.outputs_used;
        a.columns_used = tile.columns_used;
        a.first_output = tile.first_output;
        a.groups = (tile.outputs_used + kLanes16 - 1) / kLanes16;
        a.codes.assign(static_cast<size_t>(a.groups) * tile.rows_used * P * kLanes16, 0);
        a.pos_mask.assign(static_cast<size_t>(a.groups) * tile.rows_used, 0);
        int32_t max_abs = 0, min_code = 0, max_code = 0;
        // Per column: sums of the positive and of the negative codes of
        // each array.
        std::vector<int64_t> sums(static_cast<size_t>(4 * tile.columns_used), 0);
        for (int32_t r = 0; r < tile.rows_used; ++r) {
          for (int32_t n = 0; n < tile.outputs_used; ++n) {
            const int64_t g = n / kLanes16;
            bool positive = false;
            for (int32_t i = 0; i < P; ++i) {
              positive |= tile.Code(ArraySide::kPositive, r, n * P + i) != 0;
            }
            if (positive) a.pos_mask[g * tile.rows_used + r] |= 1u << (n % kLanes16);
            for (int32_t i = 0; i < P; ++i) {
              const int32_t c = n * P + i;
              const int32_t pos = tile.Code(ArraySide::kPositive, r, c);
              const int32_t neg = tile.Code(ArraySide::kNegative, r, c);
              const int32_t code = positive ? pos : neg;
              max_abs = std::max(max_abs, std::abs(code));
              min_code = std::min(min_code, code);
              max_code = std::max(max_code, code);
              a.codes[static_cast<size_t>(((g * tile.rows_used + r) * P + i) * kLanes16 +
                                          n % kLanes16)] = static_cast<int16_t>(code);
              sums[4 * c + (pos > 0 ? 0 : 1)] += pos;
              sums[4 * c + (neg > 0 ? 2 : 3)] += neg;
            }
          }
        }
        a.rows_per_int16_sum = max_abs == 0 ? tile.rows_used : 32767 / max_abs;
        a.min_code = min_code;
        a.max_code = max_code;
        for (int32_t c = 0; c < tile.columns_used; ++c) {
          for (int side = 0; side < 2; ++side) {
            a.max_column_sum[side] = std::max(a.max_column_sum[side], sums[4 * c + 2 * side]);
            a.min_column_sum[side] = std::min(a.min_column_sum[side], sums[4 * c + 2 * side + 1]);
          }
        }
        f.adc16_tiles_.push_back(std::move(a));
      }
    }
  } else {
    // Whole outputs per block (2P <= 30 columns each, M <= 15).
    f.outputs_per_block_ = std::max(1, kBlock / (2 * P));
    const int64_t max_code = std::max<int64_t>(-static_cast<int64_t>(params.adc_min), params.adc_max);
    f.int32_recombination_ =
        ((int64_t{1} << params.activation_bits) - 1) / ((int64_t{1} << params.dac_bits) - 1) *
            max_code <= std::numeric_limits<int32_t>::max();
    f.adc_tiles_.resize(static_cast<size_t>(matrix.row_tiles() * matrix.column_tiles()));
    for (int64_t t = 0; t < matrix.row_tiles(); ++t) {
      for (int64_t u = 0; u < matrix.column_tiles(); ++u) {
        const ProgrammedTile& tile = matrix.tile(t, u);
        AdcTile& a = f.adc_tiles_[t * matrix.column_tiles() + u];
        a.rows_used = tile.rows_used;
        a.outputs_used = tile.outputs_used;
        a.columns_used = tile.columns_used;
        a.first_output = tile.first_output;
        // Every column tile of a row tile gets the same number of blocks (the
        // last one zero-padded), so that a row's offset is the same in all
        // of them and the driven-row lists can hold offsets.
        a.blocks = (params.outputs_per_tile + f.outputs_per_block_ - 1) / f.outputs_per_block_;
        a.used_blocks = (tile.outputs_used + f.outputs_per_block_ - 1) / f.outputs_per_block_;
        a.codes.assign(static_cast<size_t>(tile.rows_used) * a.blocks * kBlock, 0);
        const int32_t max_abs = tile.MaxAbsCode();
        a.rows_per_int16_sum = max_abs == 0 ? tile.rows_used : 32767 / max_abs;
        for (int32_t r = 0; r < tile.rows_used; ++r) {
          for (int32_t n = 0; n < tile.outputs_used; ++n) {
            const int32_t blk = n / f.outputs_per_block_, o = n % f.outputs_per_block_;
            int32_t* dst = a.codes.data() + (static_cast<int64_t>(r) * a.blocks + blk) * kBlock + o * 2 * P;
            for (int32_t i = 0; i < P; ++i) {
              dst[i] = tile.Code(emulator::ArraySide::kPositive, r, n * P + i);
              dst[P + i] = tile.Code(emulator::ArraySide::kNegative, r, n * P + i);
            }
          }
        }
        if (a.rows_per_int16_sum >= 2) {
          a.codes16.assign(a.codes.begin(), a.codes.end());  // every |code| <= 32767 here
        } else {
          a.rows_per_int16_sum = 0;
        }
      }
    }
  }
  return f;
}

void FastMatrix::Mvm(const HardwareParams& params, const emulator::MvmOptions& options,
                     const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                     int64_t y_stride, MvmStats* stats, FastMvmScratch* scratch) const {
  if (batch <= 0) return;
  if (lossless_) {
    LosslessMvm(params, x, x_stride, batch, y, y_stride, stats, scratch);
  } else {
    AdcMvm(params, options, x, x_stride, batch, y, y_stride, stats, scratch);
  }
}

void FastMatrix::LosslessMvmDouble(const HardwareParams& params, const double* x, int64_t batch,
                                   double* y, MvmStats* stats) const {
  // Exact (see Build), so Eigen's blocking and FMAs cannot change it.
  emulator::GemmRowMajor(x, weff_.data(), y, batch, rows_, outputs_);
  CountLosslessConversions(params, batch, stats);
}

void FastMatrix::LosslessMvm(const HardwareParams& params, const int32_t* x, int64_t x_stride,
                             int64_t batch, int64_t* y, int64_t y_stride, MvmStats* stats,
                             FastMvmScratch* scratch) const {
  const emulator::ProgrammedMatrix& m = *matrix_;
  const int64_t max_x = MaxAbsInput(params, signed_inputs_);
  if (lossless_single_gemm_) {
    const int64_t chunk = std::min(batch, kChunk);
    std::vector<double>& xd = scratch->xd;
    std::vector<double>& yd = scratch->yd;
    xd.resize(static_cast<size_t>(chunk * rows_));
    yd.resize(static_cast<size_t>(chunk * outputs_));
    for (int64_t b0 = 0; b0 < batch; b0 += kChunk) {
      const int64_t bc = std::min(kChunk, batch - b0);
      for (int64_t b = 0; b < bc; ++b) {
        const int32_t* xb = x + (b0 + b) * x_stride;
        double* dst = xd.data() + b * rows_;
        if (order_.empty()) {
          std::copy(xb, xb + rows_, dst);
        } else {
          for (int64_t k = 0; k < rows_; ++k) dst[k] = xb[order_[k]];
        }
      }
      LosslessMvmDouble(params, xd.data(), bc, yd.data(), stats);
      for (int64_t b = 0; b < bc; ++b) {
        for (int64_t n = 0; n < outputs_; ++n) {
          y[(b0 + b) * y_stride + n] = static_cast<int64_t>(yd[b * outputs_ + n]);  // exact
        }
      }
    }
    return;
  }
  // General case: exact per-tile sums, then §6.1's Sat_W and §6.3's ordered
  // saturating accumulation.
  for (int64_t b = 0; b < batch; ++b) std::fill(y + b * y_stride, y + b * y_stride + outputs_, 0);
  std::vector<double>& xd = scratch->xd;
  std::vector<double>& yd = scratch->yd;
  std::vector<double>& wd = scratch->wd;
  std::vector<int64_t>& partial = scratch->partial;
  for (int64_t u = 0; u < m.column_tiles(); ++u) {
    for (int64_t t = 0; t < m.row_tiles(); ++t) {
      const ProgrammedTile& tile = m.tile(t, u);
      const int32_t rows = tile.rows_used, outs = tile.outputs_used;
      partial.assign(static_cast<size_t>(batch) * outs, 0);
      double max_w = 0;
      wd.resize(static_cast<size_t>(rows) * outs);
      for (int32_t r = 0; r < rows; ++r) {
        for (int32_t n = 0; n < outs; ++n) {
          const double w = weff_[(tile.first_row + r) * outputs_ + tile.first_output + n];
          wd[r * outs + n] = w;
          max_w = std::max(max_w, std::abs(w));
        }
      }
      if (static_cast<double>(rows) * max_x * max_w <= kDoubleExact) {
        xd.resize(static_cast<size_t>(batch) * rows);
        yd.resize(static_cast<size_t>(batch) * outs);
        for (int64_t b = 0; b < batch; ++b) {
          const int32_t* xb = x + b * x_stride + tile.first_row;
          std::copy(xb, xb + rows, xd.data() + b * rows);
        }
        emulator::GemmRowMajor(xd.data(), wd.data(), yd.data(), batch, rows, outs);
        for (size_t k = 0; k < partial.size(); ++k) partial[k] = static_cast<int64_t>(yd[k]);
      } else {
        for (int64_t b = 0; b < batch; ++b) {
          const int32_t* xb = x + b * x_stride + tile.first_row;
          for (int32_t n = 0; n < outs; ++n) {
            int64_t acc = 0;  // |acc| < 2^62 (§6.2)
            for (int32_t r = 0; r < rows; ++r) {
              acc += xb[r] * static_cast<int64_t>(wd[r * outs + n]);
            }
            partial[b * outs + n] = acc;
          }
        }
      }
      for (int64_t b = 0; b < batch; ++b) {
        int64_t* yb = y + b * y_stride + tile.first_output;
        for (int32_t n = 0; n < outs; ++n) {
          AccumulateTileOutput(partial[b * outs + n], params.accumulator_bits, &yb[n],
                               &stats->accumulator_saturations);
        }
      }
      stats->adc.conversions += batch * params.num_slices * 2 * tile.columns_used;
    }
  }
}

void FastMatrix::AdcMvm(const HardwareParams& params, const emulator::MvmOptions& options,
                        const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                        int64_t y_stride, MvmStats* stats, FastMvmScratch* scratch) const {
  if (adc_int16_) {
    AdcMvmInt16(params, options, x, x_stride, batch, y, y_stride, stats, scratch);
  } else if (int32_recombination_) {
    AdcMvmImpl<int32_t>(params, options, x, x_stride, batch, y, y_stride, stats, scratch);
  } else {
    AdcMvmImpl<int64_t>(params, options, x, x_stride, batch, y, y_stride, stats, scratch);
  }
}

void FastMatrix::AdcMvmInt16(const HardwareParams& params, const emulator::MvmOptions& options,
                             const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                             int64_t y_stride, MvmStats* stats, FastMvmScratch* scratch) const {
  switch (params.cells_per_weight) {
    case 1: AdcMvmInt16Impl<1>(params, options, x, x_stride, batch, y, y_stride, stats, scratch); break;
    case 2: AdcMvmInt16Impl<2>(params, options, x, x_stride, batch, y, y_stride, stats, scratch); break;
    case 3: AdcMvmInt16Impl<3>(params, options, x, x_stride, batch, y, y_stride, stats, scratch); break;
    default: AdcMvmInt16Impl<4>(params, options, x, x_stride, batch, y, y_stride, stats, scratch); break;
  }
}

#if NFTCIM_HAVE_AVX512BW
namespace {

// Driven-row masks cover at most this many words (array_rows <= 4096).
constexpr int32_t kMaxWords = 64;

// §5.1 over the rows set in `mask`: all[i] = sum of their cell-i codes for
// 32 outputs, pos[i] = the same over the outputs whose weight is in the
// positive array (pos_mask), in wrapping int16.
template <int kP>
inline __attribute__((always_inline)) void SumDrivenRows(const uint64_t* mask, int32_t words,
                                                         const int16_t* base,
                                                         const uint32_t* pos_mask, __m512i* all,
                                                         __m512i* pos) {
  for (int i = 0; i < kP; ++i) all[i] = pos[i] = _mm512_setzero_si512();
  for (int32_t w = 0; w < words; ++w) {
    for (uint64_t bits = mask[w]; bits != 0; bits &= bits - 1) {
      const int32_t r = w * 64 + __builtin_ctzll(bits);
      const int16_t* row = base + static_cast<int64_t>(r) * kP * 32;
      const __mmask32 k = pos_mask[r];
      for (int i = 0; i < kP; ++i) {
        __m512i c = _mm512_loadu_si512(row + 32 * i);
        // One load for both adds: without this the compiler folds the load
        // into each, and the loop is bound by twice the loads.
        __asm__("" : "+v"(c));
        all[i] = _mm512_add_epi16(all[i], c);
        pos[i] = _mm512_mask_add_epi16(pos[i], k, pos[i], c);
      }
    }
  }
}

// Moves the lowest n set bits of rest[0, words) into taken (n <= the
// number of set bits).
inline void TakeLowestBits(uint64_t* rest, int32_t words, int32_t n, uint64_t* taken) {
  for (int32_t w = 0; w < words; ++w) {
    const int32_t count = __builtin_popcountll(rest[w]);
    if (count <= n) {
      taken[w] = rest[w];
      rest[w] = 0;
      n -= count;
    } else if (n == 0) {
      taken[w] = 0;
    } else {
      uint64_t low = 0, bits = rest[w];
      for (int32_t k = 0; k < n; ++k) {
        low |= bits & (~bits + 1);
        bits &= bits - 1;
      }
      taken[w] = low;
      rest[w] = bits;
      n = 0;
    }
  }
}

}  // namespace
#endif

template <int kP>
void FastMatrix::AdcMvmInt16Impl(const HardwareParams& params, const emulator::MvmOptions& options,
                                 const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                                 int64_t y_stride, MvmStats* stats, FastMvmScratch* scratch) const {
#if NFTCIM_HAVE_AVX512BW
  const emulator::ProgrammedMatrix& m = *matrix_;
  const int32_t J = params.num_slices;
  const int32_t K = params.cell_bits, W = params.accumulator_bits;
  const int32_t shift = options.adc_shift;
  const __m128i shift_count = _mm_cvtsi32_si128(shift);
  const __m128i half_count = _mm_cvtsi32_si128(shift > 0 ? shift - 1 : 0);
  const __m512i round16 = _mm512_set1_epi16(shift > 0 ? 1 : 0);
  const __m512i round32 = _mm512_set1_epi32(shift > 0 ? 1 : 0);
  const __m512i lo = _mm512_set1_epi16(static_cast<int16_t>(params.adc_min));
  const __m512i hi = _mm512_set1_epi16(static_cast<int16_t>(params.adc_max));
  for (int64_t b = 0; b < batch; ++b) std::fill(y + b * y_stride, y + b * y_stride + outputs_, 0);

  // §4.2 with D = 1: the rows driven in slice j of input vector b are those
  // whose input has bit j set (digit 1, or -1 on the top slice of signed
  // inputs), as bit masks of `words` 64-bit words per (b, j).
  const int32_t max_rows = static_cast<int32_t>(std::min<int64_t>(params.array_rows, rows_));
  const int32_t words = (max_rows + 63) / 64;
  std::vector<uint64_t>& driven = scratch->driven;
  driven.resize(static_cast<size_t>(batch) * J * words);
  std::vector<int32_t>& tile_out = scratch->tile_out;
  const uint32_t value_mask =
      params.activation_bits >= 32 ? ~0u : (1u << params.activation_bits) - 1;
  // §5.3: when a tile array's extreme column sums (all rows driven: the sum
  // of its positive codes, of its negative ones; negated on a signed top
  // slice) convert inside [lo, hi], no conversion in that array can
  // saturate, and the clamps and their counts are skipped.
  auto in_range = [&](int64_t v) {
    const int64_t c = emulator::RoundHalfUpShift(v, shift);
    return c >= params.adc_min && c <= params.adc_max;
  };
  // §5.2 before the clamp: RoundHalfUpShift(S, s) = (S >> s) + bit s-1 of S.
  // The same for a sum known only modulo 2^16 (wrapping int16 adds) but
  // known to lie in [A, A + 65535 - 2^s]: with L = floor(A / 2^s) 2^s,
  // S - L is in [0, 65535] and exact as uint16, and
  // RoundHalfUpShift(S, s) = L / 2^s + RoundHalfUpShift(S - L, s).
  auto shift16_window = [&](__m512i wrapped, int64_t lower) {
    const int64_t l_units = lower >> shift;  // floor
    const __m512i u = _mm512_sub_epi16(wrapped, _mm512_set1_epi16(static_cast<int16_t>(l_units << shift)));
    return _mm512_add_epi16(
        _mm512_set1_epi16(static_cast<int16_t>(l_units)),
        _mm512_add_epi16(_mm512_srl_epi16(u, shift_count),
                         _mm512_and_si512(_mm512_srl_epi16(u, half_count), round16)));
  };
  auto shift32 = [&](__m512i s) {
    return _mm512_add_epi32(_mm512_sra_epi32(s, shift_count),
                            _mm512_and_si512(_mm512_sra_epi32(s, half_count), round32));
  };
  // Two int32 vectors as one int16 vector (saturating: a value beyond int16
  // is beyond the ADC range either way); packs works per 128-bit lane.
  const __m512i unpack_order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
  auto narrow = [&](__m512i a, __m512i c) {
    return _mm512_permutexvar_epi64(unpack_order, _mm512_packs_epi32(a, c));
  };
  auto widen_low = [](__m512i v) { return _mm512_cvtepi16_epi32(_mm512_castsi512_si256(v)); };
  auto widen_high = [](__m512i v) { return _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(v, 1)); };

  int64_t high = 0, low = 0, acc_sats = 0, conversions = 0;
  for (int64_t t = 0; t < m.row_tiles(); ++t) {
    const int32_t rows = adc16_tiles_[t * m.column_tiles()].rows_used;
    const int64_t row0 = m.tile(t, 0).first_row;
    for (int64_t b = 0; b < batch; ++b) {
      const int32_t* xb = x + b * x_stride + row0;
      uint64_t* masks = driven.data() + b * J * words;
      std::fill(masks, masks + J * words, 0);
      int32_t r = 0;
      const __m512i vmask = _mm512_set1_epi32(static_cast<int32_t>(value_mask));
      for (; r + 16 <= rows; r += 16) {
        const __m512i v = _mm512_and_si512(_mm512_loadu_si512(xb + r), vmask);
        for (int32_t j = 0; j < J; ++j) {
          const uint64_t k = _mm512_test_epi32_mask(v, _mm512_set1_epi32(1 << j));
          masks[j * words + r / 64] |= k << (r % 64);
        }
      }
      for (; r < rows; ++r) {
        for (uint32_t v = static_cast<uint32_t>(xb[r]) & value_mask; v != 0; v &= v - 1) {
          const int32_t j = __builtin_ctz(v);
          masks[j * words + r / 64] |= uint64_t{1} << (r % 64);
        }
      }
    }
    for (int64_t u = 0; u < m.column_tiles(); ++u) {
      const Adc16Tile& tile = adc16_tiles_[t * m.column_tiles() + u];
      conversions += batch * J * 2 * tile.columns_used;
      bool check_array[2];
      for (int side = 0; side < 2; ++side) {
        check_array[side] =
            !(in_range(tile.max_column_sum[side]) && in_range(tile.min_column_sum[side]) &&
              (!signed_inputs_ ||
               (in_range(-tile.max_column_sum[side]) && in_range(-tile.min_column_sum[side]))));
      }
      const bool check = check_array[0] || check_array[1];
      const int32_t int16_rows = tile.rows_per_int16_sum;
      // Slices with at most short_rows driven rows are summed in wrapping
      // int16 and converted with shift16_window: the sum of n codes lies in
      // [n min_code, n max_code], a window of n (max - min) values, which
      // must fit 65536 - 2^s; the converted values must fit int16.
      int64_t short_rows = tile.rows_used;
      const int32_t span = tile.max_code - tile.min_code;
      const int32_t window_rows = span == 0 ? tile.rows_used : 65535 / span;
      {
        const int64_t room = (int64_t{1} << 16) - 1 - (shift < 16 ? int64_t{1} << shift : int64_t{1} << 16);
        if (span > 0) short_rows = std::min(short_rows, std::max<int64_t>(0, room) / span);
        const int64_t result_room = shift < 32 ? (int64_t{32766} << shift) : int64_t{1} << 46;
        if (tile.max_code > 0) short_rows = std::min(short_rows, result_room / tile.max_code);
        if (tile.min_code < 0) short_rows = std::min(short_rows, result_room / -tile.min_code);
      }
      const int32_t tile_words = (tile.rows_used + 63) / 64;
      tile_out.resize(static_cast<size_t>(batch * tile.groups * kLanes16));
      for (int32_t g = 0; g < tile.groups; ++g) {
        const int16_t* base =
            tile.codes.data() + static_cast<int64_t>(g) * tile.rows_used * kP * kLanes16;
        const uint32_t* pos_mask = tile.pos_mask.data() + static_cast<int64_t>(g) * tile.rows_used;
        for (int64_t b = 0; b < batch; ++b) {
          // Per array a and cell i of 32 outputs: sum_j 2^j ADC(S_j), int16.
          __m512i col[2][kP];
          for (int i = 0; i < kP; ++i) col[0][i] = col[1][i] = _mm512_setzero_si512();
          for (int32_t j = 0; j < J; ++j) {
            const uint64_t* mask = driven.data() + (b * J + j) * words;
            int32_t n_rows = 0;
            for (int32_t w = 0; w < tile_words; ++w) n_rows += __builtin_popcountll(mask[w]);
            if (n_rows == 0) continue;
            const bool negate = signed_inputs_ && j == J - 1;
            // §5.1 for both arrays at once: `all` sums the driven rows'
            // codes, `pos` those in the positive array (masked add); the
            // negative array's sum is the difference. Up to short_rows rows
            // wrap in int16 and are recovered from their window; longer
            // slices are summed in chunks widened to int32.
            __m512i code[2][kP];
            if (n_rows <= short_rows) {
              __m512i all[kP], pos[kP];
              SumDrivenRows<kP>(mask, tile_words, base, pos_mask, all, pos);
              // Bounds of S (n_rows codes; negated on a signed top slice).
              const int64_t lower = negate ? -static_cast<int64_t>(n_rows) * tile.max_code
                                           : static_cast<int64_t>(n_rows) * tile.min_code;
              for (int i = 0; i < kP; ++i) {
                __m512i sp = pos[i], sn = _mm512_sub_epi16(all[i], pos[i]);
                if (negate) {
                  sp = _mm512_sub_epi16(_mm512_setzero_si512(), sp);
                  sn = _mm512_sub_epi16(_mm512_setzero_si512(), sn);
                }
                code[0][i] = shift16_window(sp, lower);
                code[1][i] = shift16_window(sn, lower);
              }
            } else {
              // Longer slices: the driven rows in chunks whose int16 sums
              // are exact, either as signed values (int16_rows rows) or, when
              // that is more rows, as wrapping sums in the window
              // [c min_code, c min_code + 65535] (window_rows rows); each
              // chunk is widened into int32 sums (kept in memory, so that
              // the row loop has the registers to itself).
              const bool windowed = window_rows > int16_rows;
              const int32_t chunk_rows = windowed ? window_rows : int16_rows;
              alignas(64) int32_t wide[2][kP][32] = {};
              uint64_t rest[kMaxWords];
              std::copy(mask, mask + tile_words, rest);
              for (int32_t left = n_rows; left > 0;) {
                const int32_t rows_in_chunk = std::min(left, chunk_rows);
                uint64_t chunk[kMaxWords];
                TakeLowestBits(rest, tile_words, rows_in_chunk, chunk);
                left -= rows_in_chunk;
                __m512i all[kP], pos[kP];
                SumDrivenRows<kP>(chunk, tile_words, base, pos_mask, all, pos);
                const int32_t lower = windowed ? rows_in_chunk * tile.min_code : 0;
                const __m512i lower16 = _mm512_set1_epi16(static_cast<int16_t>(lower));
                const __m512i lower32 = _mm512_set1_epi32(lower);
                for (int i = 0; i < kP; ++i) {
                  for (int a = 0; a < 2; ++a) {
                    const __m512i v = a == 0 ? pos[i] : _mm512_sub_epi16(all[i], pos[i]);
                    __m512i lo_half, hi_half;
                    if (windowed) {
                      const __m512i u = _mm512_sub_epi16(v, lower16);  // 0..65535
                      lo_half = _mm512_add_epi32(lower32, _mm512_cvtepu16_epi32(_mm512_castsi512_si256(u)));
                      hi_half = _mm512_add_epi32(lower32, _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(u, 1)));
                    } else {
                      lo_half = widen_low(v);
                      hi_half = widen_high(v);
                    }
                    _mm512_store_si512(wide[a][i], _mm512_add_epi32(_mm512_load_si512(wide[a][i]), lo_half));
                    _mm512_store_si512(wide[a][i] + 16,
                                       _mm512_add_epi32(_mm512_load_si512(wide[a][i] + 16), hi_half));
                  }
                }
              }
              for (int a = 0; a < 2; ++a) {
                for (int i = 0; i < kP; ++i) {
                  __m512i w0 = _mm512_load_si512(wide[a][i]), w1 = _mm512_load_si512(wide[a][i] + 16);
                  if (negate) {
                    w0 = _mm512_sub_epi32(_mm512_setzero_si512(), w0);
                    w1 = _mm512_sub_epi32(_mm512_setzero_si512(), w1);
                  }
                  code[a][i] = narrow(shift32(w0), shift32(w1));
                }
              }
            }
            // §5.2's clamp (counted), then §6.1's slice weight 2^j.
            const __m512i weight = _mm512_set1_epi16(static_cast<int16_t>(1 << j));
            for (int a = 0; a < 2; ++a) {
              for (int i = 0; i < kP; ++i) {
                __m512i c = code[a][i];
                if (check) {
                  high += __builtin_popcount(_mm512_cmpgt_epi16_mask(c, hi));
                  low += __builtin_popcount(_mm512_cmplt_epi16_mask(c, lo));
                  c = _mm512_min_epi16(_mm512_max_epi16(c, lo), hi);
                }
                col[a][i] = _mm512_add_epi16(col[a][i], _mm512_mullo_epi16(c, weight));
              }
            }
          }
          // §6.1: cell significance 2^(K i), positive minus negative, in
          // int32 (|.| <= 2 * 32767 * (2^(K P) - 1) / (2^K - 1) < 2^31).
          __m512i out0 = _mm512_setzero_si512(), out1 = _mm512_setzero_si512();
          for (int i = 0; i < kP; ++i) {
            const __m512i sig = _mm512_set1_epi32(1 << (K * i));
            out0 = _mm512_add_epi32(
                out0, _mm512_mullo_epi32(_mm512_sub_epi32(widen_low(col[0][i]), widen_low(col[1][i])), sig));
            out1 = _mm512_add_epi32(
                out1, _mm512_mullo_epi32(_mm512_sub_epi32(widen_high(col[0][i]), widen_high(col[1][i])), sig));
          }
          int32_t* out = tile_out.data() + (b * tile.groups + g) * kLanes16;
          _mm512_storeu_si512(out, out0);
          _mm512_storeu_si512(out + 16, out1);
        }
      }
      // §6.1 Sat_W, §6.3 accumulated in row-tile order (t ascends outside).
      for (int64_t b = 0; b < batch; ++b) {
        int64_t* yb = y + b * y_stride + tile.first_output;
        const int32_t* out = tile_out.data() + b * tile.groups * kLanes16;
        for (int32_t n = 0; n < tile.outputs_used; ++n) {
          AccumulateTileOutput(out[n], W, &yb[n], &acc_sats);
        }
      }
    }
  }
  AddAdcCounts(conversions, high, low, acc_sats, stats);
#else
  (void)params;
  (void)options;
  (void)x;
  (void)x_stride;
  (void)batch;
  (void)y;
  (void)y_stride;
  (void)stats;
  (void)scratch;
#endif
}

template <typename Acc>
void FastMatrix::AdcMvmImpl(const HardwareParams& params, const emulator::MvmOptions& options,
                            const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                            int64_t y_stride, MvmStats* stats, FastMvmScratch* scratch) const {
  const emulator::ProgrammedMatrix& m = *matrix_;
  const int32_t P = params.cells_per_weight, J = params.num_slices, D = params.dac_bits;
  const int32_t K = params.cell_bits, W = params.accumulator_bits;
  const int32_t shift = options.adc_shift;
  const int32_t half_bit = shift > 0 ? shift - 1 : 0;
  const int32_t round_mask = shift > 0 ? 1 : 0;
  const int32_t lo = params.adc_min, hi = params.adc_max;
  const uint32_t digit_mask = (1u << D) - 1;
  for (int64_t b = 0; b < batch; ++b) std::fill(y + b * y_stride, y + b * y_stride + outputs_, 0);

  // §4.2 non-zero digits of every input vector in one row tile, per slice.
  // Rows whose digit is 0 are not driven and add nothing to a column sum; a
  // slice with no driven row has S = 0 in every column, which converts to 0
  // without saturating (0 is inside every ADC range), so it is skipped (its
  // conversions are still counted, §5.4).
  const int32_t max_rows = static_cast<int32_t>(std::min<int64_t>(params.array_rows, rows_));
  // Slice j of vector b: row offsets nz_row[(b * J + j) * max_rows + k], digits
  // nz_digit[...], k < nz_count[b * J + j].
  std::vector<int32_t>& nz_row = scratch->nz_row;
  std::vector<int32_t>& nz_digit = scratch->nz_digit;
  std::vector<int32_t>& nz_count = scratch->nz_count;
  nz_row.resize(static_cast<size_t>(batch) * J * max_rows);
  nz_digit.resize(D == 1 ? 0 : nz_row.size());
  nz_count.resize(static_cast<size_t>(batch) * J);
  const uint32_t value_mask =
      params.activation_bits >= 32 ? ~0u : (1u << params.activation_bits) - 1;
  // All tiles share one row stride (see Build): lists hold row offsets.
  const int32_t row_stride = adc_tiles_.front().blocks * kBlock;
  int64_t high = 0, low = 0, acc_sats = 0, conversions = 0;
  for (int64_t t = 0; t < m.row_tiles(); ++t) {
    const AdcTile& first = adc_tiles_[t * m.column_tiles()];
    const int32_t rows = first.rows_used;
    const int64_t row0 = m.tile(t, 0).first_row;
    for (int64_t b = 0; b < batch; ++b) {
      const int32_t* xb = x + b * x_stride + row0;
      int32_t* count = nz_count.data() + b * J;
      int32_t* lists = nz_row.data() + b * J * max_rows;
      std::fill(count, count + J, 0);
      if (D == 1) {
        // Bit-serial inputs: visit the set bits of each input's A-bit
        // pattern only (zero inputs, common after ReLU, cost nothing).
        for (int32_t r = 0; r < rows; ++r) {
          for (uint32_t v = static_cast<uint32_t>(xb[r]) & value_mask; v != 0; v &= v - 1) {
            const int32_t j = __builtin_ctz(v);
            lists[j * max_rows + count[j]++] = r * row_stride;
          }
        }
      } else {
        int32_t* digits = nz_digit.data() + b * J * max_rows;
        for (int32_t r = 0; r < rows; ++r) {
          const uint32_t v = static_cast<uint32_t>(xb[r]);
          if ((v & value_mask) == 0) continue;
          for (int32_t j = 0; j < J; ++j) {
            int32_t d = static_cast<int32_t>((v >> (D * j)) & digit_mask);
            if (j == J - 1 && signed_inputs_) d -= static_cast<int32_t>((d >> (D - 1)) & 1) << D;
            if (d == 0) continue;
            lists[j * max_rows + count[j]] = r * row_stride;
            digits[j * max_rows + count[j]++] = d;
          }
        }
      }
    }

    for (int64_t u = 0; u < m.column_tiles(); ++u) {
      const AdcTile& tile = adc_tiles_[t * m.column_tiles() + u];
      conversions += batch * J * 2 * tile.columns_used;
      for (int32_t blk = 0; blk < tile.used_blocks; ++blk) {
        const int32_t* block = tile.codes.data() + static_cast<int64_t>(blk) * kBlock;
        const int32_t n0 = blk * outputs_per_block_;
        const int32_t n1 = std::min(tile.outputs_used, n0 + outputs_per_block_);
        for (int64_t b = 0; b < batch; ++b) {
          // §6.1 per column: sum_j 2^(D j) ADC(S_j) (exact in Acc).
          Acc column[kBlock] = {};
          int32_t nhigh[kBlock] = {}, nlow[kBlock] = {};
          for (int32_t j = 0; j < J; ++j) {
            const int32_t n_rows = nz_count[b * J + j];
            if (n_rows == 0) continue;
            const int32_t* list = nz_row.data() + (b * J + j) * max_rows;
            // §5.1: S = sum over the driven rows of d * code (int32, exact),
            // kBlock columns in vectors held in registers.
            constexpr int kV = kBlock / 16;  // int32 vectors per block
            V16 sv[kV] = {};
            if (D == 1 && tile.rows_per_int16_sum > 0) {
              // d = 1 (or -1, below): the rows' codes summed in int16 for as
              // many rows as cannot overflow (|partial sum| <= rows *
              // max|code| <= 32767), then widened into the int32 sums.
              const int16_t* block16 = tile.codes16.data() + static_cast<int64_t>(blk) * kBlock;
              for (int32_t k = 0; k < n_rows;) {
                const int32_t k_end = std::min(n_rows, k + tile.rows_per_int16_sum);
                V32h hv[kV / 2] = {};
                for (; k < k_end; ++k) {
                  const int16_t* row = block16 + list[k];
                  for (int q = 0; q < kV / 2; ++q) hv[q] += Load32h(row + 32 * q);
                }
                for (int q = 0; q < kV / 2; ++q) {
                  sv[2 * q] += WidenLow(hv[q]);
                  sv[2 * q + 1] += WidenHigh(hv[q]);
                }
              }
            } else if (D == 1) {
              // d = 1, or -1 on the top slice of signed inputs (§4.2).
              for (int32_t k = 0; k < n_rows; ++k) {
                const int32_t* row = block + list[k];
                for (int q = 0; q < kV; ++q) sv[q] += Load16(row + 16 * q);
              }
            } else {
              const int32_t* digits = nz_digit.data() + (b * J + j) * max_rows;
              for (int32_t k = 0; k < n_rows; ++k) {
                const int32_t* row = block + list[k];
                const int32_t d = digits[k];
                for (int q = 0; q < kV; ++q) sv[q] += d * Load16(row + 16 * q);
              }
            }
            if (D == 1 && signed_inputs_ && j == J - 1) {
              for (int q = 0; q < kV; ++q) sv[q] = -sv[q];
            }
            int32_t sum[kBlock];
            for (int q = 0; q < kV; ++q) Store16(sum + 16 * q, sv[q]);
            // §5.2, then the slice weight.
            const Acc weight = static_cast<Acc>(Acc{1} << (D * j));
            for (int32_t c = 0; c < kBlock; ++c) {
              const int32_t v = sum[c];
              const int32_t rounded = (v >> shift) + ((v >> half_bit) & round_mask);
              nhigh[c] += rounded > hi;
              nlow[c] += rounded < lo;
              const int32_t code = rounded > hi ? hi : (rounded < lo ? lo : rounded);
              column[c] += static_cast<Acc>(code) * weight;
            }
          }
          // Padding columns (beyond 2P per output) have S = 0: never saturated.
          for (int32_t c = 0; c < kBlock; ++c) {
            high += nhigh[c];
            low += nlow[c];
          }
          // §6.1: cell significance 2^(K i), positive minus negative, Sat_W;
          // §6.3: accumulated in row-tile order (t ascends outside).
          int64_t* yb = y + b * y_stride + tile.first_output;
          for (int32_t n = n0; n < n1; ++n) {
            const Acc* col = column + (n - n0) * 2 * P;
            int64_t v = 0;  // exact: |v| < 2^62 (§6.2)
            for (int32_t i = 0; i < P; ++i) {
              v += (static_cast<int64_t>(col[i]) - col[P + i]) * (int64_t{1} << (K * i));
            }
            AccumulateTileOutput(v, W, &yb[n], &acc_sats);
          }
        }
      }
    }
  }
  AddAdcCounts(conversions, high, low, acc_sats, stats);
}

}  // namespace nftcim::firmware
