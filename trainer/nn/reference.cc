#include "trainer/nn/reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace nftcim::trainer::nn::reference {
namespace {

int64_t OutSize(int64_t in, int64_t k, int stride, int pad) {
  return (in + 2 * pad - k) / stride + 1;
}

int64_t WindowStart(int64_t i, int64_t in, int64_t out) {
  return (i * in) / out;
}
int64_t WindowEnd(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

}  // namespace

void Conv2dForward(const Tensor& x, const Tensor& w, const Tensor* b,
                   int stride, int pad, Tensor* y) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = w.dim(0), KH = w.dim(2), KW = w.dim(3);
  assert(w.dim(1) == C);
  const int64_t HO = OutSize(H, KH, stride, pad), WO = OutSize(W, KW, stride, pad);
  y->Resize({N, O, HO, WO});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < HO; ++i)
        for (int64_t j = 0; j < WO; ++j) {
          double sum = b != nullptr ? (*b)[o] : 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t u = 0; u < KH; ++u)
              for (int64_t v = 0; v < KW; ++v) {
                const int64_t r = i * stride + u - pad;
                const int64_t s = j * stride + v - pad;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                sum += static_cast<double>(w.at(o, c, u, v)) * x.at(n, c, r, s);
              }
          y->at(n, o, i, j) = static_cast<float>(sum);
        }
}

void Conv2dBackwardData(const Tensor& dy, const Tensor& w, int stride, int pad,
                        const Shape& x_shape, Tensor* dx) {
  const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3];
  const int64_t O = w.dim(0), KH = w.dim(2), KW = w.dim(3);
  const int64_t HO = dy.dim(2), WO = dy.dim(3);
  // dx[n,c,r,s] = sum over (o,u,v,i,j) with i*stride+u-pad == r and
  // j*stride+v-pad == s of w[o,c,u,v] * dy[n,o,i,j].
  std::vector<double> acc(N * C * H * W, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < HO; ++i)
        for (int64_t j = 0; j < WO; ++j)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t u = 0; u < KH; ++u)
              for (int64_t v = 0; v < KW; ++v) {
                const int64_t r = i * stride + u - pad;
                const int64_t s = j * stride + v - pad;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                acc[((n * C + c) * H + r) * W + s] +=
                    static_cast<double>(w.at(o, c, u, v)) * dy.at(n, o, i, j);
              }
  dx->Resize(x_shape);
  for (int64_t k = 0; k < dx->size(); ++k) (*dx)[k] = static_cast<float>(acc[k]);
}

void Conv2dBackwardWeights(const Tensor& x, const Tensor& dy, int stride,
                           int pad, const Shape& w_shape, Tensor* dw,
                           Tensor* db) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = w_shape[0], KH = w_shape[2], KW = w_shape[3];
  const int64_t HO = dy.dim(2), WO = dy.dim(3);
  dw->Resize(w_shape);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t u = 0; u < KH; ++u)
        for (int64_t v = 0; v < KW; ++v) {
          double sum = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < HO; ++i)
              for (int64_t j = 0; j < WO; ++j) {
                const int64_t r = i * stride + u - pad;
                const int64_t s = j * stride + v - pad;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                sum += static_cast<double>(dy.at(n, o, i, j)) * x.at(n, c, r, s);
              }
          dw->at(o, c, u, v) = static_cast<float>(sum);
        }
  if (db != nullptr) {
    db->Resize({O});
    for (int64_t o = 0; o < O; ++o) {
      double sum = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < HO; ++i)
          for (int64_t j = 0; j < WO; ++j) sum += dy.at(n, o, i, j);
      (*db)[o] = static_cast<float>(sum);
    }
  }
}

void LinearForward(const Tensor& x, const Tensor& w, const Tensor* b,
                   Tensor* y) {
  const int64_t N = x.dim(0), I = x.size() / N, O = w.dim(0);
  assert(w.dim(1) == I);
  y->Resize({N, O});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double sum = b != nullptr ? (*b)[o] : 0.0;
      for (int64_t i = 0; i < I; ++i)
        sum += static_cast<double>(w.at(o, i)) * x[n * I + i];
      y->at(n, o) = static_cast<float>(sum);
    }
}

void LinearBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                    Tensor* dx, Tensor* dw, Tensor* db) {
  const int64_t N = x.dim(0), I = x.size() / N, O = w.dim(0);
  if (dx != nullptr) {
    dx->Resize(x.shape());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < I; ++i) {
        double sum = 0;
        for (int64_t o = 0; o < O; ++o)
          sum += static_cast<double>(w.at(o, i)) * dy.at(n, o);
        (*dx)[n * I + i] = static_cast<float>(sum);
      }
  }
  if (dw != nullptr) {
    dw->Resize({O, I});
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < I; ++i) {
        double sum = 0;
        for (int64_t n = 0; n < N; ++n)
          sum += static_cast<double>(dy.at(n, o)) * x[n * I + i];
        dw->at(o, i) = static_cast<float>(sum);
      }
  }
  if (db != nullptr) {
    db->Resize({O});
    for (int64_t o = 0; o < O; ++o) {
      double sum = 0;
      for (int64_t n = 0; n < N; ++n) sum += dy.at(n, o);
      (*db)[o] = static_cast<float>(sum);
    }
  }
}

void BatchNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                      const Tensor& running_mean, const Tensor& running_var,
                      bool training, double eps, Tensor* y, Tensor* batch_mean,
                      Tensor* batch_var) {
  const int64_t N = x.dim(0), C = x.dim(1), HW = x.dim(2) * x.dim(3);
  batch_mean->Resize({C});
  batch_var->Resize({C});
  y->Resize(x.shape());
  for (int64_t c = 0; c < C; ++c) {
    double mean, var;
    if (training) {
      double sum = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < HW; ++k) sum += x[(n * C + c) * HW + k];
      mean = sum / (N * HW);
      double sq = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < HW; ++k) {
          const double d = x[(n * C + c) * HW + k] - mean;
          sq += d * d;
        }
      var = sq / (N * HW);
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    (*batch_mean)[c] = static_cast<float>(mean);
    (*batch_var)[c] = static_cast<float>(var);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        const int64_t idx = (n * C + c) * HW + k;
        (*y)[idx] = static_cast<float>(gamma[c] * (x[idx] - mean) * inv + beta[c]);
      }
  }
}

void BatchNormUpdateRunning(const Tensor& batch_mean, const Tensor& batch_var,
                            int64_t count, double momentum,
                            Tensor* running_mean, Tensor* running_var) {
  const double unbias = count > 1 ? static_cast<double>(count) / (count - 1) : 1.0;
  for (int64_t c = 0; c < batch_mean.size(); ++c) {
    (*running_mean)[c] = static_cast<float>((1 - momentum) * (*running_mean)[c] +
                                            momentum * batch_mean[c]);
    (*running_var)[c] = static_cast<float>((1 - momentum) * (*running_var)[c] +
                                           momentum * batch_var[c] * unbias);
  }
}

void BatchNormBackward(const Tensor& x, const Tensor& gamma,
                       const Tensor& mean, const Tensor& var, bool training,
                       double eps, const Tensor& dy, Tensor* dx,
                       Tensor* dgamma, Tensor* dbeta) {
  const int64_t N = x.dim(0), C = x.dim(1), HW = x.dim(2) * x.dim(3);
  const double M = static_cast<double>(N * HW);
  dx->Resize(x.shape());
  dgamma->Resize({C});
  dbeta->Resize({C});
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        const int64_t idx = (n * C + c) * HW + k;
        const double xhat = (x[idx] - mean[c]) * inv;
        sum_dy += dy[idx];
        sum_dy_xhat += dy[idx] * xhat;
      }
    (*dgamma)[c] = static_cast<float>(sum_dy_xhat);
    (*dbeta)[c] = static_cast<float>(sum_dy);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        const int64_t idx = (n * C + c) * HW + k;
        double g;
        if (training) {
          // y = gamma*xhat + beta with xhat = (x - mean(x)) / sqrt(var(x)+eps):
          // dx = gamma*inv/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)).
          const double xhat = (x[idx] - mean[c]) * inv;
          g = gamma[c] * inv * (dy[idx] - sum_dy / M - xhat * sum_dy_xhat / M);
        } else {
          g = gamma[c] * inv * dy[idx];
        }
        (*dx)[idx] = static_cast<float>(g);
      }
  }
}

void ReluForward(const Tensor& x, Tensor* y) {
  y->Resize(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) (*y)[i] = x[i] > 0 ? x[i] : 0.0f;
}

