#ifndef NFTCIM_DATA_BATCHING_H_
#define NFTCIM_DATA_BATCHING_H_

// Deterministic shuffling, augmentation and batching of a RawDataset.
//
// The order of epoch e is RandomPermutation(n, DeriveSeed(seed,
// kShufflePurpose, e)) (see prng.h): a function of (seed, epoch, n) only,
// identical on every machine and independent of the batch size. Batch k is
// positions [k * batch_size, (k + 1) * batch_size) of that order, so a
// resumed run can start directly at batch k (GetBatch / SeekToBatch), and
// batches can be built concurrently: everything here except Next and
// SeekToBatch is const and thread-safe.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "data/augment.h"
#include "data/normalize.h"
#include "data/raw_dataset.h"

namespace nftcim::data {

// Normalised float images, NCHW, for the trainer.
struct Batch {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<float> images;     // n * c * h * w
  std::vector<int32_t> labels;   // n
  std::vector<int64_t> indices;  // n, position of each image in the dataset
};

// The same batch before normalisation (augmentation already applied), for
// the integer emulator.
struct RawBatch {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<uint8_t> pixels;   // n * c * h * w
  std::vector<int32_t> labels;   // n
  std::vector<int64_t> indices;  // n
};

struct BatchOptions {
  int32_t batch_size = 128;
  uint64_t seed = 0;
  bool shuffle = true;
  // Without drop_last the final batch holds the remaining n % batch_size
  // images; with it they are skipped for this epoch.
  bool drop_last = false;
  // Random crop and flip (augment.h). Callers normally set this from
  // DatasetInfo::train_augmentation for the training split only.
  bool augment = false;
  int32_t crop_padding = kDefaultCropPadding;
};

// Dataset positions in the order epoch `epoch` visits them: identity when
// shuffle is false.
std::vector<int64_t> EpochOrder(int64_t num_images, uint64_t seed,
                                int64_t epoch, bool shuffle);

// Normalises a raw batch.
Batch NormalizeBatch(const RawBatch& raw, const Normalizer& normalizer);

class BatchIterator {
 public:
  // `dataset` must outlive the iterator. Fails on batch_size <= 0, negative
  // epoch or crop padding, an invalid dataset, or a normalizer whose channel
  // count differs from the dataset's.
  static absl::StatusOr<BatchIterator> Create(const RawDataset* dataset,
                                              const Normalizer& normalizer,
                                              const BatchOptions& options,
                                              int64_t epoch);

  int64_t epoch() const { return epoch_; }
  int64_t num_batches() const { return num_batches_; }
  const std::vector<int64_t>& order() const { return order_; }
  const BatchOptions& options() const { return options_; }

  // Batch k of this epoch; OutOfRange unless 0 <= k < num_batches().
  absl::StatusOr<RawBatch> GetRawBatch(int64_t k) const;
  absl::StatusOr<Batch> GetBatch(int64_t k) const;

  // Sequential use: fills `batch` with the next batch and returns true, or
  // returns false after the last one.
  bool Next(Batch* batch);
  bool NextRaw(RawBatch* batch);
  // The next call to Next / NextRaw returns batch k (clamped to
  // [0, num_batches()]).
  void SeekToBatch(int64_t k);
  int64_t next_batch() const { return next_; }

 private:
  BatchIterator(const RawDataset* dataset, Normalizer normalizer,
                BatchOptions options, int64_t epoch);

  const RawDataset* dataset_;
  Normalizer normalizer_;
  BatchOptions options_;
  int64_t epoch_;
  std::vector<int64_t> order_;
  int64_t num_batches_;
  int64_t next_ = 0;
};

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_BATCHING_H_
