#include "util/monte_carlo.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nftcim {

McSummary Summarize(double sigma, const std::vector<McRun>& runs) {
  McSummary s;
  s.sigma = sigma;
  s.runs = static_cast<int>(runs.size());
  if (runs.empty()) return s;
  double sum = 0, kl = 0;
  int64_t correct = 0;
  std::vector<double> acc;
  for (const McRun& r : runs) {
    acc.push_back(r.total > 0 ? 100.0 * r.correct / r.total : 0.0);
    sum += acc.back();
    kl += r.kl_sum_correct;
    correct += r.correct;
    s.saturations += r.saturations;
  }
  s.images_per_run = runs.front().total;
  s.mean_accuracy = sum / s.runs;
  if (s.runs > 1) {
    double ss = 0;
    for (double a : acc) ss += (a - s.mean_accuracy) * (a - s.mean_accuracy);
    s.std = std::sqrt(ss / (s.runs - 1));
    s.ci95 = 1.96 * s.std / std::sqrt(static_cast<double>(s.runs));
  }
  s.ekl = correct > 0 ? kl / correct : 0.0;
  return s;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string McJson(const std::vector<McSummary>& results, const std::string& extra) {
  std::string out = "{";
  if (!extra.empty()) absl::StrAppend(&out, extra, ", ");
  out += "\"results\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const McSummary& r = results[i];
    absl::StrAppendFormat(&out,
                          "%s\n  {\"sigma\": %.6g, \"runs\": %d, \"images\": %d, "
                          "\"mean_accuracy\": %.6g, \"std\": %.6g, \"ci95\": %.6g, "
                          "\"ekl\": %.6g",
                          i ? "," : "", r.sigma, r.runs, r.images_per_run, r.mean_accuracy,
                          r.std, r.ci95, r.ekl);
    if (r.has_saturations) absl::StrAppend(&out, ", \"adc_saturations\": ", r.saturations);
    out += "}";
  }
  out += "\n]}\n";
  return out;
}

std::string McTable(const std::vector<McSummary>& results) {
  bool sat = false;
  for (const McSummary& r : results) sat |= r.has_saturations;
  std::string out = absl::StrFormat("%7s %6s %9s %8s %8s %8s%s\n", "sigma", "runs",
                                    "accuracy", "std", "ci95", "EKL", sat ? "  ADC sat." : "");
  for (const McSummary& r : results) {
    absl::StrAppendFormat(&out, "%7.3f %6d %8.2f%% %8.3f %8.3f %8.4f", r.sigma, r.runs,
                          r.mean_accuracy, r.std, r.ci95, r.ekl);
    if (sat) absl::StrAppend(&out, "  ", r.saturations);
    out += "\n";
  }
  return out;
}

}  // namespace nftcim
