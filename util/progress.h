#ifndef NFTCIM_UTIL_PROGRESS_H_
#define NFTCIM_UTIL_PROGRESS_H_

// Progress of a long loop: a redrawn one-line bar on a terminal, plain
// occasional lines otherwise (logs, CI), so neither gets flooded.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace nftcim {

class Progress {
 public:
  // `stream` is usually stderr; `interactive` defaults to isatty(stream).
  Progress(std::string title, int64_t total, FILE* stream = stderr);
  Progress(std::string title, int64_t total, FILE* stream, bool interactive);

  // Reports `done` of `total` items; `status` is appended (e.g. "loss 0.41").
  // `items` is what the speed counts (e.g. images), summed over updates.
  void Update(int64_t done, const std::string& status, int64_t items_since_last = 0);
  // Ends the line (terminal) or prints a final line (plain).
  void Finish(const std::string& status);

  double ElapsedSeconds() const;
  double ItemsPerSecond() const;

  // "1:02:03", "4:05" or "12s".
  static std::string FormatDuration(double seconds);

 private:
  void Draw(int64_t done, const std::string& status, bool final_line);

  std::string title_;
  int64_t total_;
  FILE* stream_;
  bool interactive_;
  int64_t items_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
};

}  // namespace nftcim

#endif  // NFTCIM_UTIL_PROGRESS_H_
