#include "emulator/crossbar.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/exact_gemm.h"
#include "emulator/fixed_point.h"
#include "util/parallel.h"

namespace nftcim::emulator {
namespace {

// Inputs per GEMM in the fast path: J * 128 x R slice matrices and
// J * 128 x 2C column sums stay in the L2 cache.
constexpr int64_t kChunk = 128;

// §9.2: float represents every integer of magnitude <= 2^24, double <= 2^53.
constexpr int64_t kFloatExact = int64_t{1} << 24;
constexpr int64_t kDoubleExact = int64_t{1} << 53;

constexpr ArraySide kSides[2] = {ArraySide::kPositive, ArraySide::kNegative};

// The digit of slice j (§4.2), given the slice's bit offset.
inline int32_t SliceDigit(int32_t x, int32_t shift, int32_t dac_bits, bool signed_top) {
  int32_t d = static_cast<int32_t>((static_cast<uint32_t>(x) >> shift) & ((1u << dac_bits) - 1));
  if (signed_top && (d >> (dac_bits - 1)) != 0) d -= 1 << dac_bits;
  return d;
}

// §5.2 on one column sum, counting into `stats`.
inline int32_t Convert(int32_t s, int32_t shift, int32_t lo, int32_t hi, AdcStats& stats) {
  ++stats.conversions;
  const int64_t v = RoundHalfUpShift(s, shift);
  if (v > hi) {
    ++stats.saturated_high;
    return hi;
  }
  if (v < lo) {
    ++stats.saturated_low;
    return lo;
  }
  return static_cast<int32_t>(v);
}

absl::Status ValidateMvm(const HardwareParams& params, const ProgrammedTile& tile,
                         const MvmOptions& options, const int32_t* x, int64_t x_stride,
                         int64_t batch, const int64_t* y, int64_t y_stride) {
  if (options.adc_shift < 0 || options.adc_shift > 31) {
    return absl::InvalidArgumentError(
        absl::StrCat("adc_shift must be in 0..31, got ", options.adc_shift));
  }
  if (params.lossless_adc() && options.adc_shift != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "adc_shift must be 0 with a lossless ADC (adc_bits = 0), got ", options.adc_shift));
  }
  if (!params.lossless_adc() && params.adc_shift_policy == formats::ADC_SHIFT_FIXED &&
      options.adc_shift != params.adc_shift) {
    return absl::InvalidArgumentError(absl::StrCat(
        "adc_shift_policy is ADC_SHIFT_FIXED with adc_shift ", params.adc_shift,
        "; a layer cannot use adc_shift ", options.adc_shift));
  }
  if (options.num_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_threads must be >= 1, got ", options.num_threads));
  }
  const int32_t P = params.cells_per_weight;
  const size_t cells = static_cast<size_t>(tile.rows_used) * tile.columns_used;
  if (tile.rows_used < 1 || tile.rows_used > params.array_rows || tile.outputs_used < 1 ||
      tile.outputs_used > params.outputs_per_tile || tile.columns_used != tile.outputs_used * P ||
      tile.positive.size() != cells || tile.negative.size() != cells) {
    return absl::InvalidArgumentError(absl::StrCat(
        "programmed tile (", tile.rows_used, " rows, ", tile.outputs_used, " outputs, ",
        tile.columns_used, " columns) does not fit this hardware config"));
  }
  if (batch < 0) return absl::InvalidArgumentError(absl::StrCat("batch must be >= 0, got ", batch));
  if (batch == 0) return absl::OkStatus();
  if (x == nullptr || y == nullptr || x_stride < tile.rows_used || y_stride < tile.outputs_used) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MVM needs inputs with x_stride >= rows_used (", tile.rows_used,
        ") and outputs with y_stride >= outputs_used (", tile.outputs_used, "), got ", x_stride,
        " and ", y_stride));
  }
  const int32_t lo = InputMin(params, options.signed_inputs);
  const int32_t hi = InputMax(params, options.signed_inputs);
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t* xb = x + b * x_stride;
    for (int32_t r = 0; r < tile.rows_used; ++r) {
      if (xb[r] < lo || xb[r] > hi) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input ", xb[r], " (batch ", b, ", row ", r, ") is outside the ",
            options.signed_inputs ? "signed " : "unsigned ", params.activation_bits,
            "-bit range ", lo, "..", hi));
      }
    }
  }
  return absl::OkStatus();
}

