#ifndef NFTCIM_DATA_BYTE_SOURCE_H_
#define NFTCIM_DATA_BYTE_SOURCE_H_

// Sequential reading of a dataset file that may or may not be gzip-compressed.
//
// Compression is recognised by the gzip magic bytes 1f 8b at the start of the
// file, never by its name: dataset mirrors routinely ship "*.gz" files that
// were already decompressed by a browser, and vice versa.
//
// Error codes used by all readers in this package:
//   NotFound         the file does not exist or cannot be opened;
//   DataLoss         truncated file or corrupt gzip stream;
//   InvalidArgument  the bytes are intact but are not what was expected
//                    (magic number, dimensions, counts, label range).
// Every message starts with the file path.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nftcim::data {

// Deflate cannot expand one compressed byte into more than 1032 output bytes
// (a 258-byte match coded in 2 bits), so this bounds what a gzip file of a
// given size can possibly decode to. Readers use it to reject absurd header
// sizes before allocating anything.
inline constexpr uint64_t kMaxDeflateExpansion = 1032;

class ByteSource {
 public:
  // Opens `path` and sniffs the first two bytes for the gzip magic.
  static absl::StatusOr<std::unique_ptr<ByteSource>> Open(
      const std::string& path);

  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  const std::string& path() const { return path_; }
  bool is_gzip() const { return gzip_; }
  // Size of the file on disk (compressed size for gzip).
  uint64_t file_size() const { return file_size_; }
  // Decoded bytes delivered so far.
  uint64_t position() const { return position_; }

  // An upper bound on how many more decoded bytes Read can deliver: exact for
  // raw files, file_size * kMaxDeflateExpansion for gzip.
  uint64_t MaxRemaining() const;

  // Reads up to `n` bytes into `dst` and returns how many were read; fewer
  // than `n` only at the end of the data. A corrupt or truncated gzip stream
  // is a DataLoss error, so a short count always means a clean end.
  absl::StatusOr<size_t> Read(uint8_t* dst, size_t n);

  // Reads exactly `n` bytes or fails with DataLoss naming `what` (e.g.
  // "IDX header") and how many bytes were found.
  absl::Status ReadExactly(uint8_t* dst, size_t n, absl::string_view what);

  // Appends exactly `n` bytes to `out`, growing it in bounded steps so that
  // memory follows the data that actually arrives, not the count a header
  // claims. Fails with DataLoss naming `what` if the data ends early.
  absl::Status AppendExactly(uint64_t n, absl::string_view what,
                             std::vector<uint8_t>* out);

  // Appends everything up to the end of the data, failing with
  // InvalidArgument if more than `max_bytes` would be appended.
  absl::Status AppendAll(uint64_t max_bytes, std::vector<uint8_t>* out);

  // Fails with InvalidArgument if any data remains: a file longer than its
  // header says is as suspicious as a shorter one.
  absl::Status ExpectEnd(absl::string_view what);

 private:
  ByteSource(std::string path, std::FILE* file, uint64_t file_size, bool gzip);
  absl::Status InitInflate();
  absl::StatusOr<size_t> ReadGzip(uint8_t* dst, size_t n);

  std::string path_;
  std::FILE* file_;
  uint64_t file_size_;
  bool gzip_;
  uint64_t position_ = 0;

  // zlib state, only for gzip files. Opaque here to keep zlib.h out of the
  // header.
  struct Inflater;
  std::unique_ptr<Inflater> inflater_;
};

// True if `path` names an existing regular file.
bool IsRegularFile(const std::string& path);

// `dir` + "/" + `name`, without doubling a trailing slash; `name` alone if
// `dir` is empty.
std::string JoinPath(const std::string& dir, const std::string& name);

// Convenience: the whole decoded content of `path`, at most `max_bytes`.
absl::StatusOr<std::vector<uint8_t>> ReadWholeFile(const std::string& path,
                                                   uint64_t max_bytes);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_BYTE_SOURCE_H_
