#include "data/cifar_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::nftcim::data::testing::CifarBytes;
using ::nftcim::data::testing::MakeTestDir;
using ::nftcim::data::testing::PatternPixels;
using ::nftcim::data::testing::ReadFileBytes;
using ::nftcim::data::testing::WriteFile;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

TEST(CifarReaderTest, RecordSizesAndNames) {
  EXPECT_EQ(CifarRecordBytes(CifarVariant::kCifar10), 3073);
  EXPECT_EQ(CifarRecordBytes(CifarVariant::kCifar100), 3074);
  EXPECT_EQ(CifarNumClasses(CifarVariant::kCifar10), 10);
  EXPECT_EQ(CifarNumClasses(CifarVariant::kCifar100), 100);
  EXPECT_THAT(CifarFileNames(CifarVariant::kCifar10, Split::kTrain),
              ElementsAre("data_batch_1.bin", "data_batch_2.bin",
                          "data_batch_3.bin", "data_batch_4.bin",
                          "data_batch_5.bin"));
  EXPECT_THAT(CifarFileNames(CifarVariant::kCifar10, Split::kTest),
              ElementsAre("test_batch.bin"));
  EXPECT_THAT(CifarFileNames(CifarVariant::kCifar100, Split::kTrain),
              ElementsAre("train.bin"));
  EXPECT_THAT(CifarFileNames(CifarVariant::kCifar100, Split::kTest),
              ElementsAre("test.bin"));
}

class CifarGzipTest : public ::testing::TestWithParam<bool> {};

TEST_P(CifarGzipTest, ReadsCifar10Records) {
  const std::string path = MakeTestDir("cifar10_read") + "/batch.bin";
  const std::vector<uint8_t> pixels = PatternPixels(3, kCifarPixelBytes);
  WriteFile(path, CifarBytes(CifarVariant::kCifar10, {3, 9, 0}, pixels),
            GetParam());
  auto d = ReadCifarFile(path, CifarVariant::kCifar10);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->num_images, 3);
  EXPECT_EQ(d->channels, 3);
  EXPECT_EQ(d->height, 32);
  EXPECT_EQ(d->width, 32);
  EXPECT_EQ(d->num_classes, 10);
  EXPECT_THAT(d->labels, ElementsAre(3, 9, 0));
  EXPECT_EQ(d->pixels, pixels);
}

TEST_P(CifarGzipTest, ReadsCifar100FineLabels) {
  const std::string path = MakeTestDir("cifar100_read") + "/train.bin";
  const std::vector<uint8_t> pixels = PatternPixels(2, kCifarPixelBytes);
  WriteFile(path, CifarBytes(CifarVariant::kCifar100, {99, 42}, pixels),
            GetParam());
  auto d = ReadCifarFile(path, CifarVariant::kCifar100);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->num_classes, 100);
  EXPECT_THAT(d->labels, ElementsAre(99, 42));
  EXPECT_EQ(d->pixels, pixels);
}

TEST_P(CifarGzipTest, TruncatedRecord) {
  const std::string path = MakeTestDir("cifar_trunc") + "/data_batch_1.bin";
  std::vector<uint8_t> bytes = CifarBytes(CifarVariant::kCifar10, {1, 2}, {});
  bytes.resize(bytes.size() - 100);
  WriteFile(path, bytes, GetParam());
  auto d = ReadCifarFile(path, CifarVariant::kCifar10);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(d.status()),
              AllOf(HasSubstr(path), HasSubstr("truncated"),
                    HasSubstr("expected a multiple of the 3073-byte record"),
                    HasSubstr("found 6046"),
                    HasSubstr("1 whole records + 2973 bytes")));
}

TEST_P(CifarGzipTest, EmptyFile) {
  const std::string path = MakeTestDir("cifar_empty") + "/test_batch.bin";
  WriteFile(path, {}, GetParam());
  auto d = ReadCifarFile(path, CifarVariant::kCifar10);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(d.status()),
              AllOf(HasSubstr(path), HasSubstr("expected at least one"),
                    HasSubstr("found an empty file")));
}

TEST_P(CifarGzipTest, Cifar10LabelOutOfRange) {
  const std::string path = MakeTestDir("cifar_range") + "/data_batch_1.bin";
  WriteFile(path, CifarBytes(CifarVariant::kCifar10, {1, 2, 10}, {}),
            GetParam());
  auto d = ReadCifarFile(path, CifarVariant::kCifar10);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(d.status()),
              AllOf(HasSubstr(path), HasSubstr("expected labels in [0, 10)"),
                    HasSubstr("found 10 in record 2")));
}

TEST_P(CifarGzipTest, Cifar100FineLabelOutOfRange) {
  const std::string path = MakeTestDir("cifar100_range") + "/train.bin";
  std::vector<uint8_t> bytes =
      CifarBytes(CifarVariant::kCifar100, {5, 7}, {});
  bytes[3074 + 1] = 100;  // fine label of record 1
  WriteFile(path, bytes, GetParam());
  auto d = ReadCifarFile(path, CifarVariant::kCifar100);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(Message(d.status()),
              AllOf(HasSubstr(path), HasSubstr("expected labels in [0, 100)"),
                    HasSubstr("found 100 in record 1")));
}

TEST_P(CifarGzipTest, Cifar100CoarseLabelOutOfRange) {
  const std::string path = MakeTestDir("cifar100_coarse") + "/train.bin";
  std::vector<uint8_t> bytes = CifarBytes(CifarVariant::kCifar100, {5}, {});
  bytes[0] = 20;
  WriteFile(path, bytes, GetParam());
  auto d = ReadCifarFile(path, CifarVariant::kCifar100);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(Message(d.status()),
              AllOf(HasSubstr(path), HasSubstr("expected coarse labels"),
                    HasSubstr("found 20 in record 0")));
}

