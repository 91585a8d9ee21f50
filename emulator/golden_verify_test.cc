#include "emulator/golden_verify.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/golden_layer.h"
#include "emulator/golden_tile.h"
#include "emulator/hardware_config.h"
#include "gtest/gtest.h"
#include "util/atomic_file.h"
#include "util/digest.h"
#include "util/proto_io.h"

namespace nftcim::emulator {
namespace {

// A fresh tile set (150 x 40, two row tiles, 8-bit ADC) in its own folder.
std::string FreshTileSet(const std::string& name, formats::GoldenManifest* manifest = nullptr) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name);
  EXPECT_EQ(system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()), 0);
  GoldenTileOptions o;
  o.hardware = DefaultHardwareConfig();
  o.hardware.set_adc_bits(8);
  o.rows = 150;
  o.outputs = 40;
  o.batch = 3;
  o.seed = 7;
  formats::GoldenManifest m;
  EXPECT_TRUE(WriteGoldenTile(o, dir, &m).ok());
  if (manifest != nullptr) *manifest = m;
  return dir;
}

GoldenVerifyReport Verify(const std::string& dir) {
  absl::StatusOr<GoldenVerifyReport> r = VerifyGoldenSet(dir, {});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : GoldenVerifyReport{};
}

std::string AllProblems(const GoldenVerifyReport& r) {
  std::string s;
  for (const std::string& p : r.problems) absl::StrAppend(&s, p, "\n");
  return s;
}

bool HasProblem(const GoldenVerifyReport& r, const std::string& a, const std::string& b) {
  for (const std::string& p : r.problems)
    if (absl::StrContains(p, a) && absl::StrContains(p, b)) return true;
  return false;
}

void Overwrite(const std::string& path, const std::string& text) {
  ASSERT_TRUE(WriteFileAtomically(path, text).ok());
}

// Replaces a file and records its new size and digest in the manifest, so
// that only the checks beyond the inventory can notice.
void OverwriteAndRelist(const std::string& dir, const std::string& name, const std::string& text) {
  Overwrite(dir + "/" + name, text);
  formats::GoldenManifest m;
  ASSERT_TRUE(ReadTextProto(dir + "/manifest.textproto", &m).ok());
  for (formats::FileDigest& d : *m.mutable_inventory()) {
    if (d.path() != name) continue;
    d.set_bytes(static_cast<int64_t>(text.size()));
    d.set_sha256(Sha256Hex(text));
  }
  absl::StatusOr<std::string> t = GoldenManifestText(m);
  ASSERT_TRUE(t.ok());
  Overwrite(dir + "/manifest.textproto", *t);
}

TEST(GoldenVerify, FreshTileSetVerifies) {
  formats::GoldenManifest m;
  const std::string dir = FreshTileSet("fresh", &m);
  const GoldenVerifyReport r = Verify(dir);
  EXPECT_TRUE(r.ok()) << AllProblems(r);
  EXPECT_EQ(r.kind, "tile set");
  EXPECT_EQ(m.format_version(), 2u);
  // Every hex file and golden_params.vh are in the inventory.
  EXPECT_EQ(r.files, m.files_size() + 1);
  EXPECT_EQ(r.hex_files, m.files_size());
  int64_t lines = 0;
  for (const formats::GoldenFile& f : m.files()) lines += f.values();
  EXPECT_EQ(r.hex_lines, lines);
}

TEST(GoldenVerify, OneChangedByteIsNamed) {
  const std::string dir = FreshTileSet("byte");
  std::string acc = *ReadFileToString(dir + "/acc.hex");
  acc[5] = acc[5] == '0' ? '1' : '0';
  Overwrite(dir + "/acc.hex", acc);
  const GoldenVerifyReport r = Verify(dir);
  ASSERT_EQ(r.problems.size(), 1u) << AllProblems(r);
  EXPECT_TRUE(HasProblem(r, "acc.hex", "SHA-256")) << AllProblems(r);
}

TEST(GoldenVerify, MissingTruncatedAndExtraFiles) {
  const std::string dir = FreshTileSet("files");
  ASSERT_EQ(std::remove((dir + "/xbits.hex").c_str()), 0);
  std::string adc = *ReadFileToString(dir + "/adc.hex");
  Overwrite(dir + "/adc.hex", adc.substr(0, adc.size() / 2));
  Overwrite(dir + "/stale.hex", "00\n");
  const GoldenVerifyReport r = Verify(dir);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasProblem(r, "xbits.hex", "cannot be read")) << AllProblems(r);
  EXPECT_TRUE(HasProblem(r, "adc.hex", "bytes, the manifest says")) << AllProblems(r);
  EXPECT_TRUE(HasProblem(r, "adc.hex", "lines, the manifest says")) << AllProblems(r);
  EXPECT_TRUE(HasProblem(r, "stale.hex", "not in the manifest's inventory")) << AllProblems(r);
}

TEST(GoldenVerify, HexLinesAreCheckedBeyondTheInventory) {
  // Digests updated to the tampered files: the line checks must still catch
  // a wrong width, a non-hex character and a value wider than its bits.
  const std::string dir = FreshTileSet("hex");
  std::string x = *ReadFileToString(dir + "/x.hex");  // 8-bit inputs, 2 digits
  OverwriteAndRelist(dir, "x.hex", "0" + x);
  std::string acc = *ReadFileToString(dir + "/acc.hex");
  acc[0] = 'g';
  OverwriteAndRelist(dir, "acc.hex", acc);
  const GoldenVerifyReport r = Verify(dir);
  EXPECT_TRUE(HasProblem(r, "x.hex", "line 1 is")) << AllProblems(r);
  EXPECT_TRUE(HasProblem(r, "acc.hex", "line 1 is 'g")) << AllProblems(r);
  EXPECT_EQ(r.problems.size(), 2u) << AllProblems(r);

  const std::string dir2 = FreshTileSet("bits");
  // xbits.hex holds 1-bit planes in one hex digit: '2' does not fit.
  std::string bits = *ReadFileToString(dir2 + "/xbits.hex");
  bits[0] = '2';
  OverwriteAndRelist(dir2, "xbits.hex", bits);
  const GoldenVerifyReport r2 = Verify(dir2);
  EXPECT_TRUE(HasProblem(r2, "xbits.hex", "more than 1 bits")) << AllProblems(r2);
}

TEST(GoldenVerify, UnreadableOrOldManifests) {
  EXPECT_FALSE(VerifyGoldenSet(absl::StrCat(::testing::TempDir(), "/nothing_here"), {}).ok());
  const std::string dir = FreshTileSet("old");
  std::string text = *ReadFileToString(dir + "/manifest.textproto");
  const size_t body = text.find("\ngenerator") + 1;
  Overwrite(dir + "/manifest.textproto", text.substr(body));  // no header lines
  EXPECT_FALSE(VerifyGoldenSet(dir, {}).ok());
  formats::GoldenManifest m;
  ASSERT_TRUE(ParseTextProto(text, "m", &m).ok());
  m.clear_inventory();
  m.clear_format_version();
  Overwrite(dir + "/manifest.textproto", *GoldenManifestText(m));
  const GoldenVerifyReport r = Verify(dir);
  EXPECT_TRUE(HasProblem(r, "manifest.textproto", "no format_version 2 inventory")) << AllProblems(r);
}

}  // namespace
}  // namespace nftcim::emulator
