// bazel run //trainer:evaluate -- --checkpoint=PATH --sigmas=0,0.1,0.2 --runs=200
//     --seed=1 --json=OUT.json [--device=FeFET2] [--test_limit=N]
//
// Monte Carlo inference of a trained float model under device variation:
// each run draws one variation instance for all weights and keeps it for the
// whole test set (paper section 4.2).

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "data/dataset.h"
#include "data/flags.h"
#include "device_model/device_model.h"
#include "device_model/nonideal.h"
#include "device_model/nonideal_flags.h"
#include "trainer/checkpoint.h"
#include "trainer/evaluation.h"
#include "trainer/nft_trainer.h"
#include "trainer/nn/parallel.h"
#include "util/atomic_file.h"
#include "util/monte_carlo.h"
#include "util/progress.h"
#include "util/cli_error.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, checkpoint, "", "Checkpoint written by //trainer:train.");
ABSL_FLAG(std::string, sigmas, "0,0.1,0.2,0.3,0.4", "Comma-separated inference sigmas.");
ABSL_FLAG(int32_t, runs, 200, "Monte Carlo runs per sigma (sigma 0 always uses one).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the variation instances.");
ABSL_FLAG(std::string, json, "", "Write the results as JSON here (optional).");
ABSL_FLAG(std::string, device, "", "Device preset at inference (default: the checkpoint's).");
ABSL_FLAG(int32_t, threads, 2, "Worker threads.");
ABSL_FLAG(std::string, split, "test",
          "Images to evaluate on: test, or validation (the last --validation_split images of the "
          "checkpoint's training prefix, which //trainer:train --validation_split held out).");
ABSL_FLAG(int64_t, validation_split, 0, "With --split=validation: the V held-out images.");

