#ifndef NFTCIM_TRAINER_NN_LAYERS_H_
#define NFTCIM_TRAINER_NN_LAYERS_H_

// Layers usable on their own (tests, IRS heads, experiments). Images are
// NCHW. Layers hold parameters and configuration only: everything a backward
// pass needs from its forward pass is passed back in by the caller (the
// input x and, where noted, a small Context), so any number of forwards may
// be followed by their backwards in any order.
//
// Backward methods ACCUMULATE parameter gradients (Parameter::grad += ...)
// and OVERWRITE the input gradient dx (which may be null when not needed).
// `*_override` arguments, when not null, replace the parameter's value in
// that call (device variation); the gradient is still accumulated into the
// parameter's grad (straight-through).
//
// Network (network.h) does not call these NCHW entry points: it runs the same
// kernels on NHWC data without layout conversions.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "trainer/nn/kernels.h"
#include "trainer/nn/parameter.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {

inline constexpr double kBatchNormEps = 1e-5;
inline constexpr double kBatchNormMomentum = 0.1;

class Conv2d {
 public:
  struct Options {
    int stride = 1;
    int padding = 0;
    bool bias = false;
  };
  // Parameters "<name>.weight" [out, in, k, k] (device mapped) and, with
  // options.bias, "<name>.bias" [out]. Values are zero: initialise them
  // (random.h) or assign.
  Conv2d(const std::string& name, int in_channels, int out_channels,
         int kernel_size, Options options);

  // x [N, in, H, W] -> y [N, out, Ho, Wo].
  void Forward(const Tensor& x, Tensor* y,
               const Tensor* weight_override = nullptr,
               const Tensor* bias_override = nullptr) const;
  void Backward(const Tensor& x, const Tensor& dy, Tensor* dx,
                const Tensor* weight_override = nullptr);

  kernels::ConvGeometry Geometry(int64_t batch, int h, int w) const;
  std::vector<Parameter*> Parameters();

  int in_channels() const { return in_channels_; }
  int out_channels() const { return out_channels_; }
  int kernel_size() const { return kernel_; }
  int stride() const { return options_.stride; }
  int padding() const { return options_.padding; }
  bool has_bias() const { return options_.bias; }

  Parameter weight;
  Parameter bias;  // empty unless has_bias()

 private:
  int in_channels_, out_channels_, kernel_;
  Options options_;
};

class Linear {
 public:
  // Parameters "<name>.weight" [out, in] (device mapped) and "<name>.bias"
  // [out] when bias (the default). Values are zero.
  Linear(const std::string& name, int in_features, int out_features,
         bool bias = true);

  // x [N, in] (or any [N, ...] with in elements per row) -> y [N, out].
  void Forward(const Tensor& x, Tensor* y,
               const Tensor* weight_override = nullptr,
               const Tensor* bias_override = nullptr) const;
  void Backward(const Tensor& x, const Tensor& dy, Tensor* dx,
                const Tensor* weight_override = nullptr);
  std::vector<Parameter*> Parameters();

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  bool has_bias() const { return has_bias_; }

  Parameter weight;
  Parameter bias;

 private:
  int in_, out_;
  bool has_bias_;
};

class BatchNorm2d {
 public:
  // What a forward pass normalized with; Backward needs it.
  struct Context {
    Tensor mean;    // [C]
    Tensor invstd;  // [C], 1 / sqrt(var + eps)
    bool batch_stats = false;
  };

  // Parameters "<name>.weight" (1) and "<name>.bias" (0), buffers
  // "<name>.running_mean" (0) and "<name>.running_var" (1).
  BatchNorm2d(const std::string& name, int channels,
              double eps = kBatchNormEps, double momentum = kBatchNormMomentum);

  // Training: batch statistics over (N, H, W); with update_running_stats the
  // running statistics move by `momentum` (running_var uses the unbiased
  // variance, as PyTorch). Otherwise: running statistics.
  void Forward(const Tensor& x, bool training, bool update_running_stats,
               Tensor* y, Context* ctx,
               const Tensor* weight_override = nullptr,
               const Tensor* bias_override = nullptr);
  void Backward(const Tensor& x, const Context& ctx, const Tensor& dy,
                Tensor* dx, const Tensor* weight_override = nullptr);

  // The statistics step shared with Network: per-channel statistics of
  // [rows, C] data (NHWC), written to ctx, running stats updated if asked.
  void ComputeStats(int64_t rows, const float* x, bool training,
                    bool update_running_stats, Context* ctx);

  std::vector<Parameter*> Parameters();
  std::vector<Buffer*> Buffers();
  int channels() const { return channels_; }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }

  Parameter weight;
  Parameter bias;
  Buffer running_mean;
  Buffer running_var;

 private:
  int channels_;
  double eps_, momentum_;
};

struct ReLU {
  static void Forward(const Tensor& x, Tensor* y);
  // Needs the forward's OUTPUT y.
  static void Backward(const Tensor& y, const Tensor& dy, Tensor* dx);
};

// 2x2 window, stride 2, floor mode.
struct MaxPool2d {
  static void Forward(const Tensor& x, Tensor* y);
  static void Backward(const Tensor& x, const Tensor& dy, Tensor* dx);
};

class AdaptiveAvgPool2d {
 public:
  explicit AdaptiveAvgPool2d(int output_size) : s_(output_size) {}
  void Forward(const Tensor& x, Tensor* y) const;
  void Backward(const Shape& x_shape, const Tensor& dy, Tensor* dx) const;
  int output_size() const { return s_; }

 private:
  int s_;
};

// [N, C, H, W] -> [N, C*H*W] (PyTorch's order). The data does not move.
struct Flatten {
  static void Forward(const Tensor& x, Tensor* y);
  static void Backward(const Shape& x_shape, const Tensor& dy, Tensor* dx);
};

// Residual connection y = a + b; its backward is da = db = dy.
struct Add {
  static void Forward(const Tensor& a, const Tensor& b, Tensor* y);
};

// Mean softmax cross-entropy over the batch: returns the loss; dlogits (if
// not null) = (softmax - onehot) / N; log_probs (if not null) [N, K] = the
// per-sample log softmax (for EKL: -log_probs[n, label]).
double SoftmaxCrossEntropy(const Tensor& logits,
                           absl::Span<const int32_t> labels, Tensor* dlogits,
                           Tensor* log_probs = nullptr);

}  // namespace nftcim::trainer::nn

#endif  // NFTCIM_TRAINER_NN_LAYERS_H_
