#ifndef NFTCIM_DEVICE_MODEL_DEVICE_MODEL_H_
#define NFTCIM_DEVICE_MODEL_DEVICE_MODEL_H_

// The NVM device model of nft-spec.md section 1, written once for the trainer
// (which draws weight noise from it) and the emulator (which programs cell
// conductances with it). docs/device-model.md states it normatively.
//
//   q      = round(|w| / W_max * (2^M - 1))              weight magnitude code
//   g_i    = (q >> (K*i)) & (2^K - 1),  i = 0 .. M/K - 1  cell levels
//   g'_i   = g_i + dg_i,  dg_i ~ N(0, (sigma_eff * (2^K - 1) * s(g_i))^2)
//   w'     = sign(w) * W_max / (2^M - 1) * sum_i g'_i * 2^(K*i)
//
// s(level) is the state factor of the preset for intermediate levels
// (0 < level < 2^K - 1) and 1 for the extreme levels; sigma_eff = sigma /
// sqrt(0.4 s^2 + 0.6) for state-dependent presets and sigma otherwise.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/device_model.pb.h"

namespace nftcim::device {

// Drift exponent nu ~ N(mean, std^2) clipped at 0 when drift is on and
// neither is given: typical doped-GST mushroom PCM (hardware-spec §3.8).
inline constexpr double kDefaultDriftNuMean = 0.05;
inline constexpr double kDefaultDriftNuStd = 0.02;

// Parses a preset name as written on command lines ("gaussian", "rram1",
// "FeFET2", ...; case-insensitive).
absl::StatusOr<formats::DevicePreset> ParsePreset(absl::string_view name);
std::string PresetName(formats::DevicePreset preset);
// The state factor s of a preset (1 for GAUSSIAN and RRAM1).
double PresetStateFactor(formats::DevicePreset preset);

class DeviceModel {
 public:
  // Validates and fills defaults (0 bits = 8 / 2, UNSPECIFIED = GAUSSIAN).
  static absl::StatusOr<DeviceModel> FromProto(const formats::DeviceModel& proto);
  static absl::StatusOr<DeviceModel> Create(int weight_bits, int cell_bits, double sigma,
                                            formats::DevicePreset preset);

  // The normalised proto (defaults filled in).
  formats::DeviceModel ToProto() const;

  // The same device at another sigma (same bits and preset).
  DeviceModel WithSigma(double sigma) const;

  int weight_bits() const { return weight_bits_; }
  int cell_bits() const { return cell_bits_; }
  int cells_per_weight() const { return weight_bits_ / cell_bits_; }
  // 2^K - 1, the highest conductance level of one cell.
  int max_level() const { return (1 << cell_bits_) - 1; }
  // 2^M - 1, the largest weight magnitude code.
  int64_t max_magnitude() const { return (int64_t{1} << weight_bits_) - 1; }
  // 2^(K*i): the weight of cell i in the shift-and-add.
  int64_t CellSignificance(int cell) const { return int64_t{1} << (cell_bits_ * cell); }

  double sigma() const { return sigma_; }

  // Non-idealities beyond programming variation (docs/device-model.md
  // "Non-idealities"; the integer procedures are in nonideal.h). All off by
  // default.
  double read_noise() const { return nonideal_.read_noise(); }
  formats::ReadNoiseGranularity read_noise_granularity() const {
    return nonideal_.read_noise_granularity();
  }
  // t and t0 in seconds; drift is active when t > t0.
  double drift_seconds() const { return nonideal_.drift_seconds(); }
  double drift_t0_seconds() const { return nonideal_.drift_t0_seconds(); }
  double drift_nu_mean() const { return nonideal_.drift_nu_mean(); }
  double drift_nu_std() const { return nonideal_.drift_nu_std(); }
  bool drift_active() const { return drift_seconds() > drift_t0_seconds(); }
  bool drift_compensation() const { return nonideal_.drift_compensation(); }
  double stuck_at_low_rate() const { return nonideal_.stuck_at_low_rate(); }
  double stuck_at_high_rate() const { return nonideal_.stuck_at_high_rate(); }
  bool has_stuck_at() const { return stuck_at_low_rate() > 0 || stuck_at_high_rate() > 0; }
  // Any effect that changes a cell's mean conductance (stuck-at, drift): the
  // trainer then draws per cell instead of one Gaussian per weight.
  bool has_cell_effects() const { return has_stuck_at() || drift_active(); }
  bool has_nonidealities() const { return has_cell_effects() || read_noise() > 0; }

  // The same device without any non-ideality (bits, sigma and preset kept).
  DeviceModel WithoutNonidealities() const;
  formats::DevicePreset preset() const { return preset_; }
  double state_factor() const { return state_factor_; }
  // sigma after the preset's normalisation.
  double effective_sigma() const { return effective_sigma_; }

  bool IsIntermediateLevel(int level) const { return level > 0 && level < max_level(); }

  // Standard deviation of one cell's conductance deviation when programmed
  // to `level`, in units of one level step (so level 3 +- this).
  double CellStdInLevels(int level) const;

  // q = round(|w| / W_max * (2^M - 1)), rounding half away from zero,
  // clamped to [0, 2^M - 1]; computed in double. W_max <= 0 gives 0.
  int64_t QuantizeMagnitude(double w, double w_max) const;

  // Cell levels of magnitude code q, least significant cell first.
  std::vector<int> SplitIntoCells(int64_t q) const;

  // Standard deviation of the weight represented by a weight of magnitude
  // code q (all its cells programmed, each with its own variation), in units
  // of W_max: sqrt(sum_i (2^(K i) * CellStdInLevels(g_i))^2) / (2^M - 1).
  double WeightStdOverWmax(int64_t q) const { return weight_std_over_wmax_[q]; }

  // Closed form for a level-independent device (s = 1):
  // sigma * (2^K - 1) * sqrt(sum_i 4^(K i)) / (2^M - 1); 0.77763 * sigma for
  // M = 8, K = 2.
  double UniformWeightStdOverWmax() const;

 private:
  DeviceModel() = default;
  void BuildTables();

  int weight_bits_ = 8;
  int cell_bits_ = 2;
  double sigma_ = 0;
  formats::DevicePreset preset_ = formats::GAUSSIAN;
  double state_factor_ = 1;
  double effective_sigma_ = 0;
  std::vector<double> weight_std_over_wmax_;
  // Only the non-ideality fields (5..14) are used, normalised.
  formats::DeviceModel nonideal_;
};

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_DEVICE_MODEL_H_
