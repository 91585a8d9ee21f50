// Network-level golden vectors for RTL verification (docs/golden-vectors.md,
// "Network sets"):
//   bazel run //emulator:golden -- --model=MODEL.pb --hw=CONFIG --sigma=0.1
//       --seed=7 --images=4 --out=DIR
//   bazel run //emulator:golden -- --verify=DIR [--model=MODEL.pb]

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/dataset.h"
#include "device_model/device_model.h"
#include "device_model/nonideal.h"
#include "device_model/nonideal_flags.h"
#include "emulator/golden_verify.h"
#include "emulator/hardware_config.h"
#include "firmware_model/compiler.h"
#include "firmware_model/golden_network.h"
#include "firmware_model/model.h"
#include "firmware_model/model_inputs.h"
#include "util/atomic_file.h"
#include "util/proto_io.h"
#include "util/cli_error.h"
#include "util/digest.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, model, "", "Deployable model written by //firmware_model:compile (required).");
ABSL_FLAG(std::string, hw, "",
          "Hardware config (textproto) to retarget the model to (ADC and accumulator fields may "
          "differ from the model's); default: the model's own.");
ABSL_FLAG(double, sigma, 0.1, "Device variation sigma of the programmed instance.");
ABSL_FLAG(uint64_t, seed, 7, "Seed of the variation instance.");
ABSL_FLAG(std::string, device, "", "Device preset (default: the one the model was trained for).");
ABSL_FLAG(int32_t, images, 4, "Number of images (test split, from --first_image).");
ABSL_FLAG(int32_t, first_image, 0, "Index of the first test image.");
ABSL_FLAG(std::string, data_dir, "", "Dataset folder (default: the one recorded in the model).");
ABSL_FLAG(std::string, pixels, "",
          "Instead of the dataset: a file of raw uint8 images (NCHW, the model's input size), "
          "--images of them are used.");
ABSL_FLAG(bool, adc_codes, true, "Write the per-slice ADC codes (adc.hex, the largest files).");
ABSL_FLAG(std::string, out, "", "Output folder (created; required).");
ABSL_FLAG(std::string, verify, "",
          "Instead of exporting: check the set in this folder (network or tile set) against its "
          "manifest: every file's size and SHA-256, no other files, total_bytes, SHA256SUMS, every "
          "hex file's line count, widths and value bits, the programming checksum recomputed from "
          "gpos/gneg.hex, and the model hashes against --model (default: the manifest's model "
          "path, if it exists). Exit status 1 on any difference.");

