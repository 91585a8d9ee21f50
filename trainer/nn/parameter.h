#ifndef NFTCIM_TRAINER_NN_PARAMETER_H_
#define NFTCIM_TRAINER_NN_PARAMETER_H_

#include <string>

#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {

// A trainable tensor. `grad` has the shape of `value` and is accumulated
// into by Backward calls until ZeroGrad.
struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;
  // True exactly for convolution and linear WEIGHTS: the tensors that are
  // programmed into NVM crossbars and so receive device variation. Biases and
  // BatchNorm affine parameters are never device mapped.
  bool device_mapped = false;
};

// A non-trainable state tensor (BatchNorm running_mean / running_var).
struct Buffer {
  std::string name;
  Tensor value;
};

// Makes a parameter of the given shape: value and grad zero-filled.
inline void InitParameter(Parameter* p, std::string name, Shape shape,
                          bool device_mapped) {
  p->name = std::move(name);
  p->value = Tensor(shape);
  p->grad = Tensor(std::move(shape));
  p->device_mapped = device_mapped;
}

}  // namespace nftcim::trainer::nn

#endif  // NFTCIM_TRAINER_NN_PARAMETER_H_
