#ifndef NFTCIM_DATA_REGISTRY_H_
#define NFTCIM_DATA_REGISTRY_H_

// The datasets this project knows by name, and what a consumer must know
// about each: where it usually lives, its shape, its class count, the
// per-channel normalisation and whether training augmentation applies.
//
// Normalisation statistics are the widely published per-channel mean and
// standard deviation of each training set on the [0, 1] scale (pixel / 255).
// They are exposed, not just used, because the integer emulator folds them
// into its first layer's fixed-point arithmetic.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nftcim::data {

enum class DatasetFormat { kIdx, kCifar10, kCifar100 };

struct DatasetInfo {
  std::string name;         // as written on the command line
  std::string description;  // one line, for --help and inspect
  // Where the files are found when no directory is given; empty when no
  // standard location exists (the loader then asks for one).
  std::string default_dir;
  DatasetFormat format;
  int32_t channels;
  int32_t native_height;
  int32_t native_width;
  int32_t num_classes;
  std::vector<double> mean;    // one per channel, [0, 1] scale
  std::vector<double> stddev;  // one per channel, [0, 1] scale, > 0
  // Random crop (4-pixel zero padding) and horizontal flip when training.
  // Only for CIFAR: flipping digits or clothing silhouettes and shifting the
  // already-centred MNIST digits is not the standard recipe for them.
  bool train_augmentation;
};

inline constexpr char kDefaultDatasetName[] = "fashion_mnist";

// Every known dataset, in a fixed order (fashion_mnist, mnist, cifar10,
// cifar100).
const std::vector<DatasetInfo>& KnownDatasets();

// "fashion_mnist, mnist, cifar10, cifar100".
std::string KnownDatasetNames();

// The entry named exactly `name`; NotFound listing the known names
// otherwise. The pointer is to static storage and never dangles.
absl::StatusOr<const DatasetInfo*> FindDataset(absl::string_view name);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_REGISTRY_H_
