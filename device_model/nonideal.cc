#include "device_model/nonideal.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "device_model/integer_gaussian.h"
#include "device_model/random.h"
#include "rng/philox.h"

namespace nftcim::device {
namespace {

// §1.2 RoundHalfUpShift for s >= 0 (s <= 62), without overflow.
int64_t RoundShift(int64_t x, int s) {
  if (s <= 0) return x;
  return (x >> s) + ((x >> (s - 1)) & 1);
}

// round(ln 2 * 2^40).
constexpr int64_t kLn2Q40 = 762123384786;

}  // namespace

uint64_t CellBits64(uint64_t key, const CellId& cell, uint32_t tag) {
  const rng::PhiloxCounter r = rng::Philox4x32(
      {cell.row, cell.column, cell.layer, tag | cell.side},
      {static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)});
  return (static_cast<uint64_t>(r[1]) << 32) | r[0];
}

absl::StatusOr<formats::NonIdealityPreset> ParseNonIdealityPreset(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower.empty() || lower == "none") return formats::NONIDEAL_NONE;
  if (lower == "pcm") return formats::NONIDEAL_PCM;
  if (lower == "rram") return formats::NONIDEAL_RRAM;
  if (lower == "faulty") return formats::NONIDEAL_FAULTY;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown non-ideality preset '", name, "'; expected one of none, pcm, rram, faulty"));
}

std::string NonIdealityPresetName(formats::NonIdealityPreset preset) {
  switch (preset) {
    case formats::NONIDEAL_PCM: return "pcm";
    case formats::NONIDEAL_RRAM: return "rram";
    case formats::NONIDEAL_FAULTY: return "faulty";
    default: return "none";
  }
}

absl::StatusOr<formats::ReadNoiseGranularity> ParseReadNoiseGranularity(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower.empty() || lower == "per_slice" || lower == "slice") return formats::PER_SLICE;
  if (lower == "per_inference" || lower == "inference") return formats::PER_INFERENCE;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown read-noise granularity '", name, "'; expected per_slice or per_inference"));
}

void ApplyNonIdealityPreset(formats::NonIdealityPreset preset, formats::DeviceModel* proto) {
  proto->set_nonideal_preset(preset);
  switch (preset) {
    case formats::NONIDEAL_PCM:
      proto->set_read_noise(0.01);
      proto->set_read_noise_granularity(formats::PER_SLICE);
      proto->set_drift_nu_mean(kDefaultDriftNuMean);
      proto->set_drift_nu_std(kDefaultDriftNuStd);
      proto->set_drift_compensation(true);
      break;
    case formats::NONIDEAL_RRAM:
      proto->set_read_noise(0.02);
      proto->set_read_noise_granularity(formats::PER_SLICE);
      proto->set_stuck_at_low_rate(0.005);
      proto->set_stuck_at_high_rate(0.005);
      break;
    case formats::NONIDEAL_FAULTY:
      proto->set_stuck_at_low_rate(0.01);
      proto->set_stuck_at_high_rate(0.01);
      break;
    default:
      break;
  }
}

void ClearNonidealities(formats::DeviceModel* proto) {
  formats::DeviceModel kept;
  kept.set_weight_bits(proto->weight_bits());
  kept.set_cell_bits(proto->cell_bits());
  kept.set_sigma(proto->sigma());
  kept.set_preset(proto->preset());
  *proto = kept;
}

StuckAtThresholds MakeStuckAtThresholds(const DeviceModel& device) {
  StuckAtThresholds t;
  // ldexp is exact and llround exact on the double: the same integers on
  // every IEEE-754 machine (§3.7).
  t.low = static_cast<uint64_t>(std::llround(std::ldexp(device.stuck_at_low_rate(), 32)));
  t.high = t.low +
           static_cast<uint64_t>(std::llround(std::ldexp(device.stuck_at_high_rate(), 32)));
  return t;
}

CellFault StuckAtState(const StuckAtThresholds& t, uint64_t seed, const CellId& cell) {
  if (!t.any()) return CellFault::kNone;
  const uint64_t v = CellBits64(seed, cell, kStuckAtCounterTag) & 0xFFFFFFFFu;
  if (v < t.low) return CellFault::kStuckLow;
  if (v < t.high) return CellFault::kStuckHigh;
  return CellFault::kNone;
}

absl::StatusOr<DriftConstants> MakeDriftConstants(const DeviceModel& device) {
  DriftConstants d;
  if (!device.drift_active()) return d;
  d.active = true;
  d.mu_q16 = static_cast<int32_t>(std::llround(std::ldexp(device.drift_nu_mean(), 16)));
  absl::StatusOr<int32_t> sd = StdToQ16(std::ldexp(device.drift_nu_std(), 16));
  if (!sd.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("device model: drift_nu_std ", device.drift_nu_std(), ": ",
                     sd.status().message()));
  }
  d.sd_q16 = *sd;
  // The one transcendental of §3.8, once per run; the integer is recorded.
  d.lnt_q24 = std::llround(
      std::ldexp(std::log(device.drift_seconds() / device.drift_t0_seconds()), 24));
  return d;
}

int32_t DriftExponentQ16(const DriftConstants& d, uint64_t seed, const CellId& cell) {
  int64_t nu = d.mu_q16;
  if (d.sd_q16 != 0) nu += GaussianDelta(CellBits64(seed, cell, kDriftCounterTag), d.sd_q16);
  return static_cast<int32_t>(std::max<int64_t>(0, nu));
}

