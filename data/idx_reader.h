#ifndef NFTCIM_DATA_IDX_READER_H_
#define NFTCIM_DATA_IDX_READER_H_

// Reader for the IDX format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/): a 4-byte big-endian magic number
// 0x000008NN (type 0x08 = unsigned byte, NN = number of dimensions), NN
// big-endian uint32 dimension sizes, then the data in row-major order.
// Files may be gzip-compressed or raw; see byte_source.h for how that is
// detected and for the error codes.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/raw_dataset.h"

namespace nftcim::data {

inline constexpr uint32_t kIdxImagesMagic = 0x00000803;  // uint8, 3 dims
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // uint8, 1 dim
// Rows or columns beyond this are not an image dataset this project reads;
// the limit also keeps every size product far from overflow.
inline constexpr uint32_t kIdxMaxSide = 1u << 15;

struct IdxImages {
  int64_t count = 0;
  int32_t rows = 0;
  int32_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major
};

// Reads an idx3-ubyte image file. The header's sizes are checked against what
// the file can hold before anything is allocated, and the file must end
// exactly where the header says.
absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path);

// Reads an idx1-ubyte label file.
absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path);

// What a dataset requires of its IDX files.
struct IdxExpectation {
  int32_t rows = 28;
  int32_t cols = 28;
  int32_t num_classes = 10;
};

// Reads an image file and its label file into one single-channel RawDataset,
// checking image size, matching counts and label range.
absl::StatusOr<RawDataset> ReadIdxPair(const std::string& images_path,
                                       const std::string& labels_path,
                                       const IdxExpectation& expect);

// File names of the MNIST-family distribution, without ".gz", e.g.
// "train-images-idx3-ubyte" or "t10k-labels-idx1-ubyte".
std::string IdxImagesFileName(Split split);
std::string IdxLabelsFileName(Split split);

// Finds `base_name` in `dir`, trying in order: base_name, base_name + ".gz",
// and the same two with the last '-' before "idx" written as '.' (some
// unpackers produce "train-images.idx3-ubyte"). NotFound lists every path
// tried.
absl::StatusOr<std::string> FindIdxFile(const std::string& dir,
                                        const std::string& base_name);

// Reads one split of an MNIST-style directory.
absl::StatusOr<RawDataset> ReadIdxSplit(const std::string& dir, Split split,
                                        const IdxExpectation& expect);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_IDX_READER_H_
