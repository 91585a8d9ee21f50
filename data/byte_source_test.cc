#include "data/byte_source.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nftcim::data {
namespace {

using ::nftcim::data::testing::MakeTestDir;
using ::nftcim::data::testing::PatternPixels;
using ::nftcim::data::testing::ReadFileBytes;
using ::nftcim::data::testing::WriteFile;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

TEST(ByteSourceTest, ReadsRawFile) {
  const std::string path = MakeTestDir("bs_raw") + "/data.bin";
  const std::vector<uint8_t> bytes = PatternPixels(1, 1000);
  WriteFile(path, bytes, /*gzip=*/false);
  auto src = ByteSource::Open(path);
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_FALSE((*src)->is_gzip());
  EXPECT_EQ((*src)->file_size(), 1000u);
  EXPECT_EQ((*src)->MaxRemaining(), 1000u);
  std::vector<uint8_t> out;
  ASSERT_TRUE((*src)->AppendExactly(1000, "data", &out).ok());
  EXPECT_EQ(out, bytes);
  EXPECT_TRUE((*src)->ExpectEnd("data").ok());
}

// Detection is by content: a gzip file without ".gz" and a raw file with it.
TEST(ByteSourceTest, DetectsGzipByMagicNotName) {
  const std::string dir = MakeTestDir("bs_magic");
  const std::vector<uint8_t> bytes = PatternPixels(3, 777);
  WriteFile(dir + "/compressed.bin", bytes, /*gzip=*/true);
  WriteFile(dir + "/plain.gz", bytes, /*gzip=*/false);
  for (const char* name : {"/compressed.bin", "/plain.gz"}) {
    auto got = ReadWholeFile(dir + name, 1 << 20);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes) << name;
  }
  auto gz = ByteSource::Open(dir + "/compressed.bin");
  ASSERT_TRUE(gz.ok());
  EXPECT_TRUE((*gz)->is_gzip());
  auto raw = ByteSource::Open(dir + "/plain.gz");
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE((*raw)->is_gzip());
}

TEST(ByteSourceTest, ReadsConcatenatedGzipMembers) {
  const std::string dir = MakeTestDir("bs_concat");
  const std::vector<uint8_t> a = PatternPixels(1, 300);
  const std::vector<uint8_t> b = PatternPixels(2, 200);
  WriteFile(dir + "/a.gz", a, true);
  WriteFile(dir + "/b.gz", b, true);
  // The compressed bytes of both files back to back, as `cat a.gz b.gz`.
  std::vector<uint8_t> joined = ReadFileBytes(dir + "/a.gz");
  const std::vector<uint8_t> second = ReadFileBytes(dir + "/b.gz");
  joined.insert(joined.end(), second.begin(), second.end());
  WriteFile(dir + "/ab.gz", joined, false);
  auto got = ReadWholeFile(dir + "/ab.gz", 1 << 20);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<uint8_t> expected = a;
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(*got, expected);
}

TEST(ByteSourceTest, MissingFileIsNotFoundAndNamesPath) {
  const std::string path = MakeTestDir("bs_missing") + "/nope.bin";
  auto src = ByteSource::Open(path);
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(src.status()),
              AllOf(HasSubstr(path), HasSubstr("cannot open")));
}

TEST(ByteSourceTest, DirectoryIsRejected) {
  const std::string dir = MakeTestDir("bs_dir");
  auto src = ByteSource::Open(dir);
  ASSERT_FALSE(src.ok());
  EXPECT_THAT(Message(src.status()),
              AllOf(HasSubstr(dir), HasSubstr("expected a regular file"),
                    HasSubstr("directory")));
}

TEST(ByteSourceTest, TruncatedGzipIsDataLoss) {
  const std::string dir = MakeTestDir("bs_trunc_gz");
  WriteFile(dir + "/full.gz", PatternPixels(5, 5000), true);
  std::vector<uint8_t> gz = ReadFileBytes(dir + "/full.gz");
  ASSERT_GT(gz.size(), 40u);
  gz.resize(gz.size() / 2);
  const std::string path = dir + "/half.gz";
  WriteFile(path, gz, false);
  auto got = ReadWholeFile(path, 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(got.status()),
              AllOf(HasSubstr(path), HasSubstr("corrupt gzip"),
                    HasSubstr("truncated")));
}

TEST(ByteSourceTest, TruncatedGzipTrailerIsDataLoss) {
  const std::string dir = MakeTestDir("bs_trunc_trailer");
  WriteFile(dir + "/full.gz", PatternPixels(1, 100), true);
  std::vector<uint8_t> gz = ReadFileBytes(dir + "/full.gz");
  gz.resize(gz.size() - 4);  // drop ISIZE: the data decode, the check fails
  const std::string path = dir + "/notrailer.gz";
  WriteFile(path, gz, false);
  auto got = ReadWholeFile(path, 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(got.status()), HasSubstr(path));
}

