#include "trainer/nn/network.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "trainer/nn/check.h"
#include "trainer/nn/kernels.h"
#include "trainer/nn/random.h"

namespace nftcim::trainer::nn {

namespace {

// Optional wall-clock profile of the ops (see EnableProfiling).
struct Profile {
  bool on = false;
  std::vector<std::pair<std::string, double>> entries;  // first-seen order
  void Add(const std::string& key, double seconds) {
    for (auto& e : entries) {
      if (e.first == key) {
        e.second += seconds;
        return;
      }
    }
    entries.emplace_back(key, seconds);
  }
};
Profile& GetProfile() {
  static Profile* p = new Profile();
  return *p;
}

class ScopedTimer {
 public:
  explicit ScopedTimer(std::string key)
      : on_(GetProfile().on), key_(on_ ? std::move(key) : std::string()) {
    if (on_) t0_ = std::chrono::steady_clock::now();
  }
  ~ScopedTimer() {
    if (!on_) return;
    GetProfile().Add(key_, std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - t0_)
                               .count());
  }

 private:
  bool on_;
  std::string key_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace

void EnableProfiling(bool on) {
  GetProfile().on = on;
  GetProfile().entries.clear();
}

std::string ProfileReport() {
  double total = 0;
  for (const auto& e : GetProfile().entries) total += e.second;
  std::string out;
  for (const auto& e : GetProfile().entries) {
    out += absl::StrFormat("%-28s %9.2f ms %5.1f%%\n", e.first, 1e3 * e.second,
                           total > 0 ? 100 * e.second / total : 0.0);
  }
  out += absl::StrFormat("%-28s %9.2f ms\n", "total", 1e3 * total);
  return out;
}

int ScaledWidth(int base, double width) {
  return std::max(1, static_cast<int>(std::lround(base * width)));
}

// ---------------------------------------------------------------------------
// The internal graph: a list of fused operations over activation slots
// (slot 0 is the input, NHWC).

struct Network::Op {
  // kConvBnPool: conv -> BatchNorm -> ReLU -> 2x2 max pool, whose ReLU
  // output is never stored (recomputed from the conv output in backward).
  enum class Kind { kConvBn, kConvBnPool, kMaxPool, kGlobalAvgPool, kFlatten, kLinear };
  Kind kind = Kind::kConvBn;
  std::string name;  // for profiles: the op's first layer
  int in = -1, out = -1;
  int residual = -1;  // conv-bn: slot added before the ReLU, or -1
  bool relu = false;
  // Shapes per image (NHWC): input and output.
  int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int conv_oh = 0, conv_ow = 0;  // conv-bn(-pool): the convolution's output
  // conv-bn
  Conv2d* conv = nullptr;
  BatchNorm2d* bn = nullptr;
  int conv_w = -1, bn_w = -1, bn_b = -1;  // parameter indices
  int bn_index = -1;                      // into the cache's pre_bn_ / bn_
  // linear
  Linear* linear = nullptr;
  int lin_w = -1, lin_b = -1;
};

ForwardCache::ForwardCache() = default;
ForwardCache::~ForwardCache() = default;
ForwardCache::ForwardCache(ForwardCache&&) noexcept = default;
ForwardCache& ForwardCache::operator=(ForwardCache&&) noexcept = default;

void ForwardCache::Clear() {
  owner_ = nullptr;
  batch_ = 0;
  acts_.clear();
  pre_bn_.clear();
  bn_.clear();
  override_copies_.clear();
  values_.clear();
}

Network::Network() = default;
Network::~Network() = default;

std::vector<Parameter*> Network::Parameters() { return params_; }
std::vector<const Parameter*> Network::Parameters() const {
  return std::vector<const Parameter*>(params_.begin(), params_.end());
}
std::vector<Buffer*> Network::Buffers() { return buffers_; }
std::vector<const Buffer*> Network::Buffers() const {
  return std::vector<const Buffer*>(buffers_.begin(), buffers_.end());
}

Parameter* Network::FindParameter(const std::string& name) {
  for (Parameter* p : params_)
    if (p->name == name) return p;
  return nullptr;
}
Buffer* Network::FindBuffer(const std::string& name) {
  for (Buffer* b : buffers_)
    if (b->name == name) return b;
  return nullptr;
}

void Network::ZeroGrad() {
  for (Parameter* p : params_) p->grad.SetZero();
}

namespace {

// scale = gamma * invstd, shift = beta - mean * scale.
void BnAffine(const BatchNorm2d::Context& ctx, const Tensor& gamma,
              const Tensor& beta, std::vector<float>* scale,
              std::vector<float>* shift) {
  const int64_t c = gamma.size();
  scale->resize(c);
  shift->resize(c);
  for (int64_t o = 0; o < c; ++o) {
    (*scale)[o] = gamma[o] * ctx.invstd[o];
    (*shift)[o] = beta[o] - ctx.mean[o] * (*scale)[o];
  }
}

}  // namespace

void Network::RunOp(const Op& op, const ForwardOptions& options, bool keep,
                    ForwardCache* c) {
  const int64_t n = c->batch_;
  const Tensor& x = c->acts_[op.in];
  Tensor& y = c->acts_[op.out];
  const int64_t out_rows = n * op.out_h * op.out_w;
  switch (op.kind) {
    case Op::Kind::kConvBn:
    case Op::Kind::kConvBnPool: {
      const bool pool = op.kind == Op::Kind::kConvBnPool;
      const int64_t conv_rows = n * op.conv_oh * op.conv_ow;
      y.Resize({n, op.out_h, op.out_w, op.out_c});
      const kernels::ConvGeometry g = op.conv->Geometry(n, op.in_h, op.in_w);
      const Tensor& w = *c->values_[op.conv_w];
      const Tensor& gamma = *c->values_[op.bn_w];
      const Tensor& beta = *c->values_[op.bn_b];
      BatchNorm2d::Context& ctx = c->bn_[op.bn_index];
      std::vector<float> scale, shift;
      const float* residual =
          op.residual >= 0 ? c->acts_[op.residual].data() : nullptr;
      if (!keep && !options.training) {
        // Inference: BatchNorm (running statistics) and ReLU folded into the
        // convolution's epilogue.
        op.bn->ComputeStats(conv_rows, nullptr, false, false, &ctx);
        BnAffine(ctx, gamma, beta, &scale, &shift);
        kernels::Epilogue e;
        e.scale = scale.data();
        e.shift = shift.data();
        e.relu = op.relu && residual == nullptr;
        if (pool) {
          Tensor& t = c->pre_bn_[op.bn_index];
          t.Resize({n, op.conv_oh, op.conv_ow, op.out_c});
          kernels::ConvForward(g, x.data(), w.data(), t.data(), e);
          kernels::MaxPool2x2Forward(n, op.conv_oh, op.conv_ow, op.out_c, t.data(),
                                     y.data());
          return;
        }
        kernels::ConvForward(g, x.data(), w.data(), y.data(), e);
        if (residual != nullptr) {
          const std::vector<float> one(op.out_c, 1.0f), zero(op.out_c, 0.0f);
          kernels::ChannelAffine(out_rows, op.out_c, y.data(), one.data(),
                                 zero.data(), residual, op.relu, y.data());
        }
        return;
      }
      Tensor& z = c->pre_bn_[op.bn_index];
      z.Resize({n, op.conv_oh, op.conv_ow, op.out_c});
      kernels::ConvForward(g, x.data(), w.data(), z.data());
      op.bn->ComputeStats(conv_rows, z.data(), options.training,
                          options.training && options.update_running_stats,
                          &ctx);
      BnAffine(ctx, gamma, beta, &scale, &shift);
      if (pool) {
        kernels::BnReluMaxPoolForward(n, op.conv_oh, op.conv_ow, op.out_c, z.data(),
                                      scale.data(), shift.data(), y.data());
        return;
      }
      kernels::ChannelAffine(out_rows, op.out_c, z.data(), scale.data(),
                             shift.data(), residual, op.relu, y.data());
      return;
    }
    case Op::Kind::kMaxPool:
      y.Resize({n, op.out_h, op.out_w, op.out_c});
      kernels::MaxPool2x2Forward(n, op.in_h, op.in_w, op.in_c, x.data(),
                                 y.data());
      return;
    case Op::Kind::kGlobalAvgPool:
      y.Resize({n, op.out_c});
      kernels::GlobalAvgPoolForward(n, op.in_h * op.in_w, op.in_c, x.data(),
                                    y.data());
      return;
    case Op::Kind::kFlatten:
      y.Resize({n, static_cast<int64_t>(op.in_c) * op.in_h * op.in_w});
      kernels::NhwcToNchw(n, op.in_c, op.in_h * op.in_w, x.data(), y.data());
      return;
    case Op::Kind::kLinear: {
      y.Resize({n, op.out_c});
      const Tensor& w = *c->values_[op.lin_w];
      const float* b = op.lin_b >= 0 ? c->values_[op.lin_b]->data() : nullptr;
      kernels::LinearForward(n, op.in_c, op.out_c, x.data(), w.data(), b,
                             op.relu, y.data());
      return;
    }
  }
}

void Network::Forward(const Tensor& x, const ForwardOptions& options,
                      ForwardCache* cache, Tensor* logits,
                      std::vector<Tensor>* snapshots) {
  NN_CHECK(x.ndim() == 4 && x.dim(1) == config_.in_channels &&
               x.dim(2) == config_.input_size && x.dim(3) == config_.input_size,
           "input must be [N, in_channels, input_size, input_size]");
  const bool keep = cache != nullptr;
  ForwardCache* c = keep ? cache : &scratch_cache_;
  const int64_t n = x.dim(0);
  c->owner_ = this;
  c->batch_ = n;
  c->training_ = options.training;
  c->acts_.resize(num_slots_);
  c->pre_bn_.resize(bns_.size());
  c->bn_.resize(bns_.size());
  c->values_.assign(params_.size(), nullptr);
  c->override_copies_.resize(params_.size());
  const std::vector<const Tensor*>* ov = options.weight_override;
  NN_CHECK(ov == nullptr || ov->size() == params_.size(),
           "weight_override needs one entry per parameter");
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor* o = ov != nullptr ? (*ov)[i] : nullptr;
    if (o == nullptr) {
      c->values_[i] = &params_[i]->value;
      c->override_copies_[i].Clear();
      continue;
    }
    NN_CHECK(o->shape() == params_[i]->value.shape(),
             "weight_override entry has the wrong shape");
    if (keep) {
      c->override_copies_[i].CopyFrom(*o);
      c->values_[i] = &c->override_copies_[i];
    } else {
      c->values_[i] = o;
    }
  }

