#ifndef NFTCIM_EMULATOR_PROGRAMMING_H_
#define NFTCIM_EMULATOR_PROGRAMMING_H_

// Programming a tile: integer weights -> cell levels -> conductance codes with
// device variation (docs/hardware-spec.md §2 and §3).
//
// The variation of every cell is a pure function of (seed, layer, array,
// layer-matrix row, layer-matrix column): one Philox4x32-10 block per cell
// feeds the integer Gaussian sampler. So the codes do not depend on the
// number of threads, the order of programming, the tile size, or the machine.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "device_model/device_model.h"
#include "device_model/nonideal.h"
#include "emulator/hardware_config.h"

namespace nftcim::emulator {

// Which array of a tile (§2.3). The value is part of the random key (§3.4).
enum class ArraySide : uint32_t { kPositive = 0, kNegative = 1 };

// §2.1: the integer weight the hardware is given: sign(w) * q with
// q = DeviceModel::QuantizeMagnitude(w, w_max) in 0 .. 2^M - 1. A weight
// whose magnitude code is 0 is +0 (positive array), whatever its sign.
int16_t SignedWeightCode(const device::DeviceModel& device, double w, double w_max);

// §3.2: the standard deviation of a cell's variation at each level, in
// conductance-code units and Q.16:
//   std_q16[level] = llround(ldexp(CellStdInLevels(level), F + 16)).
// This is the datapath's only floating-point step and happens once per
// level when the weights are programmed (an RTL testbench takes these
// integers as its inputs).
struct CellStdCodes {
  std::vector<int32_t> std_q16;  // index: level 0 .. 2^K - 1
  // §3.7 and §3.8: the stuck-at thresholds and drift constants, integers
  // derived once from the device model (all zero / inactive by default,
  // which programs exactly the §3.5 codes).
  device::StuckAtThresholds stuck_at;
  device::DriftConstants drift;
};

// Errors when the device's weight/cell bits differ from the hardware's, or
// a std does not fit the sampler (>= 2^14 code units).
absl::StatusOr<CellStdCodes> MakeCellStdCodes(const HardwareParams& params,
                                              const device::DeviceModel& device);

// Names one variation instance (one Monte Carlo run) of one layer.
struct ProgrammingKey {
  uint64_t seed = 0;   // the run's seed; Philox key = {seed lo, seed hi}
  uint32_t layer = 0;  // the layer's index, assigned by the compiler
};

// §3.4: the 64 random bits of one cell: words 0 and 1 (word 1 high) of
// Philox4x32-10(counter = {row, column, layer, 0x43494D00 | side},
//               key = {seed lo, seed hi}),
// row and column being the cell's position in the layer matrix (column =
// output * P + cell index).
uint64_t CellRandomBits(const ProgrammingKey& key, ArraySide side, uint32_t row,
                        uint32_t column);

struct ProgrammingStats {
  int64_t cells_programmed = 0;  // cells written with a weight's level
  int64_t cells_varied = 0;      // cells given a variation draw (std > 0)
  int64_t codes_clipped = 0;     // codes moved by clip_conductance (§3.5)
  int64_t codes_saturated = 0;   // codes clamped to the G-bit range (§3.1)
  int64_t cells_stuck_low = 0;   // §3.7
  int64_t cells_stuck_high = 0;
  int64_t cells_drifted = 0;     // cells given a drift factor (§3.8)

  void Add(const ProgrammingStats& o) {
    cells_stuck_low += o.cells_stuck_low;
    cells_stuck_high += o.cells_stuck_high;
    cells_drifted += o.cells_drifted;
    cells_programmed += o.cells_programmed;
    cells_varied += o.cells_varied;
    codes_clipped += o.codes_clipped;
    codes_saturated += o.codes_saturated;
  }
};

// §3.5: the code of one cell at `level` with variation std `std_q16` drawn
// from `random_bits`:
//   raw  = level * 2^F + round_half_up(z * std)      (z = §3.3 sampler)
//   raw  = RoundHalfUpShift(raw * drift_f_q30, 30)   if drift_f_q30 >= 0 (§3.8)
//   raw  = clamp(raw, 0, (2^K - 1) * 2^F)            if clip_conductance
//   code = Sat_G(raw)
// Counts into *stats when given.
inline constexpr int64_t kNoDrift = -1;
int16_t ConductanceCode(const HardwareParams& params, int32_t level, int32_t std_q16,
                        uint64_t random_bits, ProgrammingStats* stats,
                        int64_t drift_f_q30 = kNoDrift);

// §3.5-3.8 for one cell of a used weight position: the stuck-at decision,
// else variation and drift, then clip and saturation. `programmed` is false
// for the cell beside a weight in the other array (§2.3), which gets code 0
// unless unprogrammed_variation, drift or a fault says otherwise.
int16_t CellCode(const HardwareParams& params, const CellStdCodes& std_codes,
                 const ProgrammingKey& key, ArraySide side, uint32_t row, uint32_t column,
                 int32_t level, bool programmed, ProgrammingStats* stats);

// The nominal code of a cell (§3.9's N): level * 2^F, or its stuck code.
int64_t NominalCode(const HardwareParams& params, const CellStdCodes& std_codes,
                    const ProgrammingKey& key, ArraySide side, uint32_t row, uint32_t column,
                    int32_t level);

// A tile's integer weights, as a view into the layer's weight matrix.
struct TileWeightsView {
  // codes[r * stride + n]: signed weight code (SignedWeightCode) of tile row
  // r and tile output n, each in -(2^M - 1) .. 2^M - 1.
  const int16_t* codes = nullptr;
  int64_t stride = 0;
  int32_t rows_used = 0;     // 1 .. R
  int32_t outputs_used = 0;  // 1 .. floor(C / P)
  // Position of the tile's first row / output in the layer matrix (keys the
  // variation, §3.4).
  int64_t first_row = 0;
  int64_t first_output = 0;
};

// A programmed tile: the conductance codes of both arrays over the used
// region (rows_used x columns_used). Cells outside it exist in the hardware
// but are never read: their rows are driven with 0 and their columns are not
// converted (§2.3).
struct ProgrammedTile {
  int32_t rows_used = 0;
  int32_t outputs_used = 0;
  int32_t columns_used = 0;  // outputs_used * P
  int64_t first_row = 0;
  int64_t first_output = 0;
  // [r * columns_used + c], column c = n * P + i for output n, cell i.
  std::vector<int16_t> positive;
  std::vector<int16_t> negative;

  const std::vector<int16_t>& codes(ArraySide side) const {
    return side == ArraySide::kPositive ? positive : negative;
  }
  int16_t Code(ArraySide side, int32_t row, int32_t column) const {
    return codes(side)[static_cast<size_t>(row) * columns_used + column];
  }
  // max |code| over both arrays (for the fast path's exactness bounds).
  int32_t MaxAbsCode() const;
};

// §2.3 + §3.5: programs both arrays of one tile. Rows are split over
// `num_threads` threads; the result is identical for any thread count.
// `stats` (optional) receives the counts.
absl::StatusOr<ProgrammedTile> ProgramCells(const HardwareParams& params,
                                            const CellStdCodes& std_codes,
                                            const TileWeightsView& weights,
                                            const ProgrammingKey& key, int num_threads,
                                            ProgrammingStats* stats);

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_PROGRAMMING_H_
