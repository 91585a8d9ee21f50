#include "experiments/runner.h"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace nftcim::experiments {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RunnerTest, ExitCodesAndLog) {
  const std::string log = TempPath("runner.log");
  std::remove(log.c_str());
  ProcessResult ok = RunProcess({"/bin/sh", "-c", "echo out; echo err >&2"}, log);
  EXPECT_TRUE(ok.ok()) << ok.Describe();
  ProcessResult bad = RunProcess({"/bin/sh", "-c", "exit 3"}, log);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_EQ(bad.Describe(), "exit status 3");
  const std::string text = Read(log);
  EXPECT_NE(text.find("$ /bin/sh -c 'echo out; echo err >&2'\nout\nerr\n"), std::string::npos) << text;
  EXPECT_NE(text.find("$ /bin/sh -c 'exit 3'"), std::string::npos) << text;
}

TEST(RunnerTest, SignalsAndMissingBinaries) {
  const std::string log = TempPath("runner_signal.log");
  ProcessResult killed = RunProcess({"/bin/sh", "-c", "kill -9 $$"}, log);
  EXPECT_EQ(killed.signal, SIGKILL);
  EXPECT_NE(killed.Describe().find("signal 9"), std::string::npos) << killed.Describe();
  ProcessResult missing = RunProcess({"/no/such/binary", "--x"}, log);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.Describe().find("/no/such/binary: cannot execute"), std::string::npos)
      << missing.Describe();
  ProcessResult no_log = RunProcess({"/bin/true"}, "/no/such/dir/log");
  EXPECT_NE(no_log.start_error.find("cannot open log"), std::string::npos);
}

TEST(RunnerTest, StdinIsEmpty) {
  const std::string log = TempPath("runner_stdin.log");
  std::remove(log.c_str());
  ProcessResult r = RunProcess({"/bin/sh", "-c", "cat; echo done"}, log);
  EXPECT_TRUE(r.ok());
  EXPECT_NE(Read(log).find("done"), std::string::npos);
}

TEST(RunnerTest, ShellQuote) {
  EXPECT_EQ(ShellQuote("--sigma=0.2"), "--sigma=0.2");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellJoin({"x", "y z"}), "x 'y z'");
}

TEST(RunnerTest, LogTailKeepsLastLinesAndFinalBarState) {
  const std::string path = TempPath("tail.log");
  {
    std::ofstream out(path);
    for (int i = 1; i <= 30; ++i) out << "line " << i << "\n";
    out << "\r\033[Kepoch 1 [##..] 1/4\r\033[Kepoch 1 [####] 4/4\n";
    out << "error: boom\n";
  }
  const std::string tail = LogTail(path, 3);
  EXPECT_EQ(tail, "line 30\nepoch 1 [####] 4/4\nerror: boom");
  EXPECT_EQ(LogTail(TempPath("no_such.log")), "");
  EXPECT_LE(LogTail(path, 100, 20).size(), 20u);
}

}  // namespace
}  // namespace nftcim::experiments
