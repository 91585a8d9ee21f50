#include "firmware_model/programmed_model.h"

#include "absl/strings/str_cat.h"
#include "device_model/nonideal.h"
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

namespace {

// §3.9: N (nominal codes, stuck cells at their stuck code) and D (codes at
// time t) over every cell of the layer's used weight positions, both arrays.
void CompensationTotals(const emulator::HardwareParams& params,
                        const emulator::CellStdCodes& std_codes, const Layer& l,
                        const emulator::ProgrammedMatrix& m, uint64_t seed, int64_t* nominal,
                        int64_t* drifted) {
  const int32_t P = params.cells_per_weight;
  emulator::ProgrammingKey key;
  key.seed = seed;
  key.layer = l.crossbar_layer;
  int64_t n_total = 0, d_total = 0;
  for (int64_t r = 0; r < l.matrix_rows; ++r) {
    for (int64_t n = 0; n < l.matrix_outputs; ++n) {
      const int32_t w = l.weight_codes[r * l.matrix_outputs + n];
      const int32_t q = w < 0 ? -w : w;
      for (int32_t i = 0; i < P; ++i) {
        const int32_t level = (q >> (params.cell_bits * i)) & params.max_level;
        const uint32_t column = static_cast<uint32_t>(n * P + i);
        for (emulator::ArraySide side :
             {emulator::ArraySide::kPositive, emulator::ArraySide::kNegative}) {
          const bool programmed = (side == emulator::ArraySide::kNegative) == (w < 0);
          n_total += emulator::NominalCode(params, std_codes, key, side,
                                           static_cast<uint32_t>(r), column,
                                           programmed ? level : 0);
        }
      }
    }
  }
  for (int64_t t = 0; t < m.row_tiles(); ++t) {
    for (int64_t u = 0; u < m.column_tiles(); ++u) {
      const emulator::ProgrammedTile& tile = m.tile(t, u);
      for (int16_t c : tile.positive) d_total += c;
      for (int16_t c : tile.negative) d_total += c;
    }
  }
  *nominal = n_total;
  *drifted = d_total;
}

}  // namespace

const std::vector<emulator::Requantization>& ProgrammedModel::requant(int layer) const {
  const std::vector<emulator::Requantization>& own = requant_[slot_[layer]];
  return own.empty() ? model_->layers()[layer].requant : own;
}

absl::StatusOr<ProgrammedModel> ProgrammedModel::Program(const CompiledModel& model,
                                                         const device::DeviceModel& device,
                                                         const ProgramOptions& options,
                                                         emulator::ProgrammingStats* stats) {
  const emulator::HardwareParams& params = model.params();
  if (device.read_noise() > 0) {
    return absl::UnimplementedError(
        "device model: read_noise > 0 is defined (hardware-spec §3.10) but the emulator does "
        "not apply it yet; evaluate it with //trainer:evaluate");
  }
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
    pm.compensation_q16_.push_back(1u << 16);
    pm.requant_.emplace_back();
    if (device.drift_active() && device.drift_compensation()) {
      int64_t nominal = 0, drifted = 0;
      CompensationTotals(params, *std_codes, l, *pm.matrices_.back(), options.seed, &nominal,
                         &drifted);
      const uint32_t alpha = device::DriftCompensationQ16(nominal, drifted);
      std::vector<int32_t> mult, shift, bias;
      for (const emulator::Requantization& q : l.requant) {
        mult.push_back(q.multiplier);
        shift.push_back(q.shift);
        bias.push_back(q.bias);
      }
      if (absl::Status s = device::FoldCompensation(alpha, static_cast<int64_t>(mult.size()),
                                                    mult.data(), shift.data(), bias.data());
          !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("layer '", l.name, "': ", s.message()));
      }
      std::vector<emulator::Requantization> folded = l.requant;
      for (size_t n = 0; n < folded.size(); ++n) {
        folded[n].multiplier = mult[n];
        folded[n].shift = shift[n];
        folded[n].bias = bias[n];
      }
      pm.compensation_q16_.back() = alpha;
      pm.requant_.back() = std::move(folded);
    }
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
