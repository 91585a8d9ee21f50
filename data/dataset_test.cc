#include "data/dataset.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/cifar_reader.h"
#include "data/idx_reader.h"
#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::nftcim::data::testing::CifarBytes;
using ::nftcim::data::testing::IdxImageBytes;
using ::nftcim::data::testing::MakeTestDir;
using ::nftcim::data::testing::PatternPixels;
using ::nftcim::data::testing::WriteFile;
using ::nftcim::data::testing::WriteIdxDataset;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

LoadOptions Options(const std::string& dataset, const std::string& dir) {
  LoadOptions options;
  options.dataset = dataset;
  options.data_dir = dir;
  return options;
}

TEST(LoadDatasetTest, MnistPaddedTo32ByDefault) {
  const std::string dir = MakeTestDir("load_mnist");
  WriteIdxDataset(dir, 6, 4, 28, 28, 10, /*gzip=*/true);
  auto loaded = LoadDataset(Options("mnist", dir));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.name, "mnist");
  EXPECT_EQ(loaded->data_dir, dir);
  EXPECT_EQ(loaded->resize_mode, ResizeMode::kPad);
  for (const RawDataset* split : {&loaded->train, &loaded->test}) {
    EXPECT_EQ(split->channels, 1);
    EXPECT_EQ(split->height, 32);
    EXPECT_EQ(split->width, 32);
    EXPECT_EQ(split->num_classes, 10);
    EXPECT_TRUE(ValidateRawDataset(*split).ok());
  }
  EXPECT_EQ(loaded->train.num_images, 6);
  EXPECT_EQ(loaded->test.num_images, 4);
  // Image 1, row 0, column 0 of the original lands at (2, 2).
  const std::vector<uint8_t> original = PatternPixels(6, 784);
  EXPECT_EQ(loaded->train.image(1)[2 * 32 + 2], original[784]);
  EXPECT_EQ(loaded->train.image(1)[0], 0);
}

TEST(LoadDatasetTest, ResizeAndNoneModes) {
  const std::string dir = MakeTestDir("load_modes");
  WriteIdxDataset(dir, 3, 2, 28, 28, 10, /*gzip=*/false);
  LoadOptions options = Options("fashion_mnist", dir);
  options.resize_mode = ResizeMode::kResize;
  auto resized = LoadDataset(options);
  ASSERT_TRUE(resized.ok()) << resized.status();
  EXPECT_EQ(resized->train.height, 32);
  options.resize_mode = ResizeMode::kNone;
  auto native = LoadDataset(options);
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_EQ(native->train.height, 28);
  EXPECT_EQ(native->train.pixels, PatternPixels(3, 784));
}

TEST(LoadDatasetTest, LimitsTakePrefixesAndClamp) {
  const std::string dir = MakeTestDir("load_limits");
  WriteIdxDataset(dir, 10, 5, 28, 28, 10, /*gzip=*/false);
  LoadOptions options = Options("mnist", dir);
  options.train_limit = 3;
  options.test_limit = 1000;  // more than available: all 5
  options.resize_mode = ResizeMode::kNone;
  auto loaded = LoadDataset(options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->train.num_images, 3);
  EXPECT_EQ(loaded->train.pixels, PatternPixels(3, 784));
  EXPECT_EQ(loaded->train.labels, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(loaded->test.num_images, 5);
  options.train_limit = -1;
  options.test_limit = 0;
  auto all = LoadDataset(options);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->train.num_images, 10);
  EXPECT_EQ(all->test.num_images, 5);
}

TEST(LoadDatasetTest, Cifar10And100) {
  const std::string dir = MakeTestDir("load_cifar");
  for (int b = 1; b <= 5; ++b) {
    WriteFile(dir + "/data_batch_" + std::to_string(b) + ".bin",
              CifarBytes(CifarVariant::kCifar10, {1, 2}, {}), false);
  }
  WriteFile(dir + "/test_batch.bin",
            CifarBytes(CifarVariant::kCifar10, {3}, {}), false);
  WriteFile(dir + "/train.bin",
            CifarBytes(CifarVariant::kCifar100, {50, 60, 70}, {}), false);
  WriteFile(dir + "/test.bin", CifarBytes(CifarVariant::kCifar100, {99}, {}),
            false);
  LoadOptions options = Options("cifar10", dir);
  options.train_limit = 7;
  auto c10 = LoadDataset(options);
  ASSERT_TRUE(c10.ok()) << c10.status();
  EXPECT_EQ(c10->train.num_images, 7);
  EXPECT_EQ(c10->train.channels, 3);
  EXPECT_EQ(c10->train.height, 32);
  EXPECT_EQ(c10->test.num_images, 1);
  EXPECT_TRUE(c10->info.train_augmentation);
  auto c100 = LoadDataset(Options("cifar100", dir));
  ASSERT_TRUE(c100.ok()) << c100.status();
  EXPECT_EQ(c100->train.num_images, 3);
  EXPECT_EQ(c100->train.num_classes, 100);
  EXPECT_EQ(c100->test.labels[0], 99);
}

