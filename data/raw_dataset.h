#ifndef NFTCIM_DATA_RAW_DATASET_H_
#define NFTCIM_DATA_RAW_DATASET_H_

// The common in-memory form of every dataset split: undecoded uint8 pixels
// exactly as stored in the files, so that the float trainer and the integer
// emulator start from the very same bytes.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace nftcim::data {

enum class Split { kTrain, kTest };
const char* SplitName(Split split);

struct RawDataset {
  int64_t num_images = 0;
  int32_t channels = 0;
  int32_t height = 0;
  int32_t width = 0;
  int32_t num_classes = 0;
  // num_images * channels * height * width bytes, NCHW: image i, channel c,
  // row y, column x is pixels[((i * channels + c) * height + y) * width + x].
  std::vector<uint8_t> pixels;
  // num_images labels, each in [0, num_classes).
  std::vector<int32_t> labels;

  int64_t image_size() const {
    return int64_t{channels} * height * width;
  }
  const uint8_t* image(int64_t i) const {
    return pixels.data() + i * image_size();
  }
  uint8_t* mutable_image(int64_t i) { return pixels.data() + i * image_size(); }
};

// Checks the invariants above: non-negative count, positive dimensions and
// class count, buffer sizes matching the count, every label in range. Loaders
// call it last, so a RawDataset handed out is always consistent.
absl::Status ValidateRawDataset(const RawDataset& dataset);

// Keeps the first `limit` images; limit <= 0 or >= num_images keeps all.
void KeepPrefix(int64_t limit, RawDataset* dataset);

// Appends `more` to `*dataset`; shapes and class counts must agree. Used to
// join CIFAR-10's five training batches.
absl::Status AppendRawDataset(const RawDataset& more, RawDataset* dataset);

// Number of images of each class, indexed by label.
std::vector<int64_t> LabelHistogram(const RawDataset& dataset);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_RAW_DATASET_H_
