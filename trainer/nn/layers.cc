#include "trainer/nn/layers.h"

#include <cassert>
#include <cmath>

namespace nftcim::trainer::nn {
namespace {

// NCHW x -> NHWC copy.
void ToNhwc(const Tensor& x, Tensor* out) {
  out->Resize({x.dim(0), x.dim(2), x.dim(3), x.dim(1)});
  kernels::NchwToNhwc(x.dim(0), static_cast<int>(x.dim(1)),
                      static_cast<int>(x.dim(2) * x.dim(3)), x.data(),
                      out->data());
}

// NHWC [N, H, W, C] -> NCHW.
void ToNchw(const Tensor& x, Tensor* out) {
  out->Resize({x.dim(0), x.dim(3), x.dim(1), x.dim(2)});
  kernels::NhwcToNchw(x.dim(0), static_cast<int>(x.dim(3)),
                      static_cast<int>(x.dim(1) * x.dim(2)), x.data(),
                      out->data());
}

}  // namespace

// ---- Conv2d ----

Conv2d::Conv2d(const std::string& name, int in_channels, int out_channels,
               int kernel_size, Options options)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel_size),
      options_(options) {
  InitParameter(&weight, name + ".weight",
                {out_channels, in_channels, kernel_size, kernel_size}, true);
  if (options.bias) InitParameter(&bias, name + ".bias", {out_channels}, false);
}

kernels::ConvGeometry Conv2d::Geometry(int64_t batch, int h, int w) const {
  kernels::ConvGeometry g;
  g.batch = batch;
  g.in_h = h;
  g.in_w = w;
  g.in_c = in_channels_;
  g.out_c = out_channels_;
  g.kernel_h = g.kernel_w = kernel_;
  g.stride = options_.stride;
  g.pad = options_.padding;
  return g;
}

std::vector<Parameter*> Conv2d::Parameters() {
  std::vector<Parameter*> p = {&weight};
  if (options_.bias) p.push_back(&bias);
  return p;
}

void Conv2d::Forward(const Tensor& x, Tensor* y, const Tensor* weight_override,
                     const Tensor* bias_override) const {
  assert(x.ndim() == 4 && x.dim(1) == in_channels_);
  const Tensor& w = weight_override ? *weight_override : weight.value;
  const kernels::ConvGeometry g =
      Geometry(x.dim(0), static_cast<int>(x.dim(2)), static_cast<int>(x.dim(3)));
  Tensor xh, yh;
  ToNhwc(x, &xh);
  yh.Resize({g.batch, g.out_h(), g.out_w(), g.out_c});
  kernels::Epilogue e;
  if (options_.bias) e.shift = bias_override ? bias_override->data() : bias.value.data();
  kernels::ConvForward(g, xh.data(), w.data(), yh.data(), e);
  ToNchw(yh, y);
}

void Conv2d::Backward(const Tensor& x, const Tensor& dy, Tensor* dx,
                      const Tensor* weight_override) {
  const Tensor& w = weight_override ? *weight_override : weight.value;
  const kernels::ConvGeometry g =
      Geometry(x.dim(0), static_cast<int>(x.dim(2)), static_cast<int>(x.dim(3)));
  Tensor xh, dyh;
  ToNhwc(x, &xh);
  ToNhwc(dy, &dyh);
  kernels::ConvBackwardWeights(g, xh.data(), dyh.data(), weight.grad.data());
  if (options_.bias) {
    kernels::ChannelSum(dyh.size() / out_channels_, out_channels_, dyh.data(),
                        bias.grad.data());
  }
  if (dx != nullptr) {
    Tensor dxh({g.batch, g.in_h, g.in_w, g.in_c});
    kernels::ConvBackwardData(g, dyh.data(), w.data(), dxh.data(), false);
    ToNchw(dxh, dx);
  }
}

// ---- Linear ----

Linear::Linear(const std::string& name, int in_features, int out_features,
               bool bias)
    : in_(in_features), out_(out_features), has_bias_(bias) {
  InitParameter(&weight, name + ".weight", {out_features, in_features}, true);
  if (bias) InitParameter(&this->bias, name + ".bias", {out_features}, false);
}

std::vector<Parameter*> Linear::Parameters() {
  std::vector<Parameter*> p = {&weight};
  if (has_bias_) p.push_back(&bias);
  return p;
}

