#include "firmware_model/fast_mvm.h"

#include <algorithm>
#include <cstdlib>

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

int64_t MaxAbsInput(const HardwareParams& params, bool signed_inputs) {
  return std::max<int64_t>(-static_cast<int64_t>(emulator::InputMin(params, signed_inputs)),
                           emulator::InputMax(params, signed_inputs));
}

}  // namespace

FastMatrix FastMatrix::Build(const HardwareParams& params,
                             const emulator::ProgrammedMatrix& matrix, bool signed_inputs) {
  FastMatrix f;
  f.matrix_ = &matrix;
  f.rows_ = matrix.rows();
  f.outputs_ = matrix.outputs();
  f.signed_inputs_ = signed_inputs;
  f.lossless_ = params.lossless_adc();
  const int32_t P = params.cells_per_weight;
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
    // Per-tile double GEMMs need the same bound per tile (R rows at most);
    // otherwise LosslessMvm falls back to int64 loops.
  } else {
    f.tile_codes_.resize(static_cast<size_t>(matrix.row_tiles() * matrix.column_tiles()));
    for (int64_t t = 0; t < matrix.row_tiles(); ++t) {
      for (int64_t u = 0; u < matrix.column_tiles(); ++u) {
        const ProgrammedTile& tile = matrix.tile(t, u);
        const int32_t cols = tile.columns_used, width = 2 * cols;
        std::vector<int32_t>& codes = f.tile_codes_[t * matrix.column_tiles() + u];
        codes.resize(static_cast<size_t>(tile.rows_used) * width);
        for (int32_t r = 0; r < tile.rows_used; ++r) {
          for (int32_t c = 0; c < cols; ++c) {
            codes[r * width + c] = tile.positive[r * cols + c];
            codes[r * width + cols + c] = tile.negative[r * cols + c];
          }
        }
      }
    }
  }
  return f;
}

void FastMatrix::Mvm(const HardwareParams& params, const emulator::MvmOptions& options,
                     const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                     int64_t y_stride, MvmStats* stats) const {
  if (batch <= 0) return;
  if (lossless_) {
    LosslessMvm(params, x, x_stride, batch, y, y_stride, stats);
  } else {
    AdcMvm(params, options, x, x_stride, batch, y, y_stride, stats);
  }
}

void FastMatrix::LosslessMvmDouble(const HardwareParams& params, const double* x, int64_t batch,
                                   int64_t* y, int64_t y_stride, MvmStats* stats) const {
  // Only valid when lossless_single_gemm_ (the sequencer checks).
  std::vector<double> yd(static_cast<size_t>(std::min(batch, kChunk) * outputs_));
  for (int64_t b0 = 0; b0 < batch; b0 += kChunk) {
    const int64_t bc = std::min(kChunk, batch - b0);
    emulator::GemmRowMajor(x + b0 * rows_, weff_.data(), yd.data(), bc, rows_, outputs_);
    for (int64_t b = 0; b < bc; ++b) {
      int64_t* yb = y + (b0 + b) * y_stride;
      const double* src = yd.data() + b * outputs_;
      for (int64_t n = 0; n < outputs_; ++n) yb[n] = static_cast<int64_t>(src[n]);  // exact
    }
  }
  // §5.4: every column of every slice is still converted.
  int64_t columns = 0;
  for (int64_t t = 0; t < matrix_->row_tiles(); ++t) {
    for (int64_t u = 0; u < matrix_->column_tiles(); ++u) columns += matrix_->tile(t, u).columns_used;
  }
  stats->adc.conversions += batch * params.num_slices * 2 * columns;
}

