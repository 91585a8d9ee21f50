#include "emulator/programming.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "device_model/integer_gaussian.h"
#include "rng/philox.h"
#include "emulator/fixed_point.h"
#include "util/parallel.h"

namespace nftcim::emulator {
namespace {

// "CIM\0": separates the cells' Philox counters from other users of a seed.
constexpr uint32_t kCellCounterTag = 0x43494D00u;

}  // namespace

int16_t SignedWeightCode(const device::DeviceModel& device, double w, double w_max) {
  const int64_t q = device.QuantizeMagnitude(w, w_max);
  return static_cast<int16_t>(w < 0 ? -q : q);
}

absl::StatusOr<CellStdCodes> MakeCellStdCodes(const HardwareParams& params,
                                              const device::DeviceModel& device) {
  if (device.weight_bits() != params.weight_bits || device.cell_bits() != params.cell_bits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device model (weight_bits ", device.weight_bits(), ", cell_bits ", device.cell_bits(),
        ") does not match the hardware config (weight_bits ", params.weight_bits,
        ", cell_bits ", params.cell_bits, ")"));
  }
  CellStdCodes codes;
  codes.std_q16.resize(static_cast<size_t>(params.max_level) + 1);
  for (int32_t level = 0; level <= params.max_level; ++level) {
    // §3.2: ldexp is exact, so this is llround(CellStdInLevels * 2^(F+16)).
    const double std_in_codes =
        std::ldexp(device.CellStdInLevels(level), params.conductance_frac_bits);
    absl::StatusOr<int32_t> q16 = device::StdToQ16(std_in_codes);
    if (!q16.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cell variation at level ", level, " (sigma ", device.sigma(), ", ",
          std_in_codes, " conductance-code units): ", q16.status().message()));
    }
    codes.std_q16[level] = *q16;
  }
  codes.stuck_at = device::MakeStuckAtThresholds(device);
  absl::StatusOr<device::DriftConstants> drift = device::MakeDriftConstants(device);
  if (!drift.ok()) return drift.status();
  codes.drift = *drift;
  return codes;
}

uint64_t CellRandomBits(const ProgrammingKey& key, ArraySide side, uint32_t row,
                        uint32_t column) {
  const rng::PhiloxCounter r = rng::Philox4x32(
      {row, column, key.layer, kCellCounterTag | static_cast<uint32_t>(side)},
      {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)});
  return (static_cast<uint64_t>(r[1]) << 32) | r[0];
}

int16_t ConductanceCode(const HardwareParams& params, int32_t level, int32_t std_q16,
                        uint64_t random_bits, ProgrammingStats* stats,
                        int64_t drift_f_q30) {
  int64_t raw = static_cast<int64_t>(level) << params.conductance_frac_bits;
  if (std_q16 != 0) {
    // With std 0 the delta is 0 for every draw; skipping it changes nothing.
    raw += device::GaussianDelta(random_bits, std_q16);
    if (stats != nullptr) ++stats->cells_varied;
  }
  if (drift_f_q30 >= 0) {
    raw = device::DriftCode(raw, drift_f_q30);
    if (stats != nullptr) ++stats->cells_drifted;
  }
  if (params.clip_conductance) {
    bool clipped = false;
    raw = Clamp(raw, 0, static_cast<int64_t>(params.max_level) << params.conductance_frac_bits,
                &clipped);
    if (clipped && stats != nullptr) ++stats->codes_clipped;
  }
  bool saturated = false;
  const int64_t code = SaturateToSignedBits(raw, params.conductance_code_bits, &saturated);
  if (saturated && stats != nullptr) ++stats->codes_saturated;
  return static_cast<int16_t>(code);
}

int16_t CellCode(const HardwareParams& params, const CellStdCodes& std_codes,
                 const ProgrammingKey& key, ArraySide side, uint32_t row, uint32_t column,
                 int32_t level, bool programmed, ProgrammingStats* stats) {
  const device::CellId cell{key.layer, static_cast<uint32_t>(side), row, column};
  switch (device::StuckAtState(std_codes.stuck_at, key.seed, cell)) {
    case device::CellFault::kStuckLow:
      if (stats != nullptr) ++stats->cells_stuck_low;
      return 0;
    case device::CellFault::kStuckHigh:
      if (stats != nullptr) ++stats->cells_stuck_high;
      // L * 2^F <= 2^(G-1) - 1 (a §1.3 rule), so Sat_G never moves it.
      return static_cast<int16_t>(params.max_level << params.conductance_frac_bits);
    case device::CellFault::kNone:
      break;
  }
  if (!programmed && !params.unprogrammed_variation) return 0;  // drift keeps 0 at 0
  const int32_t lvl = programmed ? level : 0;
  const int64_t f = std_codes.drift.active
                        ? device::DriftFactorQ30(std_codes.drift,
                                                 device::DriftExponentQ16(std_codes.drift,
                                                                          key.seed, cell))
                        : kNoDrift;
  return ConductanceCode(params, lvl, std_codes.std_q16[lvl],
                         CellRandomBits(key, side, row, column), stats, f);
}

int64_t NominalCode(const HardwareParams& params, const CellStdCodes& std_codes,
                    const ProgrammingKey& key, ArraySide side, uint32_t row, uint32_t column,
                    int32_t level) {
  const device::CellId cell{key.layer, static_cast<uint32_t>(side), row, column};
  switch (device::StuckAtState(std_codes.stuck_at, key.seed, cell)) {
    case device::CellFault::kStuckLow: return 0;
    case device::CellFault::kStuckHigh:
      return static_cast<int64_t>(params.max_level) << params.conductance_frac_bits;
    case device::CellFault::kNone: break;
  }
  return static_cast<int64_t>(level) << params.conductance_frac_bits;
}

