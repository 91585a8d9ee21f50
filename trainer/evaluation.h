#ifndef NFTCIM_TRAINER_EVALUATION_H_
#define NFTCIM_TRAINER_EVALUATION_H_

// Monte Carlo inference of a float model under device variation (paper
// section 4.2): each run draws ONE variation instance for all weights and
// keeps it for the whole test set; accuracy, its spread, and EKL over runs.

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "data/raw_dataset.h"
#include "device_model/device_model.h"
#include "formats/run_config.pb.h"
#include "trainer/nn/network.h"
#include "util/monte_carlo.h"

namespace nftcim::trainer {

// The test set, normalised once and cut into batches.
class EvalSet {
 public:
  static absl::StatusOr<EvalSet> Create(const data::RawDataset& test,
                                        const formats::DatasetInfo& info, int batch_size);
  int64_t size() const { return size_; }
  const std::vector<nn::Tensor>& batches() const { return batches_; }
  const std::vector<std::vector<int32_t>>& labels() const { return labels_; }

 private:
  int64_t size_ = 0;
  std::vector<nn::Tensor> batches_;
  std::vector<std::vector<int32_t>> labels_;
};

// One pass over the test set with the given weights (null: clean).
McRun EvaluateOnce(nn::Network& network, const std::vector<const nn::Tensor*>* overrides,
                   const EvalSet& test);

// For each sigma: `runs` variation instances (one when sigma is 0, where
// every run would be the same), keyed by (seed, sigma, run) so a sigma's
// result does not depend on which other sigmas are evaluated. `on_run`
// (may be empty) is called after each run with (runs done, total runs).
std::vector<McSummary> MonteCarloEvaluate(nn::Network& network,
                                          const device::DeviceModel& device,
                                          const std::vector<double>& sigmas, int runs,
                                          uint64_t seed, const EvalSet& test,
                                          const std::function<void(int64_t, int64_t)>& on_run);

}  // namespace nftcim::trainer

#endif  // NFTCIM_TRAINER_EVALUATION_H_
