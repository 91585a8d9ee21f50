#ifndef NFTCIM_UTIL_ATOMIC_FILE_H_
#define NFTCIM_UTIL_ATOMIC_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nftcim {

// Replaces `path` with `contents` so that a reader (or a crash) sees either
// the old file or the new one, never a torn one: the bytes go to a temporary
// file in the same folder, are fsynced, and are renamed over `path`.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents);

// Reads a whole file; NotFound / error messages name the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Appends one line (a '\n' is added) and fsyncs, for append-only logs whose
// records must survive a kill.
absl::Status AppendLineDurably(const std::string& path, absl::string_view line);

// mkdir -p: creates `dir` and its missing parents (0755); an existing
// folder is fine, a file in the way is an error naming it.
absl::Status MakeDirectories(const std::string& dir);

}  // namespace nftcim

#endif  // NFTCIM_UTIL_ATOMIC_FILE_H_
