#include "data/batching.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "data/prng.h"

namespace nftcim::data {
namespace {

// Distinguishes shuffles from augmentation draws made with the same seed.
constexpr uint64_t kShufflePurpose = 0x73687566;  // "shuf"

}  // namespace

std::vector<int64_t> EpochOrder(int64_t num_images, uint64_t seed,
                                int64_t epoch, bool shuffle) {
  if (num_images <= 0) return {};
  if (shuffle) {
    return RandomPermutation(
        num_images,
        DeriveSeed(seed, kShufflePurpose, static_cast<uint64_t>(epoch)));
  }
  std::vector<int64_t> order(static_cast<size_t>(num_images));
  for (int64_t i = 0; i < num_images; ++i) order[i] = i;
  return order;
}

Batch NormalizeBatch(const RawBatch& raw, const Normalizer& normalizer) {
  Batch batch;
  batch.n = raw.n;
  batch.c = raw.c;
  batch.h = raw.h;
  batch.w = raw.w;
  batch.labels = raw.labels;
  batch.indices = raw.indices;
  batch.images.resize(raw.pixels.size());
  const int64_t plane = int64_t{raw.h} * raw.w;
  const int64_t image = plane * raw.c;
  for (int i = 0; i < raw.n; ++i) {
    normalizer.NormalizeImage(raw.pixels.data() + i * image, plane,
                              batch.images.data() + i * image);
  }
  return batch;
}

BatchIterator::BatchIterator(const RawDataset* dataset, Normalizer normalizer,
                             BatchOptions options, int64_t epoch)
    : dataset_(dataset),
      normalizer_(std::move(normalizer)),
      options_(options),
      epoch_(epoch),
      order_(EpochOrder(dataset->num_images, options.seed, epoch,
                        options.shuffle)) {
  const int64_t n = dataset->num_images;
  const int64_t bs = options.batch_size;
  num_batches_ = options.drop_last ? n / bs : (n + bs - 1) / bs;
}

absl::StatusOr<BatchIterator> BatchIterator::Create(
    const RawDataset* dataset, const Normalizer& normalizer,
    const BatchOptions& options, int64_t epoch) {
  if (dataset == nullptr) {
    return absl::InvalidArgumentError("BatchIterator: dataset is null");
  }
  if (options.batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "BatchIterator: expected batch_size > 0, found %d",
        options.batch_size));
  }
  if (epoch < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("BatchIterator: expected epoch >= 0, found %d", epoch));
  }
  if (options.crop_padding < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "BatchIterator: expected crop_padding >= 0, found %d",
        options.crop_padding));
  }
  absl::Status status = ValidateRawDataset(*dataset);
  if (!status.ok()) return status;
  if (normalizer.channels() != dataset->channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "BatchIterator: expected a normalizer for %d channels, found %d",
        dataset->channels, normalizer.channels()));
  }
  return BatchIterator(dataset, normalizer, options, epoch);
}

absl::StatusOr<RawBatch> BatchIterator::GetRawBatch(int64_t k) const {
  if (k < 0 || k >= num_batches_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "BatchIterator: expected a batch index in [0, %d), found %d",
        num_batches_, k));
  }
  const RawDataset& d = *dataset_;
  const int64_t begin = k * options_.batch_size;
  const int64_t end =
      std::min<int64_t>(begin + options_.batch_size, d.num_images);
  const int64_t image = d.image_size();
  RawBatch batch;
  batch.n = static_cast<int>(end - begin);
  batch.c = d.channels;
  batch.h = d.height;
  batch.w = d.width;
  batch.pixels.resize(static_cast<size_t>(batch.n * image));
  batch.labels.resize(batch.n);
  batch.indices.resize(batch.n);
  for (int i = 0; i < batch.n; ++i) {
    const int64_t index = order_[begin + i];
    uint8_t* dst = batch.pixels.data() + i * image;
    if (options_.augment) {
      const CropFlip choice =
          DrawCropFlip(options_.seed, epoch_, index, options_.crop_padding);
      ApplyCropFlip(d.image(index), d.channels, d.height, d.width,
                    options_.crop_padding, choice, dst);
    } else {
      std::memcpy(dst, d.image(index), static_cast<size_t>(image));
    }
    batch.labels[i] = d.labels[index];
    batch.indices[i] = index;
  }
  return batch;
}

absl::StatusOr<Batch> BatchIterator::GetBatch(int64_t k) const {
  absl::StatusOr<RawBatch> raw = GetRawBatch(k);
  if (!raw.ok()) return raw.status();
  return NormalizeBatch(*raw, normalizer_);
}

bool BatchIterator::Next(Batch* batch) {
  if (next_ >= num_batches_) return false;
  absl::StatusOr<Batch> got = GetBatch(next_++);
  if (!got.ok()) return false;  // unreachable: the index is in range
  *batch = std::move(*got);
  return true;
}

bool BatchIterator::NextRaw(RawBatch* batch) {
  if (next_ >= num_batches_) return false;
  absl::StatusOr<RawBatch> got = GetRawBatch(next_++);
  if (!got.ok()) return false;  // unreachable: the index is in range
  *batch = std::move(*got);
  return true;
}

void BatchIterator::SeekToBatch(int64_t k) {
  next_ = std::clamp<int64_t>(k, 0, num_batches_);
}

}  // namespace nftcim::data