void FastMatrix::LosslessMvm(const HardwareParams& params, const int32_t* x, int64_t x_stride,
                             int64_t batch, int64_t* y, int64_t y_stride, MvmStats* stats) const {
  const emulator::ProgrammedMatrix& m = *matrix_;
  const int64_t max_x = MaxAbsInput(params, signed_inputs_);
  if (lossless_single_gemm_) {
    std::vector<double> xd(static_cast<size_t>(std::min(batch, kChunk) * rows_));
    for (int64_t b0 = 0; b0 < batch; b0 += kChunk) {
      const int64_t bc = std::min(kChunk, batch - b0);
      for (int64_t b = 0; b < bc; ++b) {
        const int32_t* xb = x + (b0 + b) * x_stride;
        std::copy(xb, xb + rows_, xd.data() + b * rows_);
      }
      LosslessMvmDouble(params, xd.data(), bc, y + b0 * y_stride, y_stride, stats);
    }
    return;
  }
  // General case: exact per-tile sums, then §6.1's Sat_W and §6.3's ordered
  // saturating accumulation.
  for (int64_t b = 0; b < batch; ++b) std::fill(y + b * y_stride, y + b * y_stride + outputs_, 0);
  std::vector<double> xd, yd, wd;
  std::vector<int64_t> partial;
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
                        int64_t y_stride, MvmStats* stats) const {
  const emulator::ProgrammedMatrix& m = *matrix_;
  const int32_t P = params.cells_per_weight, J = params.num_slices, D = params.dac_bits;
  const int32_t K = params.cell_bits;
  const int32_t shift = options.adc_shift;
  const int32_t half_bit = shift > 0 ? shift - 1 : 0;
  const int32_t round_mask = shift > 0 ? 1 : 0;
  const int32_t lo = params.adc_min, hi = params.adc_max;
  const uint32_t digit_mask = (1u << D) - 1;
  for (int64_t b = 0; b < batch; ++b) std::fill(y + b * y_stride, y + b * y_stride + outputs_, 0);

  std::vector<int32_t> sums;
  std::vector<int64_t> column_acc;
  // Non-zero digits of one input vector in one row tile, per slice:
  // (row, digit) pairs, slice j's at [start[j], start[j + 1]).
  std::vector<int32_t> nz_row, nz_digit, start(static_cast<size_t>(J) + 1);
  int64_t high = 0, low = 0, acc_sats = 0;
  for (int64_t t = 0; t < m.row_tiles(); ++t) {
    const ProgrammedTile& first = m.tile(t, 0);
    const int32_t rows = first.rows_used;
    const int64_t row0 = first.first_row;
    for (int64_t b = 0; b < batch; ++b) {
      // §4.2 digits of this row tile, slice by slice.
      const int32_t* xb = x + b * x_stride + row0;
      nz_row.clear();
      nz_digit.clear();
      for (int32_t j = 0; j < J; ++j) {
        start[j] = static_cast<int32_t>(nz_row.size());
        const bool signed_top = signed_inputs_ && j == J - 1;
        for (int32_t r = 0; r < rows; ++r) {
          int32_t d = static_cast<int32_t>((static_cast<uint32_t>(xb[r]) >> (D * j)) & digit_mask);
          if (signed_top && (d >> (D - 1)) != 0) d -= 1 << D;
          if (d != 0) {
            nz_row.push_back(r);
            nz_digit.push_back(d);
          }
        }
      }
      start[J] = static_cast<int32_t>(nz_row.size());
      for (int64_t u = 0; u < m.column_tiles(); ++u) {
        const ProgrammedTile& tile = m.tile(t, u);
        const int32_t cols = tile.columns_used, width = 2 * cols;
        const int32_t* codes = tile_codes_[t * m.column_tiles() + u].data();
        sums.resize(static_cast<size_t>(width));
        column_acc.assign(static_cast<size_t>(width), 0);
        for (int32_t j = 0; j < J; ++j) {
          // §5.1: S = sum over the driven rows of d * code, exact in int32.
          std::fill(sums.begin(), sums.end(), 0);
          int32_t* s = sums.data();
          for (int32_t k = start[j]; k < start[j + 1]; ++k) {
            const int32_t* row = codes + static_cast<int64_t>(nz_row[k]) * width;
            const int32_t d = nz_digit[k];
            if (d == 1) {
              for (int32_t c = 0; c < width; ++c) s[c] += row[c];
            } else if (d == -1) {
              for (int32_t c = 0; c < width; ++c) s[c] -= row[c];
            } else {
              for (int32_t c = 0; c < width; ++c) s[c] += d * row[c];
            }
          }
          // §5.2 and the slice weight 2^(D j) of §6.1.
          const int64_t slice_weight = int64_t{1} << (D * j);
          int64_t* acc = column_acc.data();
          for (int32_t c = 0; c < width; ++c) {
            const int32_t v = s[c];
            const int32_t rounded = (v >> shift) + ((v >> half_bit) & round_mask);
            high += rounded > hi;
            low += rounded < lo;
            const int32_t code = rounded > hi ? hi : (rounded < lo ? lo : rounded);
            acc[c] += static_cast<int64_t>(code) * slice_weight;
          }
        }
        // §6.1: cell significance 2^(K i), positive minus negative, Sat_W;
        // §6.3: accumulate in row-tile order.
        int64_t* yb = y + b * y_stride + tile.first_output;
        for (int32_t n = 0; n < tile.outputs_used; ++n) {
          int64_t v = 0;  // exact: |v| < 2^62 (§6.2)
          for (int32_t i = 0; i < P; ++i) {
            v += (column_acc[n * P + i] - column_acc[cols + n * P + i]) * (int64_t{1} << (K * i));
          }
          bool sat_tile = false, sat_acc = false;
          v = emulator::SaturateToSignedBits(v, params.accumulator_bits, &sat_tile);
          yb[n] = emulator::SaturatingAddSignedBits(yb[n], v, params.accumulator_bits, &sat_acc);
          acc_sats += sat_tile + sat_acc;
        }
        stats->adc.conversions += static_cast<int64_t>(J) * width;
      }
    }
  }
  stats->adc.saturated_high += high;
  stats->adc.saturated_low += low;
  stats->accumulator_saturations += acc_sats;
}

}  // namespace nftcim::firmware
