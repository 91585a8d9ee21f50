#include "data/batching.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "data/augment.h"
#include "data/normalize.h"
#include "data/raw_dataset.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// n images of 3x4x4, image i filled from (i * 13 + j) so images differ.
RawDataset MakeDataset(int64_t n, int32_t channels = 3, int32_t side = 4) {
  RawDataset d;
  d.num_images = n;
  d.channels = channels;
  d.height = side;
  d.width = side;
  d.num_classes = 10;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d.image_size(); ++j) {
      d.pixels.push_back(static_cast<uint8_t>(i * 13 + j));
    }
    d.labels.push_back(static_cast<int32_t>(i % 10));
  }
  return d;
}

Normalizer RgbNormalizer() {
  return *Normalizer::Create({0.4914, 0.4822, 0.4465},
                             {0.2470, 0.2435, 0.2616});
}

std::vector<int64_t> AllIndices(BatchIterator& it) {
  std::vector<int64_t> seen;
  RawBatch batch;
  while (it.NextRaw(&batch)) {
    seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
  }
  return seen;
}

// Pinned from an independent Python transcription (see prng_test.cc).
TEST(EpochOrderTest, GoldenOrders) {
  EXPECT_THAT(EpochOrder(10, 42, 0, true),
              ElementsAre(6, 1, 3, 9, 5, 7, 0, 2, 4, 8));
  EXPECT_THAT(EpochOrder(10, 42, 1, true),
              ElementsAre(0, 3, 7, 6, 9, 4, 1, 5, 8, 2));
  EXPECT_THAT(EpochOrder(5, 42, 0, false), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_TRUE(EpochOrder(0, 42, 0, true).empty());
}

TEST(EpochOrderTest, DeterminismAndSensitivity) {
  EXPECT_EQ(EpochOrder(1000, 5, 3, true), EpochOrder(1000, 5, 3, true));
  EXPECT_NE(EpochOrder(1000, 5, 3, true), EpochOrder(1000, 6, 3, true));
  EXPECT_NE(EpochOrder(1000, 5, 3, true), EpochOrder(1000, 5, 4, true));
  std::vector<int64_t> order = EpochOrder(1000, 5, 3, true);
  std::sort(order.begin(), order.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i);
}

TEST(BatchIteratorTest, CreateRejectsBadArguments) {
  const RawDataset d = MakeDataset(5);
  BatchOptions options;
  options.batch_size = 0;
  auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  ASSERT_FALSE(it.ok());
  EXPECT_THAT(std::string(it.status().message()),
              HasSubstr("expected batch_size > 0, found 0"));
  options.batch_size = 2;
  EXPECT_FALSE(BatchIterator::Create(&d, RgbNormalizer(), options, -1).ok());
  auto grey = BatchIterator::Create(&d, *Normalizer::Create({0.5}, {0.5}),
                                    options, 0);
  ASSERT_FALSE(grey.ok());
  EXPECT_THAT(std::string(grey.status().message()),
              HasSubstr("expected a normalizer for 3 channels, found 1"));
  RawDataset broken = MakeDataset(2);
  broken.labels.pop_back();
  EXPECT_FALSE(BatchIterator::Create(&broken, RgbNormalizer(), options, 0).ok());
  EXPECT_FALSE(BatchIterator::Create(nullptr, RgbNormalizer(), options, 0).ok());
}

TEST(BatchIteratorTest, EveryImageExactlyOnceWithPartialLastBatch) {
  const RawDataset d = MakeDataset(23);
  BatchOptions options;
  options.batch_size = 5;
  options.seed = 9;
  auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  ASSERT_TRUE(it.ok()) << it.status();
  EXPECT_EQ(it->num_batches(), 5);
  auto last = it->GetRawBatch(4);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->n, 3);
  std::vector<int64_t> seen = AllIndices(*it);
  EXPECT_EQ(seen, it->order());
  std::sort(seen.begin(), seen.end());
  for (int64_t i = 0; i < 23; ++i) ASSERT_EQ(seen[i], i);
}

