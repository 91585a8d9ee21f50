#include "util/progress.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace nftcim {
namespace {

std::string Captured(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressTest, PlainOutputIsLinesNotEscapes) {
  FILE* f = std::tmpfile();
  Progress p("epoch 1", 10, f, /*interactive=*/false);
  p.Update(1, "loss 2.3", 128);
  p.Update(2, "loss 2.2", 128);  // within 30 s: not printed
  p.Finish("loss 1.0");
  const std::string out = Captured(f);
  std::fclose(f);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("epoch 1 1/10 (10%) loss 2.3"), std::string::npos) << out;
  EXPECT_EQ(out.find("loss 2.2"), std::string::npos) << out;
  EXPECT_NE(out.find("epoch 1 10/10 (100%) loss 1.0"), std::string::npos) << out;
}

TEST(ProgressTest, TerminalRedrawsOneLine) {
  FILE* f = std::tmpfile();
  Progress p("eval", 4, f, /*interactive=*/true);
  p.Update(1, "", 0);
  p.Finish("done");
  const std::string out = Captured(f);
  std::fclose(f);
  EXPECT_EQ(out.rfind("\r\033[K", 0), 0u);
  EXPECT_NE(out.find("[########################] 4/4 done"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
}

TEST(ProgressTest, Durations) {
  EXPECT_EQ(Progress::FormatDuration(12.2), "12s");
  EXPECT_EQ(Progress::FormatDuration(245), "4:05");
  EXPECT_EQ(Progress::FormatDuration(3723), "1:02:03");
  EXPECT_EQ(Progress::FormatDuration(-1), "?");
}

}  // namespace
}  // namespace nftcim