namespace nftcim::firmware {
namespace {

int RunVerify() {
  const std::string dir = ResolveUserPath(absl::GetFlag(FLAGS_verify));
  emulator::GoldenVerifyOptions o;
  o.model_path = ResolveUserPath(absl::GetFlag(FLAGS_model));
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd != nullptr && *cwd != '\0') o.working_dir = cwd;
  absl::StatusOr<emulator::GoldenVerifyReport> r = emulator::VerifyGoldenSet(dir, o);
  if (!r.ok()) {
    absl::FPrintF(stderr, "FAIL: %s\n", r.status().message());
    return 1;
  }
  constexpr size_t kShown = 20;
  for (size_t k = 0; k < r->problems.size() && k < kShown; ++k) {
    absl::FPrintF(stderr, "FAIL: %s\n", r->problems[k]);
  }
  if (r->problems.size() > kShown) {
    absl::FPrintF(stderr, "FAIL: ... and %d more problems\n", r->problems.size() - kShown);
  }
  absl::PrintF("%s %s: %d files (%d bytes) against the inventory, %d hex files (%d lines); "
               "programming checksum %s; model %s\n",
               r->kind, absl::GetFlag(FLAGS_verify), r->files, r->bytes, r->hex_files, r->hex_lines,
               r->programming_checksum_checked ? "recomputed" : "not recomputed", r->model);
  if (!r->ok()) {
    absl::PrintF("FAILED: %d problem(s)\n", r->problems.size());
    return 1;
  }
  absl::PrintF("OK\n");
  return 0;
}


int Run() {
  const std::string model_path = ResolveUserPath(absl::GetFlag(FLAGS_model));
  if (model_path.empty()) return CliFail(absl::InvalidArgumentError("--model is required"));
  if (absl::GetFlag(FLAGS_out).empty()) return CliFail(absl::InvalidArgumentError("--out is required"));
  const int images = absl::GetFlag(FLAGS_images);
  if (images < 1 || images > 4096) {
    return CliFail(absl::InvalidArgumentError(absl::StrCat("--images must be in 1..4096, got ", images)));
  }
  const int first = absl::GetFlag(FLAGS_first_image);
  if (first < 0) {
    return CliFail(absl::InvalidArgumentError(absl::StrCat("--first_image must be >= 0, got ", first)));
  }
  const double sigma = absl::GetFlag(FLAGS_sigma);
  if (!(sigma >= 0) || sigma > 10) {
    return CliFail(absl::InvalidArgumentError(absl::StrCat("--sigma must be in [0, 10], got ", sigma)));
  }

  absl::StatusOr<std::string> model_bytes = ReadFileToString(model_path);
  if (!model_bytes.ok()) return CliFail(model_bytes.status());
  formats::DeployableModel proto;
  if (absl::Status s = ReadProto(model_path, &proto); !s.ok()) return CliFail(s);
  if (absl::StatusOr<CompiledModel> m = CompiledModel::FromProto(proto, model_path); !m.ok()) {
    return CliFail(m.status());
  }
  if (!absl::GetFlag(FLAGS_hw).empty()) {
    const std::string hw_path = ResolveUserPath(absl::GetFlag(FLAGS_hw));
    absl::StatusOr<formats::HardwareConfig> hw = emulator::LoadHardwareConfig(hw_path);
    if (!hw.ok()) return CliFail(hw.status());
    absl::StatusOr<formats::DeployableModel> re = RetargetHardware(proto, *hw);
    if (!re.ok()) {
      return CliFail(absl::InvalidArgumentError(absl::StrCat("--hw=", hw_path, ": ", re.status().message())));
    }
    proto = *std::move(re);
  }
  absl::StatusOr<CompiledModel> model = CompiledModel::FromProto(proto, model_path);
  if (!model.ok()) return CliFail(model.status());

  absl::StatusOr<formats::DeviceModel> device_proto = DeviceOfModel(proto, absl::GetFlag(FLAGS_device));
  if (!device_proto.ok()) return CliFail(device_proto.status());
  device::ClearNonidealities(&*device_proto);
  if (absl::Status s = device::ApplyNonIdealityFlags(&*device_proto); !s.ok()) return CliFail(s);
  device_proto->set_sigma(sigma);
  absl::StatusOr<device::DeviceModel> device = device::DeviceModel::FromProto(*device_proto);
  if (!device.ok()) return CliFail(device.status());

  const int64_t image_size = model->image_size();
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  std::string source;
  if (!absl::GetFlag(FLAGS_pixels).empty()) {
    const std::string path = ResolveUserPath(absl::GetFlag(FLAGS_pixels));
    absl::StatusOr<std::string> bytes = ReadFileToString(path);
    if (!bytes.ok()) return CliFail(bytes.status());
    const int64_t need = (int64_t{first} + images) * image_size;
    if (static_cast<int64_t>(bytes->size()) % image_size != 0 ||
        static_cast<int64_t>(bytes->size()) < need) {
      return CliFail(absl::InvalidArgumentError(absl::StrCat(
          path, ": ", bytes->size(), " bytes; expected a multiple of the image size ", image_size,
          " (", model->in_channels(), "x", model->input_size(), "x", model->input_size(),
          " uint8) holding at least ", first + images, " images")));
    }
    pixels.assign(bytes->begin() + first * image_size, bytes->begin() + need);
    source = absl::StrCat("pixels file ", absl::GetFlag(FLAGS_pixels), ", images ", first, "..",
                          first + images - 1);
  } else {
    absl::StatusOr<data::LoadedDataset> ds = LoadModelTestSplit(
        proto, *model,
        absl::GetFlag(FLAGS_data_dir).empty() ? "" : ResolveUserPath(absl::GetFlag(FLAGS_data_dir)),
        first + images);
    if (!ds.ok()) {
      return CliFail(absl::Status(ds.status().code(),
                               absl::StrCat(ds.status().message(),
                                            " (or give the images as raw bytes with --pixels=FILE)")));
    }
    if (ds->test.num_images < first + images) {
      return CliFail(absl::InvalidArgumentError(absl::StrCat(
          "the test split has ", ds->test.num_images, " images; --first_image=", first,
          " --images=", images, " needs ", first + images)));
    }
    if (ds->test.image_size() != image_size) {
      return CliFail(absl::InvalidArgumentError(absl::StrCat("dataset images have ", ds->test.image_size(),
                                                          " bytes, the model expects ", image_size)));
    }
    pixels.assign(ds->test.image(first), ds->test.image(first) + images * image_size);
    labels.assign(ds->test.labels.begin() + first, ds->test.labels.begin() + first + images);
    source = absl::StrCat(proto.dataset().name(), " test split, images ", first, "..",
                          first + images - 1);
  }

  GoldenNetworkOptions o;
  o.seed = absl::GetFlag(FLAGS_seed);
  o.write_adc_codes = absl::GetFlag(FLAGS_adc_codes);
  o.model_path = absl::GetFlag(FLAGS_model);
  o.model_fnv1a64 = Fnv1a64Hex(*model_bytes);
  o.model_sha256 = Sha256Hex(*model_bytes);
  o.image_source = source;
  // The flags as given, so that the manifest reproduces the set.
  o.command_line = absl::StrCat(
      "bazel run //emulator:golden -- --model=", absl::GetFlag(FLAGS_model),
      absl::GetFlag(FLAGS_hw).empty() ? "" : absl::StrCat(" --hw=", absl::GetFlag(FLAGS_hw)),
      absl::StrFormat(" --sigma=%g --seed=%d --images=%d", sigma, o.seed, images),
      first == 0 ? "" : absl::StrCat(" --first_image=", first),
      absl::GetFlag(FLAGS_device).empty() ? "" : absl::StrCat(" --device=", absl::GetFlag(FLAGS_device)),
      absl::GetFlag(FLAGS_pixels).empty() ? "" : absl::StrCat(" --pixels=", absl::GetFlag(FLAGS_pixels)),
      absl::GetFlag(FLAGS_data_dir).empty() ? "" : absl::StrCat(" --data_dir=", absl::GetFlag(FLAGS_data_dir)),
      o.write_adc_codes ? "" : " --adc_codes=false", " --out=DIR");
  formats::GoldenNetworkManifest m;
  const std::string out_dir = ResolveUserPath(absl::GetFlag(FLAGS_out));
  if (absl::Status s = WriteGoldenNetwork(*model, *device, pixels.data(), images,
                                          labels.empty() ? nullptr : labels.data(), o, out_dir, &m);
      !s.ok()) {
    return CliFail(s);
  }
  int crossbar = 0;
  for (const formats::GoldenLayer& l : m.layers()) crossbar += l.kind() == "conv" || l.kind() == "linear";
  absl::PrintF("wrote %s: %d image(s), %d layers (%d on crossbars), %.1f MB, sigma %g, seed %d, "
               "programming checksum %s\n",
               absl::GetFlag(FLAGS_out), images, m.layers_size(), crossbar,
               static_cast<double>(m.total_bytes()) / 1e6, sigma, o.seed, m.programming_checksum());
  return 0;
}

}  // namespace
}  // namespace nftcim::firmware

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Network-level golden vectors: every layer's crossbar intermediates, requantized outputs, "
      "logits and predictions of one programmed instance, as $readmemh files with a manifest.\n"
      "  bazel run //emulator:golden -- --model=MODEL.pb --hw=CONFIG --sigma=0.1 --seed=7 "
      "--images=4 --out=DIR\n"
      "  bazel run //emulator:golden -- --verify=DIR [--model=MODEL.pb]");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    absl::FPrintF(stderr, "error: unexpected argument '%s'\n", rest[1]);
    return 2;
  }
  if (!absl::GetFlag(FLAGS_verify).empty()) return nftcim::firmware::RunVerify();
  return nftcim::firmware::Run();
}