// Lossless fast path (§9.2): with code = S, the shift-and-add collapses to
// y = x . Weff, Weff[r][n] = sum_i 2^(K i) (pos - neg) (slices recombine to
// x exactly). One double GEMM when every partial sum is an integer below
// 2^53; plain int64 loops otherwise.
void LosslessFast(const HardwareParams& params, const ProgrammedTile& tile,
                  const MvmOptions& options, const int32_t* x, int64_t x_stride, int64_t batch,
                  int64_t* y, int64_t y_stride, MvmStats* stats) {
  const int32_t rows = tile.rows_used, outs = tile.outputs_used, cols = tile.columns_used;
  const int32_t P = params.cells_per_weight;
  std::vector<int64_t> weff(static_cast<size_t>(rows) * outs);
  int64_t max_weff = 0;
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t n = 0; n < outs; ++n) {
      int64_t w = 0;
      for (int32_t i = 0; i < P; ++i) {
        const int32_t c = n * P + i;
        w += (static_cast<int64_t>(tile.positive[r * cols + c]) - tile.negative[r * cols + c]) *
             (int64_t{1} << (params.cell_bits * i));
      }
      weff[r * outs + n] = w;
      max_weff = std::max(max_weff, w < 0 ? -w : w);
    }
  }
  const int64_t max_x = std::max<int64_t>(-static_cast<int64_t>(InputMin(params, options.signed_inputs)),
                                          InputMax(params, options.signed_inputs));
  const bool use_double =
      static_cast<__int128>(rows) * max_x * max_weff <= static_cast<__int128>(kDoubleExact);
  std::vector<double> wd;
  if (use_double) wd.assign(weff.begin(), weff.end());
  std::vector<MvmStats> worker(static_cast<size_t>(options.num_threads));
  ParallelFor(batch, options.num_threads, [&](int64_t begin, int64_t end, int w) {
    MvmStats& s = worker[w];
    std::vector<double> xd, yd;
    for (int64_t b0 = begin; b0 < end; b0 += kChunk) {
      const int64_t bc = std::min(kChunk, end - b0);
      if (use_double) {
        xd.resize(static_cast<size_t>(bc * rows));
        yd.resize(static_cast<size_t>(bc * outs));
        for (int64_t b = 0; b < bc; ++b) {
          for (int32_t r = 0; r < rows; ++r) xd[b * rows + r] = x[(b0 + b) * x_stride + r];
        }
        GemmRowMajor(xd.data(), wd.data(), yd.data(), bc, rows, outs);
      }
      for (int64_t b = 0; b < bc; ++b) {
        const int32_t* xb = x + (b0 + b) * x_stride;
        for (int32_t n = 0; n < outs; ++n) {
          int64_t acc;
          if (use_double) {
            acc = static_cast<int64_t>(yd[b * outs + n]);  // an exact integer
          } else {
            acc = 0;  // |acc| <= TileOutputBound < 2^62 (§6.2)
            for (int32_t r = 0; r < rows; ++r) acc += xb[r] * weff[r * outs + n];
          }
          bool saturated = false;
          y[(b0 + b) * y_stride + n] = SaturateToSignedBits(acc, params.accumulator_bits, &saturated);
          s.accumulator_saturations += saturated;
        }
      }
      // The hardware still converts every column of every slice (§5.4).
      s.adc.conversions += bc * params.num_slices * 2 * cols;
    }
  });
  if (use_double) {
    ++stats->double_gemm_calls;
  } else {
    ++stats->integer_calls;
  }
  for (const MvmStats& s : worker) stats->Add(s);
}