TEST(LoadDatasetTest, UnknownDataset) {
  auto loaded = LoadDataset(Options("svhn", "/tmp"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(loaded.status()),
              HasSubstr("expected one of fashion_mnist, mnist, cifar10, "
                        "cifar100"));
}

TEST(LoadDatasetTest, DatasetWithoutDefaultDirNeedsDataDir) {
  auto loaded = LoadDataset(Options("mnist", ""));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(loaded.status()),
              AllOf(HasSubstr("mnist has no default directory"),
                    HasSubstr("--data_dir")));
}

TEST(LoadDatasetTest, MissingDirectory) {
  const std::string dir = MakeTestDir("load_nodir") + "/does_not_exist";
  auto loaded = LoadDataset(Options("fashion_mnist", dir));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(loaded.status()),
              AllOf(HasSubstr(dir), HasSubstr("expected a directory")));
}

TEST(LoadDatasetTest, MissingTestFilesNameThePath) {
  const std::string dir = MakeTestDir("load_notest");
  WriteIdxDataset(dir, 2, 2, 28, 28, 10, /*gzip=*/true);
  const std::string gone = dir + "/t10k-labels-idx1-ubyte.gz";
  ASSERT_EQ(std::remove(gone.c_str()), 0);
  auto loaded = LoadDataset(Options("fashion_mnist", dir));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(loaded.status()),
              AllOf(HasSubstr(dir + "/t10k-labels-idx1-ubyte"),
                    HasSubstr("expected IDX file")));
}

TEST(LoadDatasetTest, WrongImageSizeForDataset) {
  const std::string dir = MakeTestDir("load_dims");
  WriteIdxDataset(dir, 2, 2, 32, 32, 10, /*gzip=*/false);
  auto loaded = LoadDataset(Options("fashion_mnist", dir));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(loaded.status()),
              AllOf(HasSubstr(dir + "/train-images-idx3-ubyte"),
                    HasSubstr("expected 28x28 images"),
                    HasSubstr("found 32x32")));
}

TEST(LoadDatasetTest, CifarDirectoryGivenForMnist) {
  const std::string dir = MakeTestDir("load_mixup");
  WriteFile(dir + "/test_batch.bin",
            CifarBytes(CifarVariant::kCifar10, {3}, {}), false);
  auto loaded = LoadDataset(Options("mnist", dir));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
}

// The real Fashion-MNIST from the Debian package dataset-fashion-mnist.
TEST(LoadDatasetTest, RealFashionMnistIfInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  struct stat info;
  if (stat(dir.c_str(), &info) != 0) {
    GTEST_SKIP() << dir << " is absent (Debian package dataset-fashion-mnist)";
  }
  LoadOptions options;  // the defaults: fashion_mnist, default dir, pad
  options.resize_mode = ResizeMode::kNone;
  auto loaded = LoadDataset(options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->data_dir, dir);
  EXPECT_EQ(loaded->train.num_images, 60000);
  EXPECT_EQ(loaded->test.num_images, 10000);
  for (const RawDataset* split : {&loaded->train, &loaded->test}) {
    EXPECT_EQ(split->num_classes, 10);
    EXPECT_EQ(split->channels, 1);
    EXPECT_EQ(split->height, 28);
    EXPECT_EQ(split->width, 28);
    // Fashion-MNIST is balanced: 6000 / 1000 of each class.
    for (int64_t count : LabelHistogram(*split)) {
      EXPECT_EQ(count, split->num_images / 10);
    }
  }
  // The registry's mean is the training set's mean pixel.
  uint64_t sum = 0;
  for (uint8_t p : loaded->train.pixels) sum += p;
  const double mean = sum / (255.0 * loaded->train.pixels.size());
  EXPECT_NEAR(mean, loaded->info.mean[0], 5e-4);
}

}  // namespace
}  // namespace nftcim::data
