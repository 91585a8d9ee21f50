#include "data/idx_reader.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::nftcim::data::testing::IdxImageBytes;
using ::nftcim::data::testing::IdxLabelBytes;
using ::nftcim::data::testing::MakeTestDir;
using ::nftcim::data::testing::PatternPixels;
using ::nftcim::data::testing::ReadFileBytes;
using ::nftcim::data::testing::WriteFile;
using ::nftcim::data::testing::WriteIdxDataset;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

// Every reading test runs on raw and on gzip files.
class IdxReaderTest : public ::testing::TestWithParam<bool> {
 protected:
  bool gzip() const { return GetParam(); }
  std::string Path(const std::string& dir, const std::string& name) const {
    return dir + "/" + name + (gzip() ? ".gz" : "");
  }
};

TEST_P(IdxReaderTest, ReadsImagesAndLabels) {
  const std::string dir = MakeTestDir("idx_read");
  const std::vector<uint8_t> pixels = PatternPixels(3, 4 * 5);
  WriteFile(Path(dir, "img"), IdxImageBytes(3, 4, 5, pixels), gzip());
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(3, {2, 0, 9}), gzip());

  auto images = ReadIdxImages(Path(dir, "img"));
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->count, 3);
  EXPECT_EQ(images->rows, 4);
  EXPECT_EQ(images->cols, 5);
  EXPECT_EQ(images->pixels, pixels);

  auto labels = ReadIdxLabels(Path(dir, "lbl"));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(2, 0, 9));

  auto pair = ReadIdxPair(Path(dir, "img"), Path(dir, "lbl"),
                          IdxExpectation{4, 5, 10});
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->num_images, 3);
  EXPECT_EQ(pair->channels, 1);
  EXPECT_EQ(pair->height, 4);
  EXPECT_EQ(pair->width, 5);
  EXPECT_EQ(pair->num_classes, 10);
  EXPECT_EQ(pair->pixels, pixels);
  EXPECT_THAT(pair->labels, ElementsAre(2, 0, 9));
}

TEST_P(IdxReaderTest, EmptyButWellFormedFilesReadAsZeroImages) {
  const std::string dir = MakeTestDir("idx_empty");
  WriteFile(Path(dir, "img"), IdxImageBytes(0, 28, 28, {}), gzip());
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(0, {}), gzip());
  auto pair = ReadIdxPair(Path(dir, "img"), Path(dir, "lbl"), {});
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->num_images, 0);
}

TEST_P(IdxReaderTest, WrongImageMagic) {
  const std::string dir = MakeTestDir("idx_magic");
  // A label file where an image file belongs: the classic mix-up.
  WriteFile(Path(dir, "img"), IdxLabelBytes(2, {1, 2}), gzip());
  auto images = ReadIdxImages(Path(dir, "img"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(images.status()),
              AllOf(HasSubstr(Path(dir, "img")), HasSubstr("0x00000803"),
                    HasSubstr("found 0x00000801"),
                    HasSubstr("an IDX label file?")));
}

TEST_P(IdxReaderTest, WrongLabelMagic) {
  const std::string dir = MakeTestDir("idx_lmagic");
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(2, {1, 2}, 0x12345678), gzip());
  auto labels = ReadIdxLabels(Path(dir, "lbl"));
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(labels.status()),
              AllOf(HasSubstr(Path(dir, "lbl")),
                    HasSubstr("expected IDX label magic number 0x00000801"),
                    HasSubstr("found 0x12345678")));
}

TEST_P(IdxReaderTest, TruncatedHeader) {
  const std::string dir = MakeTestDir("idx_header");
  std::vector<uint8_t> bytes = IdxImageBytes(2, 28, 28, {});
  bytes.resize(10);  // magic + 6 of the 12 dimension bytes
  WriteFile(Path(dir, "img"), bytes, gzip());
  auto images = ReadIdxImages(Path(dir, "img"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(images.status()),
              AllOf(HasSubstr(Path(dir, "img")),
                    HasSubstr("truncated IDX header"),
                    HasSubstr("expected 12 bytes, found 6")));
}

TEST_P(IdxReaderTest, FileShorterThanMagic) {
  const std::string dir = MakeTestDir("idx_tiny");
  WriteFile(Path(dir, "lbl"), {0, 0}, gzip());
  auto labels = ReadIdxLabels(Path(dir, "lbl"));
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(labels.status()),
              AllOf(HasSubstr(Path(dir, "lbl")),
                    HasSubstr("truncated IDX magic number"),
                    HasSubstr("expected 4 bytes, found 2")));
}

