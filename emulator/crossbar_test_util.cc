#include "emulator/crossbar_test_util.h"

#include <cstdio>
#include <cstdlib>

namespace nftcim::emulator::testing {
namespace {

[[noreturn]] void Die(const absl::Status& status) {
  std::fprintf(stderr, "fatal: %s\n", status.ToString().c_str());
  std::abort();
}

}  // namespace

HardwareParams ParamsOrDie(const formats::HardwareConfig& config) {
  absl::StatusOr<HardwareParams> p = HardwareParams::FromConfig(config);
  if (!p.ok()) Die(p.status());
  return *p;
}

device::DeviceModel DeviceOrDie(const HardwareParams& params, double sigma,
                                formats::DevicePreset preset) {
  absl::StatusOr<device::DeviceModel> d =
      device::DeviceModel::Create(params.weight_bits, params.cell_bits, sigma, preset);
  if (!d.ok()) Die(d.status());
  return *d;
}

CellStdCodes StdCodesOrDie(const HardwareParams& params, double sigma,
                           formats::DevicePreset preset) {
  absl::StatusOr<CellStdCodes> s = MakeCellStdCodes(params, DeviceOrDie(params, sigma, preset));
  if (!s.ok()) Die(s.status());
  return *s;
}

int64_t TestRng::Uniform(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(Next() % span);
}

std::vector<int16_t> RandomWeightCodes(const HardwareParams& params, int64_t rows,
                                       int64_t outputs, uint64_t seed, int zero_percent) {
  TestRng rng(seed);
  std::vector<int16_t> codes(static_cast<size_t>(rows * outputs));
  for (int16_t& c : codes) {
    c = rng.Uniform(0, 99) < zero_percent
            ? 0
            : static_cast<int16_t>(rng.Uniform(-params.max_magnitude, params.max_magnitude));
  }
  return codes;
}

std::vector<int32_t> RandomInputs(const HardwareParams& params, int64_t batch, int64_t rows,
                                  bool signed_inputs, uint64_t seed) {
  TestRng rng(seed);
  std::vector<int32_t> x(static_cast<size_t>(batch * rows));
  const int32_t lo = InputMin(params, signed_inputs), hi = InputMax(params, signed_inputs);
  for (int32_t& v : x) v = static_cast<int32_t>(rng.Uniform(lo, hi));
  return x;
}

ProgrammedTile ProgramTileOrDie(const HardwareParams& params, const CellStdCodes& std_codes,
                                const std::vector<int16_t>& codes, int32_t rows,
                                int32_t outputs, const ProgrammingKey& key, int num_threads) {
  TileWeightsView view;
  view.codes = codes.data();
  view.stride = outputs;
  view.rows_used = rows;
  view.outputs_used = outputs;
  absl::StatusOr<ProgrammedTile> tile =
      ProgramCells(params, std_codes, view, key, num_threads, nullptr);
  if (!tile.ok()) Die(tile.status());
  return *std::move(tile);
}

}  // namespace nftcim::emulator::testing