  const int s = config_.input_size;
  Tensor& in = c->acts_[0];
  in.Resize({n, s, s, config_.in_channels});
  kernels::NchwToNhwc(n, config_.in_channels, s * s, x.data(), in.data());
  for (const Op& op : ops_) {
    ScopedTimer timer("fwd " + op.name);
    RunOp(op, options, keep, c);
  }

  if (logits != nullptr) logits->CopyFrom(c->acts_[logits_slot_]);
  if (snapshots != nullptr) {
    snapshots->resize(snapshot_slots_.size());
    for (size_t i = 0; i < snapshot_slots_.size(); ++i) {
      const Tensor& a = c->acts_[snapshot_slots_[i]];
      Tensor& out = (*snapshots)[i];
      out.Resize({n, a.dim(3), a.dim(1), a.dim(2)});
      kernels::NhwcToNchw(n, static_cast<int>(a.dim(3)),
                          static_cast<int>(a.dim(1) * a.dim(2)), a.data(),
                          out.data());
    }
  }
  if (!keep) {
    // Do not keep pointers to the caller's override tensors.
    c->values_.clear();
  }
}

// The convolution part of a conv-bn op's backward; tmp_ holds the gradient
// w.r.t. the convolution's output.
void Network::ConvBackward(const Op& op, const ForwardCache& cache,
                           bool need_dx) {
  const int64_t n = cache.batch_;
  const kernels::ConvGeometry g = op.conv->Geometry(n, op.in_h, op.in_w);
  kernels::ConvBackwardWeights(g, cache.acts_[op.in].data(), tmp_.data(),
                               params_[op.conv_w]->grad.data());
  if (!need_dx) return;
  const bool acc = grad_set_[op.in] != 0;
  if (!acc) {
    grads_[op.in].Resize(cache.acts_[op.in].shape());
    grad_set_[op.in] = 1;
  }
  kernels::ConvBackwardData(g, tmp_.data(), cache.values_[op.conv_w]->data(),
                            grads_[op.in].data(), acc);
}

void Network::Backward(const ForwardCache& cache, const Tensor& dlogits,
                       const std::vector<Tensor>& dsnapshots) {
  NN_CHECK(cache.owner_ == this && !cache.values_.empty(),
           "Backward needs the cache of a Forward of this network");
  NN_CHECK(dsnapshots.empty() || dsnapshots.size() == snapshot_slots_.size(),
           "dsnapshots must be empty or have one entry per snapshot");
  const int64_t n = cache.batch_;
  const std::vector<Tensor>& acts = cache.acts_;
  NN_CHECK(dlogits.size() == acts[logits_slot_].size(),
           "dlogits must have the logits' shape");
  grads_.resize(num_slots_);
  grad_set_.assign(num_slots_, 0);
  grads_[logits_slot_].CopyFrom(dlogits);
  grad_set_[logits_slot_] = 1;
  for (size_t i = 0; i < dsnapshots.size(); ++i) {
    if (dsnapshots[i].empty()) continue;
    const int slot = snapshot_slots_[i];
    const Tensor& a = acts[slot];
    NN_CHECK(dsnapshots[i].size() == a.size(),
             "a dsnapshot must have its snapshot's shape");
    Tensor& g = grads_[slot];
    if (grad_set_[slot]) {
      kernels::NchwToNhwc(n, static_cast<int>(a.dim(3)),
                          static_cast<int>(a.dim(1) * a.dim(2)),
                          dsnapshots[i].data(), g.data(), true);
    } else {
      g.Resize(a.shape());
      kernels::NchwToNhwc(n, static_cast<int>(a.dim(3)),
                          static_cast<int>(a.dim(1) * a.dim(2)),
                          dsnapshots[i].data(), g.data());
      grad_set_[slot] = 1;
    }
  }

  // Makes grads_[slot] ready to receive a gradient; returns whether it must
  // be accumulated into (it already holds one).
  auto prepare = [&](int slot) {
    if (grad_set_[slot]) return true;
    grads_[slot].Resize(acts[slot].shape());
    grad_set_[slot] = 1;
    return false;
  };

  for (auto it = ops_.rbegin(); it != ops_.rend(); ++it) {
    const Op& op = *it;
    ScopedTimer timer("bwd " + op.name);
    if (!grad_set_[op.out]) {
      grads_[op.out].ResizeZero(acts[op.out].shape());
      grad_set_[op.out] = 1;
    }
    const Tensor& gout = grads_[op.out];
    const bool need_dx = op.in != 0;  // the input image needs no gradient
    const int64_t out_rows = n * op.out_h * op.out_w;
    switch (op.kind) {
      case Op::Kind::kConvBnPool: {
        const BatchNorm2d::Context& ctx = cache.bn_[op.bn_index];
        const Tensor& z = cache.pre_bn_[op.bn_index];
        tmp_.Resize(z.shape());
        std::vector<float> scale, shift;
        BnAffine(ctx, *cache.values_[op.bn_w], *cache.values_[op.bn_b], &scale,
                 &shift);
        kernels::BnReluMaxPoolBackwardArgs a;
        a.batch = n;
        a.h = op.conv_oh;
        a.w = op.conv_ow;
        a.c = op.out_c;
        a.z = z.data();
        a.scale = scale.data();
        a.shift = shift.data();
        a.dout = gout.data();
        a.mean = ctx.mean.data();
        a.invstd = ctx.invstd.data();
        a.gamma = cache.values_[op.bn_w]->data();
        a.batch_stats = ctx.batch_stats;
        a.dz = tmp_.data();
        a.dgamma = params_[op.bn_w]->grad.data();
        a.dbeta = params_[op.bn_b]->grad.data();
        kernels::BnReluMaxPoolBackward(a);
        ConvBackward(op, cache, need_dx);
        break;
      }
      case Op::Kind::kConvBn: {
        const BatchNorm2d::Context& ctx = cache.bn_[op.bn_index];
        const Tensor& z = cache.pre_bn_[op.bn_index];
        NN_CHECK(z.size() == out_rows * op.out_c,
                 "this op's forward kept no data for backward");
        tmp_.Resize(z.shape());
        kernels::BatchNormBackwardArgs a;
        a.rows = out_rows;
        a.c = op.out_c;
        a.z = z.data();
        std::vector<float> mask_scale, mask_shift;
        if (op.relu && op.residual < 0) {
          // The ReLU mask from z and the forward's affine step (identical
          // arithmetic), without reading the output.
          BnAffine(ctx, *cache.values_[op.bn_w], *cache.values_[op.bn_b],
                   &mask_scale, &mask_shift);
          a.mask_scale = mask_scale.data();
          a.mask_shift = mask_shift.data();
        } else if (op.relu) {
          a.out = acts[op.out].data();
        }
        a.dout = gout.data();
        a.mean = ctx.mean.data();
        a.invstd = ctx.invstd.data();
        a.gamma = cache.values_[op.bn_w]->data();
        a.batch_stats = ctx.batch_stats;
        a.dz = tmp_.data();
        a.dgamma = params_[op.bn_w]->grad.data();
        a.dbeta = params_[op.bn_b]->grad.data();
        if (op.residual >= 0) {
          a.accumulate_residual = prepare(op.residual);
          a.dresidual = grads_[op.residual].data();
        }
        kernels::BatchNormBackward(a);
        ConvBackward(op, cache, need_dx);
        break;
      }
      case Op::Kind::kMaxPool: {
        if (!need_dx) break;
        const bool acc = prepare(op.in);
        Tensor& dst = acc ? tmp_ : grads_[op.in];
        if (acc) tmp_.Resize(acts[op.in].shape());
        kernels::MaxPool2x2Backward(n, op.in_h, op.in_w, op.in_c,
                                    acts[op.in].data(), gout.data(),
                                    dst.data());
        if (acc) {
          kernels::Accumulate(tmp_.size(), tmp_.data(), grads_[op.in].data());
        }
        break;
      }
      case Op::Kind::kGlobalAvgPool: {
        if (!need_dx) break;
        const bool acc = prepare(op.in);
        kernels::GlobalAvgPoolBackward(n, op.in_h * op.in_w, op.in_c,
                                       gout.data(), grads_[op.in].data(), acc);
        break;
      }
      case Op::Kind::kFlatten: {
        if (!need_dx) break;
        const bool acc = prepare(op.in);
        kernels::NchwToNhwc(n, op.in_c, op.in_h * op.in_w, gout.data(),
                            grads_[op.in].data(), acc);
        break;
      }
      case Op::Kind::kLinear: {
        const float* g = gout.data();
        if (op.relu) {
          tmp_.Resize(gout.shape());
          kernels::ReluBackward(gout.size(), acts[op.out].data(), g,
                                tmp_.data());
          g = tmp_.data();
        }
        kernels::LinearBackwardWeights(
            n, op.in_c, op.out_c, acts[op.in].data(), g,
            params_[op.lin_w]->grad.data(),
            op.lin_b >= 0 ? params_[op.lin_b]->grad.data() : nullptr);
        if (need_dx) {
          const bool acc = prepare(op.in);
          kernels::LinearBackwardData(n, op.in_c, op.out_c, g,
                                      cache.values_[op.lin_w]->data(),
                                      grads_[op.in].data(), acc);
        }
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Model builders

class NetworkBuilder {
 public:
  explicit NetworkBuilder(const ModelConfig& config)
      : net_(new Network()) {
    net_->config_ = config;
    ArchitectureInfo& info = net_->info_;
    info.arch = config.arch;
    info.width = config.width;
    info.in_channels = config.in_channels;
    info.num_classes = config.num_classes;
    info.input_size = config.input_size;
    info.irs_hidden = ScaledWidth(512, config.width);
    cur_ = {0, config.input_size, config.input_size, config.in_channels, "input"};
  }

  // An activation: its slot, shape and the name of the layer producing it.
  struct Act {
    int slot;
    int h, w, c;
    std::string name;
  };

  Act ConvBn(const Act& in, const std::string& conv_name,
             const std::string& bn_name, const std::string& relu_name,
             int out_c, int kernel, int stride, int pad, bool relu,
             const Act* residual = nullptr,
             const std::string& add_name = "") {
    Network& n = *net_;
    Conv2d::Options o;
    o.stride = stride;
    o.padding = pad;
    n.convs_.push_back(std::make_unique<Conv2d>(conv_name, in.c, out_c, kernel, o));
    Conv2d* conv = n.convs_.back().get();
    n.bns_.push_back(std::make_unique<BatchNorm2d>(bn_name, out_c));
    BatchNorm2d* bn = n.bns_.back().get();
    Network::Op op;
    op.kind = Network::Op::Kind::kConvBn;
    op.name = conv_name;
    op.in = in.slot;
    op.out = n.num_slots_++;
    op.residual = residual != nullptr ? residual->slot : -1;
    op.relu = relu;
    op.in_h = in.h;
    op.in_w = in.w;
    op.in_c = in.c;
    const kernels::ConvGeometry g = conv->Geometry(1, in.h, in.w);
    op.conv_oh = op.out_h = g.out_h();
    op.conv_ow = op.out_w = g.out_w();
    op.out_c = out_c;
    op.conv = conv;
    op.bn = bn;
    op.conv_w = AddParam(&conv->weight);
    op.bn_w = AddParam(&bn->weight);
    op.bn_b = AddParam(&bn->bias);
    n.buffers_.push_back(&bn->running_mean);
    n.buffers_.push_back(&bn->running_var);
    op.bn_index = static_cast<int>(n.bns_.size()) - 1;
    n.ops_.push_back(op);

    LayerInfo li = Info(conv_name, "conv", {in.name}, in, out_c, op.out_h, op.out_w);
    li.kernel = kernel;
    li.stride = stride;
    li.padding = pad;
    li.weight = conv->weight.name;
    Act cur{op.out, op.out_h, op.out_w, out_c, conv_name};
    AddInfo(std::move(li));
    LayerInfo lb = Info(bn_name, "batchnorm", {conv_name}, cur, out_c, op.out_h, op.out_w);
    lb.weight = bn->weight.name;
    lb.bias = bn->bias.name;
    AddInfo(std::move(lb));
    cur.name = bn_name;
    if (residual != nullptr) {
      AddInfo(Info(add_name, "add", {bn_name, residual->name}, cur, out_c, op.out_h, op.out_w));
      cur.name = add_name;
    }
    if (relu) {
      AddInfo(Info(relu_name, "relu", {cur.name}, cur, out_c, op.out_h, op.out_w));
      cur.name = relu_name;
    }
    return cur;
  }

  // conv -> BatchNorm -> ReLU -> 2x2 max pool as one fused op.
  Act ConvBnReluPool(const Act& in, const std::string& conv_name,
                     const std::string& bn_name, const std::string& relu_name,
                     const std::string& pool_name, int out_c) {
    const Act relu = ConvBn(in, conv_name, bn_name, relu_name, out_c, 3, 1, 1, true);
    Network::Op& op = net_->ops_.back();
    op.kind = Network::Op::Kind::kConvBnPool;
    op.out_h = op.conv_oh / 2;
    op.out_w = op.conv_ow / 2;
    LayerInfo li = Info(pool_name, "maxpool", {relu.name}, relu, out_c, op.out_h, op.out_w);
    li.kernel = 2;
    li.stride = 2;
    AddInfo(std::move(li));
    return {op.out, op.out_h, op.out_w, out_c, pool_name};
  }

  Act MaxPool(const Act& in, const std::string& name) {
    Network::Op op;
    op.kind = Network::Op::Kind::kMaxPool;
    op.name = name;
    op.in = in.slot;
    op.out = net_->num_slots_++;
    op.in_h = in.h;
    op.in_w = in.w;
    op.in_c = in.c;
    op.out_h = in.h / 2;
    op.out_w = in.w / 2;
    op.out_c = in.c;
    net_->ops_.push_back(op);
    LayerInfo li = Info(name, "maxpool", {in.name}, in, in.c, op.out_h, op.out_w);
    li.kernel = 2;
    li.stride = 2;
    AddInfo(std::move(li));
    return {op.out, op.out_h, op.out_w, in.c, name};
  }

  Act GlobalAvgPool(const Act& in, const std::string& name) {
    Network::Op op;
    op.kind = Network::Op::Kind::kGlobalAvgPool;
    op.name = name;
    op.in = in.slot;
    op.out = net_->num_slots_++;
    op.in_h = in.h;
    op.in_w = in.w;
    op.in_c = in.c;
    op.out_h = op.out_w = 1;
    op.out_c = in.c;
    net_->ops_.push_back(op);
    AddInfo(Info(name, "avgpool", {in.name}, in, in.c, 1, 1));
    return {op.out, 1, 1, in.c, name};
  }

  Act Flatten(const Act& in, const std::string& name) {
    Network::Op op;
    op.kind = Network::Op::Kind::kFlatten;
    op.name = name;
    op.in = in.slot;
    op.out = net_->num_slots_++;
    op.in_h = in.h;
    op.in_w = in.w;
    op.in_c = in.c;
    op.out_h = op.out_w = 1;
    op.out_c = in.c * in.h * in.w;
    net_->ops_.push_back(op);
    AddInfo(Info(name, "flatten", {in.name}, in, op.out_c, 1, 1));
    return {op.out, 1, 1, op.out_c, name};
  }

  Act Fc(const Act& in, const std::string& name, int out, bool relu,
         const std::string& relu_name = "") {
    Network& n = *net_;
    const int features = in.c * in.h * in.w;
    n.linears_.push_back(std::make_unique<Linear>(name, features, out));
    Linear* lin = n.linears_.back().get();
    Network::Op op;
    op.kind = Network::Op::Kind::kLinear;
    op.name = name;
    op.in = in.slot;
    op.out = n.num_slots_++;
    op.relu = relu;
    op.in_h = op.in_w = 1;
    op.in_c = features;
    op.out_h = op.out_w = 1;
    op.out_c = out;
    op.linear = lin;
    op.lin_w = AddParam(&lin->weight);
    op.lin_b = AddParam(&lin->bias);
    n.ops_.push_back(op);
    LayerInfo li = Info(name, "linear", {in.name}, in, out, 1, 1);
    li.weight = lin->weight.name;
    li.bias = lin->bias.name;
    AddInfo(std::move(li));
    Act cur{op.out, 1, 1, out, name};
    if (relu) {
      AddInfo(Info(relu_name, "relu", {name}, cur, out, 1, 1));
      cur.name = relu_name;
    }
    return cur;
  }

  void Snapshot(const Act& a) {
    net_->snapshot_slots_.push_back(a.slot);
    net_->info_.snapshots.push_back({a.name, a.c, a.h, a.w});
  }

  std::unique_ptr<Network> Finish(const Act& logits) {
    Network& n = *net_;
    n.logits_slot_ = logits.slot;
    for (size_t i = 0; i < n.params_.size(); ++i) {
      if (n.params_[i]->device_mapped) {
        KaimingNormalFanOut(&n.params_[i]->value, n.config_.seed, i);
      }
    }
    return std::move(net_);
  }

  ArchitectureInfo& info() { return net_->info_; }
  size_t num_params() const { return net_->params_.size(); }

  // Moves parameters [first, first+count) after all others (and the
  // BatchNorm buffers among them likewise), renumbering the ops.
  void MoveParamsToEnd(size_t first, size_t count) {
    Network& n = *net_;
    std::vector<Parameter*> moved(n.params_.begin() + first,
                                  n.params_.begin() + first + count);
    n.params_.erase(n.params_.begin() + first, n.params_.begin() + first + count);
    n.params_.insert(n.params_.end(), moved.begin(), moved.end());
    auto remap = [&](int& i) {
      if (i < 0 || static_cast<size_t>(i) < first) return;
      if (static_cast<size_t>(i) < first + count) {
        i = static_cast<int>(n.params_.size() - count + (i - first));
      } else {
        i -= static_cast<int>(count);
      }
    };
    for (Network::Op& op : n.ops_) {
      remap(op.conv_w);
      remap(op.bn_w);
      remap(op.bn_b);
      remap(op.lin_w);
      remap(op.lin_b);
    }
    // Buffers follow their BatchNorm's parameters.
    std::vector<Buffer*> buffers;
    for (Parameter* p : n.params_) {
      for (const auto& bn : n.bns_) {
        if (&bn->weight == p) {
          buffers.push_back(&bn->running_mean);
          buffers.push_back(&bn->running_var);
        }
      }
    }
    n.buffers_ = buffers;
  }

 private:
  int AddParam(Parameter* p) {
    net_->params_.push_back(p);
    return static_cast<int>(net_->params_.size()) - 1;
  }
  static LayerInfo Info(const std::string& name, const std::string& type,
                        std::vector<std::string> inputs, const Act& in,
                        int out_c, int out_h, int out_w) {
    LayerInfo li;
    li.name = name;
    li.type = type;
    li.inputs = std::move(inputs);
    li.in_channels = in.c;
    li.in_h = in.h;
    li.in_w = in.w;
    li.out_channels = out_c;
    li.out_h = out_h;
    li.out_w = out_w;
    return li;
  }
  void AddInfo(LayerInfo li) { net_->info_.layers.push_back(std::move(li)); }

  std::unique_ptr<Network> net_;

 public:
  Act cur_;
};

namespace {

std::unique_ptr<Network> BuildVgg8(const ModelConfig& config) {
  NetworkBuilder b(config);
  const int base[6] = {64, 128, 256, 256, 512, 512};
  std::vector<int> ch;
  for (int c : base) ch.push_back(ScaledWidth(c, config.width));
  const int hidden = ScaledWidth(1024, config.width);
  ch.push_back(hidden);
  b.info().channels = ch;
  b.info().irs_pool_sizes = {6, 4, 3};
  NetworkBuilder::Act a = b.cur_;
  int pool = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string k = std::to_string(i + 1);
    if (i % 2 == 1) {
      a = b.ConvBnReluPool(a, "conv" + k, "bn" + k, "relu" + k,
                           "pool" + std::to_string(++pool), ch[i]);
      if (pool <= 2) b.Snapshot(a);
    } else {
      a = b.ConvBn(a, "conv" + k, "bn" + k, "relu" + k, ch[i], 3, 1, 1, true);
      if (i == 0) b.Snapshot(a);
    }
  }
  a = b.Flatten(a, "flatten");
  a = b.Fc(a, "fc1", hidden, true, "relu_fc1");
  a = b.Fc(a, "fc2", config.num_classes, false);
  return b.Finish(a);
}

std::unique_ptr<Network> BuildResNet18(const ModelConfig& config) {
  NetworkBuilder b(config);
  const int stem = ScaledWidth(64, config.width);
  const int base[4] = {64, 128, 256, 512};
  const int strides[4] = {1, 2, 2, 2};
  std::vector<int> ch = {stem};
  for (int c : base) ch.push_back(ScaledWidth(c, config.width));
  b.info().channels = ch;
  b.info().irs_pool_sizes = {6, 6, 4, 3};
  NetworkBuilder::Act a = b.cur_;
  a = b.ConvBn(a, "stem.conv", "stem.bn", "stem.relu", stem, 3, 1, 1, true);
  b.Snapshot(a);
  for (int s = 0; s < 4; ++s) {
    const int c = ch[s + 1];
    for (int blk = 0; blk < 2; ++blk) {
      const int stride = blk == 0 ? strides[s] : 1;
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(blk) + ".";
      const NetworkBuilder::Act in = a;
      const NetworkBuilder::Act mid = b.ConvBn(in, p + "conv1", p + "bn1", p + "relu1",
                                               c, 3, stride, 1, true);
      NetworkBuilder::Act shortcut = in;
      const bool projection = stride != 1 || in.c != c;
      const size_t first_shortcut_param = b.num_params();
      if (projection) {
        shortcut = b.ConvBn(in, p + "shortcut.conv", p + "shortcut.bn", "", c, 1,
                            stride, 0, false);
      }
      a = b.ConvBn(mid, p + "conv2", p + "bn2", p + "relu2", c, 3, 1, 1, true,
                   &shortcut, p + "add");
      // The shortcut runs before conv2 but comes after bn2 in module order.
      if (projection) b.MoveParamsToEnd(first_shortcut_param, 3);
    }
    if (s < 3) b.Snapshot(a);
  }
  a = b.GlobalAvgPool(a, "avgpool");
  a = b.Fc(a, "fc", config.num_classes, false);
  return b.Finish(a);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Network>> MakeNetwork(const ModelConfig& config) {
  if (!(config.width > 0) || !std::isfinite(config.width)) {
    return absl::InvalidArgumentError(
        absl::StrCat("width must be positive, got ", config.width));
  }
  if (config.in_channels < 1 || config.num_classes < 1) {
    return absl::InvalidArgumentError(
        "in_channels and num_classes must be positive");
  }
  if (config.input_size < 8 || config.input_size % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input_size must be a positive multiple of 8, got ", config.input_size));
  }
  if (config.arch == "vgg8") return BuildVgg8(config);
  if (config.arch == "resnet18") return BuildResNet18(config);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown arch '", config.arch, "' (expected vgg8 or resnet18)"));
}

// ---------------------------------------------------------------------------
// IRS head

IrsHead::IrsHead(const std::string& prefix, int in_channels, int pool_size,
                 int hidden, int num_classes, uint64_t seed)
    : in_channels_(in_channels),
      pool_(pool_size),
      fc1_(prefix + ".fc1", in_channels * pool_size * pool_size, hidden),
      fc2_(prefix + ".fc2", hidden, num_classes) {
  std::vector<Parameter*> p = Parameters();
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i]->device_mapped) KaimingNormalFanOut(&p[i]->value, seed, i);
  }
}

std::vector<Parameter*> IrsHead::Parameters() {
  return {&fc1_.weight, &fc1_.bias, &fc2_.weight, &fc2_.bias};
}
std::vector<const Parameter*> IrsHead::Parameters() const {
  return {&fc1_.weight, &fc1_.bias, &fc2_.weight, &fc2_.bias};
}

void IrsHead::ZeroGrad() {
  for (Parameter* p : Parameters()) p->grad.SetZero();
}

void IrsHead::Forward(const Tensor& x, const ForwardOptions& options,
                      Cache* cache, Tensor* logits) {
  NN_CHECK(x.ndim() == 4 && x.dim(1) == in_channels_,
           "IRS head input must be [N, in_channels, H, W]");
  Cache local;
  Cache* c = cache != nullptr ? cache : &local;
  std::vector<Parameter*> params = Parameters();
  const std::vector<const Tensor*>* ov = options.weight_override;
  NN_CHECK(ov == nullptr || ov->size() == params.size(),
           "weight_override needs one entry per parameter");
  c->values.assign(params.size(), nullptr);
  c->override_copies.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor* o = ov != nullptr ? (*ov)[i] : nullptr;
    if (o == nullptr) {
      c->values[i] = &params[i]->value;
    } else if (cache != nullptr) {
      c->override_copies[i].CopyFrom(*o);
      c->values[i] = &c->override_copies[i];
    } else {
      c->values[i] = o;
    }
  }
  const int64_t n = x.dim(0);
  const int s = pool_.output_size();
  c->x_shape = x.shape();
  c->pooled.Resize({n, static_cast<int64_t>(in_channels_) * s * s});
  kernels::AdaptiveAvgPoolNchwForward(n, in_channels_, static_cast<int>(x.dim(2)),
                                      static_cast<int>(x.dim(3)), s, x.data(),
                                      c->pooled.data());
  const int hidden = fc1_.out_features();
  c->hidden.Resize({n, hidden});
  kernels::LinearForward(n, fc1_.in_features(), hidden, c->pooled.data(),
                         c->values[0]->data(), c->values[1]->data(), true,
                         c->hidden.data());
  logits->Resize({n, fc2_.out_features()});
  kernels::LinearForward(n, hidden, fc2_.out_features(), c->hidden.data(),
                         c->values[2]->data(), c->values[3]->data(), false,
                         logits->data());
}

void IrsHead::Backward(const Cache& cache, const Tensor& dlogits, Tensor* dx) {
  NN_CHECK(cache.values.size() == 4, "Backward needs a Forward's cache");
  const int64_t n = cache.x_shape[0];
  const int hidden = fc1_.out_features();
  kernels::LinearBackwardWeights(n, hidden, fc2_.out_features(),
                                 cache.hidden.data(), dlogits.data(),
                                 fc2_.weight.grad.data(), fc2_.bias.grad.data());
  Tensor dh({n, hidden});
  kernels::LinearBackwardData(n, hidden, fc2_.out_features(), dlogits.data(),
                              cache.values[2]->data(), dh.data(), false);
  kernels::ReluBackward(dh.size(), cache.hidden.data(), dh.data(), dh.data());
  kernels::LinearBackwardWeights(n, fc1_.in_features(), hidden,
                                 cache.pooled.data(), dh.data(),
                                 fc1_.weight.grad.data(), fc1_.bias.grad.data());
  if (dx == nullptr) return;
  Tensor dpooled(cache.pooled.shape());
  kernels::LinearBackwardData(n, fc1_.in_features(), hidden, dh.data(),
                              cache.values[0]->data(), dpooled.data(), false);
  dx->Resize(cache.x_shape);
  kernels::AdaptiveAvgPoolNchwBackward(
      n, in_channels_, static_cast<int>(cache.x_shape[2]),
      static_cast<int>(cache.x_shape[3]), pool_.output_size(), dpooled.data(),
      dx->data());
}

std::vector<std::unique_ptr<IrsHead>> MakeIrsHeads(
    const ArchitectureInfo& info, const std::vector<int>& pool_sizes,
    uint64_t seed) {
  const std::vector<int>& sizes = pool_sizes.empty() ? info.irs_pool_sizes : pool_sizes;
  NN_CHECK(sizes.size() == info.snapshots.size(),
           "one pool size per snapshot is needed");
  std::vector<std::unique_ptr<IrsHead>> heads;
  for (size_t i = 0; i < info.snapshots.size(); ++i) {
    const uint64_t head_seed = Rng(seed, 1000 + i).Next();
    heads.push_back(std::make_unique<IrsHead>(
        "irs" + std::to_string(i + 1), info.snapshots[i].channels, sizes[i],
        info.irs_hidden, info.num_classes, head_seed));
  }
  return heads;
}

}  // namespace nftcim::trainer::nn
