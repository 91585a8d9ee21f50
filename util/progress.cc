#include "util/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace nftcim {

Progress::Progress(std::string title, int64_t total, FILE* stream)
    : Progress(std::move(title), total, stream, isatty(fileno(stream)) == 1) {}

Progress::Progress(std::string title, int64_t total, FILE* stream, bool interactive)
    : title_(std::move(title)),
      total_(std::max<int64_t>(total, 1)),
      stream_(stream),
      interactive_(interactive),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::ItemsPerSecond() const {
  const double t = ElapsedSeconds();
  return t > 0 ? items_ / t : 0;
}

std::string Progress::FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%d:%02d", s / 60, s % 60);
  return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
}

void Progress::Update(int64_t done, const std::string& status, int64_t items_since_last) {
  items_ += items_since_last;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  // A terminal is redrawn a few times a second; a log gets a line every 30 s.
  // The last item is drawn by Finish, with its final status.
  if (done >= total_ || (drawn_ && since < (interactive_ ? 0.2 : 30.0))) return;
  last_draw_ = now;
  drawn_ = true;
  Draw(done, status, false);
}

void Progress::Finish(const std::string& status) { Draw(total_, status, true); }

void Progress::Draw(int64_t done, const std::string& status, bool final_line) {
  const double frac = std::min(1.0, static_cast<double>(done) / total_);
  const double elapsed = ElapsedSeconds();
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : NAN;
  std::string speed = items_ > 0 ? absl::StrFormat(" %.0f img/s", ItemsPerSecond()) : "";
  std::string timing = final_line ? absl::StrFormat(" in %s", FormatDuration(elapsed))
                                  : absl::StrFormat(" ETA %s", FormatDuration(eta));
  if (interactive_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    absl::FPrintF(stream_, "\r\033[K%s [%s] %d/%d %s%s%s", title_, bar, done, total_, status,
                  speed, timing);
    if (final_line) absl::FPrintF(stream_, "\n");
  } else {
    absl::FPrintF(stream_, "%s %d/%d (%.0f%%) %s%s%s\n", title_, done, total_, 100 * frac,
                  status, speed, timing);
  }
  std::fflush(stream_);
}

}  // namespace nftcim
