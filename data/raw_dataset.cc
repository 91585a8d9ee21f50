#include "data/raw_dataset.h"

#include "absl/strings/str_format.h"

namespace nftcim::data {

const char* SplitName(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kTest:
      return "test";
  }
  return "unknown";
}

absl::Status ValidateRawDataset(const RawDataset& d) {
  if (d.num_images < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RawDataset: expected num_images >= 0, found %d", d.num_images));
  }
  if (d.channels <= 0 || d.height <= 0 || d.width <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RawDataset: expected positive dimensions, found %dx%dx%d (CxHxW)",
        d.channels, d.height, d.width));
  }
  if (d.num_classes <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RawDataset: expected num_classes > 0, found %d", d.num_classes));
  }
  // Dimensions come from files; keep the product from overflowing.
  const uint64_t image_size = static_cast<uint64_t>(d.image_size());
  const uint64_t count = static_cast<uint64_t>(d.num_images);
  if (count != 0 && image_size > UINT64_MAX / count) {
    return absl::InvalidArgumentError("RawDataset: pixel count overflows");
  }
  if (d.pixels.size() != count * image_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RawDataset: expected %d pixel bytes for %d images of %dx%dx%d, "
        "found %d",
        count * image_size, d.num_images, d.channels, d.height, d.width,
        d.pixels.size()));
  }
  if (d.labels.size() != count) {
    return absl::InvalidArgumentError(
        absl::StrFormat("RawDataset: expected %d labels, found %d",
                        d.num_images, d.labels.size()));
  }
  for (size_t i = 0; i < d.labels.size(); ++i) {
    if (d.labels[i] < 0 || d.labels[i] >= d.num_classes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "RawDataset: label %d of image %d is outside [0, %d)", d.labels[i],
          i, d.num_classes));
    }
  }
  return absl::OkStatus();
}

void KeepPrefix(int64_t limit, RawDataset* d) {
  if (limit <= 0 || limit >= d->num_images) return;
  d->num_images = limit;
  d->pixels.resize(static_cast<size_t>(limit * d->image_size()));
  d->labels.resize(static_cast<size_t>(limit));
  d->pixels.shrink_to_fit();
  d->labels.shrink_to_fit();
}

absl::Status AppendRawDataset(const RawDataset& more, RawDataset* d) {
  if (more.channels != d->channels || more.height != d->height ||
      more.width != d->width || more.num_classes != d->num_classes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "AppendRawDataset: expected images of %dx%dx%d with %d classes, "
        "found %dx%dx%d with %d classes",
        d->channels, d->height, d->width, d->num_classes, more.channels,
        more.height, more.width, more.num_classes));
  }
  d->pixels.insert(d->pixels.end(), more.pixels.begin(), more.pixels.end());
  d->labels.insert(d->labels.end(), more.labels.begin(), more.labels.end());
  d->num_images += more.num_images;
  return absl::OkStatus();
}

std::vector<int64_t> LabelHistogram(const RawDataset& d) {
  std::vector<int64_t> counts(d.num_classes > 0 ? d.num_classes : 0, 0);
  for (int32_t label : d.labels) {
    if (label >= 0 && label < d.num_classes) ++counts[label];
  }
  return counts;
}

}  // namespace nftcim::data
