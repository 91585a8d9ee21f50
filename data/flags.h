#ifndef NFTCIM_DATA_FLAGS_H_
#define NFTCIM_DATA_FLAGS_H_

// Command-line flags choosing and shaping the dataset. Kept apart from the
// loader so that libraries and tests using the loader define no flags.
//
//   --dataset       fashion_mnist (default), mnist, cifar10, cifar100
//   --data_dir      directory of the dataset files (default: the registry's)
//   --train_limit   keep the first N training images (0 = all)
//   --test_limit    keep the first N test images (0 = all)
//   --resize_mode   pad (default), resize or none: how 28x28 images reach
//                   32x32

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "data/dataset.h"

ABSL_DECLARE_FLAG(std::string, dataset);
ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(int64_t, train_limit);
ABSL_DECLARE_FLAG(int64_t, test_limit);
ABSL_DECLARE_FLAG(std::string, resize_mode);

namespace nftcim::data {

// LoadOptions from the flags' current values. Fails on an unknown dataset
// or resize mode, so a typo is reported before any file is read.
absl::StatusOr<LoadOptions> LoadOptionsFromFlags();

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_FLAGS_H_
