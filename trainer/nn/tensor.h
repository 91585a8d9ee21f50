#ifndef NFTCIM_TRAINER_NN_TENSOR_H_
#define NFTCIM_TRAINER_NN_TENSOR_H_

// A dense float tensor: contiguous, row-major, 64-byte aligned.
//
// Layout conventions used across trainer/nn:
//   images            NCHW    [batch, channels, height, width]
//   Linear weights    [out, in]                (as PyTorch)
//   Conv2d weights    [Cout, Cin, kh, kw]      (as PyTorch)
//   logits            [batch, classes]
//
// Moving is cheap; copying is explicit (Clone / CopyFrom) so that large
// activations are never duplicated by accident. The storage always has room
// for at least 16 floats beyond size() (zeroed at allocation), so vectorized
// kernels may read one vector past the end of a row without leaving the
// allocation. Resize() keeps the allocation when it is large enough, so a
// tensor reused across training steps does not reallocate.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "Eigen/Core"
#include "absl/container/inlined_vector.h"

namespace nftcim::trainer::nn {

using Shape = absl::InlinedVector<int64_t, 4>;

// "[2, 3, 4]"
std::string ShapeToString(const Shape& shape);
int64_t ShapeSize(const Shape& shape);

class Tensor {
 public:
  using RowMajorMatrix =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MatrixMap = Eigen::Map<RowMajorMatrix, Eigen::Aligned64>;
  using ConstMatrixMap = Eigen::Map<const RowMajorMatrix, Eigen::Aligned64>;
  using VectorMap = Eigen::Map<Eigen::VectorXf, Eigen::Aligned64>;
  using ConstVectorMap = Eigen::Map<const Eigen::VectorXf, Eigen::Aligned64>;

  // An empty tensor: shape [], size 0, data() == nullptr.
  Tensor() = default;
  // A zero-filled tensor of the given shape.
  explicit Tensor(Shape shape);
  Tensor(std::initializer_list<int64_t> shape) : Tensor(Shape(shape)) {}

  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  ~Tensor() = default;

  static Tensor Zeros(Shape shape) { return Tensor(std::move(shape)); }
  static Tensor Filled(Shape shape, float value);

  // An independent copy.
  Tensor Clone() const;
  // Makes *this a copy of `other` (reusing storage when large enough).
  void CopyFrom(const Tensor& other);

  // Changes the shape. Storage is kept if it is large enough; otherwise it
  // is reallocated. Element values are unspecified afterwards (use
  // ResizeZero or SetZero when zeros are needed).
  void Resize(Shape shape);
  void ResizeZero(Shape shape) {
    Resize(std::move(shape));
    SetZero();
  }
  // Changes the shape without touching the data; sizes must match.
  void Reshape(Shape shape);
  // Frees the storage; the tensor becomes empty.
  void Clear();

  void SetZero();
  void Fill(float value);

  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + ndim() : i]; }
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t capacity() const { return capacity_; }
  std::string ShapeString() const { return ShapeToString(shape_); }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float* begin() { return data(); }
  float* end() { return data() + size_; }
  const float* begin() const { return data(); }
  const float* end() const { return data() + size_; }

  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  // Element access by multi-index (checked in debug builds only).
  float& at(int64_t i0) { return data_[Offset1(i0)]; }
  float& at(int64_t i0, int64_t i1) { return data_[Offset2(i0, i1)]; }
  float& at(int64_t i0, int64_t i1, int64_t i2) {
    return data_[Offset3(i0, i1, i2)];
  }
  float& at(int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return data_[Offset4(i0, i1, i2, i3)];
  }
  float at(int64_t i0) const { return data_[Offset1(i0)]; }
  float at(int64_t i0, int64_t i1) const { return data_[Offset2(i0, i1)]; }
  float at(int64_t i0, int64_t i1, int64_t i2) const {
    return data_[Offset3(i0, i1, i2)];
  }
  float at(int64_t i0, int64_t i1, int64_t i2, int64_t i3) const {
    return data_[Offset4(i0, i1, i2, i3)];
  }

  // Eigen views. Matrix() views the tensor as [dim(0), size()/dim(0)]
  // (a 1-D tensor as one row); Matrix(rows, cols) needs rows*cols == size().
  MatrixMap Matrix();
  ConstMatrixMap Matrix() const;
  MatrixMap Matrix(int64_t rows, int64_t cols);
  ConstMatrixMap Matrix(int64_t rows, int64_t cols) const;
  VectorMap Vector() { return VectorMap(data(), size_); }
  ConstVectorMap Vector() const { return ConstVectorMap(data(), size_); }

 private:
  struct FreeDeleter {
    void operator()(float* p) const;
  };

  int64_t Offset1(int64_t i0) const;
  int64_t Offset2(int64_t i0, int64_t i1) const;
  int64_t Offset3(int64_t i0, int64_t i1, int64_t i2) const;
  int64_t Offset4(int64_t i0, int64_t i1, int64_t i2, int64_t i3) const;

  Shape shape_;
  int64_t size_ = 0;
  int64_t capacity_ = 0;  // floats usable, excluding the 16-float tail pad
  std::unique_ptr<float[], FreeDeleter> data_;
};

// Largest absolute elementwise difference; shapes must have equal sizes.
float MaxAbsDiff(const Tensor& a, const Tensor& b);

}  // namespace nftcim::trainer::nn

#endif  // NFTCIM_TRAINER_NN_TENSOR_H_
