#ifndef NFTCIM_DATA_CIFAR_READER_H_
#define NFTCIM_DATA_CIFAR_READER_H_

// Reader for the "binary version" of CIFAR-10 and CIFAR-100
// (https://www.cs.toronto.edu/~kriz/cifar.html). A file is a bare sequence of
// fixed-size records with no header:
//   CIFAR-10:  1 label byte (0..9), then 3072 pixel bytes;
//   CIFAR-100: 1 coarse label byte (0..19), 1 fine label byte (0..99), then
//              3072 pixel bytes.
// The 3072 pixel bytes are the red, green and blue 32x32 planes, each row-
// major: already the CHW layout RawDataset wants. CIFAR-100 is read with its
// fine labels (100 classes); coarse labels are only range-checked, which
// catches a CIFAR-10 file read as CIFAR-100. Files may be gzip-compressed.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/raw_dataset.h"

namespace nftcim::data {

enum class CifarVariant { kCifar10, kCifar100 };

inline constexpr int32_t kCifarSide = 32;
inline constexpr int32_t kCifarChannels = 3;
inline constexpr int64_t kCifarPixelBytes =
    int64_t{kCifarChannels} * kCifarSide * kCifarSide;
// The largest CIFAR file, CIFAR-100's train.bin, is 153.7 MB; anything past
// 256 MiB (say a gzip bomb) is refused rather than read into memory.
inline constexpr uint64_t kCifarMaxFileBytes = uint64_t{1} << 28;

int32_t CifarNumClasses(CifarVariant variant);
// Bytes per record: 3073 for CIFAR-10, 3074 for CIFAR-100.
int64_t CifarRecordBytes(CifarVariant variant);

// Reads every record of one file.
absl::StatusOr<RawDataset> ReadCifarFile(const std::string& path,
                                         CifarVariant variant);

// Reads and concatenates files in the given order.
absl::StatusOr<RawDataset> ReadCifarFiles(const std::vector<std::string>& paths,
                                          CifarVariant variant);

// The distribution's file names for a split: data_batch_1.bin ..
// data_batch_5.bin / test_batch.bin for CIFAR-10, train.bin / test.bin for
// CIFAR-100.
std::vector<std::string> CifarFileNames(CifarVariant variant, Split split);

// The archive's folder name: "cifar-10-batches-bin" or "cifar-100-binary".
const char* CifarSubdirName(CifarVariant variant);

// Where the files of `split` live: `dir`/<archive folder> if that holds the
// split's first file, else `dir` itself if it does. NotFound lists both.
absl::StatusOr<std::string> FindCifarDir(const std::string& dir,
                                         CifarVariant variant, Split split);

// Reads one split from a directory laid out as the archive unpacks.
absl::StatusOr<RawDataset> ReadCifarSplit(const std::string& dir,
                                          CifarVariant variant, Split split);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_CIFAR_READER_H_