// ADC fast path (§9.2): per chunk of inputs, all slices' column sums of both
// arrays as one GEMM of slice digits (J*bc x rows) by codes (rows x 2C),
// exact in T, then the per-column ADC and the shift-and-add in integers.
template <typename T>
void AdcFast(const HardwareParams& params, const ProgrammedTile& tile, const MvmOptions& options,
             const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y, int64_t y_stride,
             MvmStats* stats) {
  const int32_t rows = tile.rows_used, outs = tile.outputs_used, cols = tile.columns_used;
  const int32_t P = params.cells_per_weight, J = params.num_slices, D = params.dac_bits;
  // rows x 2C: the positive array's columns, then the negative array's.
  const int32_t width = 2 * cols;
  std::vector<T> codes(static_cast<size_t>(rows) * width);
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t c = 0; c < cols; ++c) {
      codes[r * width + c] = static_cast<T>(tile.positive[r * cols + c]);
      codes[r * width + cols + c] = static_cast<T>(tile.negative[r * cols + c]);
    }
  }
  // §5.2 as branch-free integer steps (vectorizable): round half up by
  // adc_shift, then clamp to [adc_min, adc_max].
  const int32_t shift = options.adc_shift;
  const int32_t half_bit = shift > 0 ? shift - 1 : 0;
  const int32_t round_mask = shift > 0 ? 1 : 0;
  const int32_t lo = params.adc_min, hi = params.adc_max;
  std::vector<MvmStats> worker(static_cast<size_t>(options.num_threads));
  ParallelFor(batch, options.num_threads, [&](int64_t begin, int64_t end, int w) {
    MvmStats& s = worker[w];
    std::vector<T> digits(static_cast<size_t>(J * kChunk * rows));
    std::vector<T> sums(static_cast<size_t>(J * kChunk * width));
    // Per column of both arrays: sum_j 2^(D j) * ADC(S_j), exact in int64.
    std::vector<int64_t> column_acc(static_cast<size_t>(width));
    std::vector<int32_t> adc_codes(static_cast<size_t>(width));
    for (int64_t b0 = begin; b0 < end; b0 += kChunk) {
      const int64_t bc = std::min(kChunk, end - b0);
      // §4.2 digits: row (j * bc + b) holds slice j of input b.
      for (int32_t j = 0; j < J; ++j) {
        const uint32_t signed_top = options.signed_inputs && j == J - 1 ? 1u : 0u;
        const uint32_t mask = (1u << D) - 1;
        for (int64_t b = 0; b < bc; ++b) {
          const int32_t* xb = x + (b0 + b) * x_stride;
          T* row = digits.data() + (j * bc + b) * rows;
          for (int32_t r = 0; r < rows; ++r) {
            const uint32_t d = (static_cast<uint32_t>(xb[r]) >> (D * j)) & mask;
            // Signed top slice: subtract 2^D when the digit's top bit is set.
            const int32_t negative = static_cast<int32_t>(((d >> (D - 1)) & signed_top) << D);
            row[r] = static_cast<T>(static_cast<int32_t>(d) - negative);
          }
        }
      }
      // §5.1 column sums of every slice and both arrays: (J*bc x rows) x
      // (rows x 2C), exact (§9.2).
      GemmRowMajor(digits.data(), codes.data(), sums.data(), J * bc, rows, width);
      for (int64_t b = 0; b < bc; ++b) {
        std::fill(column_acc.begin(), column_acc.end(), 0);
        int32_t high = 0, low = 0;  // at most J * 2C each
        for (int32_t j = 0; j < J; ++j) {
          const T* row = sums.data() + (j * bc + b) * width;
          for (int32_t col = 0; col < width; ++col) {
            const int32_t sum = static_cast<int32_t>(row[col]);  // exact, |sum| < 2^31
            const int32_t rounded = (sum >> shift) + ((sum >> half_bit) & round_mask);
            high += rounded > hi;
            low += rounded < lo;
            adc_codes[col] = rounded > hi ? hi : (rounded < lo ? lo : rounded);
          }
          const int64_t slice_weight = int64_t{1} << (D * j);
          for (int32_t col = 0; col < width; ++col) column_acc[col] += adc_codes[col] * slice_weight;
        }
        s.adc.conversions += static_cast<int64_t>(J) * width;
        s.adc.saturated_high += high;
        s.adc.saturated_low += low;
        // §6.1: cell significance 2^(K i), positive minus negative.
        for (int32_t n = 0; n < outs; ++n) {
          int64_t acc = 0;  // exact: |acc| < 2^62 (§6.2)
          for (int32_t i = 0; i < P; ++i) {
            acc += (column_acc[n * P + i] - column_acc[cols + n * P + i]) *
                   (int64_t{1} << (params.cell_bits * i));
          }
          bool saturated = false;
          y[(b0 + b) * y_stride + n] = SaturateToSignedBits(acc, params.accumulator_bits, &saturated);
          s.accumulator_saturations += saturated;
        }
      }
    }
  });
  for (const MvmStats& s : worker) stats->Add(s);
}

}  // namespace

