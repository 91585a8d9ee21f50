#include "firmware_model/fast_mvm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "emulator/exact_gemm.h"
#include "emulator/fixed_point.h"

namespace nftcim::firmware {
namespace {

using emulator::HardwareParams;
using emulator::MvmStats;
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

}  // namespace

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
  }
}

FastMatrix FastMatrix::Build(const HardwareParams& params,
                             const emulator::ProgrammedMatrix& matrix, bool signed_inputs,
                             const std::vector<int64_t>& gemm_row_order) {
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
      f.int8_ = Int8Gemm::Pack(f.weff_.data(), f.rows_, f.outputs_, signed_inputs);
    }
    // Per-tile double GEMMs need the same bound per tile (R rows at most);
    // otherwise LosslessMvm falls back to int64 loops.
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
          bool sat_tile = false, sat_acc = false;
          const int64_t v =
              emulator::SaturateToSignedBits(partial[b * outs + n], params.accumulator_bits, &sat_tile);
          yb[n] = emulator::SaturatingAddSignedBits(yb[n], v, params.accumulator_bits, &sat_acc);
          stats->accumulator_saturations += sat_tile + sat_acc;
        }
      }
      stats->adc.conversions += batch * params.num_slices * 2 * tile.columns_used;
    }
  }
}

void FastMatrix::AdcMvm(const HardwareParams& params, const emulator::MvmOptions& options,
                        const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                        int64_t y_stride, MvmStats* stats, FastMvmScratch* scratch) const {
  if (int32_recombination_) {
    AdcMvmImpl<int32_t>(params, options, x, x_stride, batch, y, y_stride, stats, scratch);
  } else {
    AdcMvmImpl<int64_t>(params, options, x, x_stride, batch, y, y_stride, stats, scratch);
  }
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
            bool sat_tile = false, sat_acc = false;
            v = emulator::SaturateToSignedBits(v, W, &sat_tile);
            yb[n] = emulator::SaturatingAddSignedBits(yb[n], v, W, &sat_acc);
            acc_sats += sat_tile + sat_acc;
          }
        }
      }
    }
  }
  stats->adc.conversions += conversions;
  stats->adc.saturated_high += high;
  stats->adc.saturated_low += low;
  stats->accumulator_saturations += acc_sats;
}

}  // namespace nftcim::firmware
