#include "util/atomic_file.h"

#include <dirent.h>
#include <sys/stat.h>

#include <string>

#include "gtest/gtest.h"

namespace nftcim {
namespace {

std::string TmpPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

int CountEntriesWithPrefix(const std::string& dir, const std::string& prefix) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name).rfind(prefix, 0) == 0) ++n;
  }
  closedir(d);
  return n;
}

TEST(AtomicFileTest, WritesAndReplaces) {
  const std::string path = TmpPath("atomic_a.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(*ReadFileToString(path), "first");
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  EXPECT_EQ(*ReadFileToString(path), "second, longer");
  // No temporary files are left behind.
  EXPECT_EQ(CountEntriesWithPrefix(::testing::TempDir(), "atomic_a.txt"), 1);
}

TEST(AtomicFileTest, FailureKeepsOldFile) {
  const std::string dir = TmpPath("atomic_dir");
  mkdir(dir.c_str(), 0755);
  // Renaming a file over a non-empty directory fails: the write must fail
  // cleanly and leave no temporary behind.
  mkdir((dir + "/target").c_str(), 0755);
  ASSERT_TRUE(WriteFileAtomically(dir + "/target/keep", "x").ok());
  absl::Status s = WriteFileAtomically(dir + "/target", "y");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find(dir + "/target"), std::string::npos);
  EXPECT_EQ(*ReadFileToString(dir + "/target/keep"), "x");
  EXPECT_EQ(CountEntriesWithPrefix(dir, "target.tmp"), 0);
}

TEST(AtomicFileTest, MissingFolderIsAnError) {
  absl::Status s = WriteFileAtomically(TmpPath("no/such/dir/file"), "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("no/such/dir/file"), std::string::npos);
}

TEST(AtomicFileTest, ReadMissingNamesPath) {
  auto r = ReadFileToString(TmpPath("does_not_exist"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(r.status().message()).find("does_not_exist"), std::string::npos);
}

TEST(AtomicFileTest, ReadDirectoryIsAnError) {
  auto r = ReadFileToString(::testing::TempDir());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("directory"), std::string::npos);
}

TEST(AtomicFileTest, AppendLineDurably) {
  const std::string path = TmpPath("append.jsonl");
  ASSERT_TRUE(AppendLineDurably(path, "{\"a\":1}").ok());
  ASSERT_TRUE(AppendLineDurably(path, "{\"a\":2}").ok());
  EXPECT_EQ(*ReadFileToString(path), "{\"a\":1}\n{\"a\":2}\n");
}

TEST(AtomicFileTest, MakeDirectoriesCreatesParentsAndRejectsFiles) {
  const std::string base = std::string(::testing::TempDir()) + "/mkdirs";
  ASSERT_TRUE(MakeDirectories(base + "/a/b/c").ok());
  ASSERT_TRUE(WriteFileAtomically(base + "/a/b/c/f.txt", "x").ok());
  EXPECT_TRUE(MakeDirectories(base + "/a/b/c").ok());  // exists already
  const absl::Status s = MakeDirectories(base + "/a/b/c/f.txt/d");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("f.txt"), absl::string_view::npos) << s.message();
}

}  // namespace
}  // namespace nftcim
