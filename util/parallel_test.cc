#include "util/parallel.h"

#include <atomic>
#include <vector>

#include "gtest/gtest.h"

namespace nftcim {
namespace {

TEST(ParallelForTest, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 8}) {
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      ParallelFor(n, threads, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << " " << threads;
    }
  }
}

TEST(ParallelForTest, PartitionDependsOnlyOnNAndThreads) {
  std::vector<int> owner_a(100), owner_b(100);
  ParallelFor(100, 3, [&](int64_t b, int64_t e, int w) { for (auto i = b; i < e; ++i) owner_a[i] = w; });
  ParallelFor(100, 3, [&](int64_t b, int64_t e, int w) { for (auto i = b; i < e; ++i) owner_b[i] = w; });
  EXPECT_EQ(owner_a, owner_b);
  EXPECT_EQ(owner_a[0], 0);
  EXPECT_EQ(owner_a[99], 2);
}

}  // namespace
}  // namespace nftcim