namespace nftcim::trainer {
namespace {

absl::StatusOr<std::vector<double>> ParseSigmas(const std::string& text) {
  std::vector<double> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    double v;
    if (!absl::SimpleAtod(part, &v) || !(v >= 0) || v > 10) {
      return absl::InvalidArgumentError(
          absl::StrCat("--sigmas: '", part, "' is not a sigma (a number in [0, 10])"));
    }
    out.push_back(v);
  }
  if (out.empty()) return absl::InvalidArgumentError("--sigmas: no sigma given");
  return out;
}


int Run() {
  nn::SetNumThreads(absl::GetFlag(FLAGS_threads));
  if (absl::GetFlag(FLAGS_checkpoint).empty()) {
    return CliFail(absl::InvalidArgumentError("--checkpoint is required"));
  }
  if (absl::GetFlag(FLAGS_runs) < 1) {
    return CliFail(absl::InvalidArgumentError(
        absl::StrCat("--runs must be >= 1, got ", absl::GetFlag(FLAGS_runs))));
  }
  absl::StatusOr<std::vector<double>> sigmas = ParseSigmas(absl::GetFlag(FLAGS_sigmas));
  if (!sigmas.ok()) return CliFail(sigmas.status());
  const std::string checkpoint_path = ResolveUserPath(absl::GetFlag(FLAGS_checkpoint));
  absl::StatusOr<formats::Checkpoint> ck = ReadCheckpoint(checkpoint_path);
  if (!ck.ok()) return CliFail(ck.status());
  formats::DeviceModel device_proto = ck->config().device();
  if (!absl::GetFlag(FLAGS_device).empty()) {
    absl::StatusOr<formats::DevicePreset> p = device::ParsePreset(absl::GetFlag(FLAGS_device));
    if (!p.ok()) return CliFail(absl::InvalidArgumentError(absl::StrCat("--device: ", p.status().message())));
    device_proto.set_preset(*p);
  }
  // Non-idealities come from the flags only, not from the training device.
  device::ClearNonidealities(&device_proto);
  if (absl::Status s = device::ApplyNonIdealityFlags(&device_proto); !s.ok()) return CliFail(s);
  absl::StatusOr<device::DeviceModel> device = device::DeviceModel::FromProto(device_proto);
  if (!device.ok()) return CliFail(device.status());

  absl::StatusOr<std::unique_ptr<NftTrainer>> model = NftTrainer::FromCheckpoint(*ck);
  if (!model.ok()) {
    return CliFail(absl::InvalidArgumentError(absl::StrCat(
        "'", absl::GetFlag(FLAGS_checkpoint), "': ", model.status().message())));
  }
  const std::string split = absl::GetFlag(FLAGS_split);
  const int64_t held_out = absl::GetFlag(FLAGS_validation_split);
  const bool validation = split == "validation";
  if (!validation && split != "test") {
    return CliFail(absl::InvalidArgumentError(
        absl::StrCat("--split: unknown '", split, "'; expected test or validation")));
  }
  if (validation && held_out <= 0) {
    return CliFail(absl::InvalidArgumentError(absl::StrCat(
        "--split=validation needs --validation_split > 0 (the images //trainer:train held out), "
        "got ", held_out)));
  }
  if (!validation && held_out != 0) {
    return CliFail(absl::InvalidArgumentError("--validation_split only applies with --split=validation"));
  }
  data::LoadOptions load;
  load.dataset = ck->config().dataset().name();
  load.data_dir = absl::GetFlag(FLAGS_data_dir).empty()
                      ? ck->config().data_dir()
                      : ResolveUserPath(absl::GetFlag(FLAGS_data_dir));
  // Only the test split is used, or for validation the tail of the training
  // prefix the model was trained with.
  load.train_limit = validation ? ck->config().train_limit() : 1;
  load.test_limit = absl::GetFlag(FLAGS_test_limit);
  absl::StatusOr<data::ResizeMode> mode =
      data::ParseResizeMode(ck->config().dataset().geometry());
  if (mode.ok()) load.resize_mode = *mode;
  absl::StatusOr<data::LoadedDataset> ds = data::LoadDataset(load);
  if (!ds.ok()) return CliFail(ds.status());
  if (validation) {
    data::RawDataset& train = ds->train;
    if (held_out >= train.num_images) {
      return CliFail(absl::InvalidArgumentError(absl::StrCat(
          "--validation_split must be below the ", train.num_images, " training images, got ",
          held_out)));
    }
    const int64_t first = train.num_images - held_out;
    ds->test = train;
    ds->test.num_images = held_out;
    ds->test.pixels.assign(train.image(first), train.image(train.num_images));
    ds->test.labels.assign(train.labels.begin() + first, train.labels.end());
  }
  absl::StatusOr<EvalSet> test = EvalSet::Create(ds->test, ck->config().dataset(), 256);
  if (!test.ok()) return CliFail(test.status());

  int64_t total = 0;
  for (double s : *sigmas) {
    total += s == 0 && !device->has_nonidealities() ? 1 : absl::GetFlag(FLAGS_runs);
  }
  Progress bar("monte carlo", total);
  const std::vector<McSummary> mc = MonteCarloEvaluate(
      (*model)->network(), *device, *sigmas, absl::GetFlag(FLAGS_runs), absl::GetFlag(FLAGS_seed),
      *test, [&](int64_t done, int64_t) { bar.Update(done, ""); });
  bar.Finish("");
  absl::PrintF("%s, %d %s images, device %s, seed %d:\n%s", absl::GetFlag(FLAGS_checkpoint),
               test->size(), split, device::PresetName(device->preset()), absl::GetFlag(FLAGS_seed),
               McTable(mc));
  if (device->has_nonidealities()) {
    absl::PrintF("non-idealities: %s\n", device::NonIdealitySummary(*device));
  }
  if (!absl::GetFlag(FLAGS_json).empty()) {
    const std::string extra = absl::StrCat(
        "\"checkpoint\": ", JsonString(absl::GetFlag(FLAGS_checkpoint)),
        ", \"device\": ", JsonString(device::PresetName(device->preset())),
        ", \"seed\": ", absl::GetFlag(FLAGS_seed),
        validation ? absl::StrCat(", \"split\": \"validation\", \"validation_split\": ",
                                  held_out)
                   : std::string(),
        device::NonIdealityJsonMembers(*device));
    absl::Status s = WriteFileAtomically(ResolveUserPath(absl::GetFlag(FLAGS_json)), McJson(mc, extra));
    if (!s.ok()) return CliFail(s);
  }
  return 0;
}

}  // namespace
}  // namespace nftcim::trainer

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Monte Carlo evaluation of a trained model under device variation.\n"
      "  bazel run //trainer:evaluate -- --checkpoint=PATH --sigmas=0,0.1,0.2 --runs=200 "
      "--seed=1 --json=OUT.json");
  absl::ParseCommandLine(argc, argv);
  return nftcim::trainer::Run();
}