TEST(BatchIteratorTest, DropLastSkipsRemainder) {
  const RawDataset d = MakeDataset(23);
  BatchOptions options;
  options.batch_size = 5;
  options.drop_last = true;
  auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  ASSERT_TRUE(it.ok());
  EXPECT_EQ(it->num_batches(), 4);
  EXPECT_EQ(AllIndices(*it).size(), 20u);
  options.batch_size = 30;
  auto none = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->num_batches(), 0);
  Batch batch;
  EXPECT_FALSE(none->Next(&batch));
}

TEST(BatchIteratorTest, NoShuffleKeepsDatasetOrder) {
  const RawDataset d = MakeDataset(7);
  BatchOptions options;
  options.batch_size = 3;
  options.shuffle = false;
  auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 4);
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(AllIndices(*it), ElementsAre(0, 1, 2, 3, 4, 5, 6));
}

TEST(BatchIteratorTest, OrderIndependentOfBatchSize) {
  const RawDataset d = MakeDataset(50);
  BatchOptions a, b;
  a.batch_size = 7;
  b.batch_size = 13;
  a.seed = b.seed = 123;
  auto ia = BatchIterator::Create(&d, RgbNormalizer(), a, 2);
  auto ib = BatchIterator::Create(&d, RgbNormalizer(), b, 2);
  ASSERT_TRUE(ia.ok() && ib.ok());
  EXPECT_EQ(AllIndices(*ia), AllIndices(*ib));
}

TEST(BatchIteratorTest, SameSeedSameBatchesDifferentSeedOrEpochDiffer) {
  const RawDataset d = MakeDataset(40);
  BatchOptions options;
  options.batch_size = 8;
  options.seed = 77;
  auto a = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  auto b = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  auto next_epoch = BatchIterator::Create(&d, RgbNormalizer(), options, 1);
  options.seed = 78;
  auto other_seed = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  ASSERT_TRUE(a.ok() && b.ok() && next_epoch.ok() && other_seed.ok());
  EXPECT_EQ(a->order(), b->order());
  EXPECT_NE(a->order(), next_epoch->order());
  EXPECT_NE(a->order(), other_seed->order());
  Batch ba, bb;
  ASSERT_TRUE(a->Next(&ba));
  ASSERT_TRUE(b->Next(&bb));
  EXPECT_EQ(ba.images, bb.images);
  EXPECT_EQ(ba.labels, bb.labels);
}

TEST(BatchIteratorTest, BatchContentsAreNormalisedPixelsAndLabels) {
  const RawDataset d = MakeDataset(6);
  const Normalizer normalizer = RgbNormalizer();
  BatchOptions options;
  options.batch_size = 4;
  options.seed = 1;
  auto it = BatchIterator::Create(&d, normalizer, options, 0);
  ASSERT_TRUE(it.ok());
  auto batch = it->GetBatch(0);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->n, 4);
  EXPECT_EQ(batch->c, 3);
  EXPECT_EQ(batch->h, 4);
  EXPECT_EQ(batch->w, 4);
  ASSERT_EQ(batch->images.size(), 4u * 48);
  for (int i = 0; i < 4; ++i) {
    const int64_t index = batch->indices[i];
    EXPECT_EQ(index, it->order()[i]);
    EXPECT_EQ(batch->labels[i], d.labels[index]);
    for (int64_t j = 0; j < 48; ++j) {
      const int32_t c = static_cast<int32_t>(j / 16);
      ASSERT_EQ(batch->images[i * 48 + j],
                normalizer.Value(c, d.image(index)[j]));
    }
  }
}

TEST(BatchIteratorTest, GetBatchAndSeekResumeAtBatchK) {
  const RawDataset d = MakeDataset(30);
  BatchOptions options;
  options.batch_size = 4;
  options.seed = 5;
  options.augment = true;
  auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 3);
  ASSERT_TRUE(it.ok());
  std::vector<Batch> sequential;
  Batch batch;
  while (it->Next(&batch)) sequential.push_back(batch);
  ASSERT_EQ(sequential.size(), 8u);

  auto resumed = BatchIterator::Create(&d, RgbNormalizer(), options, 3);
  ASSERT_TRUE(resumed.ok());
  resumed->SeekToBatch(5);
  EXPECT_EQ(resumed->next_batch(), 5);
  for (int k = 5; k < 8; ++k) {
    ASSERT_TRUE(resumed->Next(&batch));
    EXPECT_EQ(batch.images, sequential[k].images) << k;
    EXPECT_EQ(batch.indices, sequential[k].indices) << k;
    auto direct = resumed->GetBatch(k);
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(direct->images, sequential[k].images) << k;
  }
  EXPECT_FALSE(resumed->Next(&batch));
  resumed->SeekToBatch(100);
  EXPECT_EQ(resumed->next_batch(), 8);
  resumed->SeekToBatch(-3);
  EXPECT_EQ(resumed->next_batch(), 0);
}

