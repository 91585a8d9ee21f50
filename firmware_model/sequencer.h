#ifndef NFTCIM_FIRMWARE_MODEL_SEQUENCER_H_
#define NFTCIM_FIRMWARE_MODEL_SEQUENCER_H_

// The layer sequencer ("firmware"): runs a deployed model on a programmed
// instance of its crossbars, image batch by image batch, with the digital
// periphery of docs/hardware-spec.md §7:
//
//   raw uint8 pixels -> §7.7 pixel map (signed A-bit) -> per layer:
//     CONV      §7.8 unrolling with zero padding -> crossbar MVM (§4-§6) ->
//               §7.2 requantization (bias, BatchNorm, ReLU as the output
//               range, §7.3)
//     LINEAR    crossbar MVM -> §7.2 (the last one to int32 logits, §7.9)
//     MAXPOOL   §7.4    AVGPOOL §7.6    FLATTEN (data movement)
//     RESIDUAL_ADD §7.5 with the ReLU as its lower clamp
//   -> int32 logits.
//
// Integer only; embedded style: every buffer is sized once in Create() from
// the model and the batch size (scratch_bytes()), nothing is allocated per
// image, errors are absl::Status (no exceptions). A Sequencer is used by one
// thread; run several over disjoint images for parallelism (results are
// per image, so any partition gives the same logits).
//
// Paths (the MVM only; everything else is shared code):
//   kReference  emulator::MatrixMvm with the reference crossbar loops (§9.1)
//   kTile       emulator::MatrixMvm with the emulator's per-tile fast path
//   kFast       FastMatrix (fast_mvm.h), layer-wide, prepared per programming
// All three give identical logits and counters (sequencer_test.cc).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "emulator/crossbar.h"
#include "firmware_model/model.h"
#include "firmware_model/programmed_model.h"

namespace nftcim::firmware {

enum class Path { kReference, kTile, kFast };

// "reference", "tile", "fast".
absl::StatusOr<Path> ParsePath(const std::string& name);
const char* PathName(Path path);

struct InferenceStats {
  // Crossbar counters (§5.4): ADC conversions and saturations, accumulator
  // saturations.
  emulator::MvmStats mvm;
  // Periphery clamps: §7.2 (t to int32, y to the output type), §7.5, §7.6,
  // §7.7. The ReLU is the lower clamp of a uint output (§7.3), so this
  // counts every negative pre-activation too.
  int64_t periphery_saturations = 0;
  // Activations (A-bit or int16 outputs of crossbar layers and residual
  // adds) equal to the top of their range: clipped at the calibrated full
  // scale (or exactly at it). A diagnostic of calibration under variation.
  int64_t outputs_at_full_scale = 0;
  int64_t images = 0;

  void Add(const InferenceStats& o) {
    mvm.Add(o.mvm);
    periphery_saturations += o.periphery_saturations;
    outputs_at_full_scale += o.outputs_at_full_scale;
    images += o.images;
  }
  int64_t adc_saturations() const { return mvm.adc.saturated_high + mvm.adc.saturated_low; }
};

// §7.2 constants of a crossbar layer as arrays, for the fast path's
// vectorizable epilogue (the reference path calls emulator::Requantize).
struct RequantArrays {
  int32_t pre_shift = 0;
  std::vector<int64_t> bias, shift, shift_less_one, round_mask;
  // int32 (as §7.2 states it): t is clamped to int32 first, so t * m is a
  // 32 x 32 -> 64-bit product.
  std::vector<int32_t> multiplier;
  int64_t lo = 0, hi = 0;
  // |acc| < 2^62 is guaranteed (accumulator width or the layer's bound),
  // which the epilogue's int64 arithmetic needs.
  bool fast_ok = false;
};

// Fills the §7.2 arrays of crossbar layer `l` from `requant` (the model's, or
// a drift-compensated copy).
void FillRequantArrays(const emulator::HardwareParams& hw, const Layer& l,
                       const std::vector<emulator::Requantization>& requant, RequantArrays* out);

class Sequencer {
 public:
  struct Options {
    // Images per Run() call; buffers are sized for it.
    int max_batch = 16;
    Path path = Path::kFast;
    // MVM batch entries (image x output position) per crossbar call; bounds
    // the unrolling buffer to max_mvm_entries x the largest matrix_rows.
    int64_t max_mvm_entries = 1024;
  };

  // `model` must outlive the sequencer.
  static absl::StatusOr<Sequencer> Create(const CompiledModel& model, const Options& options);

  // pixels: n raw images, uint8 NCHW (in_channels x input_size x input_size
  // each, as data::RawDataset stores them); logits: n x num_classes int32.
  // `stats` (optional) is added to. Errors: n outside 1..max_batch, an
  // instance of another model, a fast path without prepared data, or (on
  // the reference path) an emulator error.
  absl::Status Run(const ProgrammedModel& programmed, const uint8_t* pixels, int n,
                   int32_t* logits, InferenceStats* stats);

  // Called before every crossbar MVM with the layer index and the unrolled
  // input batch (batch x matrix_rows int32, row-major); for calibration.
  using MvmInputHook = std::function<void(int layer, const int32_t* x, int64_t batch)>;
  void set_mvm_input_hook(MvmInputHook hook) { hook_ = std::move(hook); }

  // Layer `layer`'s output of the last Run: n x out_size int32, each image
  // height x width x channels (channels fastest).
  const int32_t* layer_output(int layer) const { return outputs_[layer].data(); }

  int64_t scratch_bytes() const { return scratch_bytes_; }
  const Options& options() const { return options_; }

 private:
  Sequencer() = default;
  absl::Status RunCrossbarLayer(const ProgrammedModel& pm, int index, const int32_t* in, int n,
                                InferenceStats* stats);

  const CompiledModel* model_ = nullptr;
  Options options_;
  MvmInputHook hook_;
  std::vector<RequantArrays> requant_;         // per layer (crossbar layers only)
  // Per layer: the arrays of a drift-compensated instance (§3.9).
  struct Compensated {
    const ProgrammedModel* instance = nullptr;
    uint64_t seed = 0;
    uint32_t alpha = 0;
    RequantArrays arrays;
  };
  std::vector<Compensated> compensated_;
  std::vector<double> acc_double_;             // max_mvm_entries x max outputs
  std::vector<uint8_t> cols_u8_;               // max_mvm_entries x max padded rows
  std::vector<uint8_t> in_u8_;                 // max_batch x largest (padded) layer input, bytes
  std::vector<int64_t> row_offset_;            // max_mvm_entries: GEMM rows read in place
  std::vector<int32_t> gemm_scratch_;          // the int8 GEMM's partial sums
  FastMvmScratch fast_scratch_;                // FastMatrix::Mvm's working memory
  std::vector<int32_t> input_;                 // max_batch x image, HWC
  std::vector<std::vector<int32_t>> outputs_;  // per layer: max_batch x out_size
  std::vector<int32_t> cols_;                  // max_mvm_entries x max rows
  std::vector<double> cols_double_;            // the same, for the double GEMM
  std::vector<int64_t> acc_;                   // max_mvm_entries x max outputs
  int64_t scratch_bytes_ = 0;
};

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_SEQUENCER_H_
