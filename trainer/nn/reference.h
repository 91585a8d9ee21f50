#ifndef NFTCIM_TRAINER_NN_REFERENCE_H_
#define NFTCIM_TRAINER_NN_REFERENCE_H_

// Slow, obviously-correct reference implementations of every numerical
// kernel in trainer/nn: direct nested loops that read like the formulas,
// accumulating in double. They are the ground truth for the tests of the
// optimized kernels and are never used for training.
//
// All image tensors are NCHW, Conv2d weights [Cout, Cin, kh, kw], Linear
// weights [out, in]. Every output is resized and overwritten (gradients
// too: nothing accumulates here).

#include <cstdint>
#include <vector>

#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn::reference {

// y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * x[n,c,i*s+u-p, j*s+v-p]
// (zero outside the image). b may be null.
void Conv2dForward(const Tensor& x, const Tensor& w, const Tensor* b,
                   int stride, int pad, Tensor* y);
// dx = d(sum y*dy)/dx for the convolution above; x_shape is x's shape.
void Conv2dBackwardData(const Tensor& dy, const Tensor& w, int stride, int pad,
                        const Shape& x_shape, Tensor* dx);
// dw (shape w_shape) and, if db is not null, db [Cout].
void Conv2dBackwardWeights(const Tensor& x, const Tensor& dy, int stride,
                           int pad, const Shape& w_shape, Tensor* dw,
                           Tensor* db);

// y[n,o] = b[o] + sum_i w[o,i] x[n,i]. b may be null.
void LinearForward(const Tensor& x, const Tensor& w, const Tensor* b,
                   Tensor* y);
// Any of dx, dw, db may be null.
void LinearBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                    Tensor* dx, Tensor* dw, Tensor* db);

// Training: normalizes with the batch mean and biased variance over (N,H,W)
// and writes them to batch_mean / batch_var [C]. Inference: normalizes with
// running_mean / running_var and leaves batch_mean / batch_var as those.
// y = gamma * (x - mean) / sqrt(var + eps) + beta.
void BatchNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                      const Tensor& running_mean, const Tensor& running_var,
                      bool training, double eps, Tensor* y, Tensor* batch_mean,
                      Tensor* batch_var);
// PyTorch's running-statistics update: r = (1-m) r + m * batch, with the
// unbiased variance (count/(count-1)) for running_var.
void BatchNormUpdateRunning(const Tensor& batch_mean, const Tensor& batch_var,
                            int64_t count, double momentum,
                            Tensor* running_mean, Tensor* running_var);
// Gradients for the forward above; mean / var are what that forward used.
// In training mode the mean and variance depend on x.
void BatchNormBackward(const Tensor& x, const Tensor& gamma,
                       const Tensor& mean, const Tensor& var, bool training,
                       double eps, const Tensor& dy, Tensor* dx,
                       Tensor* dgamma, Tensor* dbeta);

void ReluForward(const Tensor& x, Tensor* y);
// dx = dy where y > 0, else 0.
void ReluBackward(const Tensor& y, const Tensor& dy, Tensor* dx);

// 2x2 window, stride 2, floor mode. Backward routes each gradient to the
// first maximum of its window in row-major window order.
void MaxPool2x2Forward(const Tensor& x, Tensor* y);
void MaxPool2x2Backward(const Tensor& x, const Tensor& dy, Tensor* dx);

// PyTorch's adaptive average pool to s x s: window rows
// [floor(i*H/s), ceil((i+1)*H/s)), columns likewise.
void AdaptiveAvgPool2dForward(const Tensor& x, int s, Tensor* y);
void AdaptiveAvgPool2dBackward(const Tensor& dy, const Shape& x_shape,
                               Tensor* dx);

// Mean softmax cross-entropy over the batch. dlogits = (softmax - onehot)/N;
// log_probs [N, K] = log softmax. Either output may be null.
double SoftmaxCrossEntropy(const Tensor& logits,
                           const std::vector<int32_t>& labels,
                           Tensor* dlogits, Tensor* log_probs);

}  // namespace nftcim::trainer::nn::reference

#endif  // NFTCIM_TRAINER_NN_REFERENCE_H_
