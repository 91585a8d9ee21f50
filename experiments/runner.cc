#include "experiments/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace nftcim::experiments {

std::string ProcessResult::Describe() const {
  if (!start_error.empty()) return absl::StrCat("could not start: ", start_error);
  if (signal != 0) return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return absl::StrCat("exit status ", exit_code);
}

std::string ShellQuote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-+=./:,@%") == std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::vector<std::string> parts;
  for (const std::string& a : argv) parts.push_back(ShellQuote(a));
  return absl::StrJoin(parts, " ");
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  ProcessResult result;
  if (argv.empty()) {
    result.start_error = "empty command";
    return result;
  }
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    result.start_error = absl::StrCat(log_path, ": cannot open log: ", std::strerror(errno));
    return result;
  }
  const std::string header = absl::StrCat("$ ", ShellJoin(argv), "\n");
  if (::write(log, header.data(), header.size()) < 0) {
    // The log is a convenience; the run goes on without the header.
  }
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs is prepared before fork: between fork and exec
  // only async-signal-safe calls are allowed in a threaded program.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.start_error = absl::StrCat("fork: ", std::strerror(errno));
    ::close(log);
    if (null_in >= 0) ::close(null_in);
    return result;
  }
  if (pid == 0) {
    // End with the sweep: SIGTERM when the thread that forked us (which waits
    // for us) or the whole sweep dies, even by SIGKILL.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);
    if (null_in >= 0) ::dup2(null_in, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execv(args[0], args.data());
    const char* msg = "exec failed: ";
    if (::write(2, msg, std::strlen(msg)) < 0 || ::write(2, args[0], std::strlen(args[0])) < 0 ||
        ::write(2, "\n", 1) < 0) {
      ::_exit(127);
    }
    ::_exit(127);
  }
  ::close(log);
  if (null_in >= 0) ::close(null_in);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      result.start_error = absl::StrCat("waitpid: ", std::strerror(errno));
      return result;
    }
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    if (result.exit_code == 127) {
      // execv failed (the message is in the log), or the program said 127.
      std::ifstream in(log_path);
      std::stringstream ss;
      ss << in.rdbuf();
      if (ss.str().find(absl::StrCat("exec failed: ", argv[0])) != std::string::npos) {
        result.start_error = absl::StrCat(argv[0], ": cannot execute");
      }
    }
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

std::string LogTail(const std::string& path, int max_lines, int max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 4 * max_bytes);
  in.seekg(from);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    // A redrawn progress bar: keep what was drawn last.
    absl::string_view shown = line;
    if (!shown.empty() && shown.back() == '\r') shown.remove_suffix(1);
    const size_t last_cr = shown.rfind('\r');
    if (last_cr != absl::string_view::npos) shown.remove_prefix(last_cr + 1);
    std::string clean;
    for (size_t i = 0; i < shown.size(); ++i) {
      if (shown[i] == '\033') {  // drop "ESC [ ... letter" sequences
        while (i < shown.size() && !std::isalpha(static_cast<unsigned char>(shown[i]))) ++i;
        continue;
      }
      clean += shown[i];
    }
    lines.push_back(clean);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (static_cast<int>(lines.size()) > max_lines) {
    lines.erase(lines.begin(), lines.end() - max_lines);
  }
  std::string out = absl::StrJoin(lines, "\n");
  if (static_cast<int>(out.size()) > max_bytes) out = out.substr(out.size() - max_bytes);
  return out;
}

}  // namespace nftcim::experiments