INSTANTIATE_TEST_SUITE_P(RawAndGzip, CifarGzipTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Gzip" : "Raw";
                         });

// A CIFAR-10 file read as CIFAR-100 almost never divides into 3074-byte
// records; when it does, the coarse label check catches it.
TEST(CifarReaderTest, Cifar10FileReadAsCifar100IsRejected) {
  const std::string path = MakeTestDir("cifar_wrong") + "/train.bin";
  WriteFile(path, CifarBytes(CifarVariant::kCifar10, {1, 2, 3}, {}), false);
  auto d = ReadCifarFile(path, CifarVariant::kCifar100);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(Message(d.status()),
              AllOf(HasSubstr(path), HasSubstr("3074-byte record")));
}

TEST(CifarReaderTest, CorruptGzip) {
  const std::string dir = MakeTestDir("cifar_corrupt");
  WriteFile(dir + "/ok.gz",
            CifarBytes(CifarVariant::kCifar10, {1, 2},
                       PatternPixels(2, kCifarPixelBytes)),
            true);
  std::vector<uint8_t> gz = ReadFileBytes(dir + "/ok.gz");
  for (size_t i = 15; i < gz.size() - 10; i += 3) gz[i] ^= 0xff;
  const std::string path = dir + "/test_batch.bin";
  WriteFile(path, gz, false);
  auto d = ReadCifarFile(path, CifarVariant::kCifar10);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(d.status()),
              AllOf(HasSubstr(path), HasSubstr("corrupt gzip")));
}

void WriteCifar10Dir(const std::string& dir, int per_batch) {
  for (int b = 1; b <= 5; ++b) {
    std::vector<uint8_t> labels(per_batch, static_cast<uint8_t>(b));
    WriteFile(dir + "/data_batch_" + std::to_string(b) + ".bin",
              CifarBytes(CifarVariant::kCifar10, labels,
                         PatternPixels(per_batch, kCifarPixelBytes)),
              false);
  }
  WriteFile(dir + "/test_batch.bin",
            CifarBytes(CifarVariant::kCifar10, {0, 0, 0}, {}), false);
}

TEST(CifarSplitTest, Cifar10InArchiveSubfolderConcatenatesBatchesInOrder) {
  const std::string dir = MakeTestDir("cifar10_dir");
  const std::string sub = dir + "/cifar-10-batches-bin";
  ASSERT_TRUE(mkdir(sub.c_str(), 0755) == 0 || errno == EEXIST);
  WriteCifar10Dir(sub, 2);
  auto where = FindCifarDir(dir, CifarVariant::kCifar10, Split::kTrain);
  ASSERT_TRUE(where.ok()) << where.status();
  EXPECT_EQ(*where, sub);
  auto train = ReadCifarSplit(dir, CifarVariant::kCifar10, Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->num_images, 10);
  EXPECT_THAT(train->labels, ElementsAre(1, 1, 2, 2, 3, 3, 4, 4, 5, 5));
  auto test = ReadCifarSplit(dir, CifarVariant::kCifar10, Split::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->num_images, 3);
}

TEST(CifarSplitTest, Cifar10DirectlyInDirectory) {
  const std::string dir = MakeTestDir("cifar10_flat");
  WriteCifar10Dir(dir, 1);
  auto train = ReadCifarSplit(dir, CifarVariant::kCifar10, Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->num_images, 5);
}

TEST(CifarSplitTest, Cifar100InArchiveSubfolder) {
  const std::string dir = MakeTestDir("cifar100_dir");
  const std::string sub = dir + "/cifar-100-binary";
  ASSERT_TRUE(mkdir(sub.c_str(), 0755) == 0 || errno == EEXIST);
  WriteFile(sub + "/train.bin",
            CifarBytes(CifarVariant::kCifar100, {10, 20, 30}, {}), false);
  WriteFile(sub + "/test.bin", CifarBytes(CifarVariant::kCifar100, {99}, {}),
            true);
  auto train = ReadCifarSplit(dir, CifarVariant::kCifar100, Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_THAT(train->labels, ElementsAre(10, 20, 30));
  auto test = ReadCifarSplit(dir, CifarVariant::kCifar100, Split::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_THAT(test->labels, ElementsAre(99));
}

TEST(CifarSplitTest, MissingDirectoryContentsListsPathsTried) {
  const std::string dir = MakeTestDir("cifar_none");
  auto train = ReadCifarSplit(dir, CifarVariant::kCifar10, Split::kTrain);
  ASSERT_FALSE(train.ok());
  EXPECT_EQ(train.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(train.status()),
              AllOf(HasSubstr("expected CIFAR-10 train file data_batch_1.bin"),
                    HasSubstr(dir + "/cifar-10-batches-bin/data_batch_1.bin"),
                    HasSubstr(dir + "/data_batch_1.bin")));
}

TEST(CifarSplitTest, MissingLaterBatchNamesIt) {
  const std::string dir = MakeTestDir("cifar_missing_batch");
  WriteCifar10Dir(dir, 1);
  const std::string gone = dir + "/data_batch_4.bin";
  ASSERT_EQ(std::remove(gone.c_str()), 0);
  auto train = ReadCifarSplit(dir, CifarVariant::kCifar10, Split::kTrain);
  ASSERT_FALSE(train.ok());
  EXPECT_EQ(train.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(train.status()), HasSubstr(gone));
}

}  // namespace
}  // namespace nftcim::data
