#include "device_model/nonideal_flags.h"

#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "device_model/nonideal.h"

// -1 / "": not given (the preset's or the recorded value stays).
ABSL_FLAG(std::string, nonideal_preset, "",
          "Non-ideality preset: none, pcm, rram or faulty (docs/device-model.md); explicit "
          "non-ideality flags override its numbers.");
ABSL_FLAG(double, read_noise, -1,
          "Read noise sigma, relative to a cell's full-scale conductance (hardware-spec §3.10).");
ABSL_FLAG(std::string, read_noise_granularity, "", "per_slice (default) or per_inference.");
ABSL_FLAG(double, drift_seconds, -1,
          "Seconds since programming at evaluation: G(t) = G0 (t/t0)^-nu (hardware-spec §3.8).");
ABSL_FLAG(double, drift_nu_mean, -1, "Mean of the drift exponent nu (default 0.05).");
ABSL_FLAG(double, drift_nu_std, -1, "Device-to-device std of nu (default 0.02).");
ABSL_FLAG(std::string, drift_compensation, "",
          "true or false: per-layer global drift compensation (hardware-spec §3.9).");
ABSL_FLAG(double, stuck_at_low_rate, -1, "Fraction of cells stuck at the lowest level.");
ABSL_FLAG(double, stuck_at_high_rate, -1, "Fraction of cells stuck at the highest level.");

namespace nftcim::device {

absl::Status ApplyNonIdealityFlags(formats::DeviceModel* proto) {
  const std::string preset = absl::GetFlag(FLAGS_nonideal_preset);
  if (!preset.empty()) {
    absl::StatusOr<formats::NonIdealityPreset> p = ParseNonIdealityPreset(preset);
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("--nonideal_preset: ", p.status().message()));
    ApplyNonIdealityPreset(*p, proto);
  }
  if (double v = absl::GetFlag(FLAGS_read_noise); v != -1) proto->set_read_noise(v);
  if (const std::string g = absl::GetFlag(FLAGS_read_noise_granularity); !g.empty()) {
    absl::StatusOr<formats::ReadNoiseGranularity> p = ParseReadNoiseGranularity(g);
    if (!p.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--read_noise_granularity: ", p.status().message()));
    }
    proto->set_read_noise_granularity(*p);
  }
  if (double v = absl::GetFlag(FLAGS_drift_seconds); v != -1) proto->set_drift_seconds(v);
  if (double v = absl::GetFlag(FLAGS_drift_nu_mean); v != -1) proto->set_drift_nu_mean(v);
  if (double v = absl::GetFlag(FLAGS_drift_nu_std); v != -1) proto->set_drift_nu_std(v);
  if (const std::string c = absl::AsciiStrToLower(absl::GetFlag(FLAGS_drift_compensation));
      !c.empty()) {
    if (c != "true" && c != "false") {
      return absl::InvalidArgumentError(
          absl::StrCat("--drift_compensation must be true or false, got '", c, "'"));
    }
    proto->set_drift_compensation(c == "true");
  }
  if (double v = absl::GetFlag(FLAGS_stuck_at_low_rate); v != -1) proto->set_stuck_at_low_rate(v);
  if (double v = absl::GetFlag(FLAGS_stuck_at_high_rate); v != -1) {
    proto->set_stuck_at_high_rate(v);
  }
  return absl::OkStatus();
}

std::string NonIdealitySummary(const DeviceModel& d) {
  std::vector<std::string> parts;
  if (d.read_noise() > 0) {
    parts.push_back(absl::StrFormat(
        "read noise %g %s", d.read_noise(),
        d.read_noise_granularity() == formats::PER_INFERENCE ? "per inference" : "per slice"));
  }
  if (d.drift_active()) {
    parts.push_back(absl::StrFormat("drift t=%gs (t0 %gs, nu ~ N(%g, %g)%s)", d.drift_seconds(),
                                    d.drift_t0_seconds(), d.drift_nu_mean(), d.drift_nu_std(),
                                    d.drift_compensation() ? ", compensated" : ""));
  }
  if (d.has_stuck_at()) {
    parts.push_back(absl::StrFormat("stuck-at low %g high %g", d.stuck_at_low_rate(),
                                    d.stuck_at_high_rate()));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

std::string NonIdealityJsonMembers(const DeviceModel& d) {
  if (!d.has_nonidealities()) return "";
  return absl::StrFormat(
      ", \"nonideal\": {\"read_noise\": %.17g, \"read_noise_granularity\": \"%s\", "
      "\"drift_seconds\": %.17g, \"drift_t0_seconds\": %.17g, \"drift_nu_mean\": %.17g, "
      "\"drift_nu_std\": %.17g, \"drift_compensation\": %s, \"stuck_at_low_rate\": %.17g, "
      "\"stuck_at_high_rate\": %.17g, \"preset\": \"%s\"}",
      d.read_noise(),
      d.read_noise_granularity() == formats::PER_INFERENCE ? "per_inference" : "per_slice",
      d.drift_seconds(), d.drift_t0_seconds(), d.drift_nu_mean(), d.drift_nu_std(),
      d.drift_compensation() ? "true" : "false", d.stuck_at_low_rate(), d.stuck_at_high_rate(),
      NonIdealityPresetName(d.ToProto().nonideal_preset()));
}

}  // namespace nftcim::device
