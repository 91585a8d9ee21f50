#ifndef NFTCIM_EXPERIMENTS_RUNNER_H_
#define NFTCIM_EXPERIMENTS_RUNNER_H_

// Child processes of the sweep: one command at a time per job, its output
// appended to a log file, and the child ended when the sweep dies (so a
// killed sweep leaves no training running behind its back).

#include <string>
#include <vector>

namespace nftcim::experiments {

struct ProcessResult {
  // Exit status when the child exited; -1 otherwise.
  int exit_code = -1;
  // Signal that ended the child; 0 when it exited.
  int signal = 0;
  // Set when the child could not be started at all.
  std::string start_error;
  double seconds = 0;

  bool ok() const { return start_error.empty() && signal == 0 && exit_code == 0; }
  // "exit status 2", "killed by signal 9 (Killed)", "could not start: ...".
  std::string Describe() const;
};

// Runs argv[0] with argv (no shell), stdin from /dev/null, stdout and stderr
// appended to log_path after a header line with the command. Blocks until the
// child ends. Safe to call from several threads at once.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& log_path);

// The command as a person would type it (shell-quoted where needed).
std::string ShellJoin(const std::vector<std::string>& argv);
std::string ShellQuote(const std::string& arg);

// The last `max_lines` lines of a file (at most max_bytes), "" if unreadable.
// Progress-bar redraws (carriage returns) keep only their final state.
std::string LogTail(const std::string& path, int max_lines = 20, int max_bytes = 4000);

}  // namespace nftcim::experiments

#endif  // NFTCIM_EXPERIMENTS_RUNNER_H_
