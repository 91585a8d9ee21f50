#ifndef NFTCIM_DATA_NORMALIZE_H_
#define NFTCIM_DATA_NORMALIZE_H_

// The float view of raw pixels: x = (pixel / 255 - mean[c]) / stddev[c].
//
// Each value is computed once per (channel, pixel) in double precision and
// rounded once to float, into a 256-entry table per channel. IEEE-754 double
// arithmetic is correctly rounded, so the table, and therefore every batch,
// is bit-identical on every machine; it is also faster than per-pixel math.

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace nftcim::data {

// The exact formula, for tests and for consumers that fold it elsewhere.
float NormalizePixel(uint8_t pixel, double mean, double stddev);

class Normalizer {
 public:
  // One mean and standard deviation per channel; sizes must match, be
  // non-zero, and every stddev must be finite and > 0.
  static absl::StatusOr<Normalizer> Create(const std::vector<double>& mean,
                                           const std::vector<double>& stddev);

  int32_t channels() const { return channels_; }
  float Value(int32_t channel, uint8_t pixel) const {
    return table_[static_cast<size_t>(channel) * 256 + pixel];
  }

  // Normalises one CHW image of channels() planes of `plane_size` pixels.
  void NormalizeImage(const uint8_t* src, int64_t plane_size,
                      float* dst) const;

 private:
  Normalizer(int32_t channels, std::vector<float> table)
      : channels_(channels), table_(std::move(table)) {}

  int32_t channels_;
  std::vector<float> table_;  // channels_ * 256
};

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_NORMALIZE_H_
