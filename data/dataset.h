#ifndef NFTCIM_DATA_DATASET_H_
#define NFTCIM_DATA_DATASET_H_

// Loading a named dataset: registry lookup, reading both splits, limits and
// geometry, in that order (limits first so that a quick run does not
// resize images it will never use).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "data/geometry.h"
#include "data/raw_dataset.h"
#include "data/registry.h"

namespace nftcim::data {

inline constexpr int32_t kNetworkInputSide = 32;

struct LoadOptions {
  std::string dataset = kDefaultDatasetName;
  // Empty: the registry's default directory for the dataset.
  std::string data_dir;
  // Keep only the first N images of a split; 0 or negative keeps all. A limit
  // larger than the split is clamped to the split rather than rejected, so
  // one command line works for every dataset; the loaded count is in the
  // result for whoever needs to know.
  int64_t train_limit = 0;
  int64_t test_limit = 0;
  // How images whose size differs from target_height x target_width are
  // brought to it (geometry.h). Images of the target size are untouched.
  ResizeMode resize_mode = ResizeMode::kPad;
  int32_t target_height = kNetworkInputSide;
  int32_t target_width = kNetworkInputSide;
};

struct LoadedDataset {
  DatasetInfo info;
  std::string data_dir;  // the directory actually read
  ResizeMode resize_mode = ResizeMode::kPad;
  RawDataset train;
  RawDataset test;
};

// Reads one split, at native size and without limits.
absl::StatusOr<RawDataset> ReadSplit(const DatasetInfo& info,
                                     const std::string& dir, Split split);

// Loads both splits as described by `options`. Errors name the file, and
// when the registry's default directory was used they say how to pick
// another.
absl::StatusOr<LoadedDataset> LoadDataset(const LoadOptions& options);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_DATASET_H_
