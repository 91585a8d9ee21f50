#include "data/flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "data/geometry.h"
#include "data/registry.h"

ABSL_FLAG(std::string, dataset, nftcim::data::kDefaultDatasetName,
          "Dataset to use: fashion_mnist, mnist, cifar10 or cifar100.");
ABSL_FLAG(std::string, data_dir, "",
          "Directory of the dataset files; empty for the dataset's default "
          "(/usr/share/datasets/fashion-mnist for fashion_mnist).");
ABSL_FLAG(int64_t, train_limit, 0,
          "Use only the first N training images; 0 or negative for all. "
          "Larger than the split means all.");
ABSL_FLAG(int64_t, test_limit, 0,
          "Use only the first N test images; 0 or negative for all. Larger "
          "than the split means all.");
ABSL_FLAG(std::string, resize_mode, "pad",
          "How images smaller than 32x32 (MNIST family) reach 32x32: pad "
          "(zeros, 2 pixels each side), resize (integer bilinear) or none.");

namespace nftcim::data {

absl::StatusOr<LoadOptions> LoadOptionsFromFlags() {
  LoadOptions options;
  options.dataset = absl::GetFlag(FLAGS_dataset);
  absl::StatusOr<const DatasetInfo*> info = FindDataset(options.dataset);
  if (!info.ok()) {
    return absl::Status(info.status().code(),
                        absl::StrCat("--dataset: ", info.status().message()));
  }
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.train_limit = absl::GetFlag(FLAGS_train_limit);
  options.test_limit = absl::GetFlag(FLAGS_test_limit);
  absl::StatusOr<ResizeMode> mode =
      ParseResizeMode(absl::GetFlag(FLAGS_resize_mode));
  if (!mode.ok()) {
    return absl::Status(mode.status().code(),
                        absl::StrCat("--resize_mode: ", mode.status().message()));
  }
  options.resize_mode = *mode;
  return options;
}

}  // namespace nftcim::data
