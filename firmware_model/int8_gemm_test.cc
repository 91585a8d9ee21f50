#include "firmware_model/int8_gemm.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "rng/splitmix64.h"

namespace nftcim::firmware {
namespace {

uint64_t Next(rng::SplitMix64* s) { return s->Next(); }

// Exact product against a plain int64 triple loop, for weights with a given
// share of magnitudes above 2^15 (the sparse top digit) and inputs with and
// without the +128 offset.
void CheckExact(int64_t rows, int64_t cols, int64_t batch, double big_share, bool offset) {
  rng::SplitMix64 s(rows * 131 + cols * 7 + batch + (offset ? 1 : 0));
  std::vector<double> w(rows * cols);
  for (double& v : w) {
    const bool big = static_cast<double>(Next(&s) % 10000) < big_share * 10000;
    const int64_t mag = big ? 32640 + static_cast<int64_t>(Next(&s) % 80000)
                            : static_cast<int64_t>(Next(&s) % 32640);
    v = static_cast<double>(Next(&s) % 2 ? mag : -mag);
  }
  std::optional<Int8Gemm> g = Int8Gemm::Pack(w.data(), rows, cols, offset);
  if (!Int8Gemm::Supported()) {
    EXPECT_FALSE(g.has_value());
    GTEST_SKIP() << "no AVX-512 VNNI in this build";
  }
  ASSERT_TRUE(g.has_value());
  const int64_t kp = g->padded_rows();
  std::vector<uint8_t> a(batch * kp, 0);
  std::vector<int64_t> x(batch * rows);
  for (int64_t m = 0; m < batch; ++m) {
    for (int64_t k = 0; k < rows; ++k) {
      const int64_t v = offset ? static_cast<int64_t>(Next(&s) % 256) - 128
                               : static_cast<int64_t>(Next(&s) % 256);
      x[m * rows + k] = v;
      a[m * kp + k] = static_cast<uint8_t>(offset ? v + 128 : v);
    }
  }
  std::vector<int64_t> c(batch * (cols + 3), -1);
  std::vector<int32_t> scratch;
  g->Multiply(a.data(), batch, c.data(), cols + 3, &scratch);
  for (int64_t m = 0; m < batch; ++m) {
    for (int64_t n = 0; n < cols; ++n) {
      int64_t want = 0;
      for (int64_t k = 0; k < rows; ++k) want += x[m * rows + k] * static_cast<int64_t>(w[k * cols + n]);
      ASSERT_EQ(c[m * (cols + 3) + n], want) << "m=" << m << " n=" << n;
    }
  }
}

// Shapes that do not fill a 4-row group, a 6-row block or a 64-column
// panel (96 and 30 digit columns end in a half panel); weights that need
// the third digit (|W| > 32639) in some or all places; unsigned and offset
// (signed) inputs.
TEST(Int8GemmTest, ExactAgainstPlainLoops) {
  CheckExact(37, 21, 13, 0.002, false);
  CheckExact(300, 70, 7, 0.05, true);
  CheckExact(129, 64, 6, 1.0, true);
  CheckExact(1152, 130, 5, 0.0, true);
  CheckExact(1, 1, 1, 1.0, false);
  CheckExact(144, 32, 13, 0.3, false);
  CheckExact(40, 10, 7, 0.5, true);
}

// Rows of A read in place as `segments` runs scattered in a larger buffer
// (the layout of a convolution read from its padded input tensor) give the
// same exact product as the plain loops.
void CheckSegments(int segments, int64_t run, int64_t cols, int64_t batch, bool offset) {
  const int64_t rows = segments * run;
  rng::SplitMix64 s(rows * 17 + cols * 5 + batch);
  std::vector<double> w(rows * cols);
  for (double& v : w) {
    const int64_t mag = static_cast<int64_t>(Next(&s) % 70000);
    v = static_cast<double>(Next(&s) % 2 ? mag : -mag);
  }
  // Runs whose length is not a multiple of 4 are packed as padded runs.
  std::optional<Int8Gemm> g = Int8Gemm::Pack(w.data(), rows, cols, offset, segments);
  if (!Int8Gemm::Supported()) GTEST_SKIP() << "no AVX-512 VNNI in this build";
  ASSERT_TRUE(g.has_value());
  ASSERT_TRUE(g->CanSegment(segments));
  if (run % 4 != 0) {
    EXPECT_EQ(g->padded_rows(), segments * ((run + 3) / 4 * 4));
    // Padded runs can only be read as those runs.
    EXPECT_FALSE(g->CanSegment(1));
  }
  EXPECT_FALSE(g->CanSegment(static_cast<int>(rows)));  // runs of 1 byte
  EXPECT_FALSE(g->CanSegment(0));
  const int64_t stride = run + 13;  // runs are not adjacent
  std::vector<uint8_t> buffer(static_cast<size_t>(batch * 7 + segments * stride + 64));
  for (uint8_t& b : buffer) b = static_cast<uint8_t>(Next(&s));
  std::vector<int64_t> row_offset(batch);
  for (int64_t m = 0; m < batch; ++m) row_offset[m] = (m * 5) % (batch * 7);  // rows overlap
  std::vector<int64_t> c(batch * cols, -1);
  std::vector<int32_t> scratch;
  g->MultiplySegments(buffer.data(), row_offset.data(), segments, stride, batch, c.data(), cols,
                      &scratch);
  for (int64_t m = 0; m < batch; ++m) {
    for (int64_t n = 0; n < cols; ++n) {
      int64_t want = 0;
      for (int64_t k = 0; k < rows; ++k) {
        const int64_t byte = buffer[row_offset[m] + (k / run) * stride + k % run];
        want += (offset ? byte - 128 : byte) * static_cast<int64_t>(w[k * cols + n]);
      }
      ASSERT_EQ(c[m * cols + n], want) << "m=" << m << " n=" << n;
    }
  }
}

TEST(Int8GemmTest, SegmentedRowsExact) {
  CheckSegments(3, 48, 32, 17, false);
  CheckSegments(3, 96, 64, 6, true);
  CheckSegments(1, 20, 10, 3, false);
  CheckSegments(7, 4, 130, 11, true);
  // A 3x3 convolution over 1 and 3 channels: runs of 3 and 9 bytes; the
  // bytes read past each run (other pixels) meet zero weights.
  CheckSegments(3, 3, 16, 13, true);
  CheckSegments(3, 9, 20, 7, false);
  CheckSegments(5, 6, 33, 5, true);
}

TEST(Int8GemmTest, RejectsNonIntegersAndHugeWeights) {
  std::vector<double> w = {1.5};
  EXPECT_FALSE(Int8Gemm::Pack(w.data(), 1, 1, false).has_value());
  w = {9e6};
  EXPECT_FALSE(Int8Gemm::Pack(w.data(), 1, 1, false).has_value());
  w = {1, 2, 3};
  EXPECT_FALSE(Int8Gemm::Pack(w.data(), 3, 1, false, 2).has_value());  // 3 rows in 2 runs
}

}  // namespace
}  // namespace nftcim::firmware
