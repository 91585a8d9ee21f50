#include "data/test_files.h"

#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace nftcim::data::testing {

std::string MakeTestDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string base = ::testing::TempDir();
  if (!base.empty() && base.back() != '/') base += '/';
  const std::string dir = absl::StrCat(base, name, "_", counter++);
  // Leftovers from an earlier run of the same binary are overwritten file by
  // file; mkdir failing because the directory exists is fine.
  mkdir(dir.c_str(), 0755);
  return dir;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes,
               bool gzip) {
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr) << path;
    if (!bytes.empty()) {
      ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
                static_cast<int>(bytes.size()))
          << path;
    }
    ASSERT_EQ(gzclose(file), Z_OK) << path;
    return;
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size())
        << path;
  }
  ASSERT_EQ(std::fclose(file), 0) << path;
}

std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::vector<uint8_t> bytes;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return bytes;
  uint8_t buffer[4096];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    bytes.insert(bytes.end(), buffer, buffer + got);
  }
  std::fclose(file);
  return bytes;
}

void AppendBigEndian32(uint32_t value, std::vector<uint8_t>* out) {
  out->push_back(static_cast<uint8_t>(value >> 24));
  out->push_back(static_cast<uint8_t>(value >> 16));
  out->push_back(static_cast<uint8_t>(value >> 8));
  out->push_back(static_cast<uint8_t>(value));
}

std::vector<uint8_t> IdxImageBytes(uint32_t count, uint32_t rows,
                                   uint32_t cols,
                                   const std::vector<uint8_t>& pixels,
                                   uint32_t magic) {
  std::vector<uint8_t> out;
  AppendBigEndian32(magic, &out);
  AppendBigEndian32(count, &out);
  AppendBigEndian32(rows, &out);
  AppendBigEndian32(cols, &out);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<uint8_t> IdxLabelBytes(uint32_t count,
                                   const std::vector<uint8_t>& labels,
                                   uint32_t magic) {
  std::vector<uint8_t> out;
  AppendBigEndian32(magic, &out);
  AppendBigEndian32(count, &out);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

std::vector<uint8_t> PatternPixels(int64_t count, int64_t image_size) {
  std::vector<uint8_t> pixels(static_cast<size_t>(count * image_size));
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t j = 0; j < image_size; ++j) {
      pixels[i * image_size + j] = static_cast<uint8_t>((i * 31 + j * 7) & 255);
    }
  }
  return pixels;
}

std::vector<uint8_t> CifarBytes(CifarVariant variant,
                                const std::vector<uint8_t>& labels,
                                const std::vector<uint8_t>& pixels) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (variant == CifarVariant::kCifar100) out.push_back(labels[i] / 5);
    out.push_back(labels[i]);
    const size_t begin = i * kCifarPixelBytes;
    for (int64_t j = 0; j < kCifarPixelBytes; ++j) {
      out.push_back(begin + j < pixels.size() ? pixels[begin + j] : 0);
    }
  }
  return out;
}

void WriteIdxDataset(const std::string& dir, int32_t train, int32_t test,
                     int32_t rows, int32_t cols, int32_t num_classes,
                     bool gzip) {
  const char* suffix = gzip ? ".gz" : "";
  struct Split {
    const char* prefix;
    int32_t count;
  };
  for (const Split& split : {Split{"train", train}, Split{"t10k", test}}) {
    std::vector<uint8_t> labels(split.count);
    for (int32_t i = 0; i < split.count; ++i) labels[i] = i % num_classes;
    WriteFile(absl::StrCat(dir, "/", split.prefix, "-images-idx3-ubyte", suffix),
              IdxImageBytes(split.count, rows, cols,
                            PatternPixels(split.count, int64_t{rows} * cols)),
              gzip);
    WriteFile(absl::StrCat(dir, "/", split.prefix, "-labels-idx1-ubyte", suffix),
              IdxLabelBytes(split.count, labels), gzip);
  }
}

}  // namespace nftcim::data::testing
