#include "data/raw_dataset.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

RawDataset Tiny(int64_t n) {
  RawDataset d;
  d.num_images = n;
  d.channels = 1;
  d.height = 2;
  d.width = 2;
  d.num_classes = 3;
  for (int64_t i = 0; i < n * 4; ++i) d.pixels.push_back(static_cast<uint8_t>(i));
  for (int64_t i = 0; i < n; ++i) d.labels.push_back(static_cast<int32_t>(i % 3));
  return d;
}

TEST(RawDatasetTest, IndexingIsNchw) {
  RawDataset d = Tiny(3);
  EXPECT_EQ(d.image_size(), 4);
  EXPECT_EQ(d.image(2)[1], 9);
  d.mutable_image(1)[0] = 200;
  EXPECT_EQ(d.pixels[4], 200);
}

TEST(RawDatasetTest, ValidateAcceptsConsistentDataset) {
  EXPECT_TRUE(ValidateRawDataset(Tiny(5)).ok());
  EXPECT_TRUE(ValidateRawDataset(Tiny(0)).ok());
}

TEST(RawDatasetTest, ValidateRejectsInconsistencies) {
  RawDataset d = Tiny(2);
  d.pixels.pop_back();
  EXPECT_THAT(std::string(ValidateRawDataset(d).message()),
              HasSubstr("expected 8 pixel bytes"));
  d = Tiny(2);
  d.labels.pop_back();
  EXPECT_THAT(std::string(ValidateRawDataset(d).message()),
              HasSubstr("expected 2 labels, found 1"));
  d = Tiny(2);
  d.labels[1] = 3;
  EXPECT_THAT(std::string(ValidateRawDataset(d).message()),
              HasSubstr("label 3 of image 1 is outside [0, 3)"));
  d = Tiny(2);
  d.width = 0;
  EXPECT_FALSE(ValidateRawDataset(d).ok());
  d = Tiny(2);
  d.num_classes = 0;
  EXPECT_FALSE(ValidateRawDataset(d).ok());
}

TEST(RawDatasetTest, KeepPrefixClampsAndIgnoresNonPositive) {
  RawDataset d = Tiny(5);
  KeepPrefix(0, &d);
  EXPECT_EQ(d.num_images, 5);
  KeepPrefix(-3, &d);
  EXPECT_EQ(d.num_images, 5);
  KeepPrefix(100, &d);
  EXPECT_EQ(d.num_images, 5);
  KeepPrefix(2, &d);
  EXPECT_EQ(d.num_images, 2);
  EXPECT_EQ(d.pixels.size(), 8u);
  EXPECT_THAT(d.labels, ElementsAre(0, 1));
  EXPECT_TRUE(ValidateRawDataset(d).ok());
}

TEST(RawDatasetTest, AppendJoinsAndChecksShape) {
  RawDataset a = Tiny(2);
  ASSERT_TRUE(AppendRawDataset(Tiny(3), &a).ok());
  EXPECT_EQ(a.num_images, 5);
  EXPECT_TRUE(ValidateRawDataset(a).ok());
  RawDataset other = Tiny(1);
  other.height = 3;
  other.pixels.resize(6);
  EXPECT_THAT(std::string(AppendRawDataset(other, &a).message()),
              HasSubstr("expected images of 1x2x2"));
}

TEST(RawDatasetTest, LabelHistogram) {
  EXPECT_THAT(LabelHistogram(Tiny(7)), ElementsAre(3, 2, 2));
}

TEST(RawDatasetTest, SplitNames) {
  EXPECT_STREQ(SplitName(Split::kTrain), "train");
  EXPECT_STREQ(SplitName(Split::kTest), "test");
}

}  // namespace
}  // namespace nftcim::data
