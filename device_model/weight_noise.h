#ifndef NFTCIM_DEVICE_MODEL_WEIGHT_NOISE_H_
#define NFTCIM_DEVICE_MODEL_WEIGHT_NOISE_H_

// Device variation in the weight domain, as the trainer injects it.
//
// The hardware perturbs each of a weight's M/K cells independently; the sum
// of those Gaussians, weighted by cell significance, is one Gaussian whose
// variance depends on the weight's own quantized cell levels (under
// state-dependent presets). Drawing that one Gaussian per weight is exactly
// the distribution the emulator programs, at a quarter of the cost.

#include <cstdint>

#include "device_model/device_model.h"
#include "device_model/random.h"

namespace nftcim::device {

// max |w| over a layer's weights: the W_max of the quantization.
float MaxAbs(const float* w, int64_t n);

// out[i] = w[i] + z[i] * std_i, std_i = WeightStdOverWmax(q_i) * w_max with
// q_i the magnitude code of w[i] and w_max = MaxAbs(w). `z` holds n standard
// normals (so several forwards can share one draw at different sigmas).
// `out` may alias `w`... but not `z`.
void ApplyVariationWithNormals(const DeviceModel& device, const float* w, int64_t n,
                               const float* z, float* out);

// Same with z drawn from `stream` (element i of the stream for weight i).
// `scratch` must hold n floats (it receives the standard normals).
void ApplyVariation(const DeviceModel& device, const float* w, int64_t n,
                    const rng::PhiloxStream& stream, float* scratch, float* out);

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_WEIGHT_NOISE_H_
