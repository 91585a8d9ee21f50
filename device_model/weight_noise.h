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
#include "device_model/nonideal.h"

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

// Where a layer's weights sit in the hardware, for the effects that are
// keyed per cell (stuck-at map, drift exponents; docs/device-model.md
// "The trainer's draw"). The weight tensor is [outputs][rows] row-major in
// the layer-matrix order of hardware-spec §2.2 (PyTorch's layout), so
// weight k is row k % rows of output k / rows.
struct LayerCells {
  uint32_t layer = 0;   // the compiler's crossbar-layer index
  int64_t outputs = 0;  // shape[0] of the weight
  uint64_t seed = 0;    // the variation instance's seed (programming seed)
};

// The full device model in the weight domain: variation, stuck-at faults,
// drift with compensation, and read noise, using one standard normal z[k]
// per weight:
//   out = w - sign * u * q
//         + alpha * (sign * u * sum_i 2^(K i) (m_i - h_i)
//                    + z * u * sqrt(sum_healthy (2^(K i) s(g_i) f_i)^2 + V_read))
// with u = W_max / (2^M - 1), m_i the cell's mean level (0 or L when stuck,
// g_i f_i otherwise, f_i its drift factor in exactly the emulator's Q.30),
// h_i the level of the other array's cell (L when stuck high, else 0),
// alpha the layer's compensation (mean levels, §3.9) and V_read the read
// noise of both arrays' cells (per-slice noise scaled by
// PerSliceVarianceFactor(activation_bits, dac_bits)). Without stuck-at,
// drift and read noise it is exactly ApplyVariationWithNormals.
void ApplyDeviceWithNormals(const DeviceModel& device, const float* w, int64_t n,
                            const float* z, const LayerCells& cells, float* out,
                            int activation_bits = 8, int dac_bits = 1);

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_WEIGHT_NOISE_H_
