#include "trainer/optimizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace nftcim::trainer {
namespace {

constexpr double kBeta1 = 0.9;
constexpr double kBeta2 = 0.999;
constexpr double kEpsilon = 1e-8;

}  // namespace

double LearningRateAt(const formats::OptimizerConfig& config, int epoch, int epochs) {
  const double lr0 = config.learning_rate();
  if (!config.cosine() || epochs <= 0) return lr0;
  return lr0 * 0.5 * (1.0 + std::cos(M_PI * epoch / epochs));
}

Optimizer::Optimizer(const formats::OptimizerConfig& config) : config_(config) {}

void Optimizer::Step(const std::vector<ParamView>& params, double lr) {
  const bool adam = config_.kind() != formats::OptimizerConfig::SGD;
  if (first_.size() != params.size()) {
    first_.assign(params.size(), {});
    second_.assign(params.size(), {});
    for (size_t p = 0; p < params.size(); ++p) {
      first_[p].assign(params[p].size, 0.f);
      if (adam) second_[p].assign(params[p].size, 0.f);
    }
  }
  ++step_;
  const float wd = static_cast<float>(config_.weight_decay());
  if (adam) {
    const double bias1 = 1.0 - std::pow(kBeta1, static_cast<double>(step_));
    const double bias2 = 1.0 - std::pow(kBeta2, static_cast<double>(step_));
    // PyTorch's arrangement: step = lr / bias1, denominator sqrt(v)/sqrt(bias2) + eps.
    const float step_size = static_cast<float>(lr / bias1);
    const float inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
    const float b1 = kBeta1, b2 = kBeta2, eps = kEpsilon;
    for (size_t p = 0; p < params.size(); ++p) {
      float* w = params[p].value;
      const float* g = params[p].grad;
      float* m = first_[p].data();
      float* v = second_[p].data();
      for (int64_t i = 0; i < params[p].size; ++i) {
        const float gi = g[i] + wd * w[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bias2 + eps);
      }
    }
  } else {
    const float mu = static_cast<float>(config_.momentum());
    const float rate = static_cast<float>(lr);
    for (size_t p = 0; p < params.size(); ++p) {
      float* w = params[p].value;
      const float* g = params[p].grad;
      float* buf = first_[p].data();
      for (int64_t i = 0; i < params[p].size; ++i) {
        const float gi = g[i] + wd * w[i];
        buf[i] = step_ == 1 ? gi : mu * buf[i] + gi;
        w[i] -= rate * buf[i];
      }
    }
  }
}

void Optimizer::SaveState(const std::vector<ParamView>& params,
                          formats::OptimizerState* out) const {
  out->Clear();
  out->set_step(step_);
  for (size_t p = 0; p < first_.size() && p < params.size(); ++p) {
    formats::TensorProto* m = out->add_first_moment();
    m->set_name(params[p].name);
    m->add_shape(params[p].size);
    m->mutable_data()->Add(first_[p].begin(), first_[p].end());
    if (!second_[p].empty()) {
      formats::TensorProto* v = out->add_second_moment();
      v->set_name(params[p].name);
      v->add_shape(params[p].size);
      v->mutable_data()->Add(second_[p].begin(), second_[p].end());
    }
  }
}

absl::Status Optimizer::LoadState(const std::vector<ParamView>& params,
                                  const formats::OptimizerState& state) {
  const bool adam = config_.kind() != formats::OptimizerConfig::SGD;
  step_ = state.step();
  first_.clear();
  second_.clear();
  if (state.step() == 0 && state.first_moment_size() == 0) return absl::OkStatus();
  if (state.first_moment_size() != static_cast<int>(params.size()) ||
      (adam && state.second_moment_size() != static_cast<int>(params.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "optimizer state: expected ", params.size(), " parameters", adam ? " (Adam: m and v)" : "",
        ", found ", state.first_moment_size(), " first and ", state.second_moment_size(),
        " second moments"));
  }
  first_.resize(params.size());
  second_.resize(params.size());
  for (size_t p = 0; p < params.size(); ++p) {
    const formats::TensorProto& m = state.first_moment(p);
    if (m.name() != params[p].name || m.data_size() != params[p].size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "optimizer state: entry ", p, " is '", m.name(), "' with ", m.data_size(),
          " values, expected '", params[p].name, "' with ", params[p].size));
    }
    first_[p].assign(m.data().begin(), m.data().end());
    if (adam) {
      const formats::TensorProto& v = state.second_moment(p);
      if (v.name() != params[p].name || v.data_size() != params[p].size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "optimizer state: second moment ", p, " is '", v.name(), "', expected '",
            params[p].name, "'"));
      }
      second_[p].assign(v.data().begin(), v.data().end());
    }
  }
  return absl::OkStatus();
}

}  // namespace nftcim::trainer