TEST(ByteSourceTest, CorruptGzipIsDataLoss) {
  const std::string dir = MakeTestDir("bs_corrupt");
  WriteFile(dir + "/full.gz", PatternPixels(5, 5000), true);
  std::vector<uint8_t> gz = ReadFileBytes(dir + "/full.gz");
  // Flip bytes in the deflate body (after the 10-byte gzip header).
  for (size_t i = 12; i < gz.size() - 8; i += 7) gz[i] ^= 0x5a;
  const std::string path = dir + "/bad.gz";
  WriteFile(path, gz, false);
  auto got = ReadWholeFile(path, 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(got.status()),
              AllOf(HasSubstr(path), HasSubstr("corrupt gzip")));
}

TEST(ByteSourceTest, GarbageAfterGzipIsDataLoss) {
  const std::string dir = MakeTestDir("bs_garbage");
  WriteFile(dir + "/full.gz", PatternPixels(1, 100), true);
  std::vector<uint8_t> gz = ReadFileBytes(dir + "/full.gz");
  gz.insert(gz.end(), {'j', 'u', 'n', 'k', 0, 0, 0, 0, 0, 0, 0, 0});
  const std::string path = dir + "/junk.gz";
  WriteFile(path, gz, false);
  auto got = ReadWholeFile(path, 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(Message(got.status()),
              AllOf(HasSubstr(path), HasSubstr("not another gzip member")));
}

TEST(ByteSourceTest, JustTheGzipMagicIsTruncated) {
  const std::string path = MakeTestDir("bs_magic_only") + "/m.gz";
  WriteFile(path, {0x1f, 0x8b}, false);
  auto got = ReadWholeFile(path, 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(got.status()), HasSubstr("truncated"));
}

TEST(ByteSourceTest, AppendExactlyRejectsImpossibleSizeBeforeReading) {
  const std::string dir = MakeTestDir("bs_bound");
  WriteFile(dir + "/raw.bin", PatternPixels(1, 64), false);
  WriteFile(dir + "/z.gz", PatternPixels(1, 64), true);
  for (const char* name : {"/raw.bin", "/z.gz"}) {
    auto src = ByteSource::Open(dir + name);
    ASSERT_TRUE(src.ok());
    std::vector<uint8_t> out;
    const absl::Status status =
        (*src)->AppendExactly(uint64_t{1} << 40, "payload", &out);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << name;
    EXPECT_THAT(Message(status), AllOf(HasSubstr(dir + name),
                                       HasSubstr("truncated payload"),
                                       HasSubstr("expected 1099511627776")));
    EXPECT_TRUE(out.empty()) << "nothing may be read or allocated";
  }
}

TEST(ByteSourceTest, AppendExactlyReportsShortGzip) {
  const std::string path = MakeTestDir("bs_short") + "/z.gz";
  WriteFile(path, PatternPixels(1, 64), true);
  auto src = ByteSource::Open(path);
  ASSERT_TRUE(src.ok());
  std::vector<uint8_t> out;
  const absl::Status status = (*src)->AppendExactly(100, "payload", &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status),
              AllOf(HasSubstr(path), HasSubstr("expected 100 bytes, found 64")));
}

TEST(ByteSourceTest, ExpectEndReportsTrailingBytes) {
  const std::string path = MakeTestDir("bs_trailing") + "/t.bin";
  WriteFile(path, PatternPixels(1, 10), false);
  auto src = ByteSource::Open(path);
  ASSERT_TRUE(src.ok());
  std::vector<uint8_t> out;
  ASSERT_TRUE((*src)->AppendExactly(7, "payload", &out).ok());
  const absl::Status status = (*src)->ExpectEnd("payload");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status),
              AllOf(HasSubstr(path), HasSubstr("found 3 trailing bytes")));
}

TEST(ByteSourceTest, AppendAllEnforcesLimit) {
  const std::string path = MakeTestDir("bs_limit") + "/big.gz";
  WriteFile(path, PatternPixels(1, 5000), true);
  auto got = ReadWholeFile(path, 4999);
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(Message(got.status()),
              AllOf(HasSubstr(path), HasSubstr("at most 4999 bytes")));
  EXPECT_TRUE(ReadWholeFile(path, 5000).ok());
}

// Larger than AppendAll's first read, so its growing reads are exercised.
TEST(ByteSourceTest, ReadWholeFileAcrossManyReads) {
  const std::string dir = MakeTestDir("bs_big");
  const std::vector<uint8_t> bytes = PatternPixels(7, 100003);
  WriteFile(dir + "/big.bin", bytes, false);
  WriteFile(dir + "/big.gz", bytes, true);
  for (const char* name : {"/big.bin", "/big.gz"}) {
    auto got = ReadWholeFile(dir + name, bytes.size());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes) << name;
    EXPECT_FALSE(ReadWholeFile(dir + name, bytes.size() - 1).ok()) << name;
  }
}

TEST(ByteSourceTest, EmptyFiles) {
  const std::string dir = MakeTestDir("bs_empty");
  WriteFile(dir + "/empty.bin", {}, false);
  WriteFile(dir + "/empty.gz", {}, true);
  for (const char* name : {"/empty.bin", "/empty.gz"}) {
    auto got = ReadWholeFile(dir + name, 10);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->empty());
  }
}

TEST(PathTest, JoinPath) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

}  // namespace
}  // namespace nftcim::data