TEST_P(IdxReaderTest, TruncatedImagePayload) {
  const std::string dir = MakeTestDir("idx_payload");
  // Header says 3 images of 4x4 (48 bytes); only 40 follow.
  WriteFile(Path(dir, "img"), IdxImageBytes(3, 4, 4, PatternPixels(1, 40)),
            gzip());
  auto images = ReadIdxImages(Path(dir, "img"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(images.status()),
              AllOf(HasSubstr(Path(dir, "img")), HasSubstr("truncated"),
                    HasSubstr("3 images of 4x4"),
                    HasSubstr("expected 48 bytes, found 40")));
}

TEST_P(IdxReaderTest, TruncatedLabelPayload) {
  const std::string dir = MakeTestDir("idx_lpayload");
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(5, {1, 2, 3}), gzip());
  auto labels = ReadIdxLabels(Path(dir, "lbl"));
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(labels.status()),
              AllOf(HasSubstr(Path(dir, "lbl")), HasSubstr("5 labels"),
                    HasSubstr("expected 5 bytes, found 3")));
}

// A header claiming 2^31 images must be caught from the file size, before
// allocating ~1.6 TB (which would abort the test binary).
TEST_P(IdxReaderTest, HugeHeaderCountIsRejectedWithoutAllocating) {
  const std::string dir = MakeTestDir("idx_huge");
  WriteFile(Path(dir, "img"),
            IdxImageBytes(uint32_t{1} << 31, 28, 28, PatternPixels(2, 784)),
            gzip());
  auto images = ReadIdxImages(Path(dir, "img"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(images.status()),
              AllOf(HasSubstr(Path(dir, "img")),
                    HasSubstr("2147483648 images of 28x28"),
                    HasSubstr("expected 1683627180032 bytes")));
}

TEST_P(IdxReaderTest, TrailingDataIsRejected) {
  const std::string dir = MakeTestDir("idx_trailing");
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(2, {1, 2, 3, 4}), gzip());
  auto labels = ReadIdxLabels(Path(dir, "lbl"));
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(labels.status()),
              AllOf(HasSubstr(Path(dir, "lbl")),
                    HasSubstr("expected the"), HasSubstr("to end after"),
                    HasSubstr("2 labels declared")));
}

TEST_P(IdxReaderTest, ZeroSizedImagesAreRejected) {
  const std::string dir = MakeTestDir("idx_zero");
  WriteFile(Path(dir, "img"), IdxImageBytes(5, 0, 28, {}), gzip());
  auto images = ReadIdxImages(Path(dir, "img"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(images.status()),
              AllOf(HasSubstr(Path(dir, "img")),
                    HasSubstr("expected image rows and columns in [1, 32768]"),
                    HasSubstr("found 0x28")));
}

TEST_P(IdxReaderTest, WrongDimensionsForDataset) {
  const std::string dir = MakeTestDir("idx_dims");
  WriteFile(Path(dir, "img"), IdxImageBytes(2, 32, 30, PatternPixels(2, 960)),
            gzip());
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(2, {0, 1}), gzip());
  auto pair = ReadIdxPair(Path(dir, "img"), Path(dir, "lbl"),
                          IdxExpectation{28, 28, 10});
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(pair.status()),
              AllOf(HasSubstr(Path(dir, "img")),
                    HasSubstr("expected 28x28 images"),
                    HasSubstr("found 32x30")));
}

TEST_P(IdxReaderTest, ImageLabelCountMismatch) {
  const std::string dir = MakeTestDir("idx_count");
  WriteFile(Path(dir, "img"), IdxImageBytes(3, 2, 2, PatternPixels(3, 4)),
            gzip());
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(2, {0, 1}), gzip());
  auto pair =
      ReadIdxPair(Path(dir, "img"), Path(dir, "lbl"), IdxExpectation{2, 2, 10});
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(pair.status()),
              AllOf(HasSubstr(Path(dir, "lbl")), HasSubstr(Path(dir, "img")),
                    HasSubstr("expected as many labels"),
                    HasSubstr("(3), found 2 labels")));
}

TEST_P(IdxReaderTest, LabelOutOfRange) {
  const std::string dir = MakeTestDir("idx_range");
  WriteFile(Path(dir, "img"), IdxImageBytes(3, 2, 2, PatternPixels(3, 4)),
            gzip());
  WriteFile(Path(dir, "lbl"), IdxLabelBytes(3, {0, 10, 1}), gzip());
  auto pair =
      ReadIdxPair(Path(dir, "img"), Path(dir, "lbl"), IdxExpectation{2, 2, 10});
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(pair.status()),
              AllOf(HasSubstr(Path(dir, "lbl")),
                    HasSubstr("expected labels in [0, 10)"),
                    HasSubstr("found 10 at index 1")));
}

TEST_P(IdxReaderTest, MissingFile) {
  const std::string dir = MakeTestDir("idx_missing");
  auto images = ReadIdxImages(Path(dir, "absent"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(images.status()), HasSubstr(Path(dir, "absent")));
}

INSTANTIATE_TEST_SUITE_P(RawAndGzip, IdxReaderTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Gzip" : "Raw";
                         });

