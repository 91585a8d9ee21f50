#include "trainer/nn/tensor.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nftcim::trainer::nn {
namespace {

constexpr int64_t kTailPad = 16;    // floats past the end, always allocated
constexpr size_t kAlignment = 64;  // bytes

float* AllocateFloats(int64_t n) {
  // Round the byte size up to the alignment, as aligned_alloc requires.
  size_t bytes = static_cast<size_t>(n) * sizeof(float);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<float*>(p);
}

}  // namespace

std::string ShapeToString(const Shape& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

int64_t ShapeSize(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    assert(d >= 0);
    n *= d;
  }
  return n;
}

void Tensor::FreeDeleter::operator()(float* p) const { std::free(p); }

Tensor::Tensor(Shape shape) {
  Resize(std::move(shape));
  SetZero();
}

Tensor::Tensor(Tensor&& other) noexcept
    : shape_(std::move(other.shape_)),
      size_(other.size_),
      capacity_(other.capacity_),
      data_(std::move(other.data_)) {
  other.shape_.clear();
  other.size_ = 0;
  other.capacity_ = 0;
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this != &other) {
    shape_ = std::move(other.shape_);
    size_ = other.size_;
    capacity_ = other.capacity_;
    data_ = std::move(other.data_);
    other.shape_.clear();
    other.size_ = 0;
    other.capacity_ = 0;
  }
  return *this;
}

Tensor Tensor::Filled(Shape shape, float value) {
  Tensor t(std::move(shape));
  t.Fill(value);
  return t;
}

Tensor Tensor::Clone() const {
  Tensor t;
  t.CopyFrom(*this);
  return t;
}

void Tensor::CopyFrom(const Tensor& other) {
  if (this == &other) return;
  Resize(other.shape_);
  if (size_ > 0) std::memcpy(data(), other.data(), size_ * sizeof(float));
}

void Tensor::Resize(Shape shape) {
  const int64_t n = ShapeSize(shape);
  shape_ = std::move(shape);
  size_ = n;
  if (n == 0 && capacity_ == 0) return;
  if (n > capacity_) {
    // Round the capacity to whole 64-byte lines; the tail pad follows.
    const int64_t cap = (n + 15) / 16 * 16;
    float* p = AllocateFloats(cap + kTailPad);
    std::memset(p + cap, 0, kTailPad * sizeof(float));
    data_.reset(p);
    capacity_ = cap;
  }
}

void Tensor::Reshape(Shape shape) {
  const int64_t n = ShapeSize(shape);
  assert(n == size_);
  (void)n;
  shape_ = std::move(shape);
}

void Tensor::Clear() {
  shape_.clear();
  size_ = 0;
  capacity_ = 0;
  data_.reset();
}

void Tensor::SetZero() {
  if (size_ > 0) std::memset(data(), 0, size_ * sizeof(float));
}

void Tensor::Fill(float value) { std::fill(begin(), end(), value); }

int64_t Tensor::Offset1(int64_t i0) const {
  assert(ndim() == 1 && i0 >= 0 && i0 < shape_[0]);
  return i0;
}
int64_t Tensor::Offset2(int64_t i0, int64_t i1) const {
  assert(ndim() == 2);
  assert(i0 >= 0 && i0 < shape_[0] && i1 >= 0 && i1 < shape_[1]);
  return i0 * shape_[1] + i1;
}
int64_t Tensor::Offset3(int64_t i0, int64_t i1, int64_t i2) const {
  assert(ndim() == 3);
  assert(i0 >= 0 && i0 < shape_[0] && i1 >= 0 && i1 < shape_[1] && i2 >= 0 &&
         i2 < shape_[2]);
  return (i0 * shape_[1] + i1) * shape_[2] + i2;
}
int64_t Tensor::Offset4(int64_t i0, int64_t i1, int64_t i2, int64_t i3) const {
  assert(ndim() == 4);
  assert(i0 >= 0 && i0 < shape_[0] && i1 >= 0 && i1 < shape_[1] && i2 >= 0 &&
         i2 < shape_[2] && i3 >= 0 && i3 < shape_[3]);
  return ((i0 * shape_[1] + i1) * shape_[2] + i2) * shape_[3] + i3;
}

Tensor::MatrixMap Tensor::Matrix() {
  const int64_t rows = ndim() == 0 ? 0 : (ndim() == 1 ? 1 : shape_[0]);
  return Matrix(rows, rows == 0 ? 0 : size_ / rows);
}
Tensor::ConstMatrixMap Tensor::Matrix() const {
  const int64_t rows = ndim() == 0 ? 0 : (ndim() == 1 ? 1 : shape_[0]);
  return Matrix(rows, rows == 0 ? 0 : size_ / rows);
}
Tensor::MatrixMap Tensor::Matrix(int64_t rows, int64_t cols) {
  assert(rows * cols == size_);
  return MatrixMap(data(), rows, cols);
}
Tensor::ConstMatrixMap Tensor::Matrix(int64_t rows, int64_t cols) const {
  assert(rows * cols == size_);
  return ConstMatrixMap(data(), rows, cols);
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  assert(a.size() == b.size());
  float m = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    m = std::max(m, std::fabs(a[i] - b[i]));
  }
  return m;
}

}  // namespace nftcim::trainer::nn
