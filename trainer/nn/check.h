#ifndef NFTCIM_TRAINER_NN_CHECK_H_
#define NFTCIM_TRAINER_NN_CHECK_H_

// Internal: aborts with a message when an API precondition is violated
// (wrong shapes, mismatched caches). Active in every build mode.

#include <cstdio>
#include <cstdlib>

#define NN_CHECK(cond, msg)                                                \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: trainer/nn check failed: %s: %s\n",     \
                   __FILE__, __LINE__, #cond, msg);                        \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

#endif  // NFTCIM_TRAINER_NN_CHECK_H_
