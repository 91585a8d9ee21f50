#include "data/byte_source.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"

namespace nftcim::data {
namespace {

constexpr uint8_t kGzipMagic0 = 0x1f;
constexpr uint8_t kGzipMagic1 = 0x8b;
// Compressed bytes read from disk per refill.
constexpr size_t kInputBufferBytes = size_t{1} << 16;
// Growth step for AppendExactly / AppendAll: large enough to be fast, small
// enough that a lying header costs at most this much before it is caught.
constexpr uint64_t kAppendChunkBytes = uint64_t{1} << 24;
// AppendAll's first read; later reads double up to kAppendChunkBytes.
constexpr uint64_t kFirstAppendAllBytes = uint64_t{1} << 16;
// zlib counts in uInt; stay well inside it.
constexpr size_t kMaxInflateStep = size_t{1} << 30;

std::string Describe(const ByteSource& src) {
  return src.is_gzip()
             ? absl::StrFormat("gzip, %d bytes compressed", src.file_size())
             : absl::StrFormat("%d bytes", src.file_size());
}

}  // namespace

struct ByteSource::Inflater {
  z_stream strm;
  std::vector<uint8_t> input;
  bool initialized = false;
  // True between members: at the start and right after a member's trailer.
  bool between_members = true;
  int members_completed = 0;
  bool finished = false;

  ~Inflater() {
    if (initialized) inflateEnd(&strm);
  }
};

ByteSource::ByteSource(std::string path, std::FILE* file, uint64_t file_size,
                       bool gzip)
    : path_(std::move(path)), file_(file), file_size_(file_size), gzip_(gzip) {}

ByteSource::~ByteSource() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<ByteSource>> ByteSource::Open(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    return absl::NotFoundError(
        absl::StrFormat("%s: expected a readable file, cannot open it: %s",
                        path, std::strerror(err)));
  }
  struct stat info;
  if (fstat(fileno(file), &info) != 0) {
    const int err = errno;
    std::fclose(file);
    return absl::NotFoundError(absl::StrFormat("%s: cannot stat file: %s",
                                               path, std::strerror(err)));
  }
  if (!S_ISREG(info.st_mode)) {
    std::fclose(file);
    return absl::NotFoundError(absl::StrFormat(
        "%s: expected a regular file, found %s", path,
        S_ISDIR(info.st_mode) ? "a directory" : "a special file"));
  }
  uint8_t magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, file);
  const bool gzip = got == 2 && magic[0] == kGzipMagic0 &&
                    magic[1] == kGzipMagic1;
  if (std::fseek(file, 0, SEEK_SET) != 0) {
    std::fclose(file);
    return absl::DataLossError(
        absl::StrFormat("%s: cannot rewind after sniffing for gzip", path));
  }
  std::unique_ptr<ByteSource> src(new ByteSource(
      path, file, static_cast<uint64_t>(info.st_size), gzip));
  if (gzip) {
    absl::Status status = src->InitInflate();
    if (!status.ok()) return status;
  }
  return src;
}

absl::Status ByteSource::InitInflate() {
  inflater_ = std::make_unique<Inflater>();
  std::memset(&inflater_->strm, 0, sizeof(inflater_->strm));
  // 15 + 16: maximum window, gzip wrapper only (no zlib or raw deflate).
  if (inflateInit2(&inflater_->strm, 15 + 16) != Z_OK) {
    return absl::InternalError(
        absl::StrFormat("%s: zlib inflateInit2 failed", path_));
  }
  inflater_->initialized = true;
  inflater_->input.resize(kInputBufferBytes);
  return absl::OkStatus();
}

uint64_t ByteSource::MaxRemaining() const {
  const uint64_t limit =
      gzip_ ? file_size_ * kMaxDeflateExpansion : file_size_;
  return position_ >= limit ? 0 : limit - position_;
}

absl::StatusOr<size_t> ByteSource::Read(uint8_t* dst, size_t n) {
  if (n == 0) return size_t{0};
  if (gzip_) return ReadGzip(dst, n);
  const size_t got = std::fread(dst, 1, n, file_);
  if (got < n && std::ferror(file_)) {
    return absl::DataLossError(absl::StrFormat(
        "%s: read error after %d bytes", path_, position_ + got));
  }
  position_ += got;
  return got;
}

