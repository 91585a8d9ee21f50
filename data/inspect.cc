// Prints what the data flags load: counts, shapes, label histogram, pixel
// statistics, and a first batch. Doubles as a smoke test of the flags.
//
//   bazel run //data:inspect -- --dataset=fashion_mnist
//   bazel run //data:inspect -- --dataset=cifar10 --data_dir=/path/to/cifar

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "data/batching.h"
#include "data/dataset.h"
#include "data/flags.h"
#include "data/normalize.h"
#include "data/raw_dataset.h"

ABSL_FLAG(int32_t, batch_size, 8, "Size of the sample batch printed.");
ABSL_FLAG(uint64_t, seed, 0, "Shuffle seed of the sample batch.");

namespace nftcim::data {
namespace {

void PrintSplit(const char* name, const RawDataset& d, const DatasetInfo& info,
                const Normalizer& normalizer) {
  absl::PrintF("%s: %d images, %dx%dx%d (CxHxW), %d classes\n", name,
               d.num_images, d.channels, d.height, d.width, d.num_classes);
  const std::vector<int64_t> histogram = LabelHistogram(d);
  absl::PrintF("  labels: %s\n", absl::StrJoin(histogram, " "));
  const int64_t plane = int64_t{d.height} * d.width;
  for (int32_t c = 0; c < d.channels; ++c) {
    // Sums of pixel and pixel^2, exact in 64 bits for any real dataset.
    uint64_t sum = 0, sum_sq = 0;
    double norm_sum = 0;
    for (int64_t i = 0; i < d.num_images; ++i) {
      const uint8_t* p = d.image(i) + c * plane;
      for (int64_t j = 0; j < plane; ++j) {
        sum += p[j];
        sum_sq += uint64_t{p[j]} * p[j];
        norm_sum += normalizer.Value(c, p[j]);
      }
    }
    const double count = static_cast<double>(d.num_images) * plane;
    const double mean = count > 0 ? sum / count : 0;
    const double var = count > 0 ? sum_sq / count - mean * mean : 0;
    // Measured on the loaded images: padding adds zeros, so with
    // --resize_mode=pad these sit below the registry's native statistics.
    absl::PrintF(
        "  channel %d: mean pixel %.3f (%.4f on [0,1], registry %.4f), "
        "std %.4f on [0,1] (registry %.4f), mean normalised %.4f\n",
        c, mean, mean / 255, info.mean[c], var > 0 ? std::sqrt(var) / 255 : 0,
        info.stddev[c], count > 0 ? norm_sum / count : 0);
  }
}

int Main() {
  absl::StatusOr<LoadOptions> options = LoadOptionsFromFlags();
  if (!options.ok()) {
    absl::FPrintF(stderr, "error: %s\n", options.status().ToString());
    return 1;
  }
  absl::StatusOr<LoadedDataset> loaded = LoadDataset(*options);
  if (!loaded.ok()) {
    absl::FPrintF(stderr, "error: %s\n", loaded.status().ToString());
    return 1;
  }
  const DatasetInfo& info = loaded->info;
  absl::PrintF("dataset %s from %s (%s)\n", info.name, loaded->data_dir,
               info.description);
  absl::PrintF("geometry: native %dx%d, resize_mode %s; augmentation for "
               "training: %s\n",
               info.native_height, info.native_width,
               ResizeModeName(loaded->resize_mode),
               info.train_augmentation ? "crop+flip" : "none");
  absl::StatusOr<Normalizer> normalizer =
      Normalizer::Create(info.mean, info.stddev);
  if (!normalizer.ok()) {
    absl::FPrintF(stderr, "error: %s\n", normalizer.status().ToString());
    return 1;
  }
  PrintSplit("train", loaded->train, info, *normalizer);
  PrintSplit("test", loaded->test, info, *normalizer);

  BatchOptions batch_options;
  batch_options.batch_size = absl::GetFlag(FLAGS_batch_size);
  batch_options.seed = absl::GetFlag(FLAGS_seed);
  batch_options.augment = info.train_augmentation;
  absl::StatusOr<BatchIterator> batches =
      BatchIterator::Create(&loaded->train, *normalizer, batch_options, 0);
  if (!batches.ok()) {
    absl::FPrintF(stderr, "error: %s\n", batches.status().ToString());
    return 1;
  }
  absl::PrintF("train epoch 0: %d batches of %d\n", batches->num_batches(),
               batch_options.batch_size);
  Batch first;
  if (batches->Next(&first)) {
    absl::PrintF("  batch 0: %dx%dx%dx%d, indices %s, labels %s\n", first.n,
                 first.c, first.h, first.w, absl::StrJoin(first.indices, " "),
                 absl::StrJoin(first.labels, " "));
  }
  return 0;
}

}  // namespace
}  // namespace nftcim::data

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Loads a dataset with the data flags and prints counts, shapes, label "
      "histograms and pixel statistics.\nUsage: inspect --dataset=NAME "
      "[--data_dir=DIR] [--train_limit=N] [--test_limit=N] "
      "[--resize_mode=pad|resize|none]");
  absl::ParseCommandLine(argc, argv);
  return nftcim::data::Main();
}
