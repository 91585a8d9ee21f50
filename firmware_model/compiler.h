#ifndef NFTCIM_FIRMWARE_MODEL_COMPILER_H_
#define NFTCIM_FIRMWARE_MODEL_COMPILER_H_

// The network compiler: a trained float model (checkpoint) -> a deployable
// integer model (formats/deployable_model.proto) for a hardware config.
// docs/firmware-model.md states every decision; in short:
//
//  1. Fuse the trainer's layer list (float_graph.h); BatchNorm becomes the
//     per-output-channel scale and offset of §7.2, NOT part of the weights.
//  2. Quantize each conv / linear weight with its own W_max = max |w| and
//     DeviceModel::QuantizeMagnitude (hardware-spec §2.1).
//  3. Calibrate activation scales on the first N training images with the
//     float model: a tensor's full scale is a percentile of |activation|.
//  4. Map each layer matrix onto tiles (§2.2) and prove (or, if allowed,
//     accept) that its accumulation cannot saturate (§6.3).
//  5. Calibrate each layer's ADC full scale from its largest column sum on
//     the calibration images (integer model, no variation), and choose s_adc
//     (§5.3).
//  6. Derive every integer constant: requantization (§7.2), residual add
//     (§7.5), average pool (§7.6), pixel map (§7.7).
// Floating point is used here only; the output is integers (plus doubles
// kept for documentation and re-targeting).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/checkpoint.pb.h"
#include "formats/deployable_model.pb.h"
#include "formats/hardware_config.pb.h"
#include "formats/run_config.pb.h"
#include "trainer/nn/network.h"

namespace nftcim::firmware {

inline constexpr char kCompilerVersion[] = "nftcim-firmware-compiler 1";

struct CompileOptions {
  // The target; validated. Default: the paper's accelerator.
  formats::HardwareConfig hardware;
  // Percentile of |activation| taken as a tensor's full scale (100 = max).
  double calibration_percentile = 99.99;
  // Calibrate under variation: with sigma > 0 the activation statistics pool
  // the clean forward and `calibration_instances` forwards with weights
  // varied at this sigma (the trainer's noise model, seeds from
  // calibration_seed), so that full scales cover what the deployed
  // hardware will see at that sigma. 0: the clean forward only.
  double calibration_sigma = 0;
  int32_t calibration_instances = 4;
  uint64_t calibration_seed = 1;
  // Accept layers whose row-tile accumulation might saturate (§6.3) instead
  // of failing; the saturations are then counted at inference.
  bool allow_accumulator_saturation = false;
  // Provenance.
  std::string checkpoint_path;
  int32_t checkpoint_epochs = 0;
  formats::TrainingMethod training_method;
  formats::DeviceModel training_device;
  uint64_t training_seed = 0;
  std::string data_dir;

  CompileOptions();
};

// What the compiler saw, for people (compile_main prints it).
struct CompileReport {
  // Top-1 agreement of the integer model (no variation, the target
  // hardware) with the float model on the calibration images, in percent.
  double calibration_agreement = 0;
  // One line per deployed layer.
  std::vector<std::string> layer_lines;
  std::vector<std::string> notes;
};

// Compiles `network` (trained weights and BatchNorm statistics loaded) for
// `options.hardware`. `calibration` holds `num_images` raw uint8 images
// (NCHW, the network's input shape); `dataset` gives the normalisation.
absl::StatusOr<formats::DeployableModel> CompileNetwork(trainer::nn::Network& network,
                                                        const formats::Architecture& architecture,
                                                        const formats::DatasetInfo& dataset,
                                                        const uint8_t* calibration,
                                                        int64_t num_images,
                                                        const CompileOptions& options,
                                                        CompileReport* report);

// The same from a checkpoint (rebuilds the network with nn::MakeNetwork and
// loads its tensors); fills the provenance from it.
absl::StatusOr<formats::DeployableModel> CompileCheckpoint(const formats::Checkpoint& checkpoint,
                                                           const uint8_t* calibration,
                                                           int64_t num_images,
                                                           CompileOptions options,
                                                           CompileReport* report);

// The model re-derived for another ADC / accumulator setting of the same
// arrays: `hardware` may differ from the model's only in adc_bits,
// adc_range, adc_shift_policy, adc_shift and accumulator_bits. Every layer's
// s_adc is chosen again from its calibrated_max_column_sum (§5.3) and its
// §7.2 constants from the stored real-valued factors. (What --adc_bits of
// //emulator:emulate does.)
absl::StatusOr<formats::DeployableModel> RetargetHardware(const formats::DeployableModel& model,
                                                          const formats::HardwareConfig& hardware);

// --- Constant choices, exposed for tests ---

// m / 2^s ~= ratio with |m| in [2^30, 2^31) when s fits 0..62 (§7.2):
// InvalidArgument when |ratio| >= 2^31 (not representable).
struct MultiplierShift {
  int32_t multiplier = 0;
  int32_t shift = 0;
};
absl::StatusOr<MultiplierShift> EncodeMultiplier(double ratio);

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_COMPILER_H_