int32_t InputMin(const HardwareParams& params, bool signed_inputs) {
  return signed_inputs ? -(1 << (params.activation_bits - 1)) : 0;
}

int32_t InputMax(const HardwareParams& params, bool signed_inputs) {
  return signed_inputs ? (1 << (params.activation_bits - 1)) - 1
                       : (1 << params.activation_bits) - 1;
}

int32_t InputSlice(const HardwareParams& params, int32_t x, int32_t slice, bool signed_inputs) {
  return SliceDigit(x, params.dac_bits * slice, params.dac_bits,
                    signed_inputs && slice == params.num_slices - 1);
}

int32_t AdcConvert(const HardwareParams& params, int32_t column_sum, int32_t adc_shift,
                   AdcStats* stats) {
  AdcStats local;
  const int32_t code = params.lossless_adc()
                           ? (++local.conversions, column_sum)
                           : Convert(column_sum, adc_shift, params.adc_min, params.adc_max, local);
  if (stats != nullptr) stats->Add(local);
  return code;
}

int32_t AdcShiftForColumnSum(const HardwareParams& params, int64_t max_abs_column_sum) {
  if (params.lossless_adc()) return 0;
  const int64_t m = max_abs_column_sum < 0 ? -max_abs_column_sum : max_abs_column_sum;
  for (int32_t s = 0; s < 31; ++s) {
    const bool high_ok = RoundHalfUpShift(m, s) <= params.adc_max;
    const bool low_ok =
        params.adc_range == formats::ADC_UNIPOLAR || RoundHalfUpShift(-m, s) >= params.adc_min;
    if (high_ok && low_ok) return s;
  }
  return 31;
}

int64_t ColumnSumBound(const HardwareParams& params, int32_t rows_used) {
  return static_cast<int64_t>(rows_used) * ((int64_t{1} << params.dac_bits) - 1) *
         (int64_t{1} << (params.conductance_code_bits - 1));
}

int64_t TileOutputBound(const HardwareParams& params, int32_t rows_used, bool signed_inputs) {
  // sum_i 2^(K i) = (2^M - 1) / (2^K - 1).
  const __int128 significance = params.max_magnitude / params.max_level;
  __int128 bound;
  if (params.lossless_adc()) {
    // y = sum_r x_r * Weff_r with |Weff| <= significance * 2 * 2^(G-1).
    const __int128 max_x = std::max<int64_t>(-static_cast<int64_t>(InputMin(params, signed_inputs)),
                                             InputMax(params, signed_inputs));
    bound = static_cast<__int128>(rows_used) * max_x * significance *
            (int64_t{1} << params.conductance_code_bits);
  } else {
    // Two arrays, sum_j 2^(D j) = (2^A - 1) / (2^D - 1), |code| <= max(|lo|, hi).
    const __int128 slice_weights =
        ((int64_t{1} << params.activation_bits) - 1) / ((int64_t{1} << params.dac_bits) - 1);
    const __int128 max_code = std::max<int64_t>(-static_cast<int64_t>(params.adc_min), params.adc_max);
    bound = 2 * significance * slice_weights * max_code;
  }
  return bound > std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::max()
                                                     : static_cast<int64_t>(bound);
}

bool AccumulationCannotSaturate(const HardwareParams& params, int64_t matrix_rows,
                                bool signed_inputs) {
  const int64_t full = matrix_rows / params.array_rows;
  const int32_t rest = static_cast<int32_t>(matrix_rows % params.array_rows);
  __int128 total = static_cast<__int128>(full) *
                   TileOutputBound(params, params.array_rows, signed_inputs);
  if (rest > 0) total += TileOutputBound(params, rest, signed_inputs);
  return total <= params.accumulator_max;
}

