// bazel run //firmware_model:compile -- --checkpoint=PATH --out=MODEL.pb
//     [--hw=CONFIG.textproto] [--calibration_images=512]
//     [--calibration_percentile=99.99] [--calibration_sigma=0]
//     [--calibration_instances=4] [--data_dir=DIR]
//     [--allow_accumulator_saturation]
//
// Compiles a trained checkpoint into a deployable integer model for the
// accelerator described by --hw (default: the paper's, emulator/configs/
// default.textproto): weights quantized per layer, BatchNorm folded into
// the requantization, activation scales calibrated on the first
// --calibration_images training images (also under variation at
// --calibration_sigma, docs/firmware-model.md §3), layers mapped onto crossbar tiles,
// ADC shifts and every periphery constant chosen (docs/firmware-model.md).
// Prints the layer table and the integer model's agreement with the float
// model on the calibration images.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/dataset.h"
#include "data/geometry.h"
#include "emulator/hardware_config.h"
#include "firmware_model/compiler.h"
#include "trainer/checkpoint.h"
#include "util/proto_io.h"
#include "util/cli_error.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, checkpoint, "", "Checkpoint written by //trainer:train (required).");
ABSL_FLAG(std::string, hw, "",
          "Hardware config (text or binary formats.HardwareConfig); default: the paper's.");
ABSL_FLAG(std::string, out, "", "Where to write the deployable model (binary proto, required).");
ABSL_FLAG(int32_t, calibration_images, 512,
          "Training images (the first N of the split) the activation scales are calibrated on.");
ABSL_FLAG(double, calibration_percentile, 99.99,
          "Percentile of |activation| taken as a tensor's full scale (100 = the maximum).");
ABSL_FLAG(double, calibration_sigma, 0,
          "Also calibrate activation scales on forwards with weights varied at this sigma "
          "(0: clean forwards only).");
ABSL_FLAG(int32_t, calibration_instances, 4,
          "Varied weight instances for --calibration_sigma.");
ABSL_FLAG(std::string, data_dir, "", "Dataset folder (default: the checkpoint's).");
ABSL_FLAG(bool, allow_accumulator_saturation, false,
          "Accept layers whose accumulation can saturate (hardware-spec 6.3) instead of failing.");

namespace nftcim::firmware {
namespace {


int Run() {
  const std::string checkpoint_path = ResolveUserPath(absl::GetFlag(FLAGS_checkpoint));
  const std::string out_path = ResolveUserPath(absl::GetFlag(FLAGS_out));
  if (checkpoint_path.empty()) return CliFail(absl::InvalidArgumentError("--checkpoint is required"));
  if (out_path.empty()) return CliFail(absl::InvalidArgumentError("--out is required"));
  const int32_t n_cal = absl::GetFlag(FLAGS_calibration_images);
  if (n_cal < 1) {
    return CliFail(absl::InvalidArgumentError(
        absl::StrCat("--calibration_images must be >= 1, got ", n_cal)));
  }
  CompileOptions options;
  if (!absl::GetFlag(FLAGS_hw).empty()) {
    absl::StatusOr<formats::HardwareConfig> hw =
        emulator::LoadHardwareConfig(ResolveUserPath(absl::GetFlag(FLAGS_hw)));
    if (!hw.ok()) return CliFail(absl::InvalidArgumentError(absl::StrCat("--hw: ", hw.status().message())));
    options.hardware = *hw;
  }
  options.calibration_percentile = absl::GetFlag(FLAGS_calibration_percentile);
  options.calibration_sigma = absl::GetFlag(FLAGS_calibration_sigma);
  options.calibration_instances = absl::GetFlag(FLAGS_calibration_instances);
  options.allow_accumulator_saturation = absl::GetFlag(FLAGS_allow_accumulator_saturation);
  options.checkpoint_path = absl::GetFlag(FLAGS_checkpoint);

  absl::StatusOr<formats::Checkpoint> ck = trainer::ReadCheckpoint(checkpoint_path);
  if (!ck.ok()) return CliFail(ck.status());
  data::LoadOptions load;
  load.dataset = ck->config().dataset().name();
  load.data_dir = absl::GetFlag(FLAGS_data_dir).empty() ? ck->config().data_dir()
                                                          : ResolveUserPath(absl::GetFlag(FLAGS_data_dir));
  load.train_limit = n_cal;
  load.test_limit = 1;  // only the training split is used
  absl::StatusOr<data::ResizeMode> mode = data::ParseResizeMode(ck->config().dataset().geometry());
  if (mode.ok()) load.resize_mode = *mode;
  absl::StatusOr<data::LoadedDataset> ds = data::LoadDataset(load);
  if (!ds.ok()) return CliFail(ds.status());

  CompileReport report;
  absl::StatusOr<formats::DeployableModel> model = CompileCheckpoint(
      *ck, ds->train.pixels.data(), ds->train.num_images, options, &report);
  if (!model.ok()) {
    return CliFail(absl::Status(model.status().code(),
                             absl::StrCat("'", checkpoint_path, "': ", model.status().message())));
  }
  if (absl::Status s = WriteBinaryProto(out_path, *model); !s.ok()) return CliFail(s);

  const formats::HardwareConfig& hw = model->hardware();
  absl::PrintF("%s (%s width %g, %s) -> %s\n", absl::GetFlag(FLAGS_checkpoint),
               model->architecture().arch(), model->architecture().width(),
               model->dataset().name(), absl::GetFlag(FLAGS_out));
  absl::PrintF("hardware: %dx%d arrays, %d-bit weights in %d-bit cells, %d-bit DAC, %s ADC, "
               "%d-bit accumulator\n",
               hw.array_rows(), hw.array_cols(), hw.weight_bits(), hw.cell_bits(), hw.dac_bits(),
               hw.adc_bits() == 0 ? std::string("lossless") : absl::StrCat(hw.adc_bits(), "-bit"),
               hw.accumulator_bits());
  absl::PrintF("calibration: %d training images, full scale = %g-th percentile of |activation|",
               ds->train.num_images, options.calibration_percentile);
  if (options.calibration_sigma > 0) {
    absl::PrintF(" over the clean forward and %d with weights varied at sigma %g",
                 options.calibration_instances, options.calibration_sigma);
  }
  absl::PrintF("\n");
  for (const std::string& line : report.layer_lines) absl::PrintF("  %s\n", line);
  for (const std::string& note : report.notes) absl::PrintF("note: %s\n", note);
  absl::PrintF("integer model (no variation) agrees with the float model on %.2f%% of the "
               "calibration images\n",
               report.calibration_agreement);
  return 0;
}

}  // namespace
}  // namespace nftcim::firmware

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Compiles a trained checkpoint into a deployable integer model.\n"
      "  bazel run //firmware_model:compile -- --checkpoint=PATH --hw=CONFIG --out=MODEL.pb");
  absl::ParseCommandLine(argc, argv);
  return nftcim::firmware::Run();
}
