// bazel run //emulator:emulate_bench -- [--model=MODEL.pb] [--threads=2] [--images=512]
//
// Throughput of Monte Carlo inference on the emulator against the float
// trainer's, VGG-8 at width 0.25 on 32x32 input (Fashion-MNIST shaped:
// 1 channel, 10 classes) unless --model names a deployable model. Without
// --model the network is the trainer's VGG-8 with its initial weights and
// random BatchNorm statistics, compiled for the paper's accelerator; the
// images are synthetic. Measured, each after a warm-up, median of --reps:
//
//   float      trainer inference with one variation instance (as
//              //trainer:bench's infer_images_per_second)
//   fast       firmware fast path, lossless ADC
//   fast_adc8  firmware fast path, 8-bit bipolar ADC, per-layer shifts
//   tile       the emulator's per-tile fast path (lossless)
//   reference  the spec's literal loops (lossless; --reference_images only)
//
// Images/s counts inference only; programming one variation instance (done
// once per Monte Carlo run) is timed separately. One JSON line per case.

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "device_model/device_model.h"
#include "emulator/hardware_config.h"
#include "firmware_model/compiler.h"
#include "firmware_model/model.h"
#include "firmware_model/programmed_model.h"
#include "firmware_model/sequencer.h"
#include "trainer/nn/network.h"
#include "trainer/nn/parallel.h"
#include "trainer/variation.h"
#include "util/parallel.h"
#include "util/proto_io.h"
#include "util/cli_error.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, model, "", "Deployable model (default: a compiled VGG-8 width 0.25).");
ABSL_FLAG(int32_t, threads, 2, "Threads (emulator: over images; trainer: its kernels).");
ABSL_FLAG(int32_t, images, 512, "Images per timed pass (fast paths and float).");
ABSL_FLAG(int32_t, reference_images, 8, "Images per timed pass of the reference path.");
ABSL_FLAG(int32_t, batch, 64, "Images per sequencer call / float forward.");
ABSL_FLAG(int32_t, reps, 3, "Timed passes per case (median reported).");
ABSL_FLAG(double, sigma, 0.2, "Variation of the programmed instance.");
ABSL_FLAG(std::string, cases, "float,fast,fast_adc8,tile,reference", "Cases to run.");

