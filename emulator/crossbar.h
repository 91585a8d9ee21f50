#ifndef NFTCIM_EMULATOR_CROSSBAR_H_
#define NFTCIM_EMULATOR_CROSSBAR_H_

// One tile's matrix-vector products: bit-sliced inputs (§4), analog column
// sums (§5.1), ADCs (§5.2), digital shift-and-add of slices and cell
// significances, positive minus negative array (§6.1), saturation to the
// accumulator width (§6.3). Section numbers: docs/hardware-spec.md.
//
// Two implementations with bit-identical results:
//  - CrossbarMvmReference follows the spec's loops literally (the golden
//    model of the golden model; slow);
//  - CrossbarMvmFast computes the same integers with GEMMs that are provably
//    exact (§9.2), threaded over the batch.

#include <cstdint>

#include "absl/status/status.h"
#include "emulator/hardware_config.h"
#include "emulator/programming.h"

namespace nftcim::emulator {

// --- Inputs (§4) ---

// Range of a crossbar input: unsigned 0 .. 2^A - 1, signed
// -2^(A-1) .. 2^(A-1) - 1.
int32_t InputMin(const HardwareParams& params, bool signed_inputs);
int32_t InputMax(const HardwareParams& params, bool signed_inputs);

// §4.2: the value the DAC applies in slice j (j = 0 is the least
// significant): digit d_j = bits D*j .. D*j + D - 1 of x's A-bit two's
// complement pattern, unsigned, except that for signed inputs the top slice
// (j = J - 1) is a signed D-bit digit (d - 2^D when its top bit is set).
// Then x = sum_j d_j * 2^(D*j) exactly.
int32_t InputSlice(const HardwareParams& params, int32_t x, int32_t slice, bool signed_inputs);

// --- ADC (§5.2) ---

struct AdcStats {
  int64_t conversions = 0;     // column conversions performed
  int64_t saturated_high = 0;  // clamped to the top code
  int64_t saturated_low = 0;   // clamped to the bottom code

  void Add(const AdcStats& o) {
    conversions += o.conversions;
    saturated_high += o.saturated_high;
    saturated_low += o.saturated_low;
  }
};

// §5.2: code = clamp(round_half_up(S / 2^adc_shift), adc_min, adc_max), or
// code = S for a lossless ADC (adc_bits = 0, adc_shift = 0). Counts into
// *stats when given.
int32_t AdcConvert(const HardwareParams& params, int32_t column_sum, int32_t adc_shift,
                   AdcStats* stats);

// §5.3: the smallest shift (0 .. 31) at which every column sum of magnitude
// <= max_abs_column_sum converts without saturating (at the high end; and at
// the low end for a bipolar ADC). 0 for a lossless ADC.
int32_t AdcShiftForColumnSum(const HardwareParams& params, int64_t max_abs_column_sum);

// --- Bounds (§5.1, §6.2, §6.3) ---

// Worst-case |column sum| with rows_used rows: rows_used * (2^D - 1) *
// 2^(G-1) (< 2^31 by validation).
int64_t ColumnSumBound(const HardwareParams& params, int32_t rows_used);

// Worst-case |tile output| before saturation (§6.2), for any codes the
// configuration allows. Always < 2^62, so the int64 shift-and-add is exact.
int64_t TileOutputBound(const HardwareParams& params, int32_t rows_used, bool signed_inputs);

// §6.3: true when summing the tiles of a `matrix_rows`-row layer matrix
// (ceil(rows / R) row tiles) can never saturate the W-bit accumulator, so
// the result is the exact sum. The compiler's "proof" for a layer.
bool AccumulationCannotSaturate(const HardwareParams& params, int64_t matrix_rows,
                                bool signed_inputs);

// --- Matrix-vector products ---

struct MvmOptions {
  // s_adc of this layer (§5.3); must be 0 for a lossless ADC and equal to
  // the config's adc_shift under ADC_SHIFT_FIXED.
  int32_t adc_shift = 0;
  // Inputs are signed A-bit two's complement (first layer, residual inputs)
  // rather than unsigned (§4.1).
  bool signed_inputs = false;
  // Threads over the batch (fast path only; any count gives the same result).
  int num_threads = 1;
};

// Options with the configuration's default shift.
MvmOptions DefaultMvmOptions(const HardwareParams& params);

struct MvmStats {
  AdcStats adc;
  // Tile outputs clamped to the W-bit accumulator range (§6.3).
  int64_t accumulator_saturations = 0;
  // Which exact kernel the fast path used, per call (§9.2).
  int64_t float_gemm_calls = 0;
  int64_t double_gemm_calls = 0;
  int64_t integer_calls = 0;

  void Add(const MvmStats& o) {
    adc.Add(o.adc);
    accumulator_saturations += o.accumulator_saturations;
    float_gemm_calls += o.float_gemm_calls;
    double_gemm_calls += o.double_gemm_calls;
    integer_calls += o.integer_calls;
  }
};

// Computes y[b * y_stride + n] = Sat_W(tile output n for input vector b)
// for b in 0 .. batch - 1 and n in 0 .. outputs_used - 1, the input vector b
// being x[b * x_stride + r], r in 0 .. rows_used - 1 (§6.1). Errors when an
// input is outside its A-bit range or an option is invalid. `stats`
// (optional) is added to.
absl::Status CrossbarMvmReference(const HardwareParams& params, const ProgrammedTile& tile,
                                  const MvmOptions& options, const int32_t* x, int64_t x_stride,
                                  int64_t batch, int64_t* y, int64_t y_stride, MvmStats* stats);

// Same result, bit for bit, via exact GEMMs (§9.2).
absl::Status CrossbarMvmFast(const HardwareParams& params, const ProgrammedTile& tile,
                             const MvmOptions& options, const int32_t* x, int64_t x_stride,
                             int64_t batch, int64_t* y, int64_t y_stride, MvmStats* stats);

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_CROSSBAR_H_
