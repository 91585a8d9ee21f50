#ifndef NFTCIM_TRAINER_NFT_TRAINER_H_
#define NFTCIM_TRAINER_NFT_TRAINER_H_

// One NFT training run: the backbone, the IRS classifiers when the method
// uses them, the optimizer, and the training step of each method
// (nft-spec.md section 2):
//
//   vanilla  clean forward, cross-entropy
//   noise    one forward with variation at sigma, cross-entropy
//   ovf      backbone forward at sigma plus N oriented variational forwards
//            at sigma + N*step, ..., sigma + step (alpha 1, 0.1, ...), NFT loss
//   irs      backbone forward at sigma with snapshots, N noisy auxiliary
//            classifiers on them (alpha 1, 0.1, ... shallow to deep), NFT loss
//
// Every step draws fresh variation keyed by (seed, global step, forward), so
// a run is reproducible and a resumed run continues exactly.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/batching.h"
#include "data/raw_dataset.h"
#include "device_model/device_model.h"
#include "formats/checkpoint.pb.h"
#include "formats/run_config.pb.h"
#include "trainer/nn/network.h"
#include "trainer/optimizer.h"
#include "trainer/variation.h"

namespace nftcim::trainer {

struct StepResult {
  double loss = 0;
  int64_t correct = 0;  // of the combined output O
  int64_t count = 0;
};

struct EpochResult {
  double mean_loss = 0;
  double train_accuracy = 0;
  double seconds = 0;
  double images_per_second = 0;
};

class NftTrainer {
 public:
  // Builds the model of `config` (validated) from its seed.
  static absl::StatusOr<std::unique_ptr<NftTrainer>> Create(const formats::RunConfig& config);
  // Rebuilds a run from a checkpoint: weights, buffers, optimizer, epochs.
  static absl::StatusOr<std::unique_ptr<NftTrainer>> FromCheckpoint(
      const formats::Checkpoint& checkpoint);

  // One optimizer step on one batch; `step` is the global step index.
  StepResult TrainStep(const data::Batch& batch, int64_t step, double learning_rate);

  // Epoch `epochs_done()` over `train`, then epochs_done() + 1. `on_batch`
  // (may be empty) is called after every batch with (batch index, batches,
  // running mean loss, images in this batch).
  EpochResult TrainEpoch(const data::RawDataset& train,
                         const std::function<void(int64_t, int64_t, double, int)>& on_batch);

  // Everything needed to resume, plus the deployable backbone.
  formats::Checkpoint ToCheckpoint() const;

  nn::Network& network() { return *network_; }
  const formats::RunConfig& config() const { return config_; }
  int epochs_done() const { return epochs_done_; }
  std::vector<formats::EpochMetrics>& history() { return history_; }

 private:
  NftTrainer() = default;
  absl::Status Init(const formats::RunConfig& config);
  std::vector<ParamView> AllParams();
  void ZeroGrad();

  formats::RunConfig config_;
  std::unique_ptr<nn::Network> network_;
  std::vector<std::unique_ptr<nn::IrsHead>> heads_;
  std::unique_ptr<device::DeviceModel> device_;
  std::unique_ptr<Optimizer> optimizer_;
  int epochs_done_ = 0;
  std::vector<formats::EpochMetrics> history_;

  // Reused across steps so a step allocates nothing large.
  std::vector<nn::ForwardCache> caches_;
  std::vector<nn::IrsHead::Cache> head_caches_;
  std::vector<NoisyWeights> noisy_;
  std::vector<NoisyWeights> head_noisy_;
};

}  // namespace nftcim::trainer

#endif  // NFTCIM_TRAINER_NFT_TRAINER_H_
