#ifndef NFTCIM_EMULATOR_CROSSBAR_MATRIX_H_
#define NFTCIM_EMULATOR_CROSSBAR_MATRIX_H_

// A whole layer matrix on tiles (docs/hardware-spec.md §2.2, §6.3): the
// entry point for the network compiler. A convolution is a matrix of
// in_channels * kh * kw rows (row r = (c * kh + ky) * kw + kx, PyTorch's
// weight layout) and out_channels outputs, its input the unrolled patches
// (one batch entry per image and output position); a linear layer is a
// matrix of in_features rows.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "emulator/crossbar.h"
#include "emulator/hardware_config.h"
#include "emulator/programming.h"

namespace nftcim::emulator {

// The layer's integer weights: codes[r * stride + n] = SignedWeightCode of
// row r (input) and output n, rows x outputs.
struct WeightMatrixView {
  const int16_t* codes = nullptr;
  int64_t rows = 0;
  int64_t outputs = 0;
  int64_t stride = 0;
};

// §2.2: row tile t holds matrix rows [t R, (t+1) R), column tile u holds
// outputs [u O, (u+1) O) with O = floor(C / P); the last tiles of each kind
// may be partly used.
class ProgrammedMatrix {
 public:
  int64_t rows() const { return rows_; }
  int64_t outputs() const { return outputs_; }
  int64_t row_tiles() const { return row_tiles_; }
  int64_t column_tiles() const { return column_tiles_; }
  const ProgrammedTile& tile(int64_t row_tile, int64_t column_tile) const {
    return tiles_[row_tile * column_tiles_ + column_tile];
  }

 private:
  friend absl::StatusOr<ProgrammedMatrix> ProgramMatrix(const HardwareParams&,
                                                        const CellStdCodes&,
                                                        const WeightMatrixView&,
                                                        const ProgrammingKey&, int,
                                                        ProgrammingStats*);
  int64_t rows_ = 0;
  int64_t outputs_ = 0;
  int64_t row_tiles_ = 0;
  int64_t column_tiles_ = 0;
  std::vector<ProgrammedTile> tiles_;  // row-tile major
};

// Programs every tile of a layer (ProgramCells on each; `num_threads`
// threads inside each tile; identical for any count).
absl::StatusOr<ProgrammedMatrix> ProgramMatrix(const HardwareParams& params,
                                               const CellStdCodes& std_codes,
                                               const WeightMatrixView& weights,
                                               const ProgrammingKey& key, int num_threads,
                                               ProgrammingStats* stats);

enum class MvmPath { kReference, kFast };

// §6.3: y[b * y_stride + n] for every output n of the matrix: the row tiles'
// outputs for input vector b (x[b * x_stride + r], r < rows) summed in
// increasing row-tile order in the W-bit accumulator,
//   acc = Sat_W(acc + tile_output),  acc starting at 0,
// each tile output being already Sat_W (§6.1). `stats` (optional) is added
// to; accumulator_saturations counts both kinds of clamping.
absl::Status MatrixMvm(const HardwareParams& params, const ProgrammedMatrix& matrix,
                       const MvmOptions& options, const int32_t* x, int64_t x_stride,
                       int64_t batch, int64_t* y, int64_t y_stride, MvmPath path,
                       MvmStats* stats);

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_CROSSBAR_MATRIX_H_
