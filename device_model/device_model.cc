#include "device_model/device_model.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace nftcim::device {

absl::StatusOr<formats::DevicePreset> ParsePreset(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "gaussian" || lower == "uniform" || lower.empty()) return formats::GAUSSIAN;
  if (lower == "rram1") return formats::RRAM1;
  if (lower == "fefet2") return formats::FEFET2;
  if (lower == "rram4") return formats::RRAM4;
  if (lower == "fefet6") return formats::FEFET6;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown device preset '", name,
      "'; expected one of gaussian, RRAM1, FeFET2, RRAM4, FeFET6"));
}

std::string PresetName(formats::DevicePreset preset) {
  switch (preset) {
    case formats::RRAM1: return "RRAM1";
    case formats::FEFET2: return "FeFET2";
    case formats::RRAM4: return "RRAM4";
    case formats::FEFET6: return "FeFET6";
    default: return "gaussian";
  }
}

double PresetStateFactor(formats::DevicePreset preset) {
  switch (preset) {
    case formats::FEFET2: return 2;
    case formats::RRAM4: return 4;
    case formats::FEFET6: return 6;
    default: return 1;
  }
}

namespace {

absl::Status FieldError(absl::string_view field, absl::string_view expected, double got) {
  return absl::InvalidArgumentError(
      absl::StrCat("device model: ", field, " must be ", expected, ", got ", got));
}

bool FiniteAtLeastZero(double x) { return std::isfinite(x) && x >= 0; }

// Checks fields 5..14 and copies them, normalised, into *out (only those
// fields are set, so a default proto stays empty).
absl::Status ValidateNonidealities(const formats::DeviceModel& p, formats::DeviceModel* out) {
  if (!FiniteAtLeastZero(p.read_noise())) {
    return FieldError("read_noise", "a finite number >= 0", p.read_noise());
  }
  if (!formats::ReadNoiseGranularity_IsValid(p.read_noise_granularity())) {
    return FieldError("read_noise_granularity", "PER_SLICE or PER_INFERENCE",
                      p.read_noise_granularity());
  }
  if (!FiniteAtLeastZero(p.drift_seconds()) || p.drift_seconds() > 1e12) {
    return FieldError("drift_seconds", "a finite number in [0, 1e12]", p.drift_seconds());
  }
  if (!FiniteAtLeastZero(p.drift_t0_seconds())) {
    return FieldError("drift_t0_seconds", "a finite number >= 0 (0 = 1 s)", p.drift_t0_seconds());
  }
  if (!FiniteAtLeastZero(p.drift_nu_mean()) || p.drift_nu_mean() > 1) {
    return FieldError("drift_nu_mean", "in [0, 1]", p.drift_nu_mean());
  }
  if (!FiniteAtLeastZero(p.drift_nu_std()) || p.drift_nu_std() >= 0.25) {
    return FieldError("drift_nu_std", "in [0, 0.25)", p.drift_nu_std());
  }
  for (auto [name, rate] : {std::pair<const char*, double>{"stuck_at_low_rate", p.stuck_at_low_rate()},
                            {"stuck_at_high_rate", p.stuck_at_high_rate()}}) {
    if (!FiniteAtLeastZero(rate) || rate > 1) return FieldError(name, "in [0, 1]", rate);
  }
  if (p.stuck_at_low_rate() + p.stuck_at_high_rate() > 1) {
    return FieldError("stuck_at_low_rate + stuck_at_high_rate", "<= 1",
                      p.stuck_at_low_rate() + p.stuck_at_high_rate());
  }
  if (!formats::NonIdealityPreset_IsValid(p.nonideal_preset())) {
    return FieldError("nonideal_preset", "NONE, PCM, RRAM or FAULTY", p.nonideal_preset());
  }
  out->set_read_noise(p.read_noise());
  if (p.read_noise() > 0) {
    out->set_read_noise_granularity(
        p.read_noise_granularity() == formats::READ_NOISE_GRANULARITY_UNSPECIFIED
            ? formats::PER_SLICE
            : p.read_noise_granularity());
  }
  const double t0 = p.drift_t0_seconds() == 0 ? 1.0 : p.drift_t0_seconds();
  if (p.drift_seconds() > 0) {
    if (p.drift_seconds() / t0 > 1099511627776.0) {  // 2^40, hardware-spec §3.8
      return FieldError("drift_seconds / drift_t0_seconds", "<= 2^40", p.drift_seconds() / t0);
    }
    out->set_drift_seconds(p.drift_seconds());
    out->set_drift_t0_seconds(t0);
    const bool nu_unset = p.drift_nu_mean() == 0 && p.drift_nu_std() == 0;
    out->set_drift_nu_mean(nu_unset ? kDefaultDriftNuMean : p.drift_nu_mean());
    out->set_drift_nu_std(nu_unset ? kDefaultDriftNuStd : p.drift_nu_std());
    out->set_drift_compensation(p.drift_compensation());
  }
  out->set_stuck_at_low_rate(p.stuck_at_low_rate());
  out->set_stuck_at_high_rate(p.stuck_at_high_rate());
  out->set_nonideal_preset(p.nonideal_preset());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DeviceModel> DeviceModel::Create(int weight_bits, int cell_bits, double sigma,
                                                formats::DevicePreset preset) {
  formats::DeviceModel proto;
  proto.set_weight_bits(weight_bits);
  proto.set_cell_bits(cell_bits);
  proto.set_sigma(sigma);
  proto.set_preset(preset);
  return FromProto(proto);
}

absl::StatusOr<DeviceModel> DeviceModel::FromProto(const formats::DeviceModel& proto) {
  DeviceModel m;
  m.weight_bits_ = proto.weight_bits() == 0 ? 8 : static_cast<int>(proto.weight_bits());
  m.cell_bits_ = proto.cell_bits() == 0 ? 2 : static_cast<int>(proto.cell_bits());
  if (m.weight_bits_ < 1 || m.weight_bits_ > 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device model: weight_bits must be in 1..16, got ", proto.weight_bits()));
  }
  if (m.cell_bits_ < 1 || m.cell_bits_ > 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("device model: cell_bits must be in 1..8, got ", proto.cell_bits()));
  }
  if (m.weight_bits_ % m.cell_bits_ != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device model: weight_bits (", m.weight_bits_, ") must be a multiple of cell_bits (",
        m.cell_bits_, ")"));
  }
  if (!(proto.sigma() >= 0) || !std::isfinite(proto.sigma())) {
    return absl::InvalidArgumentError(
        absl::StrCat("device model: sigma must be a finite number >= 0, got ", proto.sigma()));
  }
  if (!formats::DevicePreset_IsValid(proto.preset())) {
    return absl::InvalidArgumentError(
        absl::StrCat("device model: unknown preset value ", proto.preset()));
  }
  if (absl::Status st = ValidateNonidealities(proto, &m.nonideal_); !st.ok()) return st;
  m.sigma_ = proto.sigma();
  m.preset_ = proto.preset() == formats::DEVICE_PRESET_UNSPECIFIED ? formats::GAUSSIAN
                                                                   : proto.preset();
  m.state_factor_ = PresetStateFactor(m.preset_);
  const bool state_dependent = m.preset_ != formats::GAUSSIAN;
  const double s = m.state_factor_;
  m.effective_sigma_ = state_dependent ? m.sigma_ / std::sqrt(0.4 * s * s + 0.6) : m.sigma_;
  m.BuildTables();
  return m;
}

