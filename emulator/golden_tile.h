#ifndef NFTCIM_EMULATOR_GOLDEN_TILE_H_
#define NFTCIM_EMULATOR_GOLDEN_TILE_H_

// Golden vectors of one layer at the tile level (docs/golden-vectors.md):
// a random signed weight matrix and inputs (pure functions of the seed) are
// programmed and run on the REFERENCE path with the emulator's crossbar API;
// every intermediate of docs/hardware-spec.md §4-§7.2 is written as a
// $readmemh file (one fixed-width hex value per line), with a text-format
// formats::GoldenManifest describing each file. The same options give the
// same bytes.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "formats/golden_manifest.pb.h"
#include "formats/hardware_config.pb.h"

namespace nftcim::emulator {

struct GoldenTileOptions {
  formats::HardwareConfig hardware;  // validated by WriteGoldenTile
  uint64_t seed = 1;
  double sigma = 0.1;
  int64_t rows = 200;
  int64_t outputs = 48;
  int64_t batch = 4;
  bool signed_inputs = false;
  std::string command_line;  // recorded in the manifest
};

// Computes the vectors and writes them (and manifest.textproto) into
// `out_dir`, which must exist. Every file is written atomically. Cross-checks
// its own shift-and-add against CrossbarMvmReference and MatrixMvm and
// fails on a difference. `manifest` (optional) receives the manifest.
absl::Status WriteGoldenTile(const GoldenTileOptions& options, const std::string& out_dir,
                             formats::GoldenManifest* manifest);

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_GOLDEN_TILE_H_
