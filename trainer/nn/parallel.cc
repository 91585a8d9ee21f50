#include "trainer/nn/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace nftcim::trainer::nn {
namespace {

thread_local bool tls_in_parallel = false;

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
    const uint64_t generation = generation_;
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
    if (threads <= 1) {
      tls_in_parallel = true;
      fn(0, n, 0);
      tls_in_parallel = false;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_fn_ = &fn;
      job_n_ = n;
      job_threads_ = threads;
      pending_ = threads - 1;
      ++generation_;
    }
    start_cv_.notify_all();
    tls_in_parallel = true;
    fn(0, n / threads, 0);
    tls_in_parallel = false;
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    job_fn_ = nullptr;
  }

 private:
  void Loop(int t, uint64_t seen) {
    tls_in_parallel = true;
    for (;;) {
      const std::function<void(int64_t, int64_t, int)>* fn;
      int64_t n;
      int threads;
      {
        std::unique_lock<std::mutex> lock(mu_);
        start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        fn = job_fn_;
        n = job_n_;
        threads = job_threads_;
      }
      if (t < threads) {
        (*fn)(n * t / threads, n * (t + 1) / threads, t);
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    start_cv_.notify_all();
    for (std::thread& w : workers_) w.join();
    workers_.clear();
    stop_ = false;
  }

  std::mutex call_mu_;  // one Run / SetNumThreads at a time
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::vector<std::thread> workers_;
  int num_threads_ = 1;
  bool stop_ = false;
  uint64_t generation_ = 0;
  int pending_ = 0;
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