int64_t ExpNegQ30(int64_t x_q40) {
  if (x_q40 <= 0) return int64_t{1} << 30;
  const int64_t k = x_q40 / kLn2Q40;
  if (10 + k > 62) return 0;
  const unsigned __int128 r = static_cast<unsigned __int128>(x_q40 - k * kLn2Q40);
  // Taylor series of e^-r, r in [0, ln 2): alternating terms a_n = a_{n-1} r / n.
  int64_t sum = int64_t{1} << 40;
  unsigned __int128 a = static_cast<unsigned __int128>(1) << 40;
  for (int n = 1; n <= 16; ++n) {
    a = (a * r) / (static_cast<unsigned __int128>(n) << 40);
    sum += (n % 2 == 1) ? -static_cast<int64_t>(a) : static_cast<int64_t>(a);
  }
  return RoundShift(sum, static_cast<int>(10 + k));
}

int64_t DriftFactorQ30(const DriftConstants& d, int32_t nu_q16) {
  // nu_q16 < 2^17 and lnt_q24 < 2^29: the product fits easily.
  return ExpNegQ30(static_cast<int64_t>(nu_q16) * d.lnt_q24);
}

int64_t DriftCode(int64_t raw, int64_t f_q30) { return RoundShift(raw * f_q30, 30); }

uint32_t DriftCompensationQ16(int64_t nominal_total, int64_t drifted_total) {
  if (drifted_total <= 0) return 1u << 16;
  const unsigned __int128 num =
      (static_cast<unsigned __int128>(std::max<int64_t>(0, nominal_total)) << 16) +
      static_cast<unsigned __int128>(drifted_total / 2);
  const unsigned __int128 q = num / static_cast<unsigned __int128>(drifted_total);
  return q > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(q);
}

absl::Status FoldCompensation(uint32_t alpha_q16, int64_t count, int32_t* multipliers,
                              int32_t* shifts, int32_t* biases) {
  if (alpha_q16 == 0) {
    return absl::InvalidArgumentError("drift compensation factor 0 (hardware-spec §3.9)");
  }
  int h = 0;
  for (; h <= 48; ++h) {
    bool fits = true;
    for (int64_t n = 0; n < count && fits; ++n) {
      const int64_t m = RoundShift(static_cast<int64_t>(multipliers[n]) * alpha_q16, h);
      fits = std::llabs(m) <= 2147483647;
    }
    if (fits) break;
  }
  for (int64_t n = 0; n < count; ++n) {
    const int64_t s = static_cast<int64_t>(shifts[n]) + 16 - h;
    if (s < 0 || s > 62) {
      return absl::InvalidArgumentError(absl::StrCat(
          "drift compensation ", alpha_q16, "/2^16 moves requantization shift ", shifts[n],
          " of output ", n, " to ", s, ", outside 0..62 (hardware-spec §3.9)"));
    }
  }
  for (int64_t n = 0; n < count; ++n) {
    multipliers[n] =
        static_cast<int32_t>(RoundShift(static_cast<int64_t>(multipliers[n]) * alpha_q16, h));
    shifts[n] = shifts[n] + 16 - h;
    // floor division of a signed numerator by a positive denominator.
    const int64_t num = (static_cast<int64_t>(biases[n]) << 17) + alpha_q16;
    const int64_t den = 2 * static_cast<int64_t>(alpha_q16);
    int64_t b = num / den;
    if ((num % den != 0) && (num < 0)) --b;
    biases[n] = static_cast<int32_t>(std::clamp<int64_t>(b, INT32_MIN, INT32_MAX));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> ReadNoiseStdQ16(const DeviceModel& device, int conductance_frac_bits) {
  const double std_codes =
      std::ldexp(device.read_noise() * device.max_level(), conductance_frac_bits);
  absl::StatusOr<int32_t> q = StdToQ16(std_codes);
  if (!q.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("device model: read_noise ",
                                                   device.read_noise(), ": ",
                                                   q.status().message()));
  }
  return *q;
}

uint64_t ReadNoiseKey(uint64_t seed, uint64_t image, uint32_t vector, uint32_t slice) {
  return StreamId({seed, image, vector, slice});
}

int64_t ReadNoiseDelta(uint64_t read_key, const CellId& cell, int32_t std_q16) {
  if (std_q16 == 0) return 0;
  return GaussianDelta(CellBits64(read_key, cell, kReadNoiseCounterTag), std_q16);
}

double DriftFactor(double nu, double t, double t0) {
  if (!(t > t0)) return 1.0;
  return std::exp(-nu * std::log(t / t0));
}

double NfTrainingFactor(const DeviceModel& device) {
  return device.WithSigma(1.0).UniformWeightStdOverWmax();
}

double SwimWeightFactor(const DeviceModel& device) {
  double sum_sq = 0;
  for (int i = 0; i < device.cells_per_weight(); ++i) {
    const double sig = static_cast<double>(device.CellSignificance(i));
    sum_sq += sig * sig;
  }
  return std::sqrt(sum_sq) / std::ldexp(1.0, device.weight_bits());
}

double SigmaToSwimCellSigma(const DeviceModel& device, double sigma) {
  return sigma * NfTrainingFactor(device) / SwimWeightFactor(device);
}

double SwimCellSigmaToSigma(const DeviceModel& device, double swim_sigma) {
  return swim_sigma * SwimWeightFactor(device) / NfTrainingFactor(device);
}

double PerSliceVarianceFactor(int activation_bits, int dac_bits) {
  double sum4 = 0, sum2 = 0;
  for (int j = 0; j < activation_bits / dac_bits; ++j) {
    sum4 += std::ldexp(1.0, 2 * dac_bits * j);
    sum2 += std::ldexp(1.0, dac_bits * j);
  }
  return sum4 / (sum2 * sum2);
}

}  // namespace nftcim::device
