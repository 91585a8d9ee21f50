#include "emulator/golden_tile.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "emulator/hardware_config.h"
#include "gtest/gtest.h"
#include "util/atomic_file.h"

namespace nftcim::emulator {
namespace {

std::string MakeDir(const std::string& name) {
  const std::string dir = std::string(::testing::TempDir()) + "/" + name;
  EXPECT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  return dir;
}

GoldenTileOptions Small(int adc_bits) {
  GoldenTileOptions o;
  o.hardware = DefaultHardwareConfig();
  o.hardware.set_adc_bits(adc_bits);
  o.rows = 150;
  o.outputs = 40;
  o.batch = 3;
  o.sigma = 0.1;
  o.seed = 7;
  return o;
}

TEST(GoldenTile, SameOptionsSameBytes) {
  for (int adc_bits : {0, 8}) {
    const std::string a = MakeDir("a" + std::to_string(adc_bits));
    const std::string b = MakeDir("b" + std::to_string(adc_bits));
    formats::GoldenManifest m;
    ASSERT_TRUE(WriteGoldenTile(Small(adc_bits), a, &m).ok());
    ASSERT_TRUE(WriteGoldenTile(Small(adc_bits), b, nullptr).ok());
    EXPECT_EQ(m.row_tiles(), 2);
    EXPECT_EQ(m.column_tiles(), 2);
    std::vector<std::string> names = {"manifest.textproto", "golden_params.vh"};
    for (const auto& f : m.files()) names.push_back(f.name());
    for (const std::string& n : names) {
      absl::StatusOr<std::string> x = ReadFileToString(a + "/" + n);
      absl::StatusOr<std::string> y = ReadFileToString(b + "/" + n);
      ASSERT_TRUE(x.ok() && y.ok()) << n;
      EXPECT_EQ(*x, *y) << n;
    }
    for (const auto& f : m.files()) {
      absl::StatusOr<std::string> x = ReadFileToString(a + "/" + f.name());
      ASSERT_TRUE(x.ok());
      EXPECT_EQ(static_cast<int64_t>(x->size()), f.values() * (f.hex_digits() + 1)) << f.name();
    }
  }
}

TEST(GoldenTile, SeedChangesVectors) {
  const std::string a = MakeDir("s1"), b = MakeDir("s2");
  GoldenTileOptions o = Small(8);
  ASSERT_TRUE(WriteGoldenTile(o, a, nullptr).ok());
  o.seed = 8;
  ASSERT_TRUE(WriteGoldenTile(o, b, nullptr).ok());
  EXPECT_NE(*ReadFileToString(a + "/adc.hex"), *ReadFileToString(b + "/adc.hex"));
}

TEST(GoldenTile, RejectsBadShape) {
  GoldenTileOptions o = Small(0);
  o.rows = 0;
  EXPECT_FALSE(WriteGoldenTile(o, MakeDir("bad"), nullptr).ok());
}

}  // namespace
}  // namespace nftcim::emulator
