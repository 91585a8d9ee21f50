#include "data/idx_reader.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "data/byte_source.h"

namespace nftcim::data {
namespace {

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Names the likely mix-up when a file has the other IDX magic.
std::string MagicHint(uint32_t found) {
  if (found == kIdxImagesMagic) return " (an IDX image file?)";
  if (found == kIdxLabelsMagic) return " (an IDX label file?)";
  if ((found >> 16) == 0x1f8b) return " (gzip data: compressed twice?)";
  if ((found & 0xffff0000u) == 0 && ((found >> 8) & 0xff) != 0x08) {
    return " (IDX, but not of unsigned bytes)";
  }
  return "";
}

// Reads the magic and `num_dims` dimension sizes.
absl::StatusOr<std::vector<uint32_t>> ReadIdxHeader(ByteSource& src,
                                                    uint32_t expected_magic,
                                                    const char* kind) {
  uint8_t magic_bytes[4];
  absl::Status status = src.ReadExactly(magic_bytes, 4, "IDX magic number");
  if (!status.ok()) return status;
  const uint32_t magic = BigEndian32(magic_bytes);
  if (magic != expected_magic) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected IDX %s magic number 0x%08x, found 0x%08x%s", src.path(),
        kind, expected_magic, magic, MagicHint(magic)));
  }
  const size_t num_dims = magic & 0xff;
  std::vector<uint8_t> raw(4 * num_dims);
  status = src.ReadExactly(raw.data(), raw.size(), "IDX header");
  if (!status.ok()) return status;
  std::vector<uint32_t> dims(num_dims);
  for (size_t i = 0; i < num_dims; ++i) dims[i] = BigEndian32(&raw[4 * i]);
  return dims;
}

}  // namespace

absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path) {
  absl::StatusOr<std::unique_ptr<ByteSource>> opened = ByteSource::Open(path);
  if (!opened.ok()) return opened.status();
  ByteSource& src = **opened;
  absl::StatusOr<std::vector<uint32_t>> dims =
      ReadIdxHeader(src, kIdxImagesMagic, "image");
  if (!dims.ok()) return dims.status();
  const uint32_t count = (*dims)[0], rows = (*dims)[1], cols = (*dims)[2];
  if (rows == 0 || cols == 0 || rows > kIdxMaxSide || cols > kIdxMaxSide) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected image rows and columns in [1, %d], found %dx%d", path,
        kIdxMaxSide, rows, cols));
  }
  // At most 2^32 * 2^30 bytes: no overflow in 64 bits.
  const uint64_t payload = uint64_t{count} * rows * cols;
  IdxImages images;
  absl::Status status = src.AppendExactly(
      payload,
      absl::StrFormat("image data (header declares %d images of %dx%d)", count,
                      rows, cols),
      &images.pixels);
  if (!status.ok()) return status;
  status = src.ExpectEnd(absl::StrFormat("%d images declared in the header",
                                         count));
  if (!status.ok()) return status;
  images.count = count;
  images.rows = static_cast<int32_t>(rows);
  images.cols = static_cast<int32_t>(cols);
  return images;
}

absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path) {
  absl::StatusOr<std::unique_ptr<ByteSource>> opened = ByteSource::Open(path);
  if (!opened.ok()) return opened.status();
  ByteSource& src = **opened;
  absl::StatusOr<std::vector<uint32_t>> dims =
      ReadIdxHeader(src, kIdxLabelsMagic, "label");
  if (!dims.ok()) return dims.status();
  const uint32_t count = (*dims)[0];
  std::vector<uint8_t> labels;
  absl::Status status = src.AppendExactly(
      count,
      absl::StrFormat("label data (header declares %d labels)", count),
      &labels);
  if (!status.ok()) return status;
  status = src.ExpectEnd(absl::StrFormat("%d labels declared in the header",
                                         count));
  if (!status.ok()) return status;
  return labels;
}

absl::StatusOr<RawDataset> ReadIdxPair(const std::string& images_path,
                                       const std::string& labels_path,
                                       const IdxExpectation& expect) {
  absl::StatusOr<IdxImages> images = ReadIdxImages(images_path);
  if (!images.ok()) return images.status();
  if (images->rows != expect.rows || images->cols != expect.cols) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected %dx%d images (rows x cols), found %dx%d", images_path,
        expect.rows, expect.cols, images->rows, images->cols));
  }
  absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels(labels_path);
  if (!labels.ok()) return labels.status();
  if (static_cast<int64_t>(labels->size()) != images->count) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected as many labels as %s has images (%d), found %d labels",
        labels_path, images_path, images->count, labels->size()));
  }
  RawDataset dataset;
  dataset.labels.resize(labels->size());
  for (size_t i = 0; i < labels->size(); ++i) {
    const int32_t label = (*labels)[i];
    if (label >= expect.num_classes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected labels in [0, %d), found %d at index %d", labels_path,
          expect.num_classes, label, i));
    }
    dataset.labels[i] = label;
  }
  dataset.num_images = images->count;
  dataset.channels = 1;
  dataset.height = images->rows;
  dataset.width = images->cols;
  dataset.num_classes = expect.num_classes;
  dataset.pixels = std::move(images->pixels);
  absl::Status status = ValidateRawDataset(dataset);
  if (!status.ok()) return status;
  return dataset;
}

std::string IdxImagesFileName(Split split) {
  return split == Split::kTrain ? "train-images-idx3-ubyte"
                                : "t10k-images-idx3-ubyte";
}

std::string IdxLabelsFileName(Split split) {
  return split == Split::kTrain ? "train-labels-idx1-ubyte"
                                : "t10k-labels-idx1-ubyte";
}

absl::StatusOr<std::string> FindIdxFile(const std::string& dir,
                                        const std::string& base_name) {
  std::vector<std::string> names = {base_name, base_name + ".gz"};
  const size_t idx_pos = base_name.rfind("-idx");
  if (idx_pos != std::string::npos) {
    std::string dotted = base_name;
    dotted[idx_pos] = '.';
    names.push_back(dotted);
    names.push_back(dotted + ".gz");
  }
  std::vector<std::string> tried;
  for (const std::string& name : names) {
    std::string path = JoinPath(dir, name);
    if (IsRegularFile(path)) return path;
    tried.push_back(std::move(path));
  }
  return absl::NotFoundError(
      absl::StrFormat("%s: expected IDX file %s (or .gz), found none; tried: %s",
                      JoinPath(dir, base_name), base_name,
                      absl::StrJoin(tried, ", ")));
}

absl::StatusOr<RawDataset> ReadIdxSplit(const std::string& dir, Split split,
                                        const IdxExpectation& expect) {
  absl::StatusOr<std::string> images = FindIdxFile(dir, IdxImagesFileName(split));
  if (!images.ok()) return images.status();
  absl::StatusOr<std::string> labels = FindIdxFile(dir, IdxLabelsFileName(split));
  if (!labels.ok()) return labels.status();
  return ReadIdxPair(*images, *labels, expect);
}

}  // namespace nftcim::data
