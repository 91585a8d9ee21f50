#ifndef NFTCIM_FIRMWARE_MODEL_MODEL_H_
#define NFTCIM_FIRMWARE_MODEL_MODEL_H_

// A deployable model (formats/deployable_model.proto) loaded and validated
// into the plain integer structures the firmware runs. Nothing that passed
// CompiledModel::FromProto can make the sequencer fail: every index, shape,
// range and constant was checked here, and an error names the file, the
// layer and the field (docs/firmware-model.md, "Validation").

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "emulator/hardware_config.h"
#include "emulator/periphery.h"
#include "formats/deployable_model.pb.h"

namespace nftcim::firmware {

inline constexpr uint32_t kDeployableModelVersion = 1;

enum class LayerKind { kConv, kLinear, kMaxPool, kAvgPool, kFlatten, kResidualAdd };

// Per-image shape of an activation tensor, stored height x width x
// channels (channels fastest).
struct TensorShape {
  int32_t channels = 0;
  int32_t height = 0;
  int32_t width = 0;
  int64_t size() const { return int64_t{channels} * height * width; }
};

struct Layer {
  LayerKind kind = LayerKind::kConv;
  std::string name;
  // Producer of the input (-1: the network input); input_b: the second
  // input of a residual add (-1 otherwise).
  int32_t input = -1;
  int32_t input_b = -1;
  TensorShape in_shape;
  TensorShape out_shape;
  formats::ActivationType out_type = formats::ACTIVATION_TYPE_UNSPECIFIED;
  emulator::OutputRange out_range;
  double out_scale = 0;  // reporting only

  // --- CONV / LINEAR ---
  int32_t kernel = 1, stride = 1, padding = 0;
  uint32_t crossbar_layer = 0;
  bool signed_inputs = false;
  int64_t matrix_rows = 0;
  int64_t matrix_outputs = 0;
  // matrix_rows x matrix_outputs signed weight codes (§2.2).
  std::vector<int16_t> weight_codes;
  int32_t adc_shift = 0;
  // Per output channel (§7.2); range = the output type.
  std::vector<emulator::Requantization> requant;

  // --- RESIDUAL_ADD (§7.5) ---
  int32_t multiplier_a = 0, multiplier_b = 0, residual_shift = 0;

  // --- AVGPOOL (§7.6) ---
  int32_t pool_multiplier = 0, pool_shift = 0;

  bool uses_crossbar() const { return kind == LayerKind::kConv || kind == LayerKind::kLinear; }
  // MVM batch entries per image: output positions (1 for linear).
  int64_t positions() const { return int64_t{out_shape.height} * out_shape.width; }
};

class CompiledModel {
 public:
  // `origin` (a file name) prefixes every error.
  static absl::StatusOr<CompiledModel> FromProto(const formats::DeployableModel& proto,
                                                 const std::string& origin);
  // Reads a binary (or text, by extension) DeployableModel file.
  static absl::StatusOr<CompiledModel> Load(const std::string& path);

  const formats::DeployableModel& proto() const { return proto_; }
  const emulator::HardwareParams& params() const { return params_; }
  int32_t in_channels() const { return in_channels_; }
  int32_t input_size() const { return input_size_; }
  int32_t num_classes() const { return num_classes_; }
  int64_t image_size() const { return int64_t{in_channels_} * input_size_ * input_size_; }
  const std::vector<Layer>& layers() const { return layers_; }
  // The first layer's pixel map (§7.7), per input channel.
  const std::vector<int32_t>& pixel_k() const { return pixel_k_; }
  const std::vector<int64_t>& pixel_offset() const { return pixel_offset_; }
  int32_t pixel_shift() const { return pixel_shift_; }
  // Real value of one logit code (for EKL at report time).
  double logit_scale() const { return layers_.back().out_scale; }
  // Indices of the crossbar layers, in crossbar_layer order.
  const std::vector<int32_t>& crossbar_layers() const { return crossbar_layers_; }

 private:
  formats::DeployableModel proto_;
  emulator::HardwareParams params_;
  int32_t in_channels_ = 0, input_size_ = 0, num_classes_ = 0;
  std::vector<Layer> layers_;
  std::vector<int32_t> pixel_k_;
  std::vector<int64_t> pixel_offset_;
  int32_t pixel_shift_ = 0;
  std::vector<int32_t> crossbar_layers_;
};

// The output range of an activation type for A-bit activations (§7.3).
emulator::OutputRange RangeOf(formats::ActivationType type, int activation_bits);

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_MODEL_H_
