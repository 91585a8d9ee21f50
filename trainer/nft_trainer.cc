#include "trainer/nft_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "data/normalize.h"
#include "device_model/random.h"
#include "trainer/checkpoint.h"
#include "trainer/nft_objective.h"
#include "trainer/run_config.h"

namespace nftcim::trainer {
namespace {

nn::Tensor BatchTensor(const data::Batch& batch) {
  nn::Tensor x({batch.n, batch.c, batch.h, batch.w});
  std::copy(batch.images.begin(), batch.images.end(), x.data());
  return x;
}

std::vector<float> ToVector(const nn::Tensor& t) { return std::vector<float>(t.begin(), t.end()); }

void FromVector(const std::vector<float>& v, const nn::Shape& shape, nn::Tensor* t) {
  t->Resize(shape);
  std::copy(v.begin(), v.end(), t->data());
}

}  // namespace

absl::StatusOr<std::unique_ptr<NftTrainer>> NftTrainer::Create(const formats::RunConfig& config) {
  std::unique_ptr<NftTrainer> t(new NftTrainer());
  absl::Status s = t->Init(config);
  if (!s.ok()) return s;
  return t;
}

absl::Status NftTrainer::Init(const formats::RunConfig& config) {
  absl::Status s = ValidateRunConfig(config);
  if (!s.ok()) return s;
  config_ = config;
  absl::StatusOr<device::DeviceModel> device = device::DeviceModel::FromProto(config.device());
  if (!device.ok()) return device.status();
  device_ = std::make_unique<device::DeviceModel>(*device);
  *config_.mutable_device() = device_->ToProto();

  const formats::Architecture& a = config.architecture();
  nn::ModelConfig mc;
  mc.arch = a.arch();
  mc.width = a.width();
  mc.in_channels = a.in_channels();
  mc.num_classes = a.num_classes();
  mc.input_size = a.input_size();
  mc.seed = config.seed();
  absl::StatusOr<std::unique_ptr<nn::Network>> net = nn::MakeNetwork(mc);
  if (!net.ok()) return net.status();
  network_ = std::move(*net);

  if (config.method().kind() == formats::TrainingMethod::IRS) {
    // Heads on the first N snapshot points, shallow to deep (paper Table 1:
    // N = 1 uses snapshot 1, N = 2 snapshots 1-2, ...).
    heads_ = nn::MakeIrsHeads(network_->info(), IrsPoolSizes(a.arch()), config.seed());
    heads_.resize(FeedbackCount(config));
  }
  optimizer_ = std::make_unique<Optimizer>(config.optimizer());
  return absl::OkStatus();
}

std::vector<ParamView> NftTrainer::AllParams() {
  std::vector<ParamView> views;
  auto add = [&](const std::vector<nn::Parameter*>& params) {
    for (nn::Parameter* p : params) {
      views.push_back({p->name, p->value.data(), p->grad.data(), p->value.size()});
    }
  };
  add(network_->Parameters());
  for (auto& h : heads_) add(h->Parameters());
  return views;
}

void NftTrainer::ZeroGrad() {
  network_->ZeroGrad();
  for (auto& h : heads_) h->ZeroGrad();
}

StepResult NftTrainer::TrainStep(const data::Batch& batch, int64_t step, double learning_rate) {
  const formats::TrainingMethod& method = config_.method();
  const int classes = config_.architecture().num_classes();
  const nn::Tensor x = BatchTensor(batch);
  const std::vector<nn::Parameter*> params = network_->Parameters();
  const uint64_t seed = config_.seed();
  const uint64_t ustep = static_cast<uint64_t>(step);
  ZeroGrad();

  const bool noisy_backbone = method.kind() != formats::TrainingMethod::VANILLA;
  const int n_feedback = FeedbackCount(config_);
  const int forwards = 1 + (method.kind() == formats::TrainingMethod::OVF ? n_feedback : 0);
  caches_.resize(forwards);
  noisy_.resize(forwards);

  // Backbone forward at the training sigma.
  StandardNormalDraw z;
  if (noisy_backbone) {
    z = DrawStandardNormals(params, seed, NoisePurpose::kTrainBackbone, ustep, 0);
    // Per-cell effects (stuck-at map, drift exponents) fresh every step too.
    noisy_[0].Build(params, *device_, z,
                    device::StreamId({seed, static_cast<uint64_t>(NoisePurpose::kTrainBackbone),
                                      ustep, 0}));
  }
  nn::ForwardOptions opt;
  opt.training = true;
  opt.update_running_stats = true;
  opt.weight_override = noisy_backbone ? noisy_[0].overrides() : nullptr;
  nn::Tensor logits;
  std::vector<nn::Tensor> snapshots;
  const bool irs = method.kind() == formats::TrainingMethod::IRS;
  network_->Forward(x, opt, &caches_[0], &logits, irs ? &snapshots : nullptr);

  std::vector<std::vector<float>> feedback;
  std::vector<nn::Tensor> feedback_logits(n_feedback);
  const std::vector<double> alpha = DecayFactors(n_feedback, method.reversed_decay());

  if (method.kind() == formats::TrainingMethod::OVF) {
    // Oriented variational forwards of the same clean weights. Only the
    // backbone forward updates BatchNorm's running statistics, so they
    // describe the network at the sigma it will be deployed at.
    const std::vector<double> sigmas = OvfSigmas(config_);
    for (int k = 0; k < n_feedback; ++k) {
      StandardNormalDraw own;
      if (!method.ovf_shared_noise()) {
        own = DrawStandardNormals(params, seed, NoisePurpose::kTrainFeedback, ustep, k);
      }
      noisy_[k + 1].Build(params, device_->WithSigma(sigmas[k]),
                          method.ovf_shared_noise() ? z : own,
                          device::StreamId({seed,
                                            static_cast<uint64_t>(NoisePurpose::kTrainFeedback),
                                            ustep, method.ovf_shared_noise() ? 0u : k + 1u}));
      nn::ForwardOptions fopt = opt;
      fopt.update_running_stats = false;
      fopt.weight_override = noisy_[k + 1].overrides();
      network_->Forward(x, fopt, &caches_[k + 1], &feedback_logits[k], nullptr);
      feedback.push_back(ToVector(feedback_logits[k]));
    }
  } else if (irs) {
    const double head_sigma = IrsClassifierSigma(config_);
    head_caches_.resize(n_feedback);
    head_noisy_.resize(n_feedback);
    // The heads are training aids, never on crossbars: variation only.
    const device::DeviceModel head_device =
        device_->WithoutNonidealities().WithSigma(head_sigma);
    for (int i = 0; i < n_feedback; ++i) {
      const std::vector<nn::Parameter*> hp = heads_[i]->Parameters();
      nn::ForwardOptions hopt = opt;
      hopt.weight_override = nullptr;
      if (head_sigma > 0) {
        head_noisy_[i].Build(
            hp, head_device,
            DrawStandardNormals(hp, seed, NoisePurpose::kTrainIrsHead, ustep, i));
        hopt.weight_override = head_noisy_[i].overrides();
      }
      heads_[i]->Forward(snapshots[i], hopt, &head_caches_[i], &feedback_logits[i]);
      feedback.push_back(ToVector(feedback_logits[i]));
    }
  }

  const NftObjectiveResult obj =
      NftObjective(ToVector(logits), feedback, alpha, method.beta(), batch.labels, classes);

  nn::Tensor dlogits;
  FromVector(obj.d_backbone, logits.shape(), &dlogits);
  if (method.kind() == formats::TrainingMethod::OVF) {
    network_->Backward(caches_[0], dlogits, {});
    for (int k = 0; k < n_feedback; ++k) {
      nn::Tensor d;
      FromVector(obj.d_feedback[k], logits.shape(), &d);
      network_->Backward(caches_[k + 1], d, {});
    }
  } else if (irs) {
    std::vector<nn::Tensor> dsnap(snapshots.size());
    for (int i = 0; i < n_feedback; ++i) {
      nn::Tensor d;
      FromVector(obj.d_feedback[i], logits.shape(), &d);
      heads_[i]->Backward(head_caches_[i], d, &dsnap[i]);
    }
    network_->Backward(caches_[0], dlogits, dsnap);
  } else {
    network_->Backward(caches_[0], dlogits, {});
  }
  optimizer_->Step(AllParams(), learning_rate);

  StepResult r;
  r.loss = obj.loss;
  r.count = batch.n;
  for (int b = 0; b < batch.n; ++b) r.correct += obj.predictions[b] == batch.labels[b];
  return r;
}

EpochResult NftTrainer::TrainEpoch(
    const data::RawDataset& train,
    const std::function<void(int64_t, int64_t, double, int)>& on_batch) {
  const auto start = std::chrono::steady_clock::now();
  const formats::DatasetInfo& ds = config_.dataset();
  absl::StatusOr<data::Normalizer> normalizer = data::Normalizer::Create(
      std::vector<double>(ds.mean().begin(), ds.mean().end()),
      std::vector<double>(ds.std().begin(), ds.std().end()));
  data::BatchOptions bo;
  bo.batch_size = config_.batch_size();
  bo.seed = config_.seed();
  bo.shuffle = true;
  bo.augment = ds.augment();
  absl::StatusOr<data::BatchIterator> it =
      data::BatchIterator::Create(&train, *normalizer, bo, epochs_done_);
  EpochResult result;
  if (!it.ok()) return result;  // the caller validated the dataset already
  const double lr = LearningRateAt(config_.optimizer(), epochs_done_, config_.epochs());
  // Global step numbering is fixed by the epoch, so resume continues it.
  const int64_t first_step = static_cast<int64_t>(epochs_done_) * it->num_batches();
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  data::Batch batch;
  for (int64_t k = 0; it->Next(&batch); ++k) {
    const StepResult r = TrainStep(batch, first_step + k, lr);
    loss_sum += r.loss * r.count;
    correct += r.correct;
    seen += r.count;
    if (on_batch) on_batch(k, it->num_batches(), loss_sum / seen, batch.n);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.mean_loss = seen ? loss_sum / seen : 0;
  result.train_accuracy = seen ? 100.0 * correct / seen : 0;
  result.images_per_second = result.seconds > 0 ? seen / result.seconds : 0;
  ++epochs_done_;
  return result;
}

formats::Checkpoint NftTrainer::ToCheckpoint() const {
  formats::Checkpoint c;
  c.set_format_version(kCheckpointFormatVersion);
  *c.mutable_config() = config_;
  for (nn::Parameter* p : network_->Parameters()) TensorToProto(p->name, p->value, c.add_parameters());
  for (nn::Buffer* b : network_->Buffers()) TensorToProto(b->name, b->value, c.add_buffers());
  for (const auto& h : heads_) {
    for (nn::Parameter* p : h->Parameters()) TensorToProto(p->name, p->value, c.add_aux_parameters());
  }
  std::vector<ParamView> views = const_cast<NftTrainer*>(this)->AllParams();
  optimizer_->SaveState(views, c.mutable_optimizer());
  c.set_epochs_done(epochs_done_);
  for (const formats::EpochMetrics& m : history_) *c.add_history() = m;
  return c;
}

absl::StatusOr<std::unique_ptr<NftTrainer>> NftTrainer::FromCheckpoint(
    const formats::Checkpoint& checkpoint) {
  absl::StatusOr<std::unique_ptr<NftTrainer>> t = Create(checkpoint.config());
  if (!t.ok()) return t.status();
  NftTrainer& tr = **t;
  std::vector<std::pair<std::string, nn::Tensor*>> params, buffers, aux;
  for (nn::Parameter* p : tr.network_->Parameters()) params.push_back({p->name, &p->value});
  for (nn::Buffer* b : tr.network_->Buffers()) buffers.push_back({b->name, &b->value});
  for (auto& h : tr.heads_) {
    for (nn::Parameter* p : h->Parameters()) aux.push_back({p->name, &p->value});
  }
  absl::Status s = TensorsFromProto(checkpoint.parameters(), params, "parameters");
  if (s.ok()) s = TensorsFromProto(checkpoint.buffers(), buffers, "buffers");
  if (s.ok()) s = TensorsFromProto(checkpoint.aux_parameters(), aux, "aux_parameters");
  if (s.ok()) s = tr.optimizer_->LoadState(tr.AllParams(), checkpoint.optimizer());
  if (!s.ok()) return s;
  tr.epochs_done_ = checkpoint.epochs_done();
  tr.history_.assign(checkpoint.history().begin(), checkpoint.history().end());
  return t;
}

}  // namespace nftcim::trainer
