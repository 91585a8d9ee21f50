#ifndef NFTCIM_FIRMWARE_MODEL_FAST_MVM_H_
#define NFTCIM_FIRMWARE_MODEL_FAST_MVM_H_

// The firmware model's fast path for one programmed layer matrix: the same
// integers and the same counters as emulator::MatrixMvm (docs/hardware-spec.md
// §4 to §6), bit for bit, computed layer-wide with work prepared once per
// programming (one Monte Carlo run) instead of once per call:
//
//  - Lossless ADC (§9.2): the tile output is sum_r x_r Weff_r,n with
//    Weff = sum_i 2^(K i) (code_+ - code_-). The effective weights of the
//    whole matrix are built once. When the compiler's proof of §6.3 holds
//    (AccumulationCannotSaturate) one exact product over all rows is the
//    layer output: 8-bit dot products (int8_gemm.h) where the CPU has them,
//    else a double GEMM whose partial sums are all integers < 2^53 (checked
//    from the actual max |Weff|). Otherwise exact per-tile sums are
//    saturated and accumulated in row-tile order exactly as §6.3 says.
//  - B-bit ADC: the column sums of §5.1 are formed the way a bit-serial array
//    forms them: only rows whose digit is non-zero contribute, so each slice
//    j of input vector b adds d * code-row over the rows with d_j != 0; then
//    §5.2 per column and §6.1 shift-and-add. Post-ReLU activations are
//    small, so most high-order digits are 0 and this does a fraction of the
//    work of a dense digit GEMM. The paper's configurations run an int16
//    kernel (AdcMvmInt16, below); others a generic int32 one.
//
// Tested against emulator::MatrixMvm (reference and fast) in
// fast_mvm_test.cc and, on whole networks, in sequencer_test.cc.

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "emulator/crossbar.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/hardware_config.h"
#include "firmware_model/int8_gemm.h"

namespace nftcim::firmware {

// Working memory of FastMatrix::Mvm, owned by the caller (one per thread)
// and reused across calls, so that an MVM allocates nothing once the
// buffers have reached their size (Reserve sizes them up front).
struct FastMvmScratch {
  std::vector<int32_t> nz_row, nz_digit, nz_count;  // B-bit ADC: driven rows
  std::vector<double> xd, yd, wd;                   // lossless: GEMM operands
  std::vector<int64_t> partial;                     // lossless: per-tile sums
  std::vector<int32_t> tile_out;                    // B-bit ADC, int16 kernel
  std::vector<uint64_t> driven;                     // B-bit ADC, int16 kernel

  // For MVM batches of up to `batch` vectors of matrices up to `rows` x
  // `outputs`.
  void Reserve(const emulator::HardwareParams& params, int64_t batch, int64_t rows,
               int64_t outputs);
};

class FastMatrix {
 public:
  // Prepares `matrix` (which must outlive this object) for MVMs with inputs
  // of the given signedness. `gemm_row_order` (optional, a permutation of
  // the matrix rows) is the order in which LosslessMvmDouble takes its
  // inputs: an exact sum does not depend on the order of its terms, so the
  // caller may lay out its unrolled inputs however is cheapest (the
  // sequencer: kernel position major, channels contiguous).
  // `gemm_segments`: the GEMM rows are that many equal runs (a convolution's
  // kernel rows), which the int8 product packs so that each run can be read
  // in place (Int8Gemm::Pack).
  static FastMatrix Build(const emulator::HardwareParams& params,
                          const emulator::ProgrammedMatrix& matrix, bool signed_inputs,
                          const std::vector<int64_t>& gemm_row_order = {},
                          int gemm_segments = 1);

  // y[b * y_stride + n] for n < outputs, b < batch: the same values and the
  // same `stats` increments as emulator::MatrixMvm with these options, for
  // inputs in the matrix's row order. Inputs must be in their A-bit range
  // (not re-checked: the sequencer produces them with the periphery's
  // clamps); options.num_threads is ignored (the caller parallelises over
  // images).
  void Mvm(const emulator::HardwareParams& params, const emulator::MvmOptions& options,
           const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y, int64_t y_stride,
           emulator::MvmStats* stats, FastMvmScratch* scratch) const;

  // Lossless, §6.3 proven: the layer output is one exact GEMM.
  bool lossless_single_gemm() const { return lossless_single_gemm_; }
  // That GEMM for inputs already converted to double and laid out in
  // gemm_row_order (x: batch x rows, contiguous): y (batch x outputs,
  // contiguous) receives the exact integer outputs as doubles. Only when
  // lossless_single_gemm().
  void LosslessMvmDouble(const emulator::HardwareParams& params, const double* x, int64_t batch,
                         double* y, emulator::MvmStats* stats) const;

  // The same product with 8-bit dot-product instructions (int8_gemm.h),
  // when the build has them, the inputs have at most 8 bits and the
  // effective weights fit three bytes; null otherwise. Inputs as uint8 in
  // gemm_row_order, rows padded to int8_gemm()->padded_rows() with zeros,
  // signed inputs offset by +128.
  const Int8Gemm* int8_gemm() const { return int8_ ? &*int8_ : nullptr; }
  // §5.4 counters of one lossless MVM batch (every column of every slice is
  // converted).
  void CountLosslessConversions(const emulator::HardwareParams& params, int64_t batch,
                                emulator::MvmStats* stats) const {
    stats->adc.conversions += batch * params.num_slices * 2 * columns_;
  }

