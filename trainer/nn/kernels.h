#ifndef NFTCIM_TRAINER_NN_KERNELS_H_
#define NFTCIM_TRAINER_NN_KERNELS_H_

// Optimized numerical kernels of trainer/nn (internal to the library, but
// usable on their own). Images are NHWC here ("channels last": a pixel's
// channels are contiguous), which lets every convolution run as a
// register-blocked multiply over contiguous channel vectors. The layer
// classes (layers.h) and Network convert to and from the public NCHW layout.
//
// All kernels use the global thread pool (parallel.h). Work is split into
// pieces fixed by the problem shape and float reductions run in piece
// order, so results are bit-identical for any thread count and run to run.
//
// Every kernel is checked against reference.h in kernels_test.cc, within a
// relative tolerance of 1e-4 (float accumulation vs the reference's double).

#include <cstdint>
#include <vector>

namespace nftcim::trainer::nn::kernels {

// A 2-D convolution: input [batch, in_h, in_w, in_c] (NHWC), weights in
// PyTorch layout [out_c, in_c, kernel_h, kernel_w], output
// [batch, out_h, out_w, out_c], zero padding `pad` on every side.
struct ConvGeometry {
  int64_t batch = 0;
  int in_h = 0, in_w = 0, in_c = 0;
  int out_c = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride = 1, pad = 0;