void Linear::Forward(const Tensor& x, Tensor* y, const Tensor* weight_override,
                     const Tensor* bias_override) const {
  const int64_t n = x.dim(0);
  assert(x.size() == n * in_);
  const Tensor& w = weight_override ? *weight_override : weight.value;
  const float* b = nullptr;
  if (has_bias_) b = bias_override ? bias_override->data() : bias.value.data();
  y->Resize({n, out_});
  kernels::LinearForward(n, in_, out_, x.data(), w.data(), b, false, y->data());
}

void Linear::Backward(const Tensor& x, const Tensor& dy, Tensor* dx,
                      const Tensor* weight_override) {
  const int64_t n = x.dim(0);
  const Tensor& w = weight_override ? *weight_override : weight.value;
  kernels::LinearBackwardWeights(n, in_, out_, x.data(), dy.data(),
                                 weight.grad.data(),
                                 has_bias_ ? bias.grad.data() : nullptr);
  if (dx != nullptr) {
    dx->Resize(x.shape());
    kernels::LinearBackwardData(n, in_, out_, dy.data(), w.data(), dx->data(),
                                false);
  }
}

// ---- BatchNorm2d ----

BatchNorm2d::BatchNorm2d(const std::string& name, int channels, double eps,
                         double momentum)
    : channels_(channels), eps_(eps), momentum_(momentum) {
  InitParameter(&weight, name + ".weight", {channels}, false);
  weight.value.Fill(1.0f);
  InitParameter(&bias, name + ".bias", {channels}, false);
  running_mean.name = name + ".running_mean";
  running_mean.value = Tensor({channels});
  running_var.name = name + ".running_var";
  running_var.value = Tensor::Filled({channels}, 1.0f);
}

std::vector<Parameter*> BatchNorm2d::Parameters() { return {&weight, &bias}; }
std::vector<Buffer*> BatchNorm2d::Buffers() {
  return {&running_mean, &running_var};
}

void BatchNorm2d::ComputeStats(int64_t rows, const float* x, bool training,
                               bool update_running_stats, Context* ctx) {
  const int c = channels_;
  ctx->mean.Resize({c});
  ctx->invstd.Resize({c});
  ctx->batch_stats = training;
  if (!training) {
    for (int o = 0; o < c; ++o) {
      ctx->mean[o] = running_mean.value[o];
      ctx->invstd[o] = static_cast<float>(
          1.0 / std::sqrt(static_cast<double>(running_var.value[o]) + eps_));
    }
    return;
  }
  std::vector<double> mean(c), var(c);
  kernels::ChannelMeanVar(rows, c, x, mean.data(), var.data());
  for (int o = 0; o < c; ++o) {
    ctx->mean[o] = static_cast<float>(mean[o]);
    ctx->invstd[o] = static_cast<float>(1.0 / std::sqrt(var[o] + eps_));
  }
  if (update_running_stats) {
    const double unbias =
        rows > 1 ? static_cast<double>(rows) / static_cast<double>(rows - 1) : 1.0;
    for (int o = 0; o < c; ++o) {
      running_mean.value[o] = static_cast<float>(
          (1 - momentum_) * running_mean.value[o] + momentum_ * mean[o]);
      running_var.value[o] = static_cast<float>(
          (1 - momentum_) * running_var.value[o] + momentum_ * var[o] * unbias);
    }
  }
}

void BatchNorm2d::Forward(const Tensor& x, bool training,
                          bool update_running_stats, Tensor* y, Context* ctx,
                          const Tensor* weight_override,
                          const Tensor* bias_override) {
  assert(x.ndim() == 4 && x.dim(1) == channels_);
  const Tensor& gamma = weight_override ? *weight_override : weight.value;
  const Tensor& beta = bias_override ? *bias_override : bias.value;
  Tensor xh;
  ToNhwc(x, &xh);
  const int64_t rows = xh.size() / channels_;
  ComputeStats(rows, xh.data(), training, update_running_stats, ctx);
  std::vector<float> scale(channels_), shift(channels_);
  for (int o = 0; o < channels_; ++o) {
    scale[o] = gamma[o] * ctx->invstd[o];
    shift[o] = beta[o] - ctx->mean[o] * scale[o];
  }
  kernels::ChannelAffine(rows, channels_, xh.data(), scale.data(), shift.data(),
                         nullptr, false, xh.data());
  ToNchw(xh, y);
}