TEST(IdxReaderGzipTest, CorruptGzip) {
  const std::string dir = MakeTestDir("idx_corrupt");
  WriteFile(dir + "/good.gz",
            IdxImageBytes(20, 28, 28, PatternPixels(20, 784)), true);
  std::vector<uint8_t> gz = ReadFileBytes(dir + "/good.gz");
  ASSERT_GT(gz.size(), 100u);
  for (size_t i = 20; i < 60; ++i) gz[i] = static_cast<uint8_t>(~gz[i]);
  WriteFile(dir + "/bad.gz", gz, false);
  auto images = ReadIdxImages(dir + "/bad.gz");
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(images.status()),
              AllOf(HasSubstr(dir + "/bad.gz"), HasSubstr("corrupt gzip")));
}

TEST(IdxReaderGzipTest, TruncatedGzipFile) {
  const std::string dir = MakeTestDir("idx_trunc_gz");
  WriteFile(dir + "/good.gz",
            IdxImageBytes(20, 28, 28, PatternPixels(20, 784)), true);
  std::vector<uint8_t> gz = ReadFileBytes(dir + "/good.gz");
  gz.resize(gz.size() * 2 / 3);
  WriteFile(dir + "/cut.gz", gz, false);
  auto images = ReadIdxImages(dir + "/cut.gz");
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(images.status()),
              AllOf(HasSubstr(dir + "/cut.gz"), HasSubstr("truncated")));
}

TEST(IdxReaderGzipTest, DoublyCompressedFileIsNamedAsSuch) {
  const std::string dir = MakeTestDir("idx_double");
  WriteFile(dir + "/once.gz", IdxLabelBytes(2, {1, 2}), true);
  WriteFile(dir + "/twice.gz", ReadFileBytes(dir + "/once.gz"), true);
  auto labels = ReadIdxLabels(dir + "/twice.gz");
  ASSERT_FALSE(labels.ok());
  EXPECT_THAT(Message(labels.status()),
              AllOf(HasSubstr(dir + "/twice.gz"), HasSubstr("found 0x1f8b"),
                    HasSubstr("compressed twice?")));
}

TEST(IdxFileNamesTest, DistributionNames) {
  EXPECT_EQ(IdxImagesFileName(Split::kTrain), "train-images-idx3-ubyte");
  EXPECT_EQ(IdxLabelsFileName(Split::kTrain), "train-labels-idx1-ubyte");
  EXPECT_EQ(IdxImagesFileName(Split::kTest), "t10k-images-idx3-ubyte");
  EXPECT_EQ(IdxLabelsFileName(Split::kTest), "t10k-labels-idx1-ubyte");
}

TEST(FindIdxFileTest, FindsRawGzAndDottedVariants) {
  const std::string dir = MakeTestDir("idx_find");
  WriteFile(dir + "/train-images-idx3-ubyte.gz", {1}, false);
  WriteFile(dir + "/t10k-images.idx3-ubyte", {1}, false);
  auto a = FindIdxFile(dir, "train-images-idx3-ubyte");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, dir + "/train-images-idx3-ubyte.gz");
  auto b = FindIdxFile(dir, "t10k-images-idx3-ubyte");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, dir + "/t10k-images.idx3-ubyte");
  // The uncompressed file wins when both exist.
  WriteFile(dir + "/train-images-idx3-ubyte", {1}, false);
  EXPECT_EQ(*FindIdxFile(dir, "train-images-idx3-ubyte"),
            dir + "/train-images-idx3-ubyte");
}

TEST(FindIdxFileTest, MissingListsEveryPathTried) {
  const std::string dir = MakeTestDir("idx_find_missing");
  auto found = FindIdxFile(dir, "train-labels-idx1-ubyte");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(found.status()),
              AllOf(HasSubstr("expected IDX file train-labels-idx1-ubyte"),
                    HasSubstr(dir + "/train-labels-idx1-ubyte.gz"),
                    HasSubstr(dir + "/train-labels.idx1-ubyte")));
}

TEST(ReadIdxSplitTest, ReadsBothSplitsOfADirectory) {
  const std::string dir = MakeTestDir("idx_split");
  WriteIdxDataset(dir, 7, 4, 28, 28, 10, /*gzip=*/true);
  auto train = ReadIdxSplit(dir, Split::kTrain, {});
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->num_images, 7);
  EXPECT_EQ(train->labels[6], 6);
  auto test = ReadIdxSplit(dir, Split::kTest, {});
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->num_images, 4);
  EXPECT_EQ(test->pixels, PatternPixels(4, 784));
}

}  // namespace
}  // namespace nftcim::data
