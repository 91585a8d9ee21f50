// Writes the tiny model and pixels of the checked-in golden set
// (tests/golden/README.md): a VGG-8 of width 1/32 for 8x8 single-channel
// input with random weights and BatchNorm statistics, compiled for the
// paper's arrays with an 8-bit bipolar ADC (per-layer shift), and 4 random
// structured images. Run once by hand; the compile step uses floating point
// (calibration), so the model file is checked in rather than rebuilt by the
// regression test, which regenerates only the integer vectors.
//
//   bazel run //tests/golden:make_golden_model -- --out=tests/golden/tiny_vgg8

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "firmware_model/model.h"
#include "firmware_model/test_networks.h"
#include "util/atomic_file.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, out, "", "Folder for model.pb and pixels.bin (created).");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  namespace fw = nftcim::firmware;
  if (absl::GetFlag(FLAGS_out).empty()) {
    absl::FPrintF(stderr, "error: --out is required\n");
    return 2;
  }
  const std::string out = nftcim::ResolveUserPath(absl::GetFlag(FLAGS_out));
  nftcim::formats::DeployableModel model = fw::testing::CompiledRandomModel(
      "vgg8", 1,
      fw::testing::AdcConfig(8, nftcim::formats::ADC_BIPOLAR, nftcim::formats::ADC_SHIFT_PER_LAYER),
      1.0 / 32, 21, /*input_size=*/8);
  if (absl::StatusOr<fw::CompiledModel> m = fw::CompiledModel::FromProto(model, "generated"); !m.ok()) {
    absl::FPrintF(stderr, "error: %s\n", m.status().message());
    return 1;
  }
  std::string bytes;
  model.SerializeToString(&bytes);
  const std::vector<uint8_t> pixels = fw::testing::RandomPixels(4, 1, 8, 22);
  for (const absl::Status& s :
       {nftcim::MakeDirectories(out), nftcim::WriteFileAtomically(out + "/model.pb", bytes),
        nftcim::WriteFileAtomically(out + "/pixels.bin",
                                    std::string(pixels.begin(), pixels.end()))}) {
    if (!s.ok()) {
      absl::FPrintF(stderr, "error: %s\n", s.message());
      return 1;
    }
  }
  absl::PrintF("wrote %s/model.pb (%d bytes) and pixels.bin (4 images of 8x8)\n", out, bytes.size());
  return 0;
}
