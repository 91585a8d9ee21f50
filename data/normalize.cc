#include "data/normalize.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"

namespace nftcim::data {

float NormalizePixel(uint8_t pixel, double mean, double stddev) {
  return static_cast<float>((pixel / 255.0 - mean) / stddev);
}

absl::StatusOr<Normalizer> Normalizer::Create(
    const std::vector<double>& mean, const std::vector<double>& stddev) {
  if (mean.empty() || mean.size() != stddev.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Normalizer: expected one mean and one stddev per channel, found %d "
        "means and %d stddevs",
        mean.size(), stddev.size()));
  }
  std::vector<float> table(mean.size() * 256);
  for (size_t c = 0; c < mean.size(); ++c) {
    if (!std::isfinite(mean[c]) || !std::isfinite(stddev[c]) ||
        !(stddev[c] > 0)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "Normalizer: expected a finite mean and a finite stddev > 0 for "
          "channel %d, found mean %g stddev %g",
          c, mean[c], stddev[c]));
    }
    for (int p = 0; p < 256; ++p) {
      table[c * 256 + p] =
          NormalizePixel(static_cast<uint8_t>(p), mean[c], stddev[c]);
    }
  }
  return Normalizer(static_cast<int32_t>(mean.size()), std::move(table));
}

void Normalizer::NormalizeImage(const uint8_t* src, int64_t plane_size,
                                float* dst) const {
  for (int32_t c = 0; c < channels_; ++c) {
    const float* lut = table_.data() + static_cast<size_t>(c) * 256;
    for (int64_t i = 0; i < plane_size; ++i) *dst++ = lut[*src++];
  }
}

}  // namespace nftcim::data
