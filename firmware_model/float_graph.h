#ifndef NFTCIM_FIRMWARE_MODEL_FLOAT_GRAPH_H_
#define NFTCIM_FIRMWARE_MODEL_FLOAT_GRAPH_H_

// The trained float network as the firmware sees it: the trainer's layer list
// (nn::ArchitectureInfo) fused into the operations the accelerator runs, with
// BatchNorm folded into a per-output-channel affine AFTER the crossbar
// product (docs/firmware-model.md, "BatchNorm folding"):
//
//   conv / linear:  y[c] = act( scale[c] * (W x)[c] + shift[c] [+ residual] )
//   maxpool 2x2, global average pool, flatten
//
// The weights W are the trained conv / linear weights, unchanged: they are
// what the crossbars are programmed with (the trainer injects variation into
// them, before BatchNorm). The compiler runs this graph in float to
// calibrate activation ranges, and the tests run it to check that folding
// kept the network's function (against nn::Network::Forward).
//
// Activations are NHWC per image ([height, width, channels], a flattened or
// pooled vector being 1 x 1 x C); Flatten produces PyTorch's C*H*W order.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trainer/nn/network.h"

namespace nftcim::firmware {

struct FloatOp {
  enum class Kind { kConv, kLinear, kMaxPool, kGlobalAvgPool, kFlatten };
  Kind kind = Kind::kConv;
  // Name of the conv / linear / pool layer in the trainer's description
  // ("conv1", "layer2.0.shortcut.conv", "fc").
  std::string name;
  // Index of the op producing the input, -1 for the network input.
  int input = -1;
  // conv: index of the op whose output is added before the ReLU, or -1.
  int residual = -1;
  bool relu = false;
  // Per-image shapes.
  int in_c = 0, in_h = 0, in_w = 0;
  int out_c = 0, out_h = 0, out_w = 0;
  int kernel = 1, stride = 1, padding = 0;
  // conv / linear: the trained weight, PyTorch layout [out][in*k*k] with
  // column (c * k + ky) * k + kx (the crossbar's layer-matrix row order).
  std::vector<float> weight;
  // conv / linear: folded BatchNorm (or 1 and the linear bias):
  // scale = gamma / sqrt(running_var + eps), shift = beta - mean * scale.
  std::vector<double> scale, shift;
  // Provenance: parameter names; the fused residual add layer's name.
  std::string weight_name, batchnorm_name, bias_name, add_name;

  int64_t in_size() const { return int64_t{in_c} * in_h * in_w; }
  int64_t out_size() const { return int64_t{out_c} * out_h * out_w; }
  // Rows of the layer matrix: in_c * k * k (linear: in features).
  int64_t matrix_rows() const {
    return kind == Kind::kConv ? int64_t{in_c} * kernel * kernel : in_size();
  }
};

struct FloatGraph {
  std::string arch;
  int in_channels = 0, input_size = 0, num_classes = 0;
  std::vector<FloatOp> ops;  // execution order; the last produces the logits
};

// Fuses the network's layer list. Errors (InvalidArgument, naming the layer)
// for a layer type the accelerator does not run, a BatchNorm / ReLU / add
// that cannot be fused into the operation before it, or missing parameters.
absl::StatusOr<FloatGraph> BuildFloatGraph(trainer::nn::Network& network);

// What calibration needs besides the outputs, per op (conv / linear only;
// maxima over everything run so far: RunFloatGraph raises them).
struct FloatOpStats {
  // max |W x|: the crossbar product in real units, before the affine.
  double max_abs_product = 0;
  // max |scale * W x + shift|: before the residual add and the ReLU.
  double max_abs_preact = 0;
};

// Runs `n` images x (NCHW, normalised floats, as nn::Network takes them).
// outputs (resized) receives every op's output, [n][out_size] NHWC per
// image; logits are outputs->back(). weight_override (optional): one weight
// vector per op (empty entries use op.weight). stats (optional, one per op
// or empty to be sized) are raised to this run's maxima.
void RunFloatGraph(const FloatGraph& graph, const float* x, int64_t n,
                   std::vector<std::vector<float>>* outputs,
                   const std::vector<std::vector<float>>* weight_override = nullptr,
                   std::vector<FloatOpStats>* stats = nullptr);

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_FLOAT_GRAPH_H_