  int out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  int out_w() const { return (in_w + 2 * pad - kernel_w) / stride + 1; }
  // Multiply-adds times two, of one forward pass.
  double Flops() const {
    return 2.0 * batch * out_h() * out_w() * out_c * in_c * kernel_h *
           kernel_w;
  }
};

// What happens to each output value r of a forward multiply, per output
// channel o:  r = r * scale[o] + shift[o];  if relu: r = max(r, 0);
// if accumulate: out += r, else out = r. Null scale / shift mean 1 / 0.
struct Epilogue {
  const float* scale = nullptr;
  const float* shift = nullptr;
  bool relu = false;
  bool accumulate = false;
};

// y = conv(x, w), then the epilogue. x and y must not overlap.
void ConvForward(const ConvGeometry& g, const float* x, const float* w,
                 float* y, const Epilogue& epilogue = {});
// dx (NHWC, the input's shape) = gradient of sum(y * dy) w.r.t. x;
// overwritten, or added to when accumulate.
void ConvBackwardData(const ConvGeometry& g, const float* dy, const float* w,
                      float* dx, bool accumulate);
// dw (PyTorch layout) += gradient of sum(y * dy) w.r.t. w.
void ConvBackwardWeights(const ConvGeometry& g, const float* x,
                         const float* dy, float* dw);

// Fully connected: x [n, in], w [out, in] (PyTorch), y [n, out].
// y = x w^T + b (b may be null), then ReLU if relu.
void LinearForward(int64_t n, int in, int out, const float* x, const float* w,
                   const float* b, bool relu, float* y);
// dx [n, in] = dy w; overwritten, or added to when accumulate.
void LinearBackwardData(int64_t n, int in, int out, const float* dy,
                        const float* w, float* dx, bool accumulate);
// dw [out, in] += dy^T x; db [out] += column sums of dy (db may be null).
void LinearBackwardWeights(int64_t n, int in, int out, const float* x,
                           const float* dy, float* dw, float* db);

// ---- Per-channel operations on [rows, c] data (NHWC: rows = N*H*W). ----

// Mean and biased variance of each channel (accumulated in double, in a
// fixed blocked order).
void ChannelMeanVar(int64_t rows, int c, const float* x, double* mean,
                    double* var);
// sum[o] += sum over rows of x[row, o] (fixed blocked order, double inside).
void ChannelSum(int64_t rows, int c, const float* x, float* sum);
// y = x * scale[o] + shift[o], plus residual[row, o] if residual is not null,
// then ReLU if relu. y may alias x.
void ChannelAffine(int64_t rows, int c, const float* x, const float* scale,
                   const float* shift, const float* residual, bool relu,
                   float* y);

// Backward of  out = act(gamma * (z - mean) * invstd + beta [+ residual])
// where act is ReLU if `out` is not null (its values give the mask), else
// the identity. Let g = dout masked by out > 0.
//   dgamma[o] += sum g * (z - mean) * invstd;  dbeta[o] += sum g
//   if dresidual: dresidual = g (or += g if accumulate_residual)
//   dz = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat))   when batch_stats
//   dz = gamma*invstd * g                                      otherwise
// (batch_stats: mean and invstd were computed from z itself.) dz may alias
// dout only if out is null. dz is always overwritten.
//
// Without out, the ReLU mask can instead be recomputed from z as
// z * mask_scale[o] + mask_shift[o] > 0 (exactly the forward's affine step
// when there was no residual), which saves reading out.
struct BatchNormBackwardArgs {
  int64_t rows = 0;
  int c = 0;
  const float* z = nullptr;
  const float* out = nullptr;  // null: no ReLU, unless mask_scale is set
  const float* mask_scale = nullptr;
  const float* mask_shift = nullptr;
  const float* dout = nullptr;
  const float* mean = nullptr;
  const float* invstd = nullptr;
  const float* gamma = nullptr;
  bool batch_stats = true;
  float* dz = nullptr;
  float* dgamma = nullptr;
  float* dbeta = nullptr;
  float* dresidual = nullptr;
  bool accumulate_residual = false;
};
void BatchNormBackward(const BatchNormBackwardArgs& a);

// The fused block  y = maxpool2x2(relu(z * scale[o] + shift[o]))  on NHWC
// z [batch, h, w, c] -> y [batch, h/2, w/2, c], and its backward through
// BatchNorm: with the same arguments as BatchNormBackward (out / dresidual
// unused), dout being the gradient of the POOLED output. The ReLU output is
// never stored: window maxima and the ReLU mask are recomputed from z (the
// same arithmetic as the forward, so the same routing as MaxPool2x2Backward
// after ChannelAffine + ReLU: the first maximum of each window).
void BnReluMaxPoolForward(int64_t batch, int h, int w, int c, const float* z,
                          const float* scale, const float* shift, float* y);
struct BnReluMaxPoolBackwardArgs {
  int64_t batch = 0;
  int h = 0, w = 0, c = 0;
  const float* z = nullptr;
  const float* scale = nullptr;  // the forward's affine step
  const float* shift = nullptr;
  const float* dout = nullptr;   // [batch, h/2, w/2, c]
  const float* mean = nullptr;
  const float* invstd = nullptr;
  const float* gamma = nullptr;
  bool batch_stats = true;
  float* dz = nullptr;           // [batch, h, w, c], overwritten
  float* dgamma = nullptr;
  float* dbeta = nullptr;
};
void BnReluMaxPoolBackward(const BnReluMaxPoolBackwardArgs& a);

// y = max(x, 0); dx = dy where y > 0 else 0 (dx may alias dy).
void ReluForward(int64_t n, const float* x, float* y);
void ReluBackward(int64_t n, const float* y, const float* dy, float* dx);

// 2x2 max pool, stride 2, floor mode, NHWC. Backward overwrites dx (the
// input's shape): each gradient goes to the first maximum of its window in
// row-major order; positions not in any window get 0.
void MaxPool2x2Forward(int64_t batch, int h, int w, int c, const float* x,
                       float* y);
void MaxPool2x2Backward(int64_t batch, int h, int w, int c, const float* x,
                        const float* dy, float* dx);

// Mean over all pixels of each image: x [batch, hw, c] -> y [batch, c].
void GlobalAvgPoolForward(int64_t batch, int hw, int c, const float* x,
                          float* y);
// dx [batch, hw, c] = dy[batch, c] / hw; overwritten or accumulated.
void GlobalAvgPoolBackward(int64_t batch, int hw, int c, const float* dy,
                           float* dx, bool accumulate);

// Adaptive average pooling to s x s on NCHW data (PyTorch's windows
// [floor(i*H/s), ceil((i+1)*H/s))). Backward overwrites dx.
void AdaptiveAvgPoolNchwForward(int64_t batch, int c, int h, int w, int s,
                                const float* x, float* y);
void AdaptiveAvgPoolNchwBackward(int64_t batch, int c, int h, int w, int s,
                                 const float* dy, float* dx);

// Layout changes between [batch, c, hw] and [batch, hw, c].
// With accumulate, the destination is added to instead of overwritten.
void NchwToNhwc(int64_t batch, int c, int hw, const float* src, float* dst,
                bool accumulate = false);
void NhwcToNchw(int64_t batch, int c, int hw, const float* src, float* dst,
                bool accumulate = false);

// dst[i] += src[i].
void Accumulate(int64_t n, const float* src, float* dst);

// Mean softmax cross-entropy over rows of logits [n, k]; labels in [0, k).
// dlogits = (softmax - onehot) / n and log_probs = log softmax may be null.
double SoftmaxCrossEntropy(int64_t n, int k, const float* logits,
                           const int32_t* labels, float* dlogits,
                           float* log_probs);

}  // namespace nftcim::trainer::nn::kernels

#endif  // NFTCIM_TRAINER_NN_KERNELS_H_
