#include "trainer/variation.h"

#include "device_model/random.h"
#include "rng/philox.h"
#include "device_model/weight_noise.h"
#include "trainer/nn/parallel.h"

namespace nftcim::trainer {
namespace {

// Draws are split into pieces of this many Philox blocks (4 normals each), so
// both cores share even one large layer.
constexpr int64_t kBlocksPerPiece = 4096;

struct Piece {
  size_t param;
  int64_t first_block;
  int64_t blocks;
};

}  // namespace

StandardNormalDraw DrawStandardNormals(const std::vector<nn::Parameter*>& params,
                                       uint64_t seed, NoisePurpose purpose, uint64_t a,
                                       uint64_t b) {
  StandardNormalDraw draw;
  draw.z.resize(params.size());
  std::vector<rng::PhiloxStream> streams;
  std::vector<Piece> pieces;
  for (size_t p = 0; p < params.size(); ++p) {
    streams.emplace_back(seed, device::StreamId({static_cast<uint64_t>(purpose), a, b, p}));
    if (!params[p]->device_mapped) continue;
    const int64_t n = params[p]->value.size();
    const int64_t blocks = (n + 3) / 4;
    draw.z[p].resize(static_cast<size_t>(4 * blocks));  // padded to whole blocks
    for (int64_t first = 0; first < blocks; first += kBlocksPerPiece) {
      pieces.push_back({p, first, std::min(kBlocksPerPiece, blocks - first)});
    }
  }
  nn::ParallelForEach(static_cast<int64_t>(pieces.size()), [&](int64_t i) {
    const Piece& piece = pieces[i];
    device::FillStandardNormal(streams[piece.param], piece.first_block, piece.blocks,
                               draw.z[piece.param].data() + 4 * piece.first_block);
  });
  return draw;
}

void NoisyWeights::Build(const std::vector<nn::Parameter*>& params,
                         const device::DeviceModel& device, const StandardNormalDraw& draw,
                         uint64_t cell_seed) {
  storage_.resize(params.size());
  overrides_.assign(params.size(), nullptr);
  if (device.sigma() == 0 && !device.has_nonidealities()) return;
  std::vector<size_t> mapped;
  std::vector<uint32_t> layer_of(params.size(), 0);
  uint32_t crossbar_layer = 0;
  for (size_t p = 0; p < params.size(); ++p) {
    if (params[p]->device_mapped) layer_of[p] = crossbar_layer++;
    if (params[p]->device_mapped && !draw.z[p].empty()) mapped.push_back(p);
  }
  nn::ParallelForEach(static_cast<int64_t>(mapped.size()), [&](int64_t i) {
    const size_t p = mapped[i];
    const nn::Tensor& w = params[p]->value;
    storage_[p].Resize(w.shape());
    if (!device.has_nonidealities()) {
      device::ApplyVariationWithNormals(device, w.data(), w.size(), draw.z[p].data(),
                                        storage_[p].data());
      return;
    }
    device::LayerCells cells;
    cells.layer = layer_of[p];
    cells.outputs = w.ndim() > 0 ? w.dim(0) : 1;
    cells.seed = cell_seed;
    device::ApplyDeviceWithNormals(device, w.data(), w.size(), draw.z[p].data(), cells,
                                   storage_[p].data());
  });
  for (size_t p : mapped) overrides_[p] = &storage_[p];
}

}  // namespace nftcim::trainer
