#ifndef NFTCIM_EMULATOR_GOLDEN_VERIFY_H_
#define NFTCIM_EMULATOR_GOLDEN_VERIFY_H_

// Checks a golden-vector set on disk against its own manifest
// (docs/golden-vectors.md, "Verifying a set"), reading nothing but the set,
// its manifest format (formats/golden_manifest.proto) and optionally the
// model file:
// - every inventory entry exists with the recorded size and SHA-256, and no
//   other file is in the set's folders;
// - total_bytes is the inventory's sum, SHA256SUMS matches the inventory;
// - every $readmemh file has the recorded number of lines, each exactly
//   hex_digits lower-case hex digits holding a value of at most `bits` bits;
// - layer folders hold their manifests, and each layer manifest's inventory
//   agrees with the set's;
// - the model file's FNV-1a 64 and SHA-256 equal the manifest's;
// - the programming checksum, recomputed from every crossbar layer's
//   gpos.hex / gneg.hex, equals the manifest's.
// Works for network sets (//emulator:golden) and tile sets
// (//emulator:golden_tile).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nftcim::emulator {

struct GoldenVerifyOptions {
  // The model file to check the manifest's model hashes against; empty: the
  // manifest's `model` path if that file exists (relative paths taken from
  // `working_dir`), else the model is reported as not checked.
  std::string model_path;
  std::string working_dir = ".";
};

struct GoldenVerifyReport {
  std::string kind;                   // "network set" or "tile set"
  std::vector<std::string> problems;  // each names the file and what differs
  int64_t files = 0;                  // inventory entries checked
  int64_t bytes = 0;
  int64_t hex_files = 0;
  int64_t hex_lines = 0;
  // What was done about the model ("matches FILE", or why not checked).
  std::string model;
  bool programming_checksum_checked = false;
  bool ok() const { return problems.empty(); }
};

// An error status only when the set's manifest cannot be read at all (it
// names the file); every other difference is a problem in the report.
absl::StatusOr<GoldenVerifyReport> VerifyGoldenSet(const std::string& dir,
                                                   const GoldenVerifyOptions& options);

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_GOLDEN_VERIFY_H_
