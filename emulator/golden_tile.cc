#include "emulator/golden_tile.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "device_model/device_model.h"
#include "emulator/crossbar.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/fixed_point.h"
#include "emulator/golden_layer.h"
#include "emulator/hardware_config.h"
#include "emulator/periphery.h"
#include "emulator/programming.h"
#include "rng/splitmix64.h"

namespace nftcim::emulator {
namespace {

// SplitMix64: the generator of the weights, inputs and periphery constants.
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Next() { return g_.Next(); }
  // Uniform in [lo, hi] (hi - lo < 2^32; the modulo bias is irrelevant).
  int64_t Uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  rng::SplitMix64 g_;
};

int BitLength(uint64_t v) {
  int n = 0;
  while (v != 0) {
    ++n;
    v >>= 1;
  }
  return n;
}

}  // namespace

absl::Status WriteGoldenTile(const GoldenTileOptions& o, const std::string& out_dir,
                             formats::GoldenManifest* manifest_out) {
  if (absl::Status s = ValidateHardwareConfig(o.hardware); !s.ok()) return s;
  absl::StatusOr<HardwareParams> params_or = HardwareParams::FromConfig(o.hardware);
  if (!params_or.ok()) return params_or.status();
  const HardwareParams& hw = *params_or;
  if (o.rows < 1 || o.outputs < 1 || o.batch < 1 || o.rows > (1 << 20) || o.outputs > (1 << 16) ||
      o.batch > 4096) {
    return absl::InvalidArgumentError("rows, outputs, batch must be in 1..2^20, 1..2^16, 1..4096");
  }
  absl::StatusOr<device::DeviceModel> device =
      device::DeviceModel::Create(hw.weight_bits, hw.cell_bits, o.sigma, formats::GAUSSIAN);
  if (!device.ok()) return device.status();
  absl::StatusOr<CellStdCodes> std_codes = MakeCellStdCodes(hw, *device);
  if (!std_codes.ok()) return std_codes.status();

  const int64_t R = o.rows, N = o.outputs, B = o.batch;

  // Weights and inputs: pure functions of the seed.
  Rng rng(o.seed ^ 0x676F6C64656E0001ull);
  std::vector<int16_t> w(R * N);
  for (int16_t& v : w) v = static_cast<int16_t>(rng.Uniform(-hw.max_magnitude, hw.max_magnitude));
  std::vector<int32_t> x(B * R);
  const int32_t xmin = InputMin(hw, o.signed_inputs), xmax = InputMax(hw, o.signed_inputs);
  for (int32_t& v : x) v = static_cast<int32_t>(rng.Uniform(xmin, xmax));

  ProgrammingStats pstats;
  absl::StatusOr<ProgrammedMatrix> matrix =
      ProgramMatrix(hw, *std_codes, WeightMatrixView{w.data(), R, N, N},
                    ProgrammingKey{o.seed, 0}, 1, &pstats);
  if (!matrix.ok()) return matrix.status();

  GoldenLayerInput in;
  in.hardware = &hw;
  in.matrix = &*matrix;
  in.weight_codes = w.data();
  in.x = x.data();
  in.batch = B;
  in.signed_inputs = o.signed_inputs;
  in.adc_shift = -1;  // the configuration's policy
  // §7.2 constants, chosen from the seed and the data: the largest |t| maps
  // to about 2^(A+1), so most outputs are in range and some clamp.
  in.requantization = [&](const std::vector<int64_t>& acc) {
    uint64_t max_abs_acc = 1;
    for (int64_t v : acc) max_abs_acc = std::max<uint64_t>(max_abs_acc, static_cast<uint64_t>(std::llabs(v)));
    int32_t pre_shift = 0;
    while ((max_abs_acc >> pre_shift) > (uint64_t{1} << 20)) ++pre_shift;
    const int64_t t_max = std::max<int64_t>(1, static_cast<int64_t>(max_abs_acc >> pre_shift));
    std::vector<Requantization> rq(N);
    for (int64_t n = 0; n < N; ++n) {
      Requantization& q = rq[n];
      q.pre_shift = pre_shift;
      q.bias = static_cast<int32_t>(rng.Uniform(-t_max / 4, t_max / 4));
      const int64_t m = rng.Uniform(int64_t{1} << 30, (int64_t{1} << 31) - 1);
      q.multiplier = static_cast<int32_t>(n % 5 == 4 ? -m : m);
      q.shift = std::max(0, BitLength(static_cast<uint64_t>(t_max) * static_cast<uint64_t>(m)) -
                                (hw.activation_bits + 1));
      q.range = UnsignedRange(hw.activation_bits);
    }
    return rq;
  };

  formats::GoldenManifest m;
  m.set_generator("//emulator:golden_tile");
  m.set_command_line(o.command_line);
  m.set_seed(o.seed);
  m.set_sigma(o.sigma);
  if (absl::Status s = WriteGoldenLayer(in, out_dir, &m, nullptr); !s.ok()) return s;
  if (manifest_out != nullptr) *manifest_out = m;
  return absl::OkStatus();
}

}  // namespace nftcim::emulator
