#ifndef NFTCIM_TRAINER_NN_PARALLEL_H_
#define NFTCIM_TRAINER_NN_PARALLEL_H_

// The library's worker threads (one global pool).
//
// Work is always split into pieces whose boundaries depend on the problem
// alone, never on the thread count, and every float reduction across pieces
// is done afterwards in piece order. So every result of trainer/nn is
// bit-identical run to run AND for any thread count; threads only decide who
// computes which piece.

#include <cstdint>
#include <functional>

namespace nftcim::trainer::nn {

// Number of threads used by all kernels (>= 1; values < 1 mean 1).
// The default is 1. Not to be called while another thread runs kernels.
void SetNumThreads(int n);
int NumThreads();

// Calls fn(begin, end, thread) on contiguous, disjoint ranges covering
// [0, n): thread t of T = min(NumThreads(), n) gets [n*t/T, n*(t+1)/T);
// thread 0 is the calling thread. Returns when all ranges are done.
// Calls from inside fn (nested) run serially on the calling thread.
// Calls from different user threads are serialized.
void ParallelFor(int64_t n,
                 const std::function<void(int64_t begin, int64_t end,
                                          int thread)>& fn);

// The same, one call of fn(i) per index.
void ParallelForEach(int64_t n, const std::function<void(int64_t i)>& fn);

}  // namespace nftcim::trainer::nn

#endif  // NFTCIM_TRAINER_NN_PARALLEL_H_