MvmOptions DefaultMvmOptions(const HardwareParams& params) {
  MvmOptions options;
  options.adc_shift = params.adc_shift;
  return options;
}

absl::Status CrossbarMvmReference(const HardwareParams& params, const ProgrammedTile& tile,
                                  const MvmOptions& options, const int32_t* x, int64_t x_stride,
                                  int64_t batch, int64_t* y, int64_t y_stride, MvmStats* stats) {
  if (absl::Status s = ValidateMvm(params, tile, options, x, x_stride, batch, y, y_stride);
      !s.ok()) {
    return s;
  }
  const int32_t rows = tile.rows_used, cols = tile.columns_used;
  const int32_t P = params.cells_per_weight, J = params.num_slices;
  MvmStats local;
  std::vector<int32_t> digits(static_cast<size_t>(J) * rows);
  for (int64_t b = 0; b < batch; ++b) {
    // §4.2: the DAC digits of every row, slice by slice.
    for (int32_t j = 0; j < J; ++j) {
      for (int32_t r = 0; r < rows; ++r) {
        digits[j * rows + r] = InputSlice(params, x[b * x_stride + r], j, options.signed_inputs);
      }
    }
    for (int32_t n = 0; n < tile.outputs_used; ++n) {
      // §6.1, in int64: exact, |acc| < 2^62 (§6.2).
      int64_t acc = 0;
      for (ArraySide side : kSides) {
        const int64_t sign = side == ArraySide::kPositive ? 1 : -1;
        const int16_t* code = tile.codes(side).data();
        for (int32_t i = 0; i < P; ++i) {
          const int32_t c = n * P + i;
          for (int32_t j = 0; j < J; ++j) {
            // §5.1: the column sum, an exact int32 (|S| <= ColumnSumBound
            // < 2^31 by validation).
            int32_t column_sum = 0;
            for (int32_t r = 0; r < rows; ++r) column_sum += digits[j * rows + r] * code[r * cols + c];
            // §5.2.
            const int32_t adc = AdcConvert(params, column_sum, options.adc_shift, &local.adc);
            // §6.1: slice weight 2^(D j), cell significance 2^(K i).
            acc += sign * adc * (int64_t{1} << (params.cell_bits * i + params.dac_bits * j));
          }
        }
      }
      // §6.3: the tile output in the W-bit accumulator format.
      bool saturated = false;
      y[b * y_stride + n] = SaturateToSignedBits(acc, params.accumulator_bits, &saturated);
      local.accumulator_saturations += saturated;
    }
  }
  if (stats != nullptr) stats->Add(local);
  return absl::OkStatus();
}

absl::Status CrossbarMvmFast(const HardwareParams& params, const ProgrammedTile& tile,
                             const MvmOptions& options, const int32_t* x, int64_t x_stride,
                             int64_t batch, int64_t* y, int64_t y_stride, MvmStats* stats) {
  if (absl::Status s = ValidateMvm(params, tile, options, x, x_stride, batch, y, y_stride);
      !s.ok()) {
    return s;
  }
  if (batch == 0) return absl::OkStatus();
  MvmStats local;
  if (params.lossless_adc()) {
    LosslessFast(params, tile, options, x, x_stride, batch, y, y_stride, &local);
  } else {
    // Every partial sum of a column sum is bounded by rows * max|digit| *
    // max|code|; float is exact when that is <= 2^24, double always (< 2^31).
    const int64_t max_digit = (int64_t{1} << params.dac_bits) - 1;
    const int64_t bound = static_cast<int64_t>(tile.rows_used) * max_digit * tile.MaxAbsCode();
    if (bound <= kFloatExact) {
      AdcFast<float>(params, tile, options, x, x_stride, batch, y, y_stride, &local);
      ++local.float_gemm_calls;
    } else {
      AdcFast<double>(params, tile, options, x, x_stride, batch, y, y_stride, &local);
      ++local.double_gemm_calls;
    }
  }
  if (stats != nullptr) stats->Add(local);
  return absl::OkStatus();
}

}  // namespace nftcim::emulator
