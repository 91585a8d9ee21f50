#ifndef NFTCIM_TRAINER_NFT_OBJECTIVE_H_
#define NFTCIM_TRAINER_NFT_OBJECTIVE_H_

// The Negative Feedback Training objective, nft-spec.md section 2:
//
//   F    = sum_i alpha_i * o_i                 (eq. 1)
//   O    = (o_b - beta * F) / (N + 1)          (eq. 2)
//   loss = CrossEntropy(O, label)              (eq. 3), mean over the batch
//
// With N = 0 it is ordinary cross-entropy on the backbone's logits (vanilla
// and noise-injection training).

#include <cstdint>
#include <vector>

namespace nftcim::trainer {

// Decay factors alpha_i = 10^-(i-1), i = 1..n, in the order the feedbacks
// are listed; `reversed` gives the ablation's opposite order.
std::vector<double> DecayFactors(int n, bool reversed);

struct NftObjectiveResult {
  double loss = 0;
  // Gradient of the loss with respect to the backbone logits and to each
  // feedback's logits; same layout as the inputs.
  std::vector<float> d_backbone;
  std::vector<std::vector<float>> d_feedback;
  // Predictions of the combined output O (argmax), for training accuracy.
  std::vector<int32_t> predictions;
};

// Logits are row-major [batch, classes]. `feedback` and `alpha` have N
// entries each. Labels must be in [0, classes).
NftObjectiveResult NftObjective(const std::vector<float>& backbone,
                                const std::vector<std::vector<float>>& feedback,
                                const std::vector<double>& alpha, double beta,
                                const std::vector<int32_t>& labels, int classes);

// log softmax of one row of logits, in double for stable per-sample figures.
std::vector<double> LogSoftmax(const float* logits, int classes);

}  // namespace nftcim::trainer

#endif  // NFTCIM_TRAINER_NFT_OBJECTIVE_H_
