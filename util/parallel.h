#ifndef NFTCIM_UTIL_PARALLEL_H_
#define NFTCIM_UTIL_PARALLEL_H_

// A fixed partition of [0, n) over a number of threads. Each thread gets one
// contiguous range decided by (n, threads) alone, so work whose result
// depends only on the range (integer sums, per-element draws) is identical
// for any thread count, and float reductions are identical for a fixed one.

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace nftcim {

// Calls fn(begin, end, worker) for `workers` = min(threads, n) contiguous
// ranges covering [0, n); worker 0 runs on the calling thread.
inline void ParallelFor(int64_t n, int threads,
                        const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (workers == 1) {
    fn(0, n, 0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) {
    pool.emplace_back([&, w] { fn(n * w / workers, n * (w + 1) / workers, w); });
  }
  fn(0, n / workers, 0);
  for (std::thread& t : pool) t.join();
}

}  // namespace nftcim

#endif  // NFTCIM_UTIL_PARALLEL_H_
