#include "data/normalize.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::HasSubstr;

TEST(NormalizePixelTest, Formula) {
  EXPECT_FLOAT_EQ(NormalizePixel(0, 0.2860, 0.3530), -0.2860f / 0.3530f);
  EXPECT_FLOAT_EQ(NormalizePixel(255, 0.2860, 0.3530),
                  (1.0f - 0.2860f) / 0.3530f);
  EXPECT_FLOAT_EQ(NormalizePixel(51, 0.5, 0.25), (0.2f - 0.5f) / 0.25f);
  // Exactly representable case: bit-exact.
  EXPECT_EQ(NormalizePixel(0, 0.5, 0.5), -1.0f);
}

// The table holds exactly the double formula rounded once to float.
TEST(NormalizerTest, TableIsBitExactDoubleFormula) {
  auto info = FindDataset("cifar10");
  ASSERT_TRUE(info.ok());
  auto n = Normalizer::Create((*info)->mean, (*info)->stddev);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->channels(), 3);
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < 256; ++p) {
      const float want = static_cast<float>(
          (p / 255.0 - (*info)->mean[c]) / (*info)->stddev[c]);
      ASSERT_EQ(n->Value(c, static_cast<uint8_t>(p)), want) << c << " " << p;
    }
  }
}

TEST(NormalizerTest, NormalizeImageUsesPerChannelStatistics) {
  auto n = Normalizer::Create({0.0, 1.0}, {1.0, 0.5});
  ASSERT_TRUE(n.ok());
  const std::vector<uint8_t> image = {0, 255, 51, 255};  // 2 planes of 2
  std::vector<float> out(4);
  n->NormalizeImage(image.data(), 2, out.data());
  EXPECT_FLOAT_EQ(out[0], 0.0f);
  EXPECT_FLOAT_EQ(out[1], 1.0f);
  EXPECT_FLOAT_EQ(out[2], (0.2f - 1.0f) / 0.5f);
  EXPECT_FLOAT_EQ(out[3], 0.0f);
}

TEST(NormalizerTest, FashionMnistKnownValues) {
  auto info = FindDataset("fashion_mnist");
  ASSERT_TRUE(info.ok());
  auto n = Normalizer::Create((*info)->mean, (*info)->stddev);
  ASSERT_TRUE(n.ok());
  EXPECT_NEAR(n->Value(0, 0), -0.810198, 1e-6);
  EXPECT_NEAR(n->Value(0, 255), 2.022663, 1e-6);
}

TEST(NormalizerTest, RejectsBadStatistics) {
  auto mismatch = Normalizer::Create({0.5, 0.5}, {0.2});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(std::string(mismatch.status().message()),
              HasSubstr("found 2 means and 1 stddevs"));
  auto zero = Normalizer::Create({0.5}, {0.0});
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(std::string(zero.status().message()),
              HasSubstr("stddev > 0 for channel 0"));
  EXPECT_FALSE(Normalizer::Create({}, {}).ok());
  EXPECT_FALSE(Normalizer::Create({NAN}, {1.0}).ok());
  EXPECT_FALSE(Normalizer::Create({0.0}, {-1.0}).ok());
}

}  // namespace
}  // namespace nftcim::data
