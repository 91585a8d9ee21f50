// bazel run //emulator:emulate -- --model=MODEL.pb --sigma=0.2 --runs=20 --seed=1
//     [--sigmas=0,0.1,0.2] [--adc_bits=8] [--device=FeFET2] [--threads=2]
//     [--path=fast|reference|tile] [--test_limit=N] [--json=OUT.json]
//
// Monte Carlo inference of a deployable model (//firmware_model:compile) on
// the bit-accurate emulator: each run programs every crossbar array once with
// device variation (hardware-spec §3) and runs the whole test set (raw uint8
// pixels) through the firmware's integer datapath. Prints the same table and
// writes the same JSON as //trainer:evaluate (util/monte_carlo.h), plus ADC
// saturation counts and the emulator's counters.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "data/dataset.h"
#include "data/flags.h"
#include "device_model/device_model.h"
#include "device_model/nonideal.h"
#include "device_model/nonideal_flags.h"
#include "firmware_model/compiler.h"
#include "firmware_model/model.h"
#include "firmware_model/model_inputs.h"
#include "firmware_model/monte_carlo.h"
#include "firmware_model/sequencer.h"
#include "util/atomic_file.h"
#include "util/monte_carlo.h"
#include "util/progress.h"
#include "util/proto_io.h"
#include "util/cli_error.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, model, "", "Deployable model written by //firmware_model:compile.");
ABSL_FLAG(std::string, sigma, "0.2", "Inference sigma (used when --sigmas is empty).");
ABSL_FLAG(std::string, sigmas, "", "Comma-separated inference sigmas (overrides --sigma).");
ABSL_FLAG(int32_t, runs, 20, "Monte Carlo runs per sigma (sigma 0 always uses one).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the variation instances.");
ABSL_FLAG(int32_t, adc_bits, -1,
          "ADC resolution: -1 = the model's, 0 = lossless, B > 0 = a B-bit ADC (range and "
          "shift policy from the model's config; shifts re-chosen per layer).");
ABSL_FLAG(std::string, device, "", "Device preset (default: the one the model was trained for).");
ABSL_FLAG(int32_t, threads, 2, "Threads over the test images.");
ABSL_FLAG(std::string, path, "fast", "fast, reference (the spec's loops) or tile.");
ABSL_FLAG(int32_t, batch, 16, "Images per sequencer call.");
ABSL_FLAG(std::string, json, "", "Write the results as JSON here (optional).");

namespace nftcim::firmware {
namespace {


absl::StatusOr<std::vector<double>> ParseSigmas(const std::string& text, const char* flag) {
  std::vector<double> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    double v;
    if (!absl::SimpleAtod(part, &v) || !(v >= 0) || v > 10) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", part, "' is not a sigma (a number in [0, 10])"));
    }
    out.push_back(v);
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": no sigma given"));
  return out;
}

