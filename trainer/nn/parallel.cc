#include "trainer/nn/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nftcim::trainer::nn {
namespace {

thread_local bool tls_in_parallel = false;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// How long a thread spins for the next event before sleeping: kernels are
// called back to back, so a short spin saves the wake-up latency of a
// condition variable (tens of microseconds) at every call.
constexpr auto kSpin = std::chrono::microseconds(50);

class Pool {
 public:
  ~Pool() { Stop(); }

  int num_threads() const { return num_threads_; }

  void SetNumThreads(int n) {
    n = std::max(1, n);
    std::lock_guard<std::mutex> call(call_mu_);
    if (n == num_threads_) return;
    Stop();
    num_threads_ = n;
    // Workers start from the current generation (no job is running: we hold
    // call_mu_), so a job posted before a worker first runs is not missed.
    const uint64_t generation = generation_.load();
    for (int t = 1; t < n; ++t) {
      workers_.emplace_back([this, t, generation] { Loop(t, generation); });
    }
  }

  void Run(int64_t n,
           const std::function<void(int64_t, int64_t, int)>& fn) {
    if (n <= 0) return;
    if (tls_in_parallel) {
      fn(0, n, 0);
      return;
    }
    std::lock_guard<std::mutex> call(call_mu_);
    const int threads =
        static_cast<int>(std::min<int64_t>(num_threads_, n));
    tls_in_parallel = true;
    if (threads <= 1) {
      fn(0, n, 0);
      tls_in_parallel = false;
      return;
    }
    job_fn_ = &fn;
    job_n_ = n;
    job_threads_ = threads;
    // Every worker checks in, also those without a range, so that none can
    // still be reading this job's fields when the next one is posted.
    pending_.store(num_threads_ - 1, std::memory_order_relaxed);
    {
      // Publish under the lock so that a worker about to sleep sees it.
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    start_cv_.notify_all();
    fn(0, n / threads, 0);
    tls_in_parallel = false;
    // Wait for the others: spin briefly, then sleep.
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (pending_.load(std::memory_order_acquire) != 0) {
      if (std::chrono::steady_clock::now() > until) {
        std::unique_lock<std::mutex> lock(mu_);
        done_cv_.wait(lock, [this] {
          return pending_.load(std::memory_order_acquire) == 0;
        });
        break;
      }
      CpuRelax();
    }
    job_fn_ = nullptr;
  }

 private:
  void Loop(int t, uint64_t seen) {
    tls_in_parallel = true;
    for (;;) {
      // Wait for a new generation: spin briefly, then sleep.
      const auto until = std::chrono::steady_clock::now() + kSpin;
      while (generation_.load(std::memory_order_acquire) == seen &&
             !stop_.load(std::memory_order_acquire)) {
        if (std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(mu_);
          start_cv_.wait(lock, [&] {
            return stop_.load() || generation_.load() != seen;
          });
          break;
        }
        CpuRelax();
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      const int threads = job_threads_;
      if (t < threads) {
        (*job_fn_)(job_n_ * t / threads, job_n_ * (t + 1) / threads, t);
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_cv_.notify_one();
      }
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    start_cv_.notify_all();
    for (std::thread& w : workers_) w.join();
    workers_.clear();
    stop_.store(false);
  }

  std::mutex call_mu_;  // one Run / SetNumThreads at a time
  std::mutex mu_;       // for sleeping only
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::vector<std::thread> workers_;
  int num_threads_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  // The job; written before generation_ is bumped (release), read after it
  // is seen (acquire).
  const std::function<void(int64_t, int64_t, int)>* job_fn_ = nullptr;
  int64_t job_n_ = 0;
  int job_threads_ = 0;
};

Pool& GlobalPool() {
  static Pool* pool = new Pool();  // never destroyed: workers may outlive main
  return *pool;
}

}  // namespace

void SetNumThreads(int n) { GlobalPool().SetNumThreads(n); }
int NumThreads() { return GlobalPool().num_threads(); }

void ParallelFor(int64_t n,
                 const std::function<void(int64_t, int64_t, int)>& fn) {
  GlobalPool().Run(n, fn);
}

void ParallelForEach(int64_t n, const std::function<void(int64_t)>& fn) {
  GlobalPool().Run(n, [&fn](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) fn(i);
  });
}

}  // namespace nftcim::trainer::nn
