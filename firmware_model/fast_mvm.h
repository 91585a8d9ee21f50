#ifndef NFTCIM_FIRMWARE_MODEL_FAST_MVM_H_
#define NFTCIM_FIRMWARE_MODEL_FAST_MVM_H_

// The firmware model's fast path for one programmed layer matrix: the same
// integers and the same counters as emulator::MatrixMvm (docs/hardware-spec.md
// §4 to §6), bit for bit, computed layer-wide with work prepared once per
// programming (one Monte Carlo run) instead of once per call:
//
//  - Lossless ADC (§9.2): the tile output is sum_r x_r Weff_r,n with
//    Weff = sum_i 2^(K i) (code_+ - code_-). The effective weights of the
//    whole matrix are built once, as doubles; every partial sum of one row
//    tile is an integer of magnitude <= R * 2^(A-1)... < 2^53, so a double
//    GEMM per row tile is exact, and when the compiler's proof of §6.3 holds
//    (AccumulationCannotSaturate) one GEMM over all rows is the exact layer
//    output. Otherwise the per-tile sums are saturated and accumulated in
//    row-tile order exactly as §6.3 says.
//  - B-bit ADC: the column sums of §5.1 are formed the way a bit-serial array
//    forms them: only rows whose digit is non-zero contribute, so each slice
//    j of input vector b adds d * code-row over the rows with d_j != 0 (int32,
//    exact, §5.1 bound); then §5.2 per column and §6.1 shift-and-add. Post-ReLU
//    activations are small, so most high-order digits are 0 and this does a
//    fraction of the work of a dense digit GEMM.
//
// Tested against emulator::MatrixMvm (reference and fast) in
// fast_mvm_test.cc and, on whole networks, in sequencer_test.cc.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "emulator/crossbar.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/hardware_config.h"

namespace nftcim::firmware {

class FastMatrix {
 public:
  // Prepares `matrix` (which must outlive this object) for MVMs with inputs
  // of the given signedness.
  static FastMatrix Build(const emulator::HardwareParams& params,
                          const emulator::ProgrammedMatrix& matrix, bool signed_inputs);

  // y[b * y_stride + n] for n < outputs, b < batch: the same values and the
  // same `stats` increments as emulator::MatrixMvm with these options. Inputs
  // must be in their A-bit range (not re-checked: the sequencer produces
  // them with the periphery's clamps); options.num_threads is ignored (the
  // caller parallelises over images).
  void Mvm(const emulator::HardwareParams& params, const emulator::MvmOptions& options,
           const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y, int64_t y_stride,
           emulator::MvmStats* stats) const;

  // The lossless path for inputs already converted to double (the
  // sequencer's im2col writes them so): x is batch x rows, contiguous.
  bool lossless_single_gemm() const { return lossless_single_gemm_; }
  void LosslessMvmDouble(const emulator::HardwareParams& params, const double* x, int64_t batch,
                         int64_t* y, int64_t y_stride, emulator::MvmStats* stats) const;

  int64_t rows() const { return rows_; }
  int64_t outputs() const { return outputs_; }

 private:
  void LosslessMvm(const emulator::HardwareParams& params, const int32_t* x, int64_t x_stride,
                   int64_t batch, int64_t* y, int64_t y_stride, emulator::MvmStats* stats) const;
  void AdcMvm(const emulator::HardwareParams& params, const emulator::MvmOptions& options,
              const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y, int64_t y_stride,
              emulator::MvmStats* stats) const;

  const emulator::ProgrammedMatrix* matrix_ = nullptr;
  int64_t rows_ = 0, outputs_ = 0;
  bool signed_inputs_ = false;
  bool lossless_ = false;
  // Lossless and §6.3 proves no saturation: one GEMM is the layer output.
  bool lossless_single_gemm_ = false;
  // Lossless: rows x outputs effective weights.
  std::vector<double> weff_;
  // B > 0: per tile (row-tile major), rows_used x (2 * columns_used) codes
  // as int32, the positive array's columns first.
  std::vector<std::vector<int32_t>> tile_codes_;
};

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_FAST_MVM_H_
