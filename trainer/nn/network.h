#ifndef NFTCIM_TRAINER_NN_NETWORK_H_
#define NFTCIM_TRAINER_NN_NETWORK_H_

// The models of the NFT trainer (VGG-8 and the CIFAR ResNet-18) and the IRS
// auxiliary classifier head.
//
// A Network owns its parameters and buffers; everything a forward pass leaves
// for its backward pass lives in a ForwardCache, so several forwards (each
// with its own cache, e.g. OVF's four variational forwards) may be followed
// by their backwards. Internally activations are NHWC ("channels last"); the
// input, logits and snapshots are exchanged in the public layouts (NCHW
// images, [N, classes] logits).
//
// Not thread-safe: drive one Network from one thread at a time (the kernels
// use the library's worker threads, see parallel.h).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trainer/nn/layers.h"
#include "trainer/nn/parameter.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {

struct ModelConfig {
  std::string arch = "vgg8";  // "vgg8" | "resnet18"
  double width = 1.0;         // channel multiplier
  int in_channels = 3;
  int num_classes = 10;
  int input_size = 32;        // square inputs, divisible by 8
  uint64_t seed = 0;          // parameter initialisation
};

// round(base * width), at least 1 (the width rule for every channel count
// and hidden size).
int ScaledWidth(int base, double width);

struct ForwardOptions {
  // Batch statistics in BatchNorm (training) or running statistics.
  bool training = true;
  // With training: move the BatchNorm running statistics (momentum 0.1).
  bool update_running_stats = true;
  // If not null: one entry per Parameter, in Parameters() order; a non-null
  // entry replaces that parameter's value in this forward (device
  // variation). The tensors are copied into the cache, so they may be reused
  // or freed right after Forward returns.
  const std::vector<const Tensor*>* weight_override = nullptr;
};

// One stage of the architecture description (for the firmware compiler and
// for building IRS heads). Shapes are per image, channels x height x width.
struct LayerInfo {
  std::string name;     // "conv1", "layer2.0.shortcut", "fc", ...
  std::string type;     // "conv", "batchnorm", "relu", "maxpool", "add",
                        // "avgpool", "flatten", "linear"
  std::vector<std::string> inputs;  // names of the layers feeding this one
                                    // ("input" for the network input)
  int in_channels = 0, in_h = 0, in_w = 0;
  int out_channels = 0, out_h = 0, out_w = 0;
  int kernel = 0, stride = 0, padding = 0;  // conv / pool
  std::string weight;   // parameter names, empty if none
  std::string bias;
};

struct SnapshotInfo {
  std::string after;  // name of the layer whose output is snapshotted
  int channels = 0, height = 0, width = 0;
};

struct ArchitectureInfo {
  std::string arch;
  double width = 1;
  int in_channels = 0, num_classes = 0, input_size = 0;
  // VGG-8: the six convolution widths then the hidden FC size.
  // ResNet-18: stem width then the four stage widths.
  std::vector<int> channels;
  std::vector<LayerInfo> layers;  // in execution order
  std::vector<SnapshotInfo> snapshots;
  // IRS defaults (nft-spec.md section 2): pool sizes per snapshot and the
  // hidden size round(512 * width).
  std::vector<int> irs_pool_sizes;
  int irs_hidden = 0;
};

class Network;

// What a forward pass leaves for its backward pass. Reusing one cache across
// steps reuses its memory.
class ForwardCache {
 public:
  ForwardCache();
  ~ForwardCache();
  ForwardCache(ForwardCache&&) noexcept;
  ForwardCache& operator=(ForwardCache&&) noexcept;

  int64_t batch_size() const { return batch_; }
  bool training() const { return training_; }
  // Frees the memory.
  void Clear();

 private:
  friend class Network;
  const Network* owner_ = nullptr;
  int64_t batch_ = 0;
  bool training_ = false;
  std::vector<Tensor> acts_;         // per activation slot (NHWC)
  std::vector<Tensor> pre_bn_;       // per conv-bn op: the conv output
  std::vector<BatchNorm2d::Context> bn_;
  std::vector<Tensor> override_copies_;
  std::vector<const Tensor*> values_;  // per parameter: value used
};

class Network {
 public:
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const ModelConfig& config() const { return config_; }
  const ArchitectureInfo& info() const { return info_; }

  // In module order (PyTorch's named_parameters order), e.g. VGG-8:
  //   conv1.weight, bn1.weight, bn1.bias, conv2.weight, ..., bn6.bias,
  //   fc1.weight, fc1.bias, fc2.weight, fc2.bias
  std::vector<Parameter*> Parameters();
  std::vector<const Parameter*> Parameters() const;
  // bn1.running_mean, bn1.running_var, bn2.running_mean, ...
  std::vector<Buffer*> Buffers();
  std::vector<const Buffer*> Buffers() const;
  Parameter* FindParameter(const std::string& name);
  Buffer* FindBuffer(const std::string& name);

