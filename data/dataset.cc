#include "data/dataset.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/cifar_reader.h"
#include "data/idx_reader.h"

namespace nftcim::data {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

absl::Status WithHint(const absl::Status& status, absl::string_view hint) {
  if (status.ok() || hint.empty()) return status;
  return absl::Status(status.code(), absl::StrCat(status.message(), hint));
}

}  // namespace

absl::StatusOr<RawDataset> ReadSplit(const DatasetInfo& info,
                                     const std::string& dir, Split split) {
  absl::StatusOr<RawDataset> raw;
  switch (info.format) {
    case DatasetFormat::kIdx:
      raw = ReadIdxSplit(dir, split,
                         IdxExpectation{info.native_height, info.native_width,
                                        info.num_classes});
      break;
    case DatasetFormat::kCifar10:
      raw = ReadCifarSplit(dir, CifarVariant::kCifar10, split);
      break;
    case DatasetFormat::kCifar100:
      raw = ReadCifarSplit(dir, CifarVariant::kCifar100, split);
      break;
  }
  if (!raw.ok()) return raw.status();
  // The readers know the file format; the registry knows the dataset.
  // Disagreement means the registry and a reader drifted apart.
  if (raw->channels != info.channels || raw->height != info.native_height ||
      raw->width != info.native_width || raw->num_classes != info.num_classes) {
    return absl::InternalError(absl::StrFormat(
        "%s: expected %s images of %dx%dx%d with %d classes, read %dx%dx%d "
        "with %d classes",
        dir, info.name, info.channels, info.native_height, info.native_width,
        info.num_classes, raw->channels, raw->height, raw->width,
        raw->num_classes));
  }
  return raw;
}

absl::StatusOr<LoadedDataset> LoadDataset(const LoadOptions& options) {
  absl::StatusOr<const DatasetInfo*> info = FindDataset(options.dataset);
  if (!info.ok()) return info.status();
  LoadedDataset loaded;
  loaded.info = **info;
  loaded.resize_mode = options.resize_mode;
  std::string hint;
  if (options.data_dir.empty()) {
    if (loaded.info.default_dir.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "dataset %s has no default directory: expected a data directory "
          "(--data_dir), found none",
          loaded.info.name));
    }
    loaded.data_dir = loaded.info.default_dir;
    hint = absl::StrFormat(
        " [default directory for %s; use --data_dir to read another]",
        loaded.info.name);
  } else {
    loaded.data_dir = options.data_dir;
  }
  if (!IsDirectory(loaded.data_dir)) {
    return WithHint(
        absl::NotFoundError(absl::StrFormat(
            "%s: expected a directory holding the %s files, found none",
            loaded.data_dir, loaded.info.name)),
        hint);
  }

  struct Part {
    Split split;
    int64_t limit;
    RawDataset* out;
  };
  for (const Part& part : {Part{Split::kTrain, options.train_limit,
                                &loaded.train},
                           Part{Split::kTest, options.test_limit,
                                &loaded.test}}) {
    absl::StatusOr<RawDataset> raw =
        ReadSplit(loaded.info, loaded.data_dir, part.split);
    if (!raw.ok()) return WithHint(raw.status(), hint);
    KeepPrefix(part.limit, &*raw);
    absl::StatusOr<RawDataset> shaped =
        ApplyGeometry(std::move(*raw), options.resize_mode,
                      options.target_height, options.target_width);
    if (!shaped.ok()) return shaped.status();
    *part.out = std::move(*shaped);
  }
  return loaded;
}

}  // namespace nftcim::data
