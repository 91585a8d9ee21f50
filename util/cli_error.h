#ifndef NFTCIM_UTIL_CLI_ERROR_H_
#define NFTCIM_UTIL_CLI_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace nftcim {

// How the command-line tools end on an error: the status's message (which
// names the file, the field and what was expected) on stderr, exit code 2.
inline int CliFail(const absl::Status& status) {
  absl::FPrintF(stderr, "error: %s\n", status.message());
  return 2;
}

}  // namespace nftcim

#endif  // NFTCIM_UTIL_CLI_ERROR_H_