  int num_snapshots() const { return static_cast<int>(snapshot_slots_.size()); }

  // x: [N, in_channels, input_size, input_size]. logits: [N, num_classes].
  // snapshots (if not null): the IRS snapshot activations, NCHW.
  // cache: may be null for a forward that will not be back-propagated
  // (cheaper: BatchNorm and ReLU are folded into the convolutions).
  void Forward(const Tensor& x, const ForwardOptions& options,
               ForwardCache* cache, Tensor* logits,
               std::vector<Tensor>* snapshots);

  // Accumulates into every Parameter::grad the gradient of
  //   sum(logits * dlogits) + sum_i sum(snapshot_i * dsnapshots[i])
  // for the forward that filled `cache`, w.r.t. the parameter values that
  // forward used (the overrides where given: straight-through). dsnapshots
  // is empty or has num_snapshots() entries, an empty Tensor meaning zero.
  void Backward(const ForwardCache& cache, const Tensor& dlogits,
                const std::vector<Tensor>& dsnapshots);

  void ZeroGrad();

  // Internal graph, public for the model builders in network.cc.
  struct Op;

 private:
  friend class NetworkBuilder;
  Network();
  void RunOp(const Op& op, const ForwardOptions& options, bool keep,
             ForwardCache* cache);
  void ConvBackward(const Op& op, const ForwardCache& cache, bool need_dx);

  ModelConfig config_;
  ArchitectureInfo info_;
  std::vector<std::unique_ptr<Conv2d>> convs_;
  std::vector<std::unique_ptr<BatchNorm2d>> bns_;
  std::vector<std::unique_ptr<Linear>> linears_;
  std::vector<Parameter*> params_;
  std::vector<Buffer*> buffers_;
  std::vector<Op> ops_;
  int num_slots_ = 1;
  int logits_slot_ = 0;
  std::vector<int> snapshot_slots_;
  ForwardCache scratch_cache_;   // for forwards without a cache
  std::vector<Tensor> grads_;    // per slot, during Backward
  std::vector<char> grad_set_;
  Tensor tmp_;
};

// Builds a model from its config, with initialised parameters: Kaiming
// normal (fan_out, ReLU gain) conv and linear weights, zero biases, BatchNorm
// weight 1 / bias 0 / running mean 0 / running var 1. Parameter i's values
// come from Rng(config.seed, i). Errors for an unknown arch, width <= 0,
// non-positive sizes, or an input size not divisible by 8.
absl::StatusOr<std::unique_ptr<Network>> MakeNetwork(const ModelConfig& config);

// The IRS auxiliary classifier (nft-spec.md section 2):
// AdaptiveAvgPool2d(s) -> Flatten -> Linear(C*s*s -> hidden) -> ReLU ->
// Linear(hidden -> classes). Parameters "<prefix>.fc1.weight",
// "<prefix>.fc1.bias", "<prefix>.fc2.weight", "<prefix>.fc2.bias"; the
// weights are device mapped and Kaiming (fan_out) initialised from
// Rng(seed, i) for parameter i, biases zero.
class IrsHead {
 public:
  struct Cache {
    Shape x_shape;
    Tensor pooled;  // [N, C*s*s]
    Tensor hidden;  // [N, hidden], after the ReLU
    std::vector<Tensor> override_copies;
    std::vector<const Tensor*> values;
  };

  IrsHead(const std::string& prefix, int in_channels, int pool_size,
          int hidden, int num_classes, uint64_t seed);

  std::vector<Parameter*> Parameters();
  std::vector<const Parameter*> Parameters() const;
  int pool_size() const { return pool_.output_size(); }
  int in_channels() const { return in_channels_; }

  // x: NCHW [N, in_channels, H, W]. Only options.weight_override is used
  // (one entry per Parameters() entry). cache may be null.
  void Forward(const Tensor& x, const ForwardOptions& options, Cache* cache,
               Tensor* logits);
  // Accumulates parameter gradients; dx (if not null) is overwritten with
  // the gradient w.r.t. x.
  void Backward(const Cache& cache, const Tensor& dlogits, Tensor* dx);
  void ZeroGrad();

 private:
  int in_channels_;
  AdaptiveAvgPool2d pool_;
  Linear fc1_, fc2_;
};

// A wall-clock profile of Network's forward and backward ops (summed over
// calls until the next EnableProfiling), for finding bottlenecks. Off by
// default; costs nothing when off. Not thread-safe.
void EnableProfiling(bool on);
std::string ProfileReport();

// One head per snapshot of `info` with names "irs1", "irs2", ...; head i
// (from 0) has seed Rng(seed, 1000 + i).Next(). pool_sizes empty means
// info.irs_pool_sizes.
std::vector<std::unique_ptr<IrsHead>> MakeIrsHeads(
    const ArchitectureInfo& info, const std::vector<int>& pool_sizes,
    uint64_t seed);

}  // namespace nftcim::trainer::nn

#endif  // NFTCIM_TRAINER_NN_NETWORK_H_