absl::StatusOr<size_t> ByteSource::ReadGzip(uint8_t* dst, size_t n) {
  Inflater& inf = *inflater_;
  z_stream& strm = inf.strm;
  size_t produced = 0;
  while (produced < n && !inf.finished) {
    if (strm.avail_in == 0) {
      const size_t got =
          std::fread(inf.input.data(), 1, inf.input.size(), file_);
      if (got == 0) {
        if (std::ferror(file_)) {
          return absl::DataLossError(absl::StrFormat(
              "%s: read error in gzip data after %d decoded bytes", path_,
              position_ + produced));
        }
        if (inf.between_members && inf.members_completed > 0) {
          inf.finished = true;
          break;
        }
        return absl::DataLossError(absl::StrFormat(
            "%s: corrupt gzip: stream is truncated (compressed data ends "
            "after %d decoded bytes, before the gzip trailer)",
            path_, position_ + produced));
      }
      strm.next_in = inf.input.data();
      strm.avail_in = static_cast<uInt>(got);
    }
    const size_t step = std::min(n - produced, kMaxInflateStep);
    strm.next_out = dst + produced;
    strm.avail_out = static_cast<uInt>(step);
    const bool was_between = inf.between_members;
    inf.between_members = false;
    const uInt in_before = strm.avail_in;
    const int ret = inflate(&strm, Z_NO_FLUSH);
    produced += step - strm.avail_out;
    if (ret == Z_BUF_ERROR && strm.avail_in == in_before &&
        strm.avail_out == step) {
      // zlib promises this cannot happen with input and output space both
      // available; guard anyway so a zlib surprise cannot become a hang.
      return absl::DataLossError(absl::StrFormat(
          "%s: corrupt gzip: decoder made no progress after %d decoded bytes",
          path_, position_ + produced));
    }
    if (ret == Z_STREAM_END) {
      // Concatenated members (cat a.gz b.gz) form one valid gzip file.
      ++inf.members_completed;
      inf.between_members = true;
      if (inflateReset(&strm) != Z_OK) {
        return absl::InternalError(
            absl::StrFormat("%s: zlib inflateReset failed", path_));
      }
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      const char* msg = strm.msg != nullptr ? strm.msg : "unknown zlib error";
      if (was_between && inf.members_completed > 0) {
        return absl::DataLossError(absl::StrFormat(
            "%s: corrupt gzip: data after the end of the gzip stream is not "
            "another gzip member (%s)",
            path_, msg));
      }
      return absl::DataLossError(absl::StrFormat(
          "%s: corrupt gzip: %s (after %d decoded bytes)", path_, msg,
          position_ + produced));
    }
  }
  position_ += produced;
  return produced;
}

absl::Status ByteSource::ReadExactly(uint8_t* dst, size_t n,
                                     absl::string_view what) {
  absl::StatusOr<size_t> got = Read(dst, n);
  if (!got.ok()) return got.status();
  if (*got < n) {
    return absl::DataLossError(absl::StrFormat(
        "%s: truncated %s: expected %d bytes, found %d (file: %s)", path_,
        what, n, *got, Describe(*this)));
  }
  return absl::OkStatus();
}

absl::Status ByteSource::AppendExactly(uint64_t n, absl::string_view what,
                                       std::vector<uint8_t>* out) {
  const uint64_t max_remaining = MaxRemaining();
  if (n > max_remaining) {
    if (gzip_) {
      return absl::DataLossError(absl::StrFormat(
          "%s: truncated %s: expected %d bytes, but a gzip file of %d bytes "
          "decodes to at most %d more",
          path_, what, n, file_size_, max_remaining));
    }
    return absl::DataLossError(
        absl::StrFormat("%s: truncated %s: expected %d bytes, found %d "
                        "(file: %s)",
                        path_, what, n, max_remaining, Describe(*this)));
  }
  uint64_t done = 0;
  while (done < n) {
    const uint64_t chunk = std::min(n - done, kAppendChunkBytes);
    const size_t old = out->size();
    out->resize(old + chunk);
    absl::StatusOr<size_t> got = Read(out->data() + old, chunk);
    if (!got.ok()) return got.status();
    done += *got;
    if (*got < chunk) {
      out->resize(old + *got);
      return absl::DataLossError(absl::StrFormat(
          "%s: truncated %s: expected %d bytes, found %d (file: %s)", path_,
          what, n, done, Describe(*this)));
    }
  }
  return absl::OkStatus();
}

absl::Status ByteSource::AppendAll(uint64_t max_bytes,
                                   std::vector<uint8_t>* out) {
  uint64_t done = 0;
  // Start small and double, so a small file costs little and a large one
  // few reads; never ask for more than the file can still deliver.
  uint64_t step = kFirstAppendAllBytes;
  while (true) {
    // Ask for one byte past each limit so that reaching it is detectable.
    const uint64_t chunk = std::min(
        {step, max_bytes - done + 1, MaxRemaining() + 1});
    step = std::min(2 * step, kAppendChunkBytes);
    const size_t old = out->size();
    out->resize(old + chunk);
    absl::StatusOr<size_t> got = Read(out->data() + old, chunk);
    if (!got.ok()) return got.status();
    out->resize(old + *got);
    done += *got;
    if (done > max_bytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected at most %d bytes of data, found more (file: %s)",
          path_, max_bytes, Describe(*this)));
    }
    if (*got < chunk) return absl::OkStatus();
  }
}

absl::Status ByteSource::ExpectEnd(absl::string_view what) {
  uint8_t probe;
  absl::StatusOr<size_t> got = Read(&probe, 1);
  if (!got.ok()) return got.status();
  if (*got == 0) return absl::OkStatus();
  if (!gzip_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected the file to end after the %s (%d bytes), found %d "
        "trailing bytes",
        path_, what, position_ - 1, file_size_ - (position_ - 1)));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: expected the data to end after the %s (%d decoded bytes), found "
      "trailing data",
      path_, what, position_ - 1));
}

bool IsRegularFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

absl::StatusOr<std::vector<uint8_t>> ReadWholeFile(const std::string& path,
                                                   uint64_t max_bytes) {
  absl::StatusOr<std::unique_ptr<ByteSource>> src = ByteSource::Open(path);
  if (!src.ok()) return src.status();
  std::vector<uint8_t> bytes;
  absl::Status status = (*src)->AppendAll(max_bytes, &bytes);
  if (!status.ok()) return status;
  return bytes;
}

}  // namespace nftcim::data
