#include "device_model/weight_noise.h"

#include <cmath>
#include <vector>

namespace nftcim::device {

float MaxAbs(const float* w, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(w[i]));
  return m;
}

void ApplyVariationWithNormals(const DeviceModel& device, const float* w, int64_t n,
                               const float* z, float* out) {
  const float w_max = MaxAbs(w, n);
  if (w_max == 0 || device.sigma() == 0) {
    for (int64_t i = 0; i < n; ++i) out[i] = w[i];
    return;
  }
  // The std of every magnitude code, in weight units, once per call.
  const int64_t codes = device.max_magnitude() + 1;
  std::vector<float> std_of_code(static_cast<size_t>(codes));
  for (int64_t q = 0; q < codes; ++q) {
    std_of_code[q] = static_cast<float>(device.WeightStdOverWmax(q) * w_max);
  }
  // Same arithmetic as DeviceModel::QuantizeMagnitude, in double so both
  // parts of the project agree on every boundary.
  const double scale = static_cast<double>(device.max_magnitude()) / w_max;
  const double top = static_cast<double>(device.max_magnitude());
  for (int64_t i = 0; i < n; ++i) {
    double r = std::floor(std::fabs(static_cast<double>(w[i])) * scale + 0.5);
    if (r > top) r = top;
    out[i] = w[i] + z[i] * std_of_code[static_cast<int64_t>(r)];
  }
}

void ApplyVariation(const DeviceModel& device, const float* w, int64_t n,
                    const rng::PhiloxStream& stream, float* scratch, float* out) {
  if (device.sigma() == 0) {
    for (int64_t i = 0; i < n; ++i) out[i] = w[i];
    return;
  }
  StandardNormals(stream, n, scratch);
  ApplyVariationWithNormals(device, w, n, scratch, out);
}

}  // namespace nftcim::device
