#include "data/flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Restores the flags' defaults after each test.
class FlagsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::SetFlag(&FLAGS_dataset, "fashion_mnist");
    absl::SetFlag(&FLAGS_data_dir, "");
    absl::SetFlag(&FLAGS_train_limit, 0);
    absl::SetFlag(&FLAGS_test_limit, 0);
    absl::SetFlag(&FLAGS_resize_mode, "pad");
  }
};

TEST_F(FlagsTest, Defaults) {
  auto options = LoadOptionsFromFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->dataset, "fashion_mnist");
  EXPECT_EQ(options->data_dir, "");
  EXPECT_EQ(options->train_limit, 0);
  EXPECT_EQ(options->test_limit, 0);
  EXPECT_EQ(options->resize_mode, ResizeMode::kPad);
  EXPECT_EQ(options->target_height, 32);
  EXPECT_EQ(options->target_width, 32);
}

TEST_F(FlagsTest, ValuesAreCarriedOver) {
  absl::SetFlag(&FLAGS_dataset, "cifar100");
  absl::SetFlag(&FLAGS_data_dir, "/data/c100");
  absl::SetFlag(&FLAGS_train_limit, 500);
  absl::SetFlag(&FLAGS_test_limit, 100);
  absl::SetFlag(&FLAGS_resize_mode, "resize");
  auto options = LoadOptionsFromFlags();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->dataset, "cifar100");
  EXPECT_EQ(options->data_dir, "/data/c100");
  EXPECT_EQ(options->train_limit, 500);
  EXPECT_EQ(options->test_limit, 100);
  EXPECT_EQ(options->resize_mode, ResizeMode::kResize);
}

TEST_F(FlagsTest, UnknownDatasetNamesTheFlagAndKnownNames) {
  absl::SetFlag(&FLAGS_dataset, "cifar");
  auto options = LoadOptionsFromFlags();
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(options.status().message()),
              AllOf(HasSubstr("--dataset"), HasSubstr("\"cifar\""),
                    HasSubstr("fashion_mnist, mnist, cifar10, cifar100")));
}

TEST_F(FlagsTest, UnknownResizeMode) {
  absl::SetFlag(&FLAGS_resize_mode, "stretch");
  auto options = LoadOptionsFromFlags();
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(options.status().message()),
              AllOf(HasSubstr("--resize_mode"), HasSubstr("\"stretch\""),
                    HasSubstr("none, pad, resize")));
}

}  // namespace
}  // namespace nftcim::data
