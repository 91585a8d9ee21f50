#ifndef NFTCIM_TRAINER_OPTIMIZER_H_
#define NFTCIM_TRAINER_OPTIMIZER_H_

// Adam and SGD with momentum over flat float parameters, with the cosine
// annealing schedule the paper's reference training uses (stepped per epoch,
// like PyTorch's CosineAnnealingLR with T_max = epochs).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "formats/checkpoint.pb.h"
#include "formats/run_config.pb.h"

namespace nftcim::trainer {

struct ParamView {
  std::string name;
  float* value = nullptr;
  const float* grad = nullptr;
  int64_t size = 0;
};

// lr0 * (1 + cos(pi * epoch / epochs)) / 2; lr0 when cosine is off.
double LearningRateAt(const formats::OptimizerConfig& config, int epoch, int epochs);

class Optimizer {
 public:
  explicit Optimizer(const formats::OptimizerConfig& config);

  // One update of every parameter at learning rate `lr`. The first call
  // sizes the state from `params`; later calls must pass the same layout.
  void Step(const std::vector<ParamView>& params, double lr);

  int64_t steps() const { return step_; }

  // State as the checkpoint format stores it (names from `params`).
  void SaveState(const std::vector<ParamView>& params, formats::OptimizerState* out) const;
  // Restores state written by SaveState; checks names and sizes and says
  // which one differs.
  absl::Status LoadState(const std::vector<ParamView>& params,
                         const formats::OptimizerState& state);

 private:
  formats::OptimizerConfig config_;
  int64_t step_ = 0;
  std::vector<std::vector<float>> first_;   // Adam m / SGD momentum buffer
  std::vector<std::vector<float>> second_;  // Adam v
};

}  // namespace nftcim::trainer

#endif  // NFTCIM_TRAINER_OPTIMIZER_H_
