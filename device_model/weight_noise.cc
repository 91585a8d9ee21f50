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

void ApplyDeviceWithNormals(const DeviceModel& device, const float* w, int64_t n,
                            const float* z, const LayerCells& cells, float* out,
                            int activation_bits, int dac_bits) {
  if (!device.has_nonidealities()) {
    ApplyVariationWithNormals(device, w, n, z, out);
    return;
  }
  const float w_max = MaxAbs(w, n);
  if (w_max == 0 || cells.outputs <= 0 || n % cells.outputs != 0) {
    ApplyVariationWithNormals(device, w, n, z, out);
    return;
  }
  const int64_t rows = n / cells.outputs;
  const int P = device.cells_per_weight();
  const int L = device.max_level();
  const StuckAtThresholds stuck = MakeStuckAtThresholds(device);
  // FromProto validated the drift fields, so this cannot fail.
  const DriftConstants drift = MakeDriftConstants(device).value_or(DriftConstants());
  double read_var_levels = 0;  // per weight, in (level step x significance)^2
  if (device.read_noise() > 0) {
    double sum_sq = 0;
    for (int i = 0; i < P; ++i) {
      const double sig = static_cast<double>(device.CellSignificance(i));
      sum_sq += sig * sig;
    }
    const double cell = device.read_noise() * L;
    read_var_levels = 2 * cell * cell * sum_sq;
    if (device.read_noise_granularity() != formats::PER_INFERENCE) {
      read_var_levels *= PerSliceVarianceFactor(activation_bits, dac_bits);
    }
  }
  // Pass 1: every weight's mean level sum and variance, and §3.9's totals.
  std::vector<double> mean(static_cast<size_t>(n)), var(static_cast<size_t>(n));
  double nominal_total = 0, drifted_total = 0;
  const double scale = static_cast<double>(device.max_magnitude()) / w_max;
  const double top = static_cast<double>(device.max_magnitude());
  for (int64_t k = 0; k < n; ++k) {
    double r = std::floor(std::fabs(static_cast<double>(w[k])) * scale + 0.5);
    if (r > top) r = top;
    const int64_t q = static_cast<int64_t>(r);
    const bool negative = w[k] < 0 && q > 0;
    const uint32_t row = static_cast<uint32_t>(k % rows);
    const int64_t output = k / rows;
    double m = 0, v = 0;
    for (int i = 0; i < P; ++i) {
      const int g = static_cast<int>((q >> (device.cell_bits() * i)) & L);
      const double sig = static_cast<double>(device.CellSignificance(i));
      const uint32_t column = static_cast<uint32_t>(output * P + i);
      const CellId prog{cells.layer, negative ? kNegativeSide : kPositiveSide, row, column};
      const CellId other{cells.layer, negative ? kPositiveSide : kNegativeSide, row, column};
      double level = 0;
      switch (StuckAtState(stuck, cells.seed, prog)) {
        case CellFault::kStuckLow: level = 0; nominal_total += 0; break;
        case CellFault::kStuckHigh: level = L; nominal_total += L; break;
        case CellFault::kNone: {
          const double f =
              drift.active
                  ? std::ldexp(static_cast<double>(DriftFactorQ30(
                                   drift, DriftExponentQ16(drift, cells.seed, prog))),
                               -30)
                  : 1.0;
          level = g * f;
          const double sd = device.CellStdInLevels(g) * f;
          v += sig * sig * sd * sd;
          nominal_total += g;
          break;
        }
      }
      const double h = StuckAtState(stuck, cells.seed, other) == CellFault::kStuckHigh ? L : 0;
      nominal_total += h;
      drifted_total += level + h;
      m += sig * (level - h);
    }
    mean[k] = m;
    var[k] = v + read_var_levels;
  }
  double alpha = 1;
  if (drift.active && device.drift_compensation() && drifted_total > 0) {
    alpha = nominal_total / drifted_total;
  }
  const double unit = static_cast<double>(w_max) / top;
  for (int64_t k = 0; k < n; ++k) {
    double r = std::floor(std::fabs(static_cast<double>(w[k])) * scale + 0.5);
    if (r > top) r = top;
    const double q = r;
    const double sign = w[k] < 0 && q > 0 ? -1.0 : 1.0;
    // The float weight keeps its quantization residual (straight-through, as
    // for the variation); the hardware's weight, compensated, replaces the
    // quantized one.
    const double hardware = sign * unit * mean[k] + z[k] * unit * std::sqrt(var[k]);
    out[k] = static_cast<float>(w[k] + alpha * hardware - sign * unit * q);
  }
}

}  // namespace nftcim::device
