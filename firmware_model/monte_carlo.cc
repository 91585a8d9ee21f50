#include "firmware_model/monte_carlo.h"

#include <cmath>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "device_model/random.h"
#include "firmware_model/programmed_model.h"
#include "util/parallel.h"

namespace nftcim::firmware {
uint64_t RunSeed(uint64_t seed, double sigma, int run) {
  return device::MonteCarloRunSeed(seed, sigma, run);
}

int PredictedClass(const int32_t* logits, int classes) {
  int best = 0;
  for (int k = 1; k < classes; ++k) {
    if (logits[k] > logits[best]) best = k;
  }
  return best;
}

double NegativeLogLikelihood(const int32_t* logits, int classes, double scale, int label) {
  double max_z = scale * logits[0];
  for (int k = 1; k < classes; ++k) max_z = std::max(max_z, scale * logits[k]);
  double sum = 0;
  for (int k = 0; k < classes; ++k) sum += std::exp(scale * logits[k] - max_z);
  return -(scale * logits[label] - max_z - std::log(sum));
}

absl::StatusOr<EmulatorMcResult> EmulatorMonteCarlo(const CompiledModel& model,
                                                    const data::RawDataset& test,
                                                    const device::DeviceModel& device,
                                                    const EmulatorMcOptions& options) {
  if (options.sigmas.empty()) return absl::InvalidArgumentError("no sigma given");
  for (double s : options.sigmas) {
    if (!(s >= 0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError(absl::StrCat("sigma must be finite and >= 0, got ", s));
    }
  }
  if (options.runs < 1 || options.threads < 1 || options.batch < 1) {
    return absl::InvalidArgumentError(absl::StrCat("runs (", options.runs, "), threads (",
                                                   options.threads, ") and batch (", options.batch,
                                                   ") must be >= 1"));
  }
  if (test.num_images < 1) return absl::InvalidArgumentError("the test set is empty");
  if (test.channels != model.in_channels() || test.height != model.input_size() ||
      test.width != model.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "test images are ", test.channels, "x", test.height, "x", test.width,
        ", the model takes ", model.in_channels(), "x", model.input_size(), "x",
        model.input_size()));
  }
  for (int64_t i = 0; i < test.num_images; ++i) {
    if (test.labels[i] < 0 || test.labels[i] >= model.num_classes()) {
      return absl::InvalidArgumentError(absl::StrCat("test label ", test.labels[i], " of image ", i,
                                                     " is outside the model's ",
                                                     model.num_classes(), " classes"));
    }
  }
  const int workers =
      static_cast<int>(std::min<int64_t>(options.threads, test.num_images));
  std::vector<Sequencer> sequencers;
  for (int w = 0; w < workers; ++w) {
    Sequencer::Options so;
    so.max_batch = options.batch;
    so.path = options.path;
    absl::StatusOr<Sequencer> s = Sequencer::Create(model, so);
    if (!s.ok()) return s.status();
    sequencers.push_back(*std::move(s));
  }
  const int classes = model.num_classes();
  const double scale = model.logit_scale();
  int64_t total_runs = 0, done = 0;
  // A run is deterministic only without variation and without any random
  // non-ideality (stuck-at map, drift exponents, read noise).
  const bool random_nonideal = device.has_nonidealities();
  for (double s : options.sigmas) total_runs += s == 0 && !random_nonideal ? 1 : options.runs;

  EmulatorMcResult result;
  std::vector<char> correct(static_cast<size_t>(test.num_images));
  std::vector<double> nll(static_cast<size_t>(test.num_images));
  for (double sigma : options.sigmas) {
    const int runs = sigma == 0 && !random_nonideal ? 1 : options.runs;
    const device::DeviceModel d = device.WithSigma(sigma);
    std::vector<McRun> mc;
    InferenceStats sigma_stats;
    std::vector<uint64_t> checksums;
    for (int r = 0; r < runs; ++r) {
      ProgramOptions po;
      po.seed = RunSeed(options.seed, sigma, r);
      po.num_threads = options.threads;
      po.prepare_fast_path = options.path == Path::kFast;
      absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(model, d, po, nullptr);
      if (!pm.ok()) return pm.status();
      checksums.push_back(pm->CodeChecksum());
      std::vector<InferenceStats> worker_stats(static_cast<size_t>(workers));
      std::vector<absl::Status> worker_status(static_cast<size_t>(workers));
      ParallelFor(test.num_images, workers, [&](int64_t begin, int64_t end, int w) {
        Sequencer& seq = sequencers[w];
        std::vector<int32_t> logits(static_cast<size_t>(options.batch) * classes);
        for (int64_t i0 = begin; i0 < end; i0 += options.batch) {
          const int n = static_cast<int>(std::min<int64_t>(options.batch, end - i0));
          absl::Status s = seq.Run(*pm, test.image(i0), n, logits.data(), &worker_stats[w]);
          if (!s.ok()) {
            worker_status[w] = s;
            return;
          }
          for (int i = 0; i < n; ++i) {
            const int32_t* row = logits.data() + i * classes;
            const int label = test.labels[i0 + i];
            const bool ok = PredictedClass(row, classes) == label;
            correct[i0 + i] = ok;
            nll[i0 + i] = ok ? NegativeLogLikelihood(row, classes, scale, label) : 0.0;
          }
        }
      });
      for (const absl::Status& s : worker_status) {
        if (!s.ok()) return s;
      }
      McRun run;
      run.total = test.num_images;
      InferenceStats run_stats;
      for (const InferenceStats& s : worker_stats) run_stats.Add(s);
      for (int64_t i = 0; i < test.num_images; ++i) {  // image order: thread-count independent
        run.correct += correct[i];
        run.kl_sum_correct += nll[i];
      }
      run.saturations = run_stats.adc_saturations();
      sigma_stats.Add(run_stats);
      mc.push_back(run);
      if (options.on_run) options.on_run(++done, total_runs);
    }
    McSummary summary = Summarize(sigma, mc);
    summary.has_saturations = true;
    result.summaries.push_back(summary);
    result.stats.push_back(sigma_stats);
    result.checksums.push_back(std::move(checksums));
  }
  return result;
}

}  // namespace nftcim::firmware