void BatchNorm2d::Backward(const Tensor& x, const Context& ctx,
                           const Tensor& dy, Tensor* dx,
                           const Tensor* weight_override) {
  const Tensor& gamma = weight_override ? *weight_override : weight.value;
  Tensor xh, dyh, dxh;
  ToNhwc(x, &xh);
  ToNhwc(dy, &dyh);
  dxh.Resize(xh.shape());
  kernels::BatchNormBackwardArgs a;
  a.rows = xh.size() / channels_;
  a.c = channels_;
  a.z = xh.data();
  a.dout = dyh.data();
  a.mean = ctx.mean.data();
  a.invstd = ctx.invstd.data();
  a.gamma = gamma.data();
  a.batch_stats = ctx.batch_stats;
  a.dz = dxh.data();
  a.dgamma = weight.grad.data();
  a.dbeta = bias.grad.data();
  kernels::BatchNormBackward(a);
  if (dx != nullptr) ToNchw(dxh, dx);
}

// ---- Stateless layers ----

void ReLU::Forward(const Tensor& x, Tensor* y) {
  y->Resize(x.shape());
  kernels::ReluForward(x.size(), x.data(), y->data());
}

void ReLU::Backward(const Tensor& y, const Tensor& dy, Tensor* dx) {
  dx->Resize(y.shape());
  kernels::ReluBackward(y.size(), y.data(), dy.data(), dx->data());
}

void MaxPool2d::Forward(const Tensor& x, Tensor* y) {
  const int64_t n = x.dim(0);
  const int c = static_cast<int>(x.dim(1)), h = static_cast<int>(x.dim(2)),
            w = static_cast<int>(x.dim(3));
  Tensor xh, yh({n, h / 2, w / 2, c});
  ToNhwc(x, &xh);
  kernels::MaxPool2x2Forward(n, h, w, c, xh.data(), yh.data());
  ToNchw(yh, y);
}

void MaxPool2d::Backward(const Tensor& x, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.dim(0);
  const int c = static_cast<int>(x.dim(1)), h = static_cast<int>(x.dim(2)),
            w = static_cast<int>(x.dim(3));
  Tensor xh, dyh, dxh({n, h, w, c});
  ToNhwc(x, &xh);
  ToNhwc(dy, &dyh);
  kernels::MaxPool2x2Backward(n, h, w, c, xh.data(), dyh.data(), dxh.data());
  ToNchw(dxh, dx);
}

void AdaptiveAvgPool2d::Forward(const Tensor& x, Tensor* y) const {
  y->Resize({x.dim(0), x.dim(1), s_, s_});
  kernels::AdaptiveAvgPoolNchwForward(
      x.dim(0), static_cast<int>(x.dim(1)), static_cast<int>(x.dim(2)),
      static_cast<int>(x.dim(3)), s_, x.data(), y->data());
}

void AdaptiveAvgPool2d::Backward(const Shape& x_shape, const Tensor& dy,
                                 Tensor* dx) const {
  dx->Resize(x_shape);
  kernels::AdaptiveAvgPoolNchwBackward(
      x_shape[0], static_cast<int>(x_shape[1]), static_cast<int>(x_shape[2]),
      static_cast<int>(x_shape[3]), s_, dy.data(), dx->data());
}

void Flatten::Forward(const Tensor& x, Tensor* y) {
  y->CopyFrom(x);
  y->Reshape({x.dim(0), x.size() / x.dim(0)});
}

void Flatten::Backward(const Shape& x_shape, const Tensor& dy, Tensor* dx) {
  dx->CopyFrom(dy);
  dx->Reshape(x_shape);
}

void Add::Forward(const Tensor& a, const Tensor& b, Tensor* y) {
  assert(a.size() == b.size());
  y->CopyFrom(a);
  kernels::Accumulate(b.size(), b.data(), y->data());
}

double SoftmaxCrossEntropy(const Tensor& logits,
                           absl::Span<const int32_t> labels, Tensor* dlogits,
                           Tensor* log_probs) {
  const int64_t n = logits.dim(0);
  const int k = static_cast<int>(logits.dim(1));
  assert(static_cast<int64_t>(labels.size()) == n);
  if (dlogits != nullptr) dlogits->Resize({n, k});
  if (log_probs != nullptr) log_probs->Resize({n, k});
  return kernels::SoftmaxCrossEntropy(
      n, k, logits.data(), labels.data(),
      dlogits != nullptr ? dlogits->data() : nullptr,
      log_probs != nullptr ? log_probs->data() : nullptr);
}

}  // namespace nftcim::trainer::nn