  int64_t rows() const { return rows_; }
  int64_t outputs() const { return outputs_; }
  // B-bit ADC: the int16 kernel (AdcMvmInt16) applies to this matrix; it
  // needs a build with AVX-512BW (Int16AdcSupported).
  bool uses_int16_adc() const { return adc_int16_; }
  static bool Int16AdcSupported();
  const std::vector<int64_t>& gemm_row_order() const { return order_; }

 private:
  void LosslessMvm(const emulator::HardwareParams& params, const int32_t* x, int64_t x_stride,
                   int64_t batch, int64_t* y, int64_t y_stride, emulator::MvmStats* stats,
                   FastMvmScratch* scratch) const;
  void AdcMvm(const emulator::HardwareParams& params, const emulator::MvmOptions& options,
              const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y, int64_t y_stride,
              emulator::MvmStats* stats, FastMvmScratch* scratch) const;

  const emulator::ProgrammedMatrix* matrix_ = nullptr;
  int64_t rows_ = 0, outputs_ = 0;
  bool signed_inputs_ = false;
  bool lossless_ = false;
  // Lossless and §6.3 proves no saturation: one GEMM is the layer output.
  bool lossless_single_gemm_ = false;
  // Used columns of all tiles (for the §5.4 conversion count).
  int64_t columns_ = 0;
  // GEMM row k is matrix row order_[k] (identity when empty).
  std::vector<int64_t> order_;
  // Lossless: rows x outputs effective weights, rows in GEMM order when
  // lossless_single_gemm_, in matrix order otherwise.
  std::vector<double> weff_;
  std::optional<Int8Gemm> int8_;
  // B > 0: per tile (row-tile major), its codes as int32 in column blocks
  // of kBlock columns: block k holds outputs [k * per_block, (k+1) * per_block)
  // of the tile, each as its P positive then P negative cells, zero-padded
  // to kBlock columns; row r of block k at codes[(r * blocks + k) * kBlock].
  // One block of all rows stays in L1 while every input vector is run over
  // it, and a block's column sums fit in registers.
  struct AdcTile {
    int32_t rows_used = 0;
    int32_t outputs_used = 0;
    int32_t columns_used = 0;
    int64_t first_output = 0;
    int32_t blocks = 0;       // the same for every tile (outputs_per_tile)
    int32_t used_blocks = 0;  // blocks holding outputs
    std::vector<int32_t> codes;
    // The same codes as int16, and how many rows' codes can be summed in
    // int16 without overflow (32767 / max |code|; 0: not used).
    std::vector<int16_t> codes16;
    int32_t rows_per_int16_sum = 0;
  };
  static constexpr int32_t kBlock = 64;
  int32_t outputs_per_block_ = 0;
  // The §6.1 slice recombination sum_j 2^(D j) ADC(S_j) fits int32.
  bool int32_recombination_ = false;
  std::vector<AdcTile> adc_tiles_;
  // B-bit ADC with 1-bit DAC, P <= 4, sum_j 2^j |ADC| < 2^15 (e.g. the
  // paper's 8-bit weights in 4 cells with up to an 8-bit bipolar ADC) and
  // unprogrammed cells at exactly 0, on CPUs with AVX-512BW (AdcMvmInt16).
  // A weight occupies one array, so per row and output only one of the two
  // arrays' cell groups is non-zero: the tile stores that group once, with
  // a per-row bit per output saying which array it is in. Per group of 32
  // outputs, codes[row][cell i][32 outputs] (int16) and pos_mask[row].
  struct Adc16Tile {
    int32_t rows_used = 0;
    int32_t outputs_used = 0;
    int32_t columns_used = 0;
    int64_t first_output = 0;
    int32_t groups = 0;             // ceil(outputs_used / 32)
    std::vector<int16_t> codes;     // [group][row][cell][32]
    std::vector<uint32_t> pos_mask;  // [group][row]
    // Rows whose codes sum exactly in int16 (32767 / max|code|), and per
    // array the extreme column sums over all rows (of the positive codes,
    // of the negative ones), from which a shift proves that no conversion
    // can saturate.
    int32_t rows_per_int16_sum = 0;
    // max(0, largest code) and min(0, smallest code): bounds of any sum of
    // n codes are [n * min_code, n * max_code].
    int32_t max_code = 0, min_code = 0;
    int64_t max_column_sum[2] = {0, 0};
    int64_t min_column_sum[2] = {0, 0};
  };
  static constexpr int32_t kLanes16 = 32;
  bool adc_int16_ = false;
  std::vector<Adc16Tile> adc16_tiles_;
  void AdcMvmInt16(const emulator::HardwareParams& params, const emulator::MvmOptions& options,
                   const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                   int64_t y_stride, emulator::MvmStats* stats, FastMvmScratch* scratch) const;
  template <int kP>
  void AdcMvmInt16Impl(const emulator::HardwareParams& params, const emulator::MvmOptions& options,
                       const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                       int64_t y_stride, emulator::MvmStats* stats, FastMvmScratch* scratch) const;
  template <typename Acc>
  void AdcMvmImpl(const emulator::HardwareParams& params, const emulator::MvmOptions& options,
                  const int32_t* x, int64_t x_stride, int64_t batch, int64_t* y,
                  int64_t y_stride, emulator::MvmStats* stats, FastMvmScratch* scratch) const;
};

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_FAST_MVM_H_