namespace nftcim::firmware {
namespace {

double Seconds(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median wall seconds of `reps` runs after a warm-up; *cpu (if given): the
// median process CPU seconds (all threads), which a machine shared with
// other work disturbs less than wall time.
double Timed(int reps, const std::function<void()>& fn, double* cpu = nullptr) {
  fn();  // warm-up
  std::vector<double> t, c;
  for (int r = 0; r < reps; ++r) {
    const double c0 = ProcessCpuSeconds();
    t.push_back(Seconds(fn));
    c.push_back(ProcessCpuSeconds() - c0);
  }
  if (cpu != nullptr) *cpu = Median(c);
  return Median(t);
}

std::vector<uint8_t> Pixels(int64_t n, int64_t size) {
  std::vector<uint8_t> p(static_cast<size_t>(n * size));
  uint32_t state = 12345;
  for (uint8_t& v : p) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<uint8_t>((state >> 24) < 96 ? 0 : state >> 24);  // background and strokes
  }
  return p;
}


int Run() {
  const int threads = absl::GetFlag(FLAGS_threads);
  const int batch = absl::GetFlag(FLAGS_batch);
  const int reps = absl::GetFlag(FLAGS_reps);
  const double sigma = absl::GetFlag(FLAGS_sigma);
  if (threads < 1 || batch < 1 || reps < 1 || absl::GetFlag(FLAGS_images) < 1 ||
      absl::GetFlag(FLAGS_reference_images) < 1) {
    return CliFail(absl::InvalidArgumentError("--threads, --batch, --reps and image counts must be >= 1"));
  }
  // The float network (also the one compiled when no --model is given).
  trainer::nn::ModelConfig mc;
  mc.arch = "vgg8";
  mc.width = 0.25;
  mc.in_channels = 1;
  mc.num_classes = 10;
  mc.seed = 1;
  absl::StatusOr<std::unique_ptr<trainer::nn::Network>> net = trainer::nn::MakeNetwork(mc);
  if (!net.ok()) return CliFail(net.status());
  formats::DeployableModel proto;
  if (!absl::GetFlag(FLAGS_model).empty()) {
    if (absl::Status s = ReadProto(ResolveUserPath(absl::GetFlag(FLAGS_model)), &proto); !s.ok()) {
      return CliFail(s);
    }
  } else {
    uint32_t state = 7;
    auto uniform = [&state] {
      state = state * 1664525u + 1013904223u;
      return (state >> 8) / 16777216.0;
    };
    for (trainer::nn::Buffer* b : (*net)->Buffers()) {
      const bool var = b->name.find("running_var") != std::string::npos;
      for (float& v : b->value) v = static_cast<float>(var ? 0.5 + 2 * uniform() : 0.3 * (uniform() - 0.5));
    }
    formats::Architecture a;
    a.set_arch("vgg8");
    a.set_width(0.25);
    a.set_in_channels(1);
    a.set_input_size(32);
    a.set_num_classes(10);
    formats::DatasetInfo ds;
    ds.set_name("fashion_mnist");
    ds.add_mean(0.2860);
    ds.add_std(0.3530);
    const std::vector<uint8_t> cal = Pixels(64, 1024);
    absl::StatusOr<formats::DeployableModel> m =
        CompileNetwork(**net, a, ds, cal.data(), 64, CompileOptions(), nullptr);
    if (!m.ok()) return CliFail(m.status());
    proto = *std::move(m);
  }
  absl::StatusOr<CompiledModel> lossless = CompiledModel::FromProto(proto, "bench model");
  if (!lossless.ok()) return CliFail(lossless.status());
  formats::HardwareConfig adc8 = proto.hardware();
  adc8.set_adc_bits(8);
  adc8.set_adc_range(formats::ADC_BIPOLAR);
  adc8.set_adc_shift_policy(formats::ADC_SHIFT_PER_LAYER);
  absl::StatusOr<formats::DeployableModel> adc8_proto = RetargetHardware(proto, adc8);
  if (!adc8_proto.ok()) return CliFail(adc8_proto.status());
  absl::StatusOr<CompiledModel> adc = CompiledModel::FromProto(*adc8_proto, "bench model (8-bit ADC)");
  if (!adc.ok()) return CliFail(adc.status());

  const CompiledModel& lm = *lossless;
  const std::string arch = absl::StrFormat("%s width %g", proto.architecture().arch(),
                                           proto.architecture().width());
  absl::StatusOr<device::DeviceModel> device =
      device::DeviceModel::Create(proto.hardware().weight_bits(), proto.hardware().cell_bits(), sigma,
                                  formats::GAUSSIAN);
  if (!device.ok()) return CliFail(device.status());

  // Float: the trainer's inference with one variation instance.
  const std::string wanted = "," + absl::GetFlag(FLAGS_cases) + ",";
  auto want = [&](const std::string& name) { return wanted.find("," + name + ",") != std::string::npos; };
  if (want("float") && proto.architecture().arch() == "vgg8" && proto.architecture().width() == 0.25 &&
      proto.architecture().in_channels() == 1) {
    trainer::nn::SetNumThreads(threads);
    const std::vector<trainer::nn::Parameter*> params = (*net)->Parameters();
    trainer::NoisyWeights noisy;
    noisy.Build(params, *device, trainer::DrawStandardNormals(params, 1, trainer::NoisePurpose::kEvaluate, 0, 0));
    trainer::nn::Tensor x({batch, 1, 32, 32});
    const std::vector<uint8_t> px = Pixels(batch, 1024);
    for (int64_t i = 0; i < x.size(); ++i) x[i] = (px[i] / 255.0f - 0.286f) / 0.353f;
    trainer::nn::ForwardOptions opt;
    opt.training = false;
    opt.update_running_stats = false;
    opt.weight_override = noisy.overrides();
    trainer::nn::Tensor logits;
    const int passes = std::max(1, absl::GetFlag(FLAGS_images) / batch);
    double cpu = 0;
    const double t = Timed(reps, [&] {
      for (int p = 0; p < passes; ++p) (*net)->Forward(x, opt, nullptr, &logits, nullptr);
    }, &cpu);
    absl::PrintF("{\"case\": \"float\", \"model\": \"%s\", \"threads\": %d, \"images_per_second\": %.1f, "
                 "\"images_per_cpu_second\": %.1f}\n",
                 arch, threads, passes * batch / t, passes * batch / cpu);
    std::fflush(stdout);
  }

  struct Case {
    const char* name;
    const CompiledModel* model;
    Path path;
    int images;
  };
  const Case cases[] = {
      {"fast", &lm, Path::kFast, absl::GetFlag(FLAGS_images)},
      {"fast_adc8", &*adc, Path::kFast, absl::GetFlag(FLAGS_images)},
      {"tile", &lm, Path::kTile, absl::GetFlag(FLAGS_images)},
      {"reference", &lm, Path::kReference, absl::GetFlag(FLAGS_reference_images)},
  };
  for (const Case& c : cases) {
    if (!want(c.name)) continue;
    ProgramOptions po;
    po.seed = 1;
    po.num_threads = threads;
    po.prepare_fast_path = c.path == Path::kFast;
    absl::StatusOr<ProgrammedModel> pm;
    const double program_s = Seconds([&] { pm = ProgrammedModel::Program(*c.model, *device, po, nullptr); });
    if (!pm.ok()) return CliFail(pm.status());
    const std::vector<uint8_t> pixels = Pixels(c.images, c.model->image_size());
    const int workers = std::min(threads, c.images);
    std::vector<Sequencer> seqs;
    for (int w = 0; w < workers; ++w) {
      Sequencer::Options so;
      so.max_batch = batch;
      so.path = c.path;
      absl::StatusOr<Sequencer> s = Sequencer::Create(*c.model, so);
      if (!s.ok()) return CliFail(s.status());
      seqs.push_back(*std::move(s));
    }
    absl::Status failed;
    InferenceStats stats;
    double cpu = 0;
    const double t = Timed(reps, [&] {
      std::vector<InferenceStats> ws(static_cast<size_t>(workers));
      ParallelFor(c.images, workers, [&](int64_t begin, int64_t end, int w) {
        std::vector<int32_t> logits(static_cast<size_t>(batch) * c.model->num_classes());
        for (int64_t i0 = begin; i0 < end; i0 += batch) {
          const int n = static_cast<int>(std::min<int64_t>(batch, end - i0));
          absl::Status s = seqs[w].Run(*pm, pixels.data() + i0 * c.model->image_size(), n,
                                       logits.data(), &ws[w]);
          if (!s.ok()) failed = s;
        }
      });
      stats = InferenceStats();
      for (const InferenceStats& s : ws) stats.Add(s);
    }, &cpu);
    if (!failed.ok()) return CliFail(failed);
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    absl::PrintF(
        "{\"case\": \"%s\", \"model\": \"%s\", \"threads\": %d, \"images_per_second\": %.1f, "
        "\"images_per_cpu_second\": %.1f, \"programming_seconds\": %.3f, "
        "\"adc_saturations_per_image\": %.1f, \"peak_rss_mb\": %.1f}\n",
        c.name, arch, threads, c.images / t, c.images / cpu, program_s,
        static_cast<double>(stats.adc_saturations()) / c.images, u.ru_maxrss / 1024.0);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace nftcim::firmware

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return nftcim::firmware::Run();
}
