#ifndef NFTCIM_FIRMWARE_MODEL_PROGRAMMED_MODEL_H_
#define NFTCIM_FIRMWARE_MODEL_PROGRAMMED_MODEL_H_

// One variation instance of a whole deployed model: every crossbar layer's
// arrays programmed with device variation (docs/hardware-spec.md §2, §3),
// keyed by (seed, layer, array, row, column) through the emulator's
// ProgramMatrix, so the codes are a pure function of the seed and the model
// (not of threads or order). One Monte Carlo run programs once and runs the
// whole test set on the same instance (nft-spec.md section 1), from any
// number of threads: a ProgrammedModel is read-only after Program().

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "device_model/device_model.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/programming.h"
#include "firmware_model/fast_mvm.h"
#include "firmware_model/model.h"

namespace nftcim::firmware {

struct ProgramOptions {
  // The 64-bit seed of the variation instance (ProgrammingKey.seed).
  uint64_t seed = 0;
  // Threads inside each tile's programming (any count gives the same codes).
  int num_threads = 1;
  // Also prepare the fast path's per-run data (effective weights / code
  // rows); the reference path does not need it.
  bool prepare_fast_path = true;
};

// The order in which the fast path lays out a layer's unrolled inputs:
// GEMM row k = (ky * KW + kx) * C + c holds matrix row (c * KH + ky) * KW + kx
// (§2.2), so that each kernel position's channels are one contiguous run of
// the HWC activations. Empty (the matrix order) for a linear layer.
std::vector<int64_t> GemmRowOrder(const Layer& layer);

class ProgrammedModel {
 public:
  // Programs every crossbar layer of `model` (which must outlive the
  // result) for `device` (its bits must equal the hardware's). `stats`
  // (optional) receives the programming counters (§5.4).
  static absl::StatusOr<ProgrammedModel> Program(const CompiledModel& model,
                                                 const device::DeviceModel& device,
                                                 const ProgramOptions& options,
                                                 emulator::ProgrammingStats* stats);

  ProgrammedModel(ProgrammedModel&&) = default;
  ProgrammedModel& operator=(ProgrammedModel&&) = default;
  ProgrammedModel(const ProgrammedModel&) = delete;
  ProgrammedModel& operator=(const ProgrammedModel&) = delete;

  const CompiledModel& model() const { return *model_; }
  uint64_t seed() const { return seed_; }
  bool has_fast_path() const { return !fast_.empty(); }
  // The programmed matrix of crossbar layer `layer` (an index into
  // model().layers(), which must use the crossbar).
  const emulator::ProgrammedMatrix& matrix(int layer) const { return *matrices_[slot_[layer]]; }
  const FastMatrix& fast(int layer) const { return fast_[slot_[layer]]; }

  // §3.9 global drift compensation of crossbar layer `layer`: alpha in
  // Q16.16 (2^16 when the device has no compensated drift), and the layer's
  // requantization with alpha folded in (the model's own otherwise).
  uint32_t compensation_q16(int layer) const { return compensation_q16_[slot_[layer]]; }
  const std::vector<emulator::Requantization>& requant(int layer) const;

  // A fingerprint of the instance for tests and golden manifests: FNV-1a 64
  // (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the bytes
  // of every conductance code, each as 16-bit two's complement, low byte
  // first; crossbar layers in order, tiles row-tile-major (t, then u), per
  // tile the positive array then the negative one, each row-major over its
  // used rows and columns (column = output * P + cell). gpos.hex and
  // gneg.hex hold the same codes in layer-matrix order.
  uint64_t CodeChecksum() const;

 private:
  ProgrammedModel() = default;
  const CompiledModel* model_ = nullptr;
  uint64_t seed_ = 0;
  std::vector<int> slot_;  // per layer: index into matrices_, or -1
  // unique_ptr: FastMatrix keeps a pointer to its matrix.
  std::vector<std::unique_ptr<emulator::ProgrammedMatrix>> matrices_;
  std::vector<FastMatrix> fast_;
  std::vector<uint32_t> compensation_q16_;                       // per slot
  std::vector<std::vector<emulator::Requantization>> requant_;  // per slot; empty = model's
};

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_PROGRAMMED_MODEL_H_