int32_t ProgrammedTile::MaxAbsCode() const {
  int32_t m = 0;
  for (const std::vector<int16_t>* v : {&positive, &negative}) {
    for (int16_t c : *v) m = std::max(m, std::abs(static_cast<int32_t>(c)));
  }
  return m;
}

absl::StatusOr<ProgrammedTile> ProgramCells(const HardwareParams& params,
                                            const CellStdCodes& std_codes,
                                            const TileWeightsView& weights,
                                            const ProgrammingKey& key, int num_threads,
                                            ProgrammingStats* stats) {
  const int32_t P = params.cells_per_weight;
  if (weights.rows_used < 1 || weights.rows_used > params.array_rows) {
    return absl::InvalidArgumentError(absl::StrCat("tile rows_used must be in 1..",
                                                   params.array_rows, ", got ",
                                                   weights.rows_used));
  }
  if (weights.outputs_used < 1 || weights.outputs_used > params.outputs_per_tile) {
    return absl::InvalidArgumentError(absl::StrCat("tile outputs_used must be in 1..",
                                                   params.outputs_per_tile, ", got ",
                                                   weights.outputs_used));
  }
  if (weights.codes == nullptr || weights.stride < weights.outputs_used) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tile weights need codes and stride >= outputs_used, got stride ", weights.stride));
  }
  if (weights.first_row < 0 || weights.first_output < 0 ||
      weights.first_row + weights.rows_used > (int64_t{1} << 32) ||
      (weights.first_output + weights.outputs_used) * P > (int64_t{1} << 32)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tile position (first_row ", weights.first_row, ", first_output ",
        weights.first_output, ") outside the 32-bit row/column counters of §3.4"));
  }
  if (std_codes.std_q16.size() != static_cast<size_t>(params.max_level) + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CellStdCodes has ", std_codes.std_q16.size(), " levels, expected ",
                     params.max_level + 1, " (make it with MakeCellStdCodes)"));
  }
  if (num_threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat("num_threads must be >= 1, got ", num_threads));
  }
  for (int32_t r = 0; r < weights.rows_used; ++r) {
    for (int32_t n = 0; n < weights.outputs_used; ++n) {
      const int32_t w = weights.codes[r * weights.stride + n];
      if (w < -params.max_magnitude || w > params.max_magnitude) {
        return absl::InvalidArgumentError(absl::StrCat(
            "weight code ", w, " at tile row ", r, ", output ", n, " is outside -",
            params.max_magnitude, "..", params.max_magnitude, " (", params.weight_bits,
            "-bit magnitudes)"));
      }
    }
  }

  ProgrammedTile tile;
  tile.rows_used = weights.rows_used;
  tile.outputs_used = weights.outputs_used;
  tile.columns_used = weights.outputs_used * P;
  tile.first_row = weights.first_row;
  tile.first_output = weights.first_output;
  const size_t cells = static_cast<size_t>(tile.rows_used) * tile.columns_used;
  tile.positive.assign(cells, 0);
  tile.negative.assign(cells, 0);

  // §3.6: with no stuck-at and no drift, exactly the §3.5 loop.
  const bool nonideal = std_codes.stuck_at.any() || std_codes.drift.active;
  std::vector<ProgrammingStats> worker_stats(static_cast<size_t>(num_threads));
  ParallelFor(tile.rows_used, num_threads, [&](int64_t begin, int64_t end, int worker) {
    ProgrammingStats& s = worker_stats[worker];
    for (int64_t r = begin; r < end; ++r) {
      const uint32_t row = static_cast<uint32_t>(weights.first_row + r);
      for (int32_t n = 0; n < tile.outputs_used; ++n) {
        const int32_t w = weights.codes[r * weights.stride + n];
        // §2.3: w < 0 goes to the negative array; 0 and w > 0 to the
        // positive one. The other array's cells stay unprogrammed.
        const ArraySide side = w < 0 ? ArraySide::kNegative : ArraySide::kPositive;
        const ArraySide other = w < 0 ? ArraySide::kPositive : ArraySide::kNegative;
        const int32_t q = w < 0 ? -w : w;
        std::vector<int16_t>& programmed = side == ArraySide::kPositive ? tile.positive
                                                                        : tile.negative;
        std::vector<int16_t>& unprogrammed = side == ArraySide::kPositive ? tile.negative
                                                                          : tile.positive;
        for (int32_t i = 0; i < P; ++i) {
          const int32_t c = n * P + i;
          const uint32_t column = static_cast<uint32_t>((weights.first_output + n) * P + i);
          const size_t at = static_cast<size_t>(r) * tile.columns_used + c;
          // Cell i holds bits K*i .. K*i + K - 1 of q (significance 2^(K i)).
          const int32_t level = (q >> (params.cell_bits * i)) & params.max_level;
          ++s.cells_programmed;
          if (!nonideal) {
            programmed[at] = ConductanceCode(params, level, std_codes.std_q16[level],
                                             CellRandomBits(key, side, row, column), &s);
            if (params.unprogrammed_variation) {
              unprogrammed[at] = ConductanceCode(params, 0, std_codes.std_q16[0],
                                                 CellRandomBits(key, other, row, column), &s);
            }
            continue;
          }
          programmed[at] = CellCode(params, std_codes, key, side, row, column, level,
                                    /*programmed=*/true, &s);
          unprogrammed[at] = CellCode(params, std_codes, key, other, row, column, 0,
                                      /*programmed=*/false, &s);
        }
      }
    }
  });
  if (stats != nullptr) {
    for (const ProgrammingStats& s : worker_stats) stats->Add(s);
  }
  return tile;
}

}  // namespace nftcim::emulator
