#ifndef NFTCIM_UTIL_MONTE_CARLO_H_
#define NFTCIM_UTIL_MONTE_CARLO_H_

// Monte Carlo inference statistics shared by //trainer:evaluate and
// //emulator:emulate, so both report the same figures in the same JSON
// shape (nft-spec.md sections 1 and 4).

#include <cstdint>
#include <string>
#include <vector>

namespace nftcim {

// What one Monte Carlo run (one variation instance, whole test set) saw.
struct McRun {
  int64_t correct = 0;
  int64_t total = 0;
  // Sum over the correct predictions of -log softmax(logits)[label], the KL
  // divergence between the one-hot label and the softmax output.
  double kl_sum_correct = 0;
  // Extra counters a caller wants summed into the JSON (e.g. ADC saturations).
  int64_t saturations = 0;
};

struct McSummary {
  double sigma = 0;
  int runs = 0;
  // Mean over runs of the accuracy in percent.
  double mean_accuracy = 0;
  // Sample standard deviation (n - 1) of the per-run accuracies; 0 for one run.
  double std = 0;
  // 95% confidence half-width of the mean: 1.96 * std / sqrt(runs).
  double ci95 = 0;
  // Expected KL divergence: mean of -log p(label) over all correct
  // predictions of all runs (lower is better); 0 when none were correct.
  double ekl = 0;
  int64_t images_per_run = 0;
  int64_t saturations = 0;
  bool has_saturations = false;
};

McSummary Summarize(double sigma, const std::vector<McRun>& runs);

// {"results": [{"sigma": 0.1, "runs": 200, "mean_accuracy": 87.1, "std": 0.9,
//   "ci95": 0.12, "ekl": 0.21}, ...]}, plus "adc_saturations" when counted.
// `extra` is spliced into the top-level object verbatim (e.g. "\"model\": ...")
// when non-empty.
std::string McJson(const std::vector<McSummary>& results, const std::string& extra = "");

// The same table for people.
std::string McTable(const std::vector<McSummary>& results);

// Quotes and escapes a string for JSON.
std::string JsonString(const std::string& s);

}  // namespace nftcim

#endif  // NFTCIM_UTIL_MONTE_CARLO_H_
