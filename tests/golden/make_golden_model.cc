// Writes the tiny models and pixels of the checked-in golden sets
// (tests/golden/README.md): a VGG-8 or ResNet-18 of width 1/32 for 8x8
// single-channel input with random weights and BatchNorm statistics,
// compiled for the paper's arrays with a lossless or B-bit bipolar ADC
// (per-layer shift), and 4 random structured images. Run once by hand; the
// compile step uses floating point (calibration), so the model files are
// checked in rather than rebuilt by the regression test, which regenerates
// only the integer vectors.
//
//   bazel run //tests/golden:make_golden_model -- --out=tests/golden/tiny_vgg8
//   bazel run //tests/golden:make_golden_model -- --arch=resnet18 --adc_bits=0 \
//       --out=tests/golden/tiny_resnet18

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
ABSL_FLAG(std::string, arch, "vgg8", "vgg8 or resnet18.");
ABSL_FLAG(int32_t, adc_bits, 8, "ADC bits (bipolar, per-layer shift); 0 = lossless.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  namespace fw = nftcim::firmware;
  if (absl::GetFlag(FLAGS_out).empty()) {
    absl::FPrintF(stderr, "error: --out is required\n");
    return 2;
  }
  const std::string arch = absl::GetFlag(FLAGS_arch);
  if (arch != "vgg8" && arch != "resnet18") {
    absl::FPrintF(stderr, "error: --arch must be vgg8 or resnet18, got '%s'\n", arch);
    return 2;
  }
  const int adc_bits = absl::GetFlag(FLAGS_adc_bits);
  if (adc_bits < 0 || adc_bits > 16) {
    absl::FPrintF(stderr, "error: --adc_bits must be in 0..16, got %d\n", adc_bits);
    return 2;
  }
  const std::string out = nftcim::ResolveUserPath(absl::GetFlag(FLAGS_out));
  nftcim::formats::DeployableModel model = fw::testing::CompiledRandomModel(
      arch, 1,
      fw::testing::AdcConfig(adc_bits, nftcim::formats::ADC_BIPOLAR,
                             nftcim::formats::ADC_SHIFT_PER_LAYER),
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
