#include "firmware_model/programmed_model.h"

#include "absl/strings/str_cat.h"
#include "rng/fnv1a.h"

namespace nftcim::firmware {

std::vector<int64_t> GemmRowOrder(const Layer& l) {
  std::vector<int64_t> order;
  if (l.kind != LayerKind::kConv) return order;
  const int64_t k = l.kernel, c = l.in_shape.channels;
  order.resize(static_cast<size_t>(l.matrix_rows));
  for (int64_t ky = 0; ky < k; ++ky) {
    for (int64_t kx = 0; kx < k; ++kx) {
      for (int64_t ch = 0; ch < c; ++ch) order[(ky * k + kx) * c + ch] = (ch * k + ky) * k + kx;
    }
  }
  return order;
}

absl::StatusOr<ProgrammedModel> ProgrammedModel::Program(const CompiledModel& model,
                                                         const device::DeviceModel& device,
                                                         const ProgramOptions& options,
                                                         emulator::ProgrammingStats* stats) {
  const emulator::HardwareParams& params = model.params();
  absl::StatusOr<emulator::CellStdCodes> std_codes = emulator::MakeCellStdCodes(params, device);
  if (!std_codes.ok()) return std_codes.status();
  ProgrammedModel pm;
  pm.model_ = &model;
  pm.seed_ = options.seed;
  pm.slot_.assign(model.layers().size(), -1);
  for (int32_t index : model.crossbar_layers()) {
    const Layer& l = model.layers()[index];
    emulator::WeightMatrixView view;
    view.codes = l.weight_codes.data();
    view.rows = l.matrix_rows;
    view.outputs = l.matrix_outputs;
    view.stride = l.matrix_outputs;
    emulator::ProgrammingKey key;
    key.seed = options.seed;
    key.layer = l.crossbar_layer;
    absl::StatusOr<emulator::ProgrammedMatrix> m =
        emulator::ProgramMatrix(params, *std_codes, view, key, options.num_threads, stats);
    if (!m.ok()) {
      return absl::Status(m.status().code(), absl::StrCat("programming layer '", l.name, "': ",
                                                          m.status().message()));
    }
    pm.slot_[index] = static_cast<int>(pm.matrices_.size());
    pm.matrices_.push_back(std::make_unique<emulator::ProgrammedMatrix>(*std::move(m)));
  }
  if (options.prepare_fast_path) {
    for (int32_t index : model.crossbar_layers()) {
      const Layer& l = model.layers()[index];
      pm.fast_.push_back(FastMatrix::Build(params, *pm.matrices_[pm.slot_[index]], l.signed_inputs,
                                           GemmRowOrder(l),
                                           l.kind == LayerKind::kConv ? l.kernel : 1));
    }
  }
  return pm;
}

uint64_t ProgrammedModel::CodeChecksum() const {
  rng::Fnv1a64 h;
  for (const auto& m : matrices_) {
    for (int64_t t = 0; t < m->row_tiles(); ++t) {
      for (int64_t u = 0; u < m->column_tiles(); ++u) {
        const emulator::ProgrammedTile& tile = m->tile(t, u);
        for (int16_t c : tile.positive) h.UpdateLittleEndian(static_cast<uint16_t>(c), 2);
        for (int16_t c : tile.negative) h.UpdateLittleEndian(static_cast<uint16_t>(c), 2);
      }
    }
  }
  return h.value();
}

}  // namespace nftcim::firmware
