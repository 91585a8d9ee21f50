#ifndef NFTCIM_TRAINER_VARIATION_H_
#define NFTCIM_TRAINER_VARIATION_H_

// Device variation for one forward pass: noisy copies of every
// device-mapped weight (convolution and linear weights; never biases or
// BatchNorm), drawn from the shared device model (device_model/), keyed by a
// counter-based stream so a draw depends on (seed, purpose, step, forward,
// parameter, element) only, never on the thread count.

#include <cstdint>
#include <vector>

#include "device_model/device_model.h"
#include "trainer/nn/network.h"

namespace nftcim::trainer {

// What a variation draw is for; part of the stream key so training and
// evaluation never reuse each other's noise.
enum class NoisePurpose : uint64_t {
  kTrainBackbone = 1,
  kTrainFeedback = 2,
  kTrainIrsHead = 3,
  kEvaluate = 4,
  // The firmware compiler's activation calibration under variation.
  kCalibrate = 5,
};

// Standard normals, one vector per parameter (empty for parameters that are
// not device-mapped). Element i of parameter p is element i of the Philox
// stream (seed, StreamId({purpose, a, b, p})).
struct StandardNormalDraw {
  std::vector<std::vector<float>> z;
};

StandardNormalDraw DrawStandardNormals(const std::vector<nn::Parameter*>& params,
                                       uint64_t seed, NoisePurpose purpose, uint64_t a,
                                       uint64_t b);

// Noisy weights for one forward, in the form ForwardOptions::weight_override
// takes: one pointer per parameter, null where the clean value is used.
class NoisyWeights {
 public:
  // Fills the overrides from `draw` at the device's sigma (the per-weight std
  // comes from each weight's quantized cell levels, per layer W_max). With
  // sigma == 0 every override is null (the clean weights).
  //
  // With stuck-at faults, drift or read noise in `device` the weights are
  // drawn by device::ApplyDeviceWithNormals (still one normal per weight),
  // the per-cell effects keyed by `cell_seed` with crossbar-layer index =
  // the ordinal of the parameter among the device-mapped ones (the
  // compiler's numbering for networks whose layers run in parameter order).
  void Build(const std::vector<nn::Parameter*>& params, const device::DeviceModel& device,
             const StandardNormalDraw& draw, uint64_t cell_seed = 0);

  const std::vector<const nn::Tensor*>* overrides() const { return &overrides_; }

 private:
  std::vector<nn::Tensor> storage_;
  std::vector<const nn::Tensor*> overrides_;
};

}  // namespace nftcim::trainer

#endif  // NFTCIM_TRAINER_VARIATION_H_
