// Writes a tile-level golden-vector set (docs/golden-vectors.md):
//   bazel run -c opt //emulator:golden_tile -- --out=/tmp/gv --adc_bits=8
//       --rows=200 --outputs=48 --batch=4 --seed=1 --sigma=0.1

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "emulator/golden_tile.h"
#include "emulator/hardware_config.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, hw, "", "Hardware config (textproto); default: the emulator's default.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the weights, inputs, variation and periphery constants.");
ABSL_FLAG(double, sigma, 0.1, "Device variation sigma (GAUSSIAN preset).");
ABSL_FLAG(int64_t, rows, 200, "Layer-matrix rows (inputs).");
ABSL_FLAG(int64_t, outputs, 48, "Layer-matrix outputs.");
ABSL_FLAG(int64_t, batch, 4, "Input vectors.");
ABSL_FLAG(int32_t, adc_bits, -1,
          "Overrides the config's adc_bits (0 = lossless; > 0 uses a bipolar ADC unless the config "
          "says unipolar, shift per layer unless the config says fixed). -1: keep.");
ABSL_FLAG(int32_t, accumulator_bits, 0, "Overrides the config's accumulator width W (16..64). 0: keep.");
ABSL_FLAG(bool, signed_inputs, false, "Signed A-bit inputs (first layer) instead of unsigned.");
ABSL_FLAG(std::string, out, "", "Output folder (must exist).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Writes tile-level golden vectors ($readmemh files + manifest).");
  absl::ParseCommandLine(argc, argv);
  namespace em = nftcim::emulator;
  if (absl::GetFlag(FLAGS_out).empty()) {
    std::fprintf(stderr, "golden_tile: --out is required\n");
    return 2;
  }
  em::GoldenTileOptions o;
  if (absl::GetFlag(FLAGS_hw).empty()) {
    o.hardware = em::DefaultHardwareConfig();
  } else {
    absl::StatusOr<nftcim::formats::HardwareConfig> c = em::LoadHardwareConfig(nftcim::ResolveUserPath(absl::GetFlag(FLAGS_hw)));
    if (!c.ok()) {
      std::fprintf(stderr, "golden_tile: %s\n", std::string(c.status().message()).c_str());
      return 1;
    }
    o.hardware = *c;
  }
  const int32_t adc_bits = absl::GetFlag(FLAGS_adc_bits);
  if (adc_bits >= 0) {
    o.hardware.set_adc_bits(adc_bits);
    if (adc_bits == 0) {
      o.hardware.set_adc_shift(0);
    } else {
      if (o.hardware.adc_range() == nftcim::formats::ADC_RANGE_UNSPECIFIED)
        o.hardware.set_adc_range(nftcim::formats::ADC_BIPOLAR);
      if (o.hardware.adc_shift_policy() == nftcim::formats::ADC_SHIFT_POLICY_UNSPECIFIED)
        o.hardware.set_adc_shift_policy(nftcim::formats::ADC_SHIFT_PER_LAYER);
    }
  }
  if (absl::GetFlag(FLAGS_accumulator_bits) != 0)
    o.hardware.set_accumulator_bits(absl::GetFlag(FLAGS_accumulator_bits));
  o.seed = absl::GetFlag(FLAGS_seed);
  o.sigma = absl::GetFlag(FLAGS_sigma);
  o.rows = absl::GetFlag(FLAGS_rows);
  o.outputs = absl::GetFlag(FLAGS_outputs);
  o.batch = absl::GetFlag(FLAGS_batch);
  o.signed_inputs = absl::GetFlag(FLAGS_signed_inputs);
  // Canonical flags (the output folder left out, so the set does not depend on it).
  o.command_line = absl::StrCat(
      "bazel run -c opt //emulator:golden_tile --",
      absl::GetFlag(FLAGS_hw).empty() ? "" : absl::StrCat(" --hw=", absl::GetFlag(FLAGS_hw)),
      " --seed=", o.seed, " --sigma=", o.sigma, " --rows=", o.rows, " --outputs=", o.outputs,
      " --batch=", o.batch, " --adc_bits=", adc_bits, " --accumulator_bits=",
      absl::GetFlag(FLAGS_accumulator_bits), " --signed_inputs=", o.signed_inputs ? "true" : "false",
      " --out=DIR");
  nftcim::formats::GoldenManifest m;
  if (absl::Status s = em::WriteGoldenTile(o, nftcim::ResolveUserPath(absl::GetFlag(FLAGS_out)), &m); !s.ok()) {
    std::fprintf(stderr, "golden_tile: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("golden_tile: %lld row tiles x %lld column tiles, batch %lld, adc_shift %d, %d files in %s\n",
              static_cast<long long>(m.row_tiles()), static_cast<long long>(m.column_tiles()),
              static_cast<long long>(m.batch()), m.adc_shift(), m.files_size(),
              absl::GetFlag(FLAGS_out).c_str());
  return 0;
}
