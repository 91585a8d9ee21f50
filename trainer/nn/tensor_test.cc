#include "trainer/nn/tensor.h"

#include <cstdint>
#include <utility>

#include "gtest/gtest.h"

namespace nftcim::trainer::nn {
namespace {

TEST(TensorTest, ZeroFilledAlignedWithShape) {
  Tensor t({2, 3, 4, 5});
  EXPECT_EQ(t.ndim(), 4);
  EXPECT_EQ(t.size(), 120);
  EXPECT_EQ(t.dim(-1), 5);
  EXPECT_EQ(t.ShapeString(), "[2, 3, 4, 5]");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  for (float v : t) EXPECT_EQ(v, 0.0f);
}

TEST(TensorTest, EmptyTensor) {
  Tensor t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.size(), 0);
  EXPECT_EQ(t.data(), nullptr);
}

TEST(TensorTest, ElementAccessIsRowMajor) {
  Tensor t({2, 3, 4, 5});
  t.at(1, 2, 3, 4) = 7;
  EXPECT_EQ(t[((1 * 3 + 2) * 4 + 3) * 5 + 4], 7);
  Tensor m({3, 4});
  m.at(2, 1) = 5;
  EXPECT_EQ(m[2 * 4 + 1], 5);
  EXPECT_EQ(m.Matrix()(2, 1), 5);
}

TEST(TensorTest, MoveIsCheapCopyIsExplicit) {
  Tensor a({10});
  a[3] = 2;
  const float* p = a.data();
  Tensor b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  Tensor c = b.Clone();
  EXPECT_NE(c.data(), b.data());
  EXPECT_EQ(c[3], 2);
  c[3] = 4;
  EXPECT_EQ(b[3], 2);
  Tensor d;
  d.CopyFrom(c);
  EXPECT_EQ(d.shape(), c.shape());
  EXPECT_EQ(d[3], 4);
}

TEST(TensorTest, ResizeKeepsStorageWhenLargeEnough) {
  Tensor t({100});
  const float* p = t.data();
  t.Resize({10, 5});
  EXPECT_EQ(t.data(), p);
  EXPECT_EQ(t.size(), 50);
  t.Resize({200});
  EXPECT_EQ(t.size(), 200);
  t.ResizeZero({3, 3});
  for (float v : t) EXPECT_EQ(v, 0.0f);
}

TEST(TensorTest, ReshapeAndFill) {
  Tensor t = Tensor::Filled({2, 6}, 1.5f);
  t.Reshape({3, 4});
  EXPECT_EQ(t.dim(0), 3);
  for (float v : t) EXPECT_EQ(v, 1.5f);
}

TEST(TensorTest, EigenMatrixViewIsRowMajor) {
  Tensor t({2, 3});
  for (int i = 0; i < 6; ++i) t[i] = static_cast<float>(i);
  auto m = t.Matrix();
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m.cols(), 3);
  EXPECT_EQ(m(1, 0), 3);
  Tensor y({2, 2});
  y.Matrix().noalias() = m * m.transpose();
  EXPECT_EQ(y.at(0, 0), 0 + 1 + 4);
  EXPECT_EQ(y.at(1, 1), 9 + 16 + 25);
  EXPECT_EQ(t.Vector().sum(), 15);
}

}  // namespace
}  // namespace nftcim::trainer::nn
