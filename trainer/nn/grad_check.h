#ifndef NFTCIM_TRAINER_NN_GRAD_CHECK_H_
#define NFTCIM_TRAINER_NN_GRAD_CHECK_H_

// Test helpers: central finite differences against analytic gradients.
//
// The kernels are float, so the differences use a fairly large step (1e-2
// by default) and the comparison is normwise over the checked entries:
//   max |numeric - analytic| <= tol * max |analytic| + atol.
// Losses are accumulated in double. Kinks (ReLU, max pool) make differences
// across a whole network inaccurate by O(step) (many units cross zero at
// once); for those checks several steps may be given and each entry takes
// the estimate closest to the analytic value. A wrong gradient (sign, factor,
// missing term) is off for most entries at every step, which this catches.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "trainer/nn/random.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn::testing {

inline Tensor RandomTensor(Shape shape, uint64_t seed, float lo = -1,
                           float hi = 1) {
  Tensor t(std::move(shape));
  Rng rng(seed, 99);
  for (float& v : t) v = static_cast<float>(lo + (hi - lo) * rng.Uniform());
  return t;
}

// sum_i a[i] * b[i] in double.
inline double Dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

struct GradCheckOptions {
  std::vector<double> steps = {1e-2};
  double tol = 2e-2;
  double atol = 1e-6;
  int max_entries = 24;  // checked entries per tensor (all if fewer)
  uint64_t seed = 1;
};

// Checks `analytic` = d loss / d *t, perturbing entries of *t in place
// (restored afterwards). loss() must recompute everything from *t.
inline ::testing::AssertionResult CheckGradient(
    const std::string& what, Tensor* t, const Tensor& analytic,
    const std::function<double()>& loss, const GradCheckOptions& o = {}) {
  if (analytic.size() != t->size()) {
    return ::testing::AssertionFailure()
           << what << ": gradient shape " << analytic.ShapeString()
           << " vs tensor " << t->ShapeString();
  }
  std::vector<int64_t> idx;
  if (t->size() <= o.max_entries) {
    for (int64_t i = 0; i < t->size(); ++i) idx.push_back(i);
  } else {
    Rng rng(o.seed, 5);
    for (int k = 0; k < o.max_entries; ++k)
      idx.push_back(static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(t->size())));
  }
  double max_err = 0, scale = 0;
  int64_t worst = -1;
  double worst_num = 0;
  for (int64_t i : idx) {
    const float saved = (*t)[i];
    double num = 0, err = 1e300;
    for (double step : o.steps) {
      (*t)[i] = static_cast<float>(saved + step);
      const double plus = loss();
      (*t)[i] = static_cast<float>(saved - step);
      const double minus = loss();
      (*t)[i] = saved;
      const double estimate = (plus - minus) / (2 * step);
      if (std::fabs(estimate - analytic[i]) < err) {
        err = std::fabs(estimate - analytic[i]);
        num = estimate;
      }
    }
    scale = std::max(scale, std::fabs(static_cast<double>(analytic[i])));
    if (err > max_err) {
      max_err = err;
      worst = i;
      worst_num = num;
    }
  }
  if (max_err <= o.tol * scale + o.atol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": max error " << max_err << " at entry " << worst
         << " (numeric " << worst_num << ", analytic " << analytic[worst]
         << "), gradient scale " << scale;
}

}  // namespace nftcim::trainer::nn::testing

#endif  // NFTCIM_TRAINER_NN_GRAD_CHECK_H_