TEST(BatchIteratorTest, OutOfRangeBatchIndex) {
  const RawDataset d = MakeDataset(10);
  BatchOptions options;
  options.batch_size = 4;
  auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  ASSERT_TRUE(it.ok());
  auto bad = it->GetBatch(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("expected a batch index in [0, 3), found 3"));
  EXPECT_FALSE(it->GetRawBatch(-1).ok());
}

// Augmented pixels depend on (seed, epoch, dataset index) only: the same
// image gets the same crop under any batch size, and the result is exactly
// DrawCropFlip + ApplyCropFlip.
TEST(BatchIteratorTest, AugmentationIsDeterministicAndBatchSizeIndependent) {
  const RawDataset d = MakeDataset(20, 3, 8);
  BatchOptions options;
  options.seed = 31;
  options.augment = true;
  std::vector<std::vector<uint8_t>> by_index[2];
  int variant = 0;
  for (int32_t batch_size : {3, 20}) {
    options.batch_size = batch_size;
    auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 6);
    ASSERT_TRUE(it.ok());
    by_index[variant].resize(20);
    RawBatch batch;
    while (it->NextRaw(&batch)) {
      for (int i = 0; i < batch.n; ++i) {
        by_index[variant][batch.indices[i]].assign(
            batch.pixels.begin() + i * 192, batch.pixels.begin() + (i + 1) * 192);
      }
    }
    ++variant;
  }
  int changed = 0;
  for (int64_t index = 0; index < 20; ++index) {
    EXPECT_EQ(by_index[0][index], by_index[1][index]) << index;
    std::vector<uint8_t> want(192);
    ApplyCropFlip(d.image(index), 3, 8, 8, 4, DrawCropFlip(31, 6, index, 4),
                  want.data());
    EXPECT_EQ(by_index[0][index], want) << index;
    changed += want != std::vector<uint8_t>(d.image(index), d.image(index) + 192);
  }
  EXPECT_GT(changed, 10) << "augmentation should alter most images";

  options.augment = false;
  auto plain = BatchIterator::Create(&d, RgbNormalizer(), options, 6);
  ASSERT_TRUE(plain.ok());
  auto raw = plain->GetRawBatch(0);
  ASSERT_TRUE(raw.ok());
  for (int i = 0; i < raw->n; ++i) {
    EXPECT_TRUE(std::equal(raw->pixels.begin() + i * 192,
                           raw->pixels.begin() + (i + 1) * 192,
                           d.image(raw->indices[i])));
  }
}

TEST(BatchIteratorTest, ConcurrentGetBatchMatchesSequential) {
  const RawDataset d = MakeDataset(64);
  BatchOptions options;
  options.batch_size = 8;
  options.augment = true;
  auto it = BatchIterator::Create(&d, RgbNormalizer(), options, 0);
  ASSERT_TRUE(it.ok());
  std::vector<Batch> parallel(8);
  std::vector<std::thread> threads;
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&, k] { parallel[k] = *it->GetBatch(k); });
  }
  for (std::thread& t : threads) t.join();
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(parallel[k].images, it->GetBatch(k)->images) << k;
  }
}

TEST(NormalizeBatchTest, MatchesNormalizer) {
  RawBatch raw;
  raw.n = 1;
  raw.c = 1;
  raw.h = 1;
  raw.w = 2;
  raw.pixels = {0, 255};
  raw.labels = {3};
  raw.indices = {9};
  const Normalizer n = *Normalizer::Create({0.5}, {0.5});
  const Batch batch = NormalizeBatch(raw, n);
  EXPECT_THAT(batch.images, ElementsAre(-1.0f, 1.0f));
  EXPECT_THAT(batch.labels, ElementsAre(3));
  EXPECT_THAT(batch.indices, ElementsAre(9));
}

}  // namespace
}  // namespace nftcim::data
