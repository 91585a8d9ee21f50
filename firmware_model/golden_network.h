#ifndef NFTCIM_FIRMWARE_MODEL_GOLDEN_NETWORK_H_
#define NFTCIM_FIRMWARE_MODEL_GOLDEN_NETWORK_H_

// Golden vectors of a whole compiled network (docs/golden-vectors.md,
// "Network sets"): one variation instance is programmed from the seed, the
// sequencer runs the images on the REFERENCE path, and every layer's
// intermediates are exported: for each crossbar layer a tile-level set
// (emulator/golden_layer.h: conductance codes of both arrays, unrolled
// inputs and bit planes, per-slice ADC codes, tile outputs, row-tile
// accumulations, requantization constants and outputs), for every other
// layer its output tensor, and the pixels, logits and predicted classes,
// under a text-format formats::GoldenNetworkManifest. The exporter's own
// per-layer recomputation must equal the sequencer's layer outputs bit for
// bit, or it fails. Integer only: the same inputs give the same bytes on
// any machine.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "device_model/device_model.h"
#include "firmware_model/model.h"
#include "formats/golden_manifest.pb.h"

namespace nftcim::firmware {

// 2: the manifest's inventory (every file's size and SHA-256), model_sha256
// and SHA256SUMS.
inline constexpr uint32_t kGoldenNetworkFormatVersion = 2;

struct GoldenNetworkOptions {
  uint64_t seed = 1;             // of the variation instance
  bool write_adc_codes = true;   // adc.hex of every crossbar layer
  // Recorded in the manifest.
  std::string command_line;
  std::string model_path;
  std::string model_fnv1a64;
  std::string model_sha256;
  std::string image_source;
};

// pixels: n raw uint8 images (NCHW, model.image_size() bytes each); labels
// (optional, n entries) are written as labels.hex. `out_dir` is created.
// `manifest` (optional) receives what manifest.textproto holds.
absl::Status WriteGoldenNetwork(const CompiledModel& model, const device::DeviceModel& device,
                                const uint8_t* pixels, int n, const int32_t* labels,
                                const GoldenNetworkOptions& options, const std::string& out_dir,
                                formats::GoldenNetworkManifest* manifest);

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_GOLDEN_NETWORK_H_
