#include "data/registry.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RegistryTest, KnownNamesInOrder) {
  EXPECT_EQ(KnownDatasetNames(), "fashion_mnist, mnist, cifar10, cifar100");
  EXPECT_EQ(std::string(kDefaultDatasetName), "fashion_mnist");
}

TEST(RegistryTest, FashionMnistEntry) {
  auto info = FindDataset("fashion_mnist");
  ASSERT_TRUE(info.ok()) << info.status();
  const DatasetInfo& d = **info;
  EXPECT_EQ(d.name, "fashion_mnist");
  EXPECT_EQ(d.default_dir, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(d.format, DatasetFormat::kIdx);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.native_height, 28);
  EXPECT_EQ(d.native_width, 28);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_THAT(d.mean, ElementsAre(DoubleEq(0.2860)));
  EXPECT_THAT(d.stddev, ElementsAre(DoubleEq(0.3530)));
  EXPECT_FALSE(d.train_augmentation);
}

TEST(RegistryTest, MnistEntry) {
  auto info = FindDataset("mnist");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ((*info)->format, DatasetFormat::kIdx);
  EXPECT_TRUE((*info)->default_dir.empty());
  EXPECT_THAT((*info)->mean, ElementsAre(DoubleEq(0.1307)));
  EXPECT_THAT((*info)->stddev, ElementsAre(DoubleEq(0.3081)));
  EXPECT_FALSE((*info)->train_augmentation);
}

TEST(RegistryTest, CifarEntries) {
  auto c10 = FindDataset("cifar10");
  ASSERT_TRUE(c10.ok());
  EXPECT_EQ((*c10)->format, DatasetFormat::kCifar10);
  EXPECT_EQ((*c10)->channels, 3);
  EXPECT_EQ((*c10)->native_height, 32);
  EXPECT_EQ((*c10)->num_classes, 10);
  EXPECT_THAT((*c10)->mean, ElementsAre(DoubleEq(0.4914), DoubleEq(0.4822),
                                        DoubleEq(0.4465)));
  EXPECT_THAT((*c10)->stddev, ElementsAre(DoubleEq(0.2470), DoubleEq(0.2435),
                                          DoubleEq(0.2616)));
  EXPECT_TRUE((*c10)->train_augmentation);

  auto c100 = FindDataset("cifar100");
  ASSERT_TRUE(c100.ok());
  EXPECT_EQ((*c100)->format, DatasetFormat::kCifar100);
  EXPECT_EQ((*c100)->num_classes, 100);
  EXPECT_THAT((*c100)->mean, ElementsAre(DoubleEq(0.5071), DoubleEq(0.4865),
                                         DoubleEq(0.4409)));
  EXPECT_THAT((*c100)->stddev, ElementsAre(DoubleEq(0.2673), DoubleEq(0.2564),
                                           DoubleEq(0.2762)));
  EXPECT_TRUE((*c100)->train_augmentation);
}

TEST(RegistryTest, EveryEntryIsConsistent) {
  for (const DatasetInfo& d : KnownDatasets()) {
    EXPECT_EQ(d.mean.size(), static_cast<size_t>(d.channels)) << d.name;
    EXPECT_EQ(d.stddev.size(), static_cast<size_t>(d.channels)) << d.name;
    for (double s : d.stddev) EXPECT_GT(s, 0) << d.name;
    EXPECT_FALSE(d.description.empty()) << d.name;
  }
}

TEST(RegistryTest, UnknownNameListsKnownNames) {
  auto info = FindDataset("imagenet");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(info.status().message()),
              HasSubstr("unknown dataset \"imagenet\": expected one of "
                        "fashion_mnist, mnist, cifar10, cifar100"));
}

TEST(RegistryTest, NamesAreExact) {
  EXPECT_FALSE(FindDataset("MNIST").ok());
  EXPECT_FALSE(FindDataset("fashion-mnist").ok());
  EXPECT_FALSE(FindDataset("").ok());
}

}  // namespace
}  // namespace nftcim::data
