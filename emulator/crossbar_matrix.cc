#include "emulator/crossbar_matrix.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "emulator/fixed_point.h"

namespace nftcim::emulator {

absl::StatusOr<ProgrammedMatrix> ProgramMatrix(const HardwareParams& params,
                                               const CellStdCodes& std_codes,
                                               const WeightMatrixView& weights,
                                               const ProgrammingKey& key, int num_threads,
                                               ProgrammingStats* stats) {
  if (weights.codes == nullptr || weights.rows < 1 || weights.outputs < 1 ||
      weights.stride < weights.outputs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weight matrix needs codes, rows >= 1, outputs >= 1 and stride >= outputs; got ",
        weights.rows, " x ", weights.outputs, ", stride ", weights.stride));
  }
  ProgrammedMatrix m;
  m.rows_ = weights.rows;
  m.outputs_ = weights.outputs;
  m.row_tiles_ = (weights.rows + params.array_rows - 1) / params.array_rows;
  m.column_tiles_ = (weights.outputs + params.outputs_per_tile - 1) / params.outputs_per_tile;
  m.tiles_.reserve(static_cast<size_t>(m.row_tiles_ * m.column_tiles_));
  for (int64_t t = 0; t < m.row_tiles_; ++t) {
    for (int64_t u = 0; u < m.column_tiles_; ++u) {
      TileWeightsView view;
      view.first_row = t * params.array_rows;
      view.first_output = u * params.outputs_per_tile;
      view.rows_used =
          static_cast<int32_t>(std::min<int64_t>(params.array_rows, weights.rows - view.first_row));
      view.outputs_used = static_cast<int32_t>(
          std::min<int64_t>(params.outputs_per_tile, weights.outputs - view.first_output));
      view.stride = weights.stride;
      view.codes = weights.codes + view.first_row * weights.stride + view.first_output;
      absl::StatusOr<ProgrammedTile> tile =
          ProgramCells(params, std_codes, view, key, num_threads, stats);
      if (!tile.ok()) {
        return absl::Status(tile.status().code(),
                            absl::StrCat("tile (", t, ", ", u, "): ", tile.status().message()));
      }
      m.tiles_.push_back(*std::move(tile));
    }
  }
  return m;
}

absl::Status MatrixMvm(const HardwareParams& params, const ProgrammedMatrix& matrix,
                       const MvmOptions& options, const int32_t* x, int64_t x_stride,
                       int64_t batch, int64_t* y, int64_t y_stride, MvmPath path,
                       MvmStats* stats) {
  if (batch < 0) return absl::InvalidArgumentError(absl::StrCat("batch must be >= 0, got ", batch));
  if (batch == 0) return absl::OkStatus();
  if (x == nullptr || y == nullptr || x_stride < matrix.rows() || y_stride < matrix.outputs()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matrix MVM needs x_stride >= rows (", matrix.rows(), ") and y_stride >= outputs (",
        matrix.outputs(), "), got ", x_stride, " and ", y_stride));
  }
  for (int64_t b = 0; b < batch; ++b) {
    std::fill(y + b * y_stride, y + b * y_stride + matrix.outputs(), 0);
  }
  MvmStats local;
  std::vector<int64_t> partial;
  for (int64_t u = 0; u < matrix.column_tiles(); ++u) {
    // Row tiles in increasing order: with saturation, the order is part of
    // the result (§6.3).
    for (int64_t t = 0; t < matrix.row_tiles(); ++t) {
      const ProgrammedTile& tile = matrix.tile(t, u);
      partial.resize(static_cast<size_t>(batch) * tile.outputs_used);
      const int32_t* xt = x + tile.first_row;
      absl::Status s =
          path == MvmPath::kReference
              ? CrossbarMvmReference(params, tile, options, xt, x_stride, batch, partial.data(),
                                     tile.outputs_used, &local)
              : CrossbarMvmFast(params, tile, options, xt, x_stride, batch, partial.data(),
                                tile.outputs_used, &local);
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat("tile (", t, ", ", u, "): ", s.message()));
      }
      for (int64_t b = 0; b < batch; ++b) {
        int64_t* yb = y + b * y_stride + tile.first_output;
        const int64_t* pb = partial.data() + b * tile.outputs_used;
        for (int32_t n = 0; n < tile.outputs_used; ++n) {
          bool saturated = false;
          yb[n] = SaturatingAddSignedBits(yb[n], pb[n], params.accumulator_bits, &saturated);
          local.accumulator_saturations += saturated;
        }
      }
    }
  }
  if (stats != nullptr) stats->Add(local);
  return absl::OkStatus();
}

}  // namespace nftcim::emulator