formats::DeviceModel DeviceModel::ToProto() const {
  formats::DeviceModel proto;
  proto.set_weight_bits(weight_bits_);
  proto.set_cell_bits(cell_bits_);
  proto.set_sigma(sigma_);
  proto.set_preset(preset_);
  proto.MergeFrom(nonideal_);
  return proto;
}

DeviceModel DeviceModel::WithoutNonidealities() const {
  DeviceModel m = *this;
  m.nonideal_.Clear();
  return m;
}

DeviceModel DeviceModel::WithSigma(double sigma) const {
  formats::DeviceModel proto = ToProto();
  proto.set_sigma(sigma);
  // The bits and preset were validated already; only sigma can be bad.
  absl::StatusOr<DeviceModel> m = FromProto(proto);
  return m.ok() ? *m : *this;
}

double DeviceModel::CellStdInLevels(int level) const {
  const double s = IsIntermediateLevel(level) ? state_factor_ : 1.0;
  return effective_sigma_ * max_level() * s;
}

int64_t DeviceModel::QuantizeMagnitude(double w, double w_max) const {
  if (!(w_max > 0)) return 0;
  const double scaled = std::fabs(w) / w_max * static_cast<double>(max_magnitude());
  const double rounded = std::floor(scaled + 0.5);
  if (!(rounded > 0)) return 0;
  if (rounded >= static_cast<double>(max_magnitude())) return max_magnitude();
  return static_cast<int64_t>(rounded);
}

std::vector<int> DeviceModel::SplitIntoCells(int64_t q) const {
  std::vector<int> levels(cells_per_weight());
  for (int i = 0; i < cells_per_weight(); ++i) {
    levels[i] = static_cast<int>((q >> (cell_bits_ * i)) & max_level());
  }
  return levels;
}

void DeviceModel::BuildTables() {
  weight_std_over_wmax_.assign(static_cast<size_t>(max_magnitude()) + 1, 0.0);
  for (int64_t q = 0; q <= max_magnitude(); ++q) {
    const std::vector<int> levels = SplitIntoCells(q);
    double variance = 0;
    for (int i = 0; i < cells_per_weight(); ++i) {
      const double cell = static_cast<double>(CellSignificance(i)) * CellStdInLevels(levels[i]);
      variance += cell * cell;
    }
    weight_std_over_wmax_[q] = std::sqrt(variance) / static_cast<double>(max_magnitude());
  }
}

double DeviceModel::UniformWeightStdOverWmax() const {
  double sum_sq = 0;
  for (int i = 0; i < cells_per_weight(); ++i) {
    const double sig = static_cast<double>(CellSignificance(i));
    sum_sq += sig * sig;
  }
  return sigma_ * max_level() * std::sqrt(sum_sq) / static_cast<double>(max_magnitude());
}

}  // namespace nftcim::device
