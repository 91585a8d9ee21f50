#include "trainer/evaluation.h"

#include <algorithm>
#include <cstring>

#include "data/normalize.h"
#include "device_model/random.h"
#include "trainer/nft_objective.h"
#include "trainer/variation.h"

namespace nftcim::trainer {

absl::StatusOr<EvalSet> EvalSet::Create(const data::RawDataset& test,
                                        const formats::DatasetInfo& info, int batch_size) {
  absl::StatusOr<data::Normalizer> normalizer =
      data::Normalizer::Create(std::vector<double>(info.mean().begin(), info.mean().end()),
                               std::vector<double>(info.std().begin(), info.std().end()));
  if (!normalizer.ok()) return normalizer.status();
  if (normalizer->channels() != test.channels) {
    return absl::InvalidArgumentError("evaluation: normalisation channels differ from the data's");
  }
  EvalSet set;
  set.size_ = test.num_images;
  const int64_t plane = int64_t{test.height} * test.width;
  for (int64_t begin = 0; begin < test.num_images; begin += batch_size) {
    const int64_t n = std::min<int64_t>(batch_size, test.num_images - begin);
    nn::Tensor x({n, test.channels, test.height, test.width});
    for (int64_t i = 0; i < n; ++i) {
      normalizer->NormalizeImage(test.image(begin + i), plane, x.data() + i * test.image_size());
    }
    set.batches_.push_back(std::move(x));
    set.labels_.emplace_back(test.labels.begin() + begin, test.labels.begin() + begin + n);
  }
  return set;
}

McRun EvaluateOnce(nn::Network& network, const std::vector<const nn::Tensor*>* overrides,
                   const EvalSet& test) {
  McRun run;
  nn::ForwardOptions opt;
  opt.training = false;
  opt.update_running_stats = false;
  opt.weight_override = overrides;
  nn::Tensor logits;
  for (size_t b = 0; b < test.batches().size(); ++b) {
    network.Forward(test.batches()[b], opt, nullptr, &logits, nullptr);
    const int classes = static_cast<int>(logits.dim(1));
    const std::vector<int32_t>& labels = test.labels()[b];
    for (size_t i = 0; i < labels.size(); ++i) {
      const float* row = logits.data() + i * classes;
      const int pred = static_cast<int>(std::max_element(row, row + classes) - row);
      ++run.total;
      if (pred == labels[i]) {
        ++run.correct;
        run.kl_sum_correct -= LogSoftmax(row, classes)[labels[i]];
      }
    }
  }
  return run;
}

std::vector<McSummary> MonteCarloEvaluate(nn::Network& network,
                                          const device::DeviceModel& device,
                                          const std::vector<double>& sigmas, int runs,
                                          uint64_t seed, const EvalSet& test,
                                          const std::function<void(int64_t, int64_t)>& on_run) {
  int64_t total = 0, done = 0;
  // Random non-idealities (stuck-at map, drift exponents, read noise) need
  // runs even at sigma 0.
  const bool random_nonideal = device.has_nonidealities();
  for (double s : sigmas) total += s == 0 && !random_nonideal ? 1 : runs;
  const std::vector<nn::Parameter*> params = network.Parameters();
  std::vector<McSummary> out;
  NoisyWeights noisy;
  for (double sigma : sigmas) {
    const int n = sigma == 0 && !random_nonideal ? 1 : runs;
    const bool noisy_run = sigma > 0 || random_nonideal;
    uint64_t sigma_bits;
    std::memcpy(&sigma_bits, &sigma, sizeof(sigma_bits));
    const device::DeviceModel d = device.WithSigma(sigma);
    std::vector<McRun> results;
    for (int r = 0; r < n; ++r) {
      if (noisy_run) {
        // The cells are keyed with the emulator's programming seed of run r
        // (device::MonteCarloRunSeed), so both Monte Carlos see the same
        // stuck-at maps and drift exponents for the same --seed.
        noisy.Build(params, d,
                    DrawStandardNormals(params, seed, NoisePurpose::kEvaluate, sigma_bits,
                                        static_cast<uint64_t>(r)),
                    device::MonteCarloRunSeed(seed, sigma, r));
      }
      results.push_back(EvaluateOnce(network, noisy_run ? noisy.overrides() : nullptr, test));
      if (on_run) on_run(++done, total);
    }
    out.push_back(Summarize(sigma, results));
  }
  return out;
}

}  // namespace nftcim::trainer