void ReluBackward(const Tensor& y, const Tensor& dy, Tensor* dx) {
  dx->Resize(y.shape());
  for (int64_t i = 0; i < y.size(); ++i) (*dx)[i] = y[i] > 0 ? dy[i] : 0.0f;
}

void MaxPool2x2Forward(const Tensor& x, Tensor* y) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t HO = H / 2, WO = W / 2;
  y->Resize({N, C, HO, WO});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HO; ++i)
        for (int64_t j = 0; j < WO; ++j) {
          float m = -std::numeric_limits<float>::infinity();
          for (int u = 0; u < 2; ++u)
            for (int v = 0; v < 2; ++v) m = std::max(m, x.at(n, c, 2 * i + u, 2 * j + v));
          y->at(n, c, i, j) = m;
        }
}

void MaxPool2x2Backward(const Tensor& x, const Tensor& dy, Tensor* dx) {
  const int64_t N = x.dim(0), C = x.dim(1);
  const int64_t HO = dy.dim(2), WO = dy.dim(3);
  dx->ResizeZero(x.shape());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HO; ++i)
        for (int64_t j = 0; j < WO; ++j) {
          int bu = 0, bv = 0;
          float m = x.at(n, c, 2 * i, 2 * j);
          for (int u = 0; u < 2; ++u)
            for (int v = 0; v < 2; ++v)
              if (x.at(n, c, 2 * i + u, 2 * j + v) > m) {
                m = x.at(n, c, 2 * i + u, 2 * j + v);
                bu = u;
                bv = v;
              }
          dx->at(n, c, 2 * i + bu, 2 * j + bv) += dy.at(n, c, i, j);
        }
}

void AdaptiveAvgPool2dForward(const Tensor& x, int s, Tensor* y) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  y->Resize({N, C, s, s});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < s; ++i)
        for (int64_t j = 0; j < s; ++j) {
          const int64_t r0 = WindowStart(i, H, s), r1 = WindowEnd(i, H, s);
          const int64_t c0 = WindowStart(j, W, s), c1 = WindowEnd(j, W, s);
          double sum = 0;
          for (int64_t r = r0; r < r1; ++r)
            for (int64_t q = c0; q < c1; ++q) sum += x.at(n, c, r, q);
          y->at(n, c, i, j) = static_cast<float>(sum / ((r1 - r0) * (c1 - c0)));
        }
}

void AdaptiveAvgPool2dBackward(const Tensor& dy, const Shape& x_shape,
                               Tensor* dx) {
  const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3];
  const int64_t s = dy.dim(2);
  std::vector<double> acc(N * C * H * W, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < s; ++i)
        for (int64_t j = 0; j < s; ++j) {
          const int64_t r0 = WindowStart(i, H, s), r1 = WindowEnd(i, H, s);
          const int64_t c0 = WindowStart(j, W, s), c1 = WindowEnd(j, W, s);
          const double g = dy.at(n, c, i, j) / static_cast<double>((r1 - r0) * (c1 - c0));
          for (int64_t r = r0; r < r1; ++r)
            for (int64_t q = c0; q < c1; ++q) acc[((n * C + c) * H + r) * W + q] += g;
        }
  dx->Resize(x_shape);
  for (int64_t k = 0; k < dx->size(); ++k) (*dx)[k] = static_cast<float>(acc[k]);
}

double SoftmaxCrossEntropy(const Tensor& logits,
                           const std::vector<int32_t>& labels,
                           Tensor* dlogits, Tensor* log_probs) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  if (dlogits != nullptr) dlogits->Resize({N, K});
  if (log_probs != nullptr) log_probs->Resize({N, K});
  double loss = 0;
  for (int64_t n = 0; n < N; ++n) {
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) m = std::max(m, static_cast<double>(logits.at(n, k)));
    double z = 0;
    for (int64_t k = 0; k < K; ++k) z += std::exp(logits.at(n, k) - m);
    const double lse = m + std::log(z);
    loss -= logits.at(n, labels[n]) - lse;
    for (int64_t k = 0; k < K; ++k) {
      const double lp = logits.at(n, k) - lse;
      if (log_probs != nullptr) log_probs->at(n, k) = static_cast<float>(lp);
      if (dlogits != nullptr)
        dlogits->at(n, k) =
            static_cast<float>((std::exp(lp) - (k == labels[n] ? 1.0 : 0.0)) / N);
    }
  }
  return loss / N;
}

}  // namespace nftcim::trainer::nn::reference
