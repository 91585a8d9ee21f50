#include "data/registry.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace nftcim::data {

const std::vector<DatasetInfo>& KnownDatasets() {
  // Leaked on purpose: a function-local static with a trivial lifetime story
  // (no destruction-order issues at exit).
  static const std::vector<DatasetInfo>* const kDatasets =
      new std::vector<DatasetInfo>{
          {"fashion_mnist",
           "Fashion-MNIST: 28x28 greyscale clothing, 10 classes, "
           "60000 train / 10000 test (IDX)",
           "/usr/share/datasets/fashion-mnist", DatasetFormat::kIdx, 1, 28,
           28, 10, {0.2860}, {0.3530}, false},
          {"mnist",
           "MNIST: 28x28 greyscale digits, 10 classes, 60000 train / 10000 "
           "test (IDX)",
           "", DatasetFormat::kIdx, 1, 28, 28, 10, {0.1307}, {0.3081}, false},
          {"cifar10",
           "CIFAR-10: 32x32 RGB, 10 classes, 50000 train / 10000 test "
           "(binary version)",
           "", DatasetFormat::kCifar10, 3, 32, 32, 10,
           {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}, true},
          {"cifar100",
           "CIFAR-100: 32x32 RGB, 100 fine classes, 50000 train / 10000 "
           "test (binary version)",
           "", DatasetFormat::kCifar100, 3, 32, 32, 100,
           {0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}, true},
      };
  return *kDatasets;
}

std::string KnownDatasetNames() {
  std::vector<std::string> names;
  for (const DatasetInfo& info : KnownDatasets()) names.push_back(info.name);
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<const DatasetInfo*> FindDataset(absl::string_view name) {
  for (const DatasetInfo& info : KnownDatasets()) {
    if (info.name == name) return &info;
  }
  return absl::NotFoundError(absl::StrFormat(
      "unknown dataset \"%s\": expected one of %s", name,
      KnownDatasetNames()));
}

}  // namespace nftcim::data
