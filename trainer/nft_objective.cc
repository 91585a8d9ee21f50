#include "trainer/nft_objective.h"

#include <algorithm>
#include <cmath>

namespace nftcim::trainer {

std::vector<double> DecayFactors(int n, bool reversed) {
  std::vector<double> alpha(n);
  for (int i = 0; i < n; ++i) alpha[i] = std::pow(10.0, -i);
  if (reversed) std::reverse(alpha.begin(), alpha.end());
  return alpha;
}

std::vector<double> LogSoftmax(const float* logits, int classes) {
  double max_logit = logits[0];
  for (int c = 1; c < classes; ++c) max_logit = std::max(max_logit, double{logits[c]});
  double sum = 0;
  for (int c = 0; c < classes; ++c) sum += std::exp(logits[c] - max_logit);
  const double log_sum = max_logit + std::log(sum);
  std::vector<double> out(classes);
  for (int c = 0; c < classes; ++c) out[c] = logits[c] - log_sum;
  return out;
}

NftObjectiveResult NftObjective(const std::vector<float>& backbone,
                                const std::vector<std::vector<float>>& feedback,
                                const std::vector<double>& alpha, double beta,
                                const std::vector<int32_t>& labels, int classes) {
  const int n_feedback = static_cast<int>(feedback.size());
  const int batch = static_cast<int>(labels.size());
  const double contribution = 1.0 / (n_feedback + 1);
  NftObjectiveResult r;
  r.d_backbone.assign(backbone.size(), 0.f);
  r.d_feedback.assign(n_feedback, std::vector<float>(backbone.size(), 0.f));
  r.predictions.assign(batch, 0);
  std::vector<float> combined(classes);
  double loss_sum = 0;
  for (int b = 0; b < batch; ++b) {
    const int64_t row = static_cast<int64_t>(b) * classes;
    for (int c = 0; c < classes; ++c) {
      double f = 0;
      for (int i = 0; i < n_feedback; ++i) f += alpha[i] * feedback[i][row + c];
      combined[c] = static_cast<float>((backbone[row + c] - beta * f) * contribution);
    }
    const std::vector<double> log_p = LogSoftmax(combined.data(), classes);
    loss_sum -= log_p[labels[b]];
    r.predictions[b] = static_cast<int32_t>(
        std::max_element(log_p.begin(), log_p.end()) - log_p.begin());
    for (int c = 0; c < classes; ++c) {
      // d loss / d O for the batch mean, then the chain rule through eq. 2.
      const double d_combined = (std::exp(log_p[c]) - (c == labels[b] ? 1.0 : 0.0)) / batch;
      r.d_backbone[row + c] = static_cast<float>(d_combined * contribution);
      for (int i = 0; i < n_feedback; ++i) {
        r.d_feedback[i][row + c] = static_cast<float>(-d_combined * contribution * beta * alpha[i]);
      }
    }
  }
  r.loss = batch > 0 ? loss_sum / batch : 0;
  return r;
}

}  // namespace nftcim::trainer