int Run() {
  const std::string model_path = ResolveUserPath(absl::GetFlag(FLAGS_model));
  if (model_path.empty()) return CliFail(absl::InvalidArgumentError("--model is required"));
  const bool list = !absl::GetFlag(FLAGS_sigmas).empty();
  absl::StatusOr<std::vector<double>> sigmas =
      ParseSigmas(list ? absl::GetFlag(FLAGS_sigmas) : absl::GetFlag(FLAGS_sigma),
                  list ? "--sigmas" : "--sigma");
  if (!sigmas.ok()) return CliFail(sigmas.status());
  if (absl::GetFlag(FLAGS_runs) < 1) {
    return CliFail(absl::InvalidArgumentError(
        absl::StrCat("--runs must be >= 1, got ", absl::GetFlag(FLAGS_runs))));
  }
  if (absl::GetFlag(FLAGS_threads) < 1 || absl::GetFlag(FLAGS_threads) > 256) {
    return CliFail(absl::InvalidArgumentError(
        absl::StrCat("--threads must be in 1..256, got ", absl::GetFlag(FLAGS_threads))));
  }
  if (absl::GetFlag(FLAGS_batch) < 1 || absl::GetFlag(FLAGS_batch) > 4096) {
    return CliFail(absl::InvalidArgumentError(
        absl::StrCat("--batch must be in 1..4096, got ", absl::GetFlag(FLAGS_batch))));
  }
  absl::StatusOr<Path> path = ParsePath(absl::GetFlag(FLAGS_path));
  if (!path.ok()) return CliFail(absl::InvalidArgumentError(absl::StrCat("--path: ", path.status().message())));

  formats::DeployableModel proto;
  if (absl::Status s = ReadProto(model_path, &proto); !s.ok()) return CliFail(s);
  // Validate before re-targeting, so a bad file is reported as such.
  if (absl::StatusOr<CompiledModel> m = CompiledModel::FromProto(proto, model_path); !m.ok()) {
    return CliFail(m.status());
  }
  const int32_t adc_bits = absl::GetFlag(FLAGS_adc_bits);
  if (adc_bits >= 0 && static_cast<uint32_t>(adc_bits) != proto.hardware().adc_bits()) {
    formats::HardwareConfig hw = proto.hardware();
    hw.set_adc_bits(static_cast<uint32_t>(adc_bits));
    if (adc_bits == 0) {
      hw.set_adc_shift(0);
    } else {
      if (hw.adc_range() == formats::ADC_RANGE_UNSPECIFIED) hw.set_adc_range(formats::ADC_BIPOLAR);
      if (hw.adc_shift_policy() == formats::ADC_SHIFT_POLICY_UNSPECIFIED) {
        hw.set_adc_shift_policy(formats::ADC_SHIFT_PER_LAYER);
      }
    }
    absl::StatusOr<formats::DeployableModel> re = RetargetHardware(proto, hw);
    if (!re.ok()) {
      return CliFail(absl::InvalidArgumentError(absl::StrCat("--adc_bits=", adc_bits, ": ",
                                                          re.status().message())));
    }
    proto = *std::move(re);
  }
  absl::StatusOr<CompiledModel> model = CompiledModel::FromProto(proto, model_path);
  if (!model.ok()) return CliFail(model.status());

  absl::StatusOr<formats::DeviceModel> device_proto = DeviceOfModel(proto, absl::GetFlag(FLAGS_device));
  if (!device_proto.ok()) return CliFail(device_proto.status());
  device::ClearNonidealities(&*device_proto);
  if (absl::Status s = device::ApplyNonIdealityFlags(&*device_proto); !s.ok()) return CliFail(s);
  absl::StatusOr<device::DeviceModel> device = device::DeviceModel::FromProto(*device_proto);
  if (!device.ok()) return CliFail(device.status());

  absl::StatusOr<data::LoadedDataset> ds = LoadModelTestSplit(
      proto, *model,
      absl::GetFlag(FLAGS_data_dir).empty() ? "" : ResolveUserPath(absl::GetFlag(FLAGS_data_dir)),
      absl::GetFlag(FLAGS_test_limit));
  if (!ds.ok()) return CliFail(ds.status());

  EmulatorMcOptions options;
  options.sigmas = *sigmas;
  options.runs = absl::GetFlag(FLAGS_runs);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.path = *path;
  options.batch = absl::GetFlag(FLAGS_batch);
  int64_t total = 0;
  for (double s : *sigmas) total += s == 0 ? 1 : options.runs;
  Progress bar("emulator monte carlo", total);
  options.on_run = [&](int64_t done, int64_t) { bar.Update(done, ""); };
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<EmulatorMcResult> mc = EmulatorMonteCarlo(*model, ds->test, *device, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bar.Finish("");
  if (!mc.ok()) return CliFail(mc.status());

  const formats::HardwareConfig& hw = proto.hardware();
  const std::string adc = hw.adc_bits() == 0 ? "lossless" : absl::StrCat(hw.adc_bits(), "-bit");
  absl::PrintF("%s, %d test images, device %s, %s ADC, %s path, seed %d:\n%s",
               absl::GetFlag(FLAGS_model), ds->test.num_images,
               device::PresetName(device->preset()), adc, PathName(*path),
               absl::GetFlag(FLAGS_seed), McTable(mc->summaries));
  if (device->has_nonidealities()) {
    absl::PrintF("non-idealities: %s\n", device::NonIdealitySummary(*device));
  }
  int64_t images = 0, conversions = 0, acc_sats = 0, periph_sats = 0, full = 0;
  for (const InferenceStats& s : mc->stats) {
    images += s.images;
    conversions += s.mvm.adc.conversions;
    acc_sats += s.mvm.accumulator_saturations;
    periph_sats += s.periphery_saturations;
    full += s.outputs_at_full_scale;
  }
  absl::PrintF("%d images in %.1f s (%.1f images/s incl. programming, %d threads)\n", images,
               seconds, images / seconds, options.threads);
  absl::PrintF("per image: %.4g ADC conversions, %.4g accumulator saturations, %.4g periphery "
               "clamps (ReLU included), %.4g activations at full scale\n",
               static_cast<double>(conversions) / images, static_cast<double>(acc_sats) / images,
               static_cast<double>(periph_sats) / images, static_cast<double>(full) / images);
  if (!absl::GetFlag(FLAGS_json).empty()) {
    // Nothing machine- or thread-dependent goes in (no timings, no thread
    // count): the file is byte-identical for any --threads.
    std::vector<std::string> conv, accs, periph, fulls, sums;
    for (size_t i = 0; i < mc->stats.size(); ++i) {
      conv.push_back(absl::StrCat(mc->stats[i].mvm.adc.conversions));
      accs.push_back(absl::StrCat(mc->stats[i].mvm.accumulator_saturations));
      periph.push_back(absl::StrCat(mc->stats[i].periphery_saturations));
      fulls.push_back(absl::StrCat(mc->stats[i].outputs_at_full_scale));
      std::vector<std::string> c;
      for (uint64_t v : mc->checksums[i]) c.push_back(absl::StrFormat("\"%016x\"", v));
      sums.push_back(absl::StrCat("[", absl::StrJoin(c, ", "), "]"));
    }
    const std::string extra = absl::StrCat(
        "\"model\": ", JsonString(absl::GetFlag(FLAGS_model)),
        ", \"device\": ", JsonString(device::PresetName(device->preset())),
        ", \"seed\": ", absl::GetFlag(FLAGS_seed), ", \"adc_bits\": ", hw.adc_bits(),
        ", \"path\": ", JsonString(PathName(*path)),
        ", \"emulator\": {\"adc_conversions\": [", absl::StrJoin(conv, ", "),
        "], \"accumulator_saturations\": [", absl::StrJoin(accs, ", "),
        "], \"periphery_saturations\": [", absl::StrJoin(periph, ", "),
        "], \"outputs_at_full_scale\": [", absl::StrJoin(fulls, ", "),
        "], \"programming_checksums\": [", absl::StrJoin(sums, ", "), "]}",
        device::NonIdealityJsonMembers(*device));
    if (absl::Status s = WriteFileAtomically(ResolveUserPath(absl::GetFlag(FLAGS_json)),
                                             McJson(mc->summaries, extra));
        !s.ok()) {
      return CliFail(s);
    }
  }
  return 0;
}

}  // namespace
}  // namespace nftcim::firmware

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Monte Carlo inference of a deployable model on the bit-accurate emulator.\n"
      "  bazel run //emulator:emulate -- --model=MODEL.pb --sigma=0.2 --runs=20 --seed=1 "
      "--adc_bits=0 --test_limit=N --json=OUT.json");
  absl::ParseCommandLine(argc, argv);
  return nftcim::firmware::Run();
}
