#ifndef NFTCIM_DATA_TEST_FILES_H_
#define NFTCIM_DATA_TEST_FILES_H_

// Helpers for tests: a fresh scratch directory and writers of small IDX and
// CIFAR files, raw or gzip-compressed.

#include <cstdint>
#include <string>
#include <vector>

#include "data/cifar_reader.h"

namespace nftcim::data::testing {

// A new empty directory under the test's temporary directory, unique per call.
std::string MakeTestDir(const std::string& name);

// Writes `bytes` to `path`, gzip-compressed if `gzip`. Fails the test on error.
void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes,
               bool gzip);

// The bytes of `path` as stored on disk (no decompression); empty if it
// cannot be read.
std::vector<uint8_t> ReadFileBytes(const std::string& path);

// A big-endian 32-bit value.
void AppendBigEndian32(uint32_t value, std::vector<uint8_t>* out);

// An idx3-ubyte file's bytes: header (magic, count, rows, cols) + pixels.
// `pixels` need not match the header, so tests can build broken files.
std::vector<uint8_t> IdxImageBytes(uint32_t count, uint32_t rows,
                                   uint32_t cols,
                                   const std::vector<uint8_t>& pixels,
                                   uint32_t magic = 0x00000803);

// An idx1-ubyte file's bytes: header (magic, count) + labels.
std::vector<uint8_t> IdxLabelBytes(uint32_t count,
                                   const std::vector<uint8_t>& labels,
                                   uint32_t magic = 0x00000801);

// Deterministic pixel pattern: image i, element j -> (i * 31 + j * 7) & 255.
std::vector<uint8_t> PatternPixels(int64_t count, int64_t image_size);

// A CIFAR file's records. For CIFAR-100 the coarse label written is
// fine_label / 5 (always in range).
std::vector<uint8_t> CifarBytes(CifarVariant variant,
                                const std::vector<uint8_t>& labels,
                                const std::vector<uint8_t>& pixels);

// Writes a complete MNIST-style directory (both splits) with `train` and
// `test` images of rows x cols, labels i % num_classes, PatternPixels.
void WriteIdxDataset(const std::string& dir, int32_t train, int32_t test,
                     int32_t rows, int32_t cols, int32_t num_classes,
                     bool gzip);

}  // namespace nftcim::data::testing

#endif  // NFTCIM_DATA_TEST_FILES_H_
