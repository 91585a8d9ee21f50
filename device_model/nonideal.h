#ifndef NFTCIM_DEVICE_MODEL_NONIDEAL_H_
#define NFTCIM_DEVICE_MODEL_NONIDEAL_H_

// Non-idealities beyond programming variation: stuck-at faults, conductance
// drift with global compensation, read noise (docs/device-model.md
// "Non-idealities"; the integer procedures are hardware-spec §3.6-3.10).
//
// The integer functions are the emulator's definition (bit-exact on every
// machine); the trainer evaluates the same keyed draws, so a seed gives the
// same fault map and the same drift exponents in both.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "device_model/device_model.h"
#include "formats/device_model.pb.h"

namespace nftcim::device {

// §3.6: one Philox counter tag per effect (the variation's is 0x43494D00).
inline constexpr uint32_t kStuckAtCounterTag = 0x53414600u;    // "SAF"
inline constexpr uint32_t kDriftCounterTag = 0x44524600u;      // "DRF"
inline constexpr uint32_t kReadNoiseCounterTag = 0x52444E00u;  // "RDN"

// The array a cell is in (the value is part of every key; emulator::ArraySide).
inline constexpr uint32_t kPositiveSide = 0;
inline constexpr uint32_t kNegativeSide = 1;

// Identity of one cell: §3.4's (layer, side, layer-matrix row, column =
// output * P + cell index).
struct CellId {
  uint32_t layer = 0;
  uint32_t side = 0;
  uint32_t row = 0;
  uint32_t column = 0;
};

// Philox4x32-10({row, column, layer, tag | side}, {key lo, key hi}).
uint64_t CellBits64(uint64_t key, const CellId& cell, uint32_t tag);

// ---- Presets and names -------------------------------------------------

absl::StatusOr<formats::NonIdealityPreset> ParseNonIdealityPreset(absl::string_view name);
std::string NonIdealityPresetName(formats::NonIdealityPreset preset);
absl::StatusOr<formats::ReadNoiseGranularity> ParseReadNoiseGranularity(absl::string_view name);
// Sets the preset's fields in *proto (and records the preset); other fields
// are left alone. Apply explicit flags after this so they win.
void ApplyNonIdealityPreset(formats::NonIdealityPreset preset, formats::DeviceModel* proto);

// Clears fields 5..14 (every non-ideality): evaluations take them from
// their flags, not from the device a model was trained with.
void ClearNonidealities(formats::DeviceModel* proto);

// ---- §3.7 stuck-at faults ----------------------------------------------

enum class CellFault : uint8_t { kNone = 0, kStuckLow = 1, kStuckHigh = 2 };

// T_low = llround(ldexp(p_low, 32)), T_high = T_low + llround(ldexp(p_high, 32)).
struct StuckAtThresholds {
  uint64_t low = 0;
  uint64_t high = 0;
  bool any() const { return high > 0; }
};
StuckAtThresholds MakeStuckAtThresholds(const DeviceModel& device);

// The fault of one cell for the variation instance `seed` (word 0 of the
// SAF block against the thresholds). A pure function of (seed, cell).
CellFault StuckAtState(const StuckAtThresholds& t, uint64_t seed, const CellId& cell);

// ---- §3.8 drift --------------------------------------------------------

struct DriftConstants {
  bool active = false;
  int32_t mu_q16 = 0;     // llround(ldexp(mu_nu, 16))
  int32_t sd_q16 = 0;     // StdToQ16(ldexp(sigma_nu, 16))
  int64_t lnt_q24 = 0;    // llround(ldexp(log(t / t0), 24))
};
// Errors only for values FromProto would have rejected.
absl::StatusOr<DriftConstants> MakeDriftConstants(const DeviceModel& device);

// nu of one cell in Q.16: max(0, mu_q16 + round(z * sd_q16)), z from the DRF
// block of (seed, cell).
int32_t DriftExponentQ16(const DriftConstants& d, uint64_t seed, const CellId& cell);

// round(exp(-x) * 2^30) for x = x_q40 / 2^40 >= 0, integer only (§3.8).
int64_t ExpNegQ30(int64_t x_q40);

// The drift factor (t/t0)^(-nu) of a cell with exponent nu_q16, in Q.30.
int64_t DriftFactorQ30(const DriftConstants& d, int32_t nu_q16);

// RoundHalfUpShift(raw * f_q30, 30).
int64_t DriftCode(int64_t raw, int64_t f_q30);

// ---- §3.9 global drift compensation -------------------------------------

// alpha_q16 = D > 0 ? min(2^32 - 1, floor((N 2^16 + floor(D / 2)) / D)) : 2^16,
// N the layer's nominal code total, D its total at time t.
uint32_t DriftCompensationQ16(int64_t nominal_total, int64_t drifted_total);

// Folds alpha_q16 into a layer's requantization (m_n, s_n, bias_n):
// m'_n = RoundHalfUpShift(m_n * alpha, h), s'_n = s_n + 16 - h with the
// smallest h >= 0 keeping every |m'_n| <= 2^31 - 1, and
// bias'_n = Sat_32(floor((bias_n 2^17 + alpha) / (2 alpha))) (bias / alpha,
// round half up), so only the accumulator is scaled, never the digital bias.
// Errors when an s'_n leaves 0..62 or alpha is 0.
absl::Status FoldCompensation(uint32_t alpha_q16, int64_t count, int32_t* multipliers,
                              int32_t* shifts, int32_t* biases);

// ---- §3.10 read noise --------------------------------------------------

// llround(ldexp(sigma_read * L, F + 16)); errors when >= 2^30.
absl::StatusOr<int32_t> ReadNoiseStdQ16(const DeviceModel& device, int conductance_frac_bits);

// The vector and slice used in the key for PER_INFERENCE noise.
inline constexpr uint32_t kWholeInference = 0xFFFFFFFFu;
// h = StreamId(seed, image, vector, slice): the Philox key of one read.
uint64_t ReadNoiseKey(uint64_t seed, uint64_t image, uint32_t vector, uint32_t slice);
// round(z * std_q16) in code units for one cell of one read.
int64_t ReadNoiseDelta(uint64_t read_key, const CellId& cell, int32_t std_q16);

// ---- Float statistics (the trainer's side) ------------------------------

// (t / t0)^(-nu) for t > t0, else 1.
double DriftFactor(double nu, double t, double t0);

// Weight-domain relative std of the NF_Training reference implementation:
// sigma * L * sqrt(sum_i 4^(K i)) / (2^M - 1) per unit sigma (0.77763 at
// M = 8, K = 2).
double NfTrainingFactor(const DeviceModel& device);
// SWIM / EvaXB: std_w / full scale per unit of per-cell sigma in level steps,
// sqrt(sum_i 4^(K i)) / 2^M (0.25820 at M = 8, K = 2).
double SwimWeightFactor(const DeviceModel& device);
// The SWIM per-cell sigma with the same weight-domain std as our sigma:
// sigma * NfTrainingFactor / SwimWeightFactor (3.0118 sigma), and back.
double SigmaToSwimCellSigma(const DeviceModel& device, double sigma);
double SwimCellSigmaToSigma(const DeviceModel& device, double swim_sigma);

// Variance ratio of per-slice read noise to per-inference read noise for an
// input whose slices are all at full scale: sum_j 4^(D j) / (sum_j 2^(D j))^2.
double PerSliceVarianceFactor(int activation_bits, int dac_bits);

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_NONIDEAL_H_
