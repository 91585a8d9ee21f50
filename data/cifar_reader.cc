#include "data/cifar_reader.h"

#include <cstring>
#include <memory>

#include "absl/strings/str_format.h"
#include "data/byte_source.h"

namespace nftcim::data {
namespace {

constexpr int32_t kCifar100CoarseClasses = 20;

}  // namespace

int32_t CifarNumClasses(CifarVariant variant) {
  return variant == CifarVariant::kCifar10 ? 10 : 100;
}

int64_t CifarRecordBytes(CifarVariant variant) {
  return (variant == CifarVariant::kCifar10 ? 1 : 2) + kCifarPixelBytes;
}

const char* CifarSubdirName(CifarVariant variant) {
  return variant == CifarVariant::kCifar10 ? "cifar-10-batches-bin"
                                           : "cifar-100-binary";
}

absl::StatusOr<RawDataset> ReadCifarFile(const std::string& path,
                                         CifarVariant variant) {
  absl::StatusOr<std::unique_ptr<ByteSource>> opened = ByteSource::Open(path);
  if (!opened.ok()) return opened.status();
  ByteSource& src = **opened;
  const int64_t record = CifarRecordBytes(variant);
  const char* layout = variant == CifarVariant::kCifar10
                           ? "1 label byte + 3072 pixel bytes"
                           : "coarse and fine label bytes + 3072 pixel bytes";
  // Raw files are checked before reading a byte; gzip ones once decoded.
  if (!src.is_gzip() && src.file_size() % record != 0) {
    return absl::DataLossError(absl::StrFormat(
        "%s: truncated file: expected a multiple of the %d-byte record (%s), "
        "found %d bytes (%d whole records + %d bytes)",
        path, record, layout, src.file_size(), src.file_size() / record,
        src.file_size() % record));
  }
  std::vector<uint8_t> bytes;
  absl::Status status = src.AppendAll(kCifarMaxFileBytes, &bytes);
  if (!status.ok()) return status;
  if (bytes.size() % record != 0) {
    return absl::DataLossError(absl::StrFormat(
        "%s: truncated file: expected a multiple of the %d-byte record (%s), "
        "found %d decoded bytes (%d whole records + %d bytes)",
        path, record, layout, bytes.size(), bytes.size() / record,
        bytes.size() % record));
  }
  if (bytes.empty()) {
    return absl::DataLossError(absl::StrFormat(
        "%s: expected at least one %d-byte record, found an empty file", path,
        record));
  }
  RawDataset dataset;
  dataset.num_images = static_cast<int64_t>(bytes.size()) / record;
  dataset.channels = kCifarChannels;
  dataset.height = kCifarSide;
  dataset.width = kCifarSide;
  dataset.num_classes = CifarNumClasses(variant);
  dataset.pixels.resize(dataset.num_images * kCifarPixelBytes);
  dataset.labels.resize(dataset.num_images);
  const int64_t label_bytes = record - kCifarPixelBytes;
  for (int64_t i = 0; i < dataset.num_images; ++i) {
    const uint8_t* rec = bytes.data() + i * record;
    if (variant == CifarVariant::kCifar100 &&
        rec[0] >= kCifar100CoarseClasses) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected coarse labels in [0, %d), found %d in record %d "
          "(is this a CIFAR-100 file?)",
          path, kCifar100CoarseClasses, rec[0], i));
    }
    const int32_t label = rec[label_bytes - 1];
    if (label >= dataset.num_classes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected labels in [0, %d), found %d in record %d", path,
          dataset.num_classes, label, i));
    }
    dataset.labels[i] = label;
    std::memcpy(dataset.mutable_image(i), rec + label_bytes, kCifarPixelBytes);
  }
  return dataset;
}

absl::StatusOr<RawDataset> ReadCifarFiles(const std::vector<std::string>& paths,
                                          CifarVariant variant) {
  if (paths.empty()) {
    return absl::InvalidArgumentError("ReadCifarFiles: expected at least one "
                                      "file, found none");
  }
  absl::StatusOr<RawDataset> all = ReadCifarFile(paths[0], variant);
  if (!all.ok()) return all.status();
  for (size_t i = 1; i < paths.size(); ++i) {
    absl::StatusOr<RawDataset> more = ReadCifarFile(paths[i], variant);
    if (!more.ok()) return more.status();
    absl::Status status = AppendRawDataset(*more, &*all);
    if (!status.ok()) return status;
  }
  absl::Status status = ValidateRawDataset(*all);
  if (!status.ok()) return status;
  return all;
}

std::vector<std::string> CifarFileNames(CifarVariant variant, Split split) {
  if (variant == CifarVariant::kCifar100) {
    return {split == Split::kTrain ? "train.bin" : "test.bin"};
  }
  if (split == Split::kTest) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i) {
    names.push_back(absl::StrFormat("data_batch_%d.bin", i));
  }
  return names;
}

absl::StatusOr<std::string> FindCifarDir(const std::string& dir,
                                         CifarVariant variant, Split split) {
  const std::string first = CifarFileNames(variant, split).front();
  const std::string nested = JoinPath(dir, CifarSubdirName(variant));
  if (IsRegularFile(JoinPath(nested, first))) return nested;
  if (IsRegularFile(JoinPath(dir, first))) return dir;
  return absl::NotFoundError(absl::StrFormat(
      "%s: expected %s %s file %s, found none; tried %s and %s",
      dir, variant == CifarVariant::kCifar10 ? "CIFAR-10" : "CIFAR-100",
      SplitName(split), first, JoinPath(nested, first), JoinPath(dir, first)));
}

absl::StatusOr<RawDataset> ReadCifarSplit(const std::string& dir,
                                          CifarVariant variant, Split split) {
  absl::StatusOr<std::string> where = FindCifarDir(dir, variant, split);
  if (!where.ok()) return where.status();
  std::vector<std::string> paths;
  for (const std::string& name : CifarFileNames(variant, split)) {
    paths.push_back(JoinPath(*where, name));
  }
  return ReadCifarFiles(paths, variant);
}

}  // namespace nftcim::data
