// bazel run //trainer:bench -- --model=vgg8 --width=0.25 --method=noise --batch=128 --threads=2
//
// Training-step and Monte Carlo inference throughput on synthetic
// Fashion-MNIST-shaped input (1 x 32 x 32, 10 classes), no data loading on
// either side. Prints one JSON object per method:
//   {"method": "noise", "train_images_per_second": ..., "infer_images_per_second": ...,
//    "peak_rss_mb": ...}
// Medians over --steps timed iterations after --warmup.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "data/batching.h"
#include "trainer/evaluation.h"
#include "trainer/nft_trainer.h"
#include "trainer/nn/parallel.h"
#include "trainer/run_config.h"
#include "trainer/variation.h"

ABSL_FLAG(std::string, model, "vgg8", "vgg8 or resnet18");
ABSL_FLAG(double, width, 0.25, "width multiplier");
ABSL_FLAG(std::string, method, "vanilla,noise,ovf,irs", "comma-separated methods");
ABSL_FLAG(int32_t, batch, 128, "batch size");
ABSL_FLAG(int32_t, threads, 2, "threads");
ABSL_FLAG(int32_t, channels, 1, "input channels");
ABSL_FLAG(int32_t, steps, 10, "timed iterations");
ABSL_FLAG(int32_t, warmup, 2, "untimed iterations first");

namespace nftcim::trainer {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double PeakRssMb() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // kilobytes on Linux
}

int Run() {
  nn::SetNumThreads(absl::GetFlag(FLAGS_threads));
  const int batch = absl::GetFlag(FLAGS_batch);
  for (absl::string_view name : absl::StrSplit(absl::GetFlag(FLAGS_method), ',')) {
    absl::StatusOr<formats::TrainingMethod::Kind> kind = ParseMethod(std::string(name));
    if (!kind.ok()) {
      absl::FPrintF(stderr, "error: %s\n", kind.status().message());
      return 2;
    }
    formats::RunConfig c;
    c.mutable_dataset()->set_name("synthetic");
    c.mutable_architecture()->set_arch(absl::GetFlag(FLAGS_model));
    c.mutable_architecture()->set_width(absl::GetFlag(FLAGS_width));
    c.mutable_architecture()->set_in_channels(absl::GetFlag(FLAGS_channels));
    c.mutable_architecture()->set_input_size(32);
    c.mutable_architecture()->set_num_classes(10);
    c.mutable_device()->set_sigma(*kind == formats::TrainingMethod::VANILLA ? 0 : 0.2);
    c.mutable_method()->set_kind(*kind);
    c.mutable_method()->set_beta(1e-3);
    c.mutable_optimizer()->set_kind(formats::OptimizerConfig::ADAM);
    c.mutable_optimizer()->set_learning_rate(1e-3);
    c.set_epochs(1);
    c.set_batch_size(batch);
    c.set_seed(1);
    c.set_threads(absl::GetFlag(FLAGS_threads));
    absl::StatusOr<std::unique_ptr<NftTrainer>> t = NftTrainer::Create(c);
    if (!t.ok()) {
      absl::FPrintF(stderr, "error: %s\n", t.status().message());
      return 2;
    }
    data::Batch b;
    b.n = batch;
    b.c = absl::GetFlag(FLAGS_channels);
    b.h = b.w = 32;
    b.images.resize(static_cast<size_t>(b.n) * b.c * 32 * 32);
    uint32_t state = 12345;
    for (float& v : b.images) {
      state = state * 1664525u + 1013904223u;
      v = static_cast<float>(state >> 8) / 16777216.0f * 2 - 1;
    }
    for (int i = 0; i < batch; ++i) b.labels.push_back(i % 10);

    std::vector<double> train_times, infer_times;
    const int warmup = absl::GetFlag(FLAGS_warmup), steps = absl::GetFlag(FLAGS_steps);
    for (int s = 0; s < warmup + steps; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      (*t)->TrainStep(b, s, 1e-3);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s >= warmup) train_times.push_back(dt);
    }
    // Monte Carlo inference: one variation instance, then eval-mode forwards.
    nn::Network& net = (*t)->network();
    const std::vector<nn::Parameter*> params = net.Parameters();
    NoisyWeights noisy;
    absl::StatusOr<device::DeviceModel> dev = device::DeviceModel::FromProto(c.device());
    noisy.Build(params, dev->WithSigma(0.2), DrawStandardNormals(params, 1, NoisePurpose::kEvaluate, 0, 0));
    nn::Tensor x({b.n, b.c, b.h, b.w});
    std::copy(b.images.begin(), b.images.end(), x.data());
    nn::ForwardOptions opt;
    opt.training = false;
    opt.update_running_stats = false;
    opt.weight_override = noisy.overrides();
    nn::Tensor logits;
    for (int s = 0; s < warmup + steps; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      net.Forward(x, opt, nullptr, &logits, nullptr);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s >= warmup) infer_times.push_back(dt);
    }
    absl::PrintF(
        "{\"model\": \"%s\", \"width\": %g, \"method\": \"%s\", \"batch\": %d, \"threads\": %d, "
        "\"train_images_per_second\": %.1f, \"infer_images_per_second\": %.1f, "
        "\"peak_rss_mb\": %.1f}\n",
        absl::GetFlag(FLAGS_model), absl::GetFlag(FLAGS_width), std::string(name), batch,
        absl::GetFlag(FLAGS_threads), batch / Median(train_times), batch / Median(infer_times),
        PeakRssMb());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace nftcim::trainer

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return nftcim::trainer::Run();
}
