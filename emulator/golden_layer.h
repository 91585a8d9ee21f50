#ifndef NFTCIM_EMULATOR_GOLDEN_LAYER_H_
#define NFTCIM_EMULATOR_GOLDEN_LAYER_H_

// Golden vectors of one programmed layer matrix (docs/golden-vectors.md):
// every intermediate of docs/hardware-spec.md §4-§7.3 for a batch of input
// vectors, recomputed here with the spec's plain loops (bit planes, column
// sums per row tile and slice, ADC codes, shift-and-add, positive minus
// negative, row-tile accumulation, requantization) and written as $readmemh
// files (one fixed-width hex value per line) with a text-format
// formats::GoldenManifest and a Verilog header golden_params.vh.
//
// The values are cross-checked against the emulator's reference path
// (CrossbarMvmReference per tile and MatrixMvm for the layer); a difference
// is an InternalError, never a silently wrong file. Used by
// //emulator:golden_tile (a random layer) and //emulator:golden (every
// crossbar layer of a compiled network).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "emulator/crossbar.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/hardware_config.h"
#include "emulator/periphery.h"
#include "formats/golden_manifest.pb.h"

namespace nftcim::emulator {

struct GoldenLayerInput {
  const HardwareParams* hardware = nullptr;
  const ProgrammedMatrix* matrix = nullptr;
  // Optional: rows x outputs signed weight codes (§2.1), written as
  // weights.hex when given.
  const int16_t* weight_codes = nullptr;
  // batch x rows input vectors (§4.1), row-major.
  const int32_t* x = nullptr;
  int64_t batch = 0;
  bool signed_inputs = false;
  // The layer's ADC shift (§5.3); ignored with a lossless ADC. A negative
  // value: choose it from the data as the per-layer policy does (or the
  // fixed shift of the configuration).
  int32_t adc_shift = -1;
  // §7.2 constants per output, given the final accumulations (batch x
  // outputs, row-major). Every entry must share one pre_shift.
  std::function<std::vector<Requantization>(const std::vector<int64_t>& acc)> requantization;
  // The per-slice ADC codes are the largest file; false leaves adc.hex out.
  bool write_adc_codes = true;
};

// Format of the sets written here (GoldenManifest.format_version): 2 adds
// the inventory of file sizes and SHA-256 digests.
inline constexpr uint32_t kGoldenFormatVersion = 2;

struct GoldenLayerOutput {
  // batch x outputs requantized outputs (§7.2-§7.3), row-major.
  std::vector<int64_t> outputs;
  // Every file written, manifest.textproto included, sorted by path.
  std::vector<formats::FileDigest> files;
};

// Writes the files of a golden set into one folder, each atomically, and
// records each one's size and SHA-256 for the manifest's inventory.
class GoldenFileWriter {
 public:
  explicit GoldenFileWriter(std::string dir) : dir_(std::move(dir)) {}
  // `path` relative to the folder ('/'-separated; its folders must exist).
  absl::Status Write(const std::string& path, absl::string_view contents);
  // Records files another writer put under `prefix`/ (a subfolder).
  void AddWritten(const std::string& prefix, const std::vector<formats::FileDigest>& files);
  // What was written so far, sorted by path.
  std::vector<formats::FileDigest> Inventory() const;

 private:
  std::string dir_;
  std::vector<formats::FileDigest> written_;
};

// Prints a manifest as text with its proto-file / proto-message header.
absl::StatusOr<std::string> GoldenManifestText(const google::protobuf::Message& manifest);

// Computes and writes the set into `out_dir` (which must exist), every file
// atomically. `manifest` must carry the caller's header (generator, command
// line, seed, sigma, layer identity); the layer fields, counters and file
// list are filled here, and the result is written as manifest.textproto.
absl::Status WriteGoldenLayer(const GoldenLayerInput& input, const std::string& out_dir,
                              formats::GoldenManifest* manifest, GoldenLayerOutput* output);

// Helpers shared by the network exporter: one $readmemh file being built.
struct GoldenHexFile {
  formats::GoldenFile* meta = nullptr;
  std::string text;
  uint64_t mask = 0;
  void Add(int64_t v);
};

// Adds a file entry to `files` (a manifest's repeated field). dims: name and
// size, outermost first; the line index is row-major over them.
GoldenHexFile NewGoldenHexFile(google::protobuf::RepeatedPtrField<formats::GoldenFile>* files,
                               const std::string& name, const std::string& description,
                               const std::vector<std::pair<std::string, int64_t>>& dims, int bits,
                               bool is_signed);

// The bits and signedness of an output range's values (uint for lo = 0).
void RangeBits(const OutputRange& range, int* bits, bool* is_signed);

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_GOLDEN_LAYER_H_
