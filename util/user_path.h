#ifndef NFTCIM_UTIL_USER_PATH_H_
#define NFTCIM_UTIL_USER_PATH_H_

#include <cstdlib>
#include <string>

namespace nftcim {

// `bazel run` starts a binary inside its runfiles tree; a relative path a
// user typed means relative to where they typed it, which Bazel passes as
// BUILD_WORKING_DIRECTORY. Absolute paths and plain runs are unchanged.
inline std::string ResolveUserPath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd == nullptr || *cwd == '\0') return path;
  return std::string(cwd) + "/" + path;
}

}  // namespace nftcim

#endif  // NFTCIM_UTIL_USER_PATH_H_
