#include "firmware_model/float_graph.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "emulator/exact_gemm.h"
#include "trainer/nn/layers.h"

namespace nftcim::firmware {
namespace {

using trainer::nn::LayerInfo;

absl::Status LayerError(const LayerInfo& l, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("layer '", l.name, "' (", l.type, "): ", what));
}

// "bn1.weight" -> "bn1".
std::string ModulePrefix(const std::string& param) {
  const size_t dot = param.rfind('.');
  return dot == std::string::npos ? param : param.substr(0, dot);
}

// im2col of NHWC images into [n * out_h * out_w][in_c * k * k] with column
// (c * k + ky) * k + kx; zero outside the image (the float model's padding).
void Im2Col(const FloatOp& op, const float* x, int64_t n, float* cols) {
  const int k = op.kernel;
  const int64_t rows = op.matrix_rows();
  for (int64_t i = 0; i < n; ++i) {
    const float* img = x + i * op.in_size();
    for (int oy = 0; oy < op.out_h; ++oy) {
      for (int ox = 0; ox < op.out_w; ++ox) {
        float* row = cols + ((i * op.out_h + oy) * op.out_w + ox) * rows;
        for (int c = 0; c < op.in_c; ++c) {
          for (int ky = 0; ky < k; ++ky) {
            const int iy = oy * op.stride + ky - op.padding;
            for (int kx = 0; kx < k; ++kx) {
              const int ix = ox * op.stride + kx - op.padding;
              const bool inside = iy >= 0 && iy < op.in_h && ix >= 0 && ix < op.in_w;
              row[(c * k + ky) * k + kx] =
                  inside ? img[(static_cast<int64_t>(iy) * op.in_w + ix) * op.in_c + c] : 0.0f;
            }
          }
        }
      }
    }
  }
}

}  // namespace

absl::StatusOr<FloatGraph> BuildFloatGraph(trainer::nn::Network& network) {
  const trainer::nn::ArchitectureInfo& info = network.info();
  FloatGraph g;
  g.arch = info.arch;
  g.in_channels = info.in_channels;
  g.input_size = info.input_size;
  g.num_classes = info.num_classes;

  // Which op (and which stage of it) each layer name's tensor is. A fused
  // stage (BatchNorm, add, ReLU) may only consume a tensor nobody else reads.
  std::map<std::string, int> producer;  // name -> op index (-1: input)
  std::map<std::string, int> uses;
  producer["input"] = -1;
  for (const LayerInfo& l : info.layers) {
    for (const std::string& in : l.inputs) ++uses[in];
  }
  // Per op: has BatchNorm been folded, the add, the ReLU.
  std::vector<char> has_bn, has_add;
  auto resolve = [&](const LayerInfo& l, const std::string& name) -> absl::StatusOr<int> {
    auto it = producer.find(name);
    if (it == producer.end()) {
      return LayerError(l, absl::StrCat("input '", name, "' is not produced by an earlier layer"));
    }
    return it->second;
  };
  // The op a fused stage folds into: its only input must be the op's latest
  // output, read by nobody else.
  auto fuse_target = [&](const LayerInfo& l) -> absl::StatusOr<int> {
    if (l.inputs.empty()) return LayerError(l, "has no input");
    absl::StatusOr<int> op = resolve(l, l.inputs[0]);
    if (!op.ok()) return op.status();
    if (*op < 0 || (g.ops[*op].kind != FloatOp::Kind::kConv &&
                    g.ops[*op].kind != FloatOp::Kind::kLinear)) {
      return LayerError(l, absl::StrCat("must follow a conv or linear layer (input '",
                                        l.inputs[0], "')"));
    }
    if (uses[l.inputs[0]] != 1) {
      return LayerError(l, absl::StrCat("cannot be fused: its input '", l.inputs[0],
                                        "' is also read by another layer"));
    }
    return *op;
  };

  for (const LayerInfo& l : info.layers) {
    if (l.type == "conv" || l.type == "linear") {
      if (l.inputs.size() != 1) return LayerError(l, "needs exactly one input");
      absl::StatusOr<int> in = resolve(l, l.inputs[0]);
      if (!in.ok()) return in.status();
      FloatOp op;
      op.kind = l.type == "conv" ? FloatOp::Kind::kConv : FloatOp::Kind::kLinear;
      op.name = l.name;
      op.input = *in;
      op.in_c = l.in_channels;
      op.in_h = l.in_h;
      op.in_w = l.in_w;
      op.out_c = l.out_channels;
      op.out_h = l.out_h;
      op.out_w = l.out_w;
      if (op.kind == FloatOp::Kind::kConv) {
        op.kernel = l.kernel;
        op.stride = l.stride;
        op.padding = l.padding;
        if (l.kernel < 1 || l.stride < 1 || l.padding < 0 ||
            (l.in_h + 2 * l.padding - l.kernel) / l.stride + 1 != l.out_h ||
            (l.in_w + 2 * l.padding - l.kernel) / l.stride + 1 != l.out_w) {
          return LayerError(l, absl::StrCat("inconsistent geometry: ", l.in_h, "x", l.in_w,
                                            " kernel ", l.kernel, " stride ", l.stride,
                                            " padding ", l.padding, " -> ", l.out_h, "x",
                                            l.out_w));
        }
      } else {
        // A linear layer reads its input as one vector.
        op.in_c = l.in_channels * l.in_h * l.in_w;
        op.in_h = op.in_w = 1;
        if (l.out_h != 1 || l.out_w != 1) return LayerError(l, "linear output must be 1x1");
      }
      trainer::nn::Parameter* w = network.FindParameter(l.weight);
      if (w == nullptr) return LayerError(l, absl::StrCat("weight '", l.weight, "' not found"));
      const int64_t expect = int64_t{op.out_c} * op.matrix_rows();
      if (w->value.size() != expect) {
        return LayerError(l, absl::StrCat("weight '", l.weight, "' has ", w->value.size(),
                                          " values, expected ", expect));
      }
      op.weight.assign(w->value.begin(), w->value.end());
      op.weight_name = l.weight;
      op.scale.assign(op.out_c, 1.0);
      op.shift.assign(op.out_c, 0.0);
      if (!l.bias.empty()) {
        trainer::nn::Parameter* b = network.FindParameter(l.bias);
        if (b == nullptr || b->value.size() != op.out_c) {
          return LayerError(l, absl::StrCat("bias '", l.bias, "' missing or not ", op.out_c,
                                            " values"));
        }
        for (int c = 0; c < op.out_c; ++c) op.shift[c] = b->value[c];
        op.bias_name = l.bias;
      }
      producer[l.name] = static_cast<int>(g.ops.size());
      g.ops.push_back(std::move(op));
      has_bn.push_back(0);
      has_add.push_back(0);
    } else if (l.type == "batchnorm") {
      absl::StatusOr<int> t = fuse_target(l);
      if (!t.ok()) return t.status();
      FloatOp& op = g.ops[*t];
      if (op.kind != FloatOp::Kind::kConv || has_bn[*t] || has_add[*t] || op.relu) {
        return LayerError(l, "BatchNorm must directly follow a convolution");
      }
      const std::string prefix = ModulePrefix(l.weight);
      trainer::nn::Parameter* gamma = network.FindParameter(l.weight);
      trainer::nn::Parameter* beta = network.FindParameter(l.bias);
      trainer::nn::Buffer* mean = network.FindBuffer(prefix + ".running_mean");
      trainer::nn::Buffer* var = network.FindBuffer(prefix + ".running_var");
      if (gamma == nullptr || beta == nullptr || mean == nullptr || var == nullptr ||
          gamma->value.size() != op.out_c || beta->value.size() != op.out_c ||
          mean->value.size() != op.out_c || var->value.size() != op.out_c) {
        return LayerError(l, absl::StrCat("parameters/buffers of '", prefix, "' missing or not ",
                                          op.out_c, " channels"));
      }
      for (int c = 0; c < op.out_c; ++c) {
        const double v = var->value[c];
        if (!(v >= 0) || !std::isfinite(v)) {
          return LayerError(l, absl::StrCat("running_var[", c, "] = ", v, " is not >= 0"));
        }
        const double invstd = 1.0 / std::sqrt(v + trainer::nn::kBatchNormEps);
        const double scale = static_cast<double>(gamma->value[c]) * invstd;
        op.scale[c] = scale;
        op.shift[c] = static_cast<double>(beta->value[c]) - mean->value[c] * scale;
      }
      op.batchnorm_name = prefix;
      has_bn[*t] = 1;
      producer[l.name] = *t;
    } else if (l.type == "add") {
      if (l.inputs.size() != 2) return LayerError(l, "needs exactly two inputs");
      absl::StatusOr<int> t = fuse_target(l);
      if (!t.ok()) return t.status();
      absl::StatusOr<int> other = resolve(l, l.inputs[1]);
      if (!other.ok()) return other.status();
      FloatOp& op = g.ops[*t];
      if (op.kind != FloatOp::Kind::kConv || has_add[*t] || op.relu || *other < 0 ||
          *other >= *t) {
        return LayerError(l, "an add must take a conv (+BatchNorm) output and an earlier layer's");
      }
      const FloatOp& r = g.ops[*other];
      if (r.out_c != op.out_c || r.out_h != op.out_h || r.out_w != op.out_w) {
        return LayerError(l, "the added tensors' shapes differ");
      }
      op.residual = *other;
      op.add_name = l.name;
      has_add[*t] = 1;
      producer[l.name] = *t;
    } else if (l.type == "relu") {
      absl::StatusOr<int> t = fuse_target(l);
      if (!t.ok()) return t.status();
      FloatOp& op = g.ops[*t];
      if (op.relu) return LayerError(l, "two ReLUs in a row");
      op.relu = true;
      producer[l.name] = *t;
    } else if (l.type == "maxpool" || l.type == "avgpool" || l.type == "flatten") {
      if (l.inputs.size() != 1) return LayerError(l, "needs exactly one input");
      absl::StatusOr<int> in = resolve(l, l.inputs[0]);
      if (!in.ok()) return in.status();
      FloatOp op;
      op.name = l.name;
      op.input = *in;
      op.in_c = l.in_channels;
      op.in_h = l.in_h;
      op.in_w = l.in_w;
      if (l.type == "maxpool") {
        if (l.kernel != 2 || l.stride != 2) return LayerError(l, "only 2x2 / stride 2 max pooling");
        op.kind = FloatOp::Kind::kMaxPool;
        op.kernel = op.stride = 2;
        op.out_c = l.in_channels;
        op.out_h = l.in_h / 2;
        op.out_w = l.in_w / 2;
      } else if (l.type == "avgpool") {
        op.kind = FloatOp::Kind::kGlobalAvgPool;
        op.out_c = l.in_channels;
        op.out_h = op.out_w = 1;
      } else {
        op.kind = FloatOp::Kind::kFlatten;
        op.out_c = l.in_channels * l.in_h * l.in_w;
        op.out_h = op.out_w = 1;
      }
      if (op.out_c != l.out_channels || op.out_h != l.out_h || op.out_w != l.out_w) {
        return LayerError(l, "output shape does not match the operation");
      }
      producer[l.name] = static_cast<int>(g.ops.size());
      g.ops.push_back(std::move(op));
      has_bn.push_back(0);
      has_add.push_back(0);
    } else {
      return LayerError(l, "unknown layer type (the firmware runs conv, batchnorm, relu, add, "
                           "maxpool, avgpool, flatten, linear)");
    }
  }
  if (g.ops.empty() || g.ops.back().kind != FloatOp::Kind::kLinear ||
      g.ops.back().out_c != g.num_classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "architecture '", g.arch, "': the last layer must be a linear layer with ",
        g.num_classes, " outputs (the logits)"));
  }
  // Every op's input must have the shape it expects.
  for (const FloatOp& op : g.ops) {
    const int64_t have = op.input < 0
                             ? int64_t{g.in_channels} * g.input_size * g.input_size
                             : g.ops[op.input].out_size();
    if (have != op.in_size()) {
      return absl::InvalidArgumentError(absl::StrCat("layer '", op.name, "' expects ",
                                                     op.in_size(), " input values, its input has ",
                                                     have));
    }
  }
  return g;
}

void RunFloatGraph(const FloatGraph& graph, const float* x, int64_t n,
                   std::vector<std::vector<float>>* outputs,
                   const std::vector<std::vector<float>>* weight_override,
                   std::vector<FloatOpStats>* stats) {
  if (stats != nullptr) stats->resize(graph.ops.size());
  const int s = graph.input_size, cin = graph.in_channels;
  // NCHW -> NHWC.
  std::vector<float> input(static_cast<size_t>(n) * cin * s * s);
  for (int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < cin; ++c) {
      for (int p = 0; p < s * s; ++p) {
        input[(i * s * s + p) * cin + c] = x[(i * cin + c) * s * s + p];
      }
    }
  }
  outputs->resize(graph.ops.size());
  std::vector<float> cols, wt;
  for (size_t k = 0; k < graph.ops.size(); ++k) {
    const FloatOp& op = graph.ops[k];
    const std::vector<float>& in = op.input < 0 ? input : (*outputs)[op.input];
    std::vector<float>& out = (*outputs)[k];
    out.assign(static_cast<size_t>(n * op.out_size()), 0.0f);
    switch (op.kind) {
      case FloatOp::Kind::kConv:
      case FloatOp::Kind::kLinear: {
        const int64_t rows = op.matrix_rows();
        const int64_t positions = n * op.out_h * op.out_w;
        const float* src = in.data();
        if (op.kind == FloatOp::Kind::kConv) {
          cols.resize(static_cast<size_t>(positions * rows));
          Im2Col(op, in.data(), n, cols.data());
          src = cols.data();
        }
        const std::vector<float>& w =
            weight_override != nullptr && !(*weight_override)[k].empty() ? (*weight_override)[k]
                                                                        : op.weight;
        // y [positions x out] = x [positions x rows] * w^T.
        wt.resize(static_cast<size_t>(rows * op.out_c));
        for (int c = 0; c < op.out_c; ++c) {
          for (int64_t r = 0; r < rows; ++r) wt[r * op.out_c + c] = w[c * rows + r];
        }
        emulator::GemmRowMajor(src, wt.data(), out.data(), positions, rows, op.out_c);
        float* ym = out.data();
        const float* res = op.residual >= 0 ? (*outputs)[op.residual].data() : nullptr;
        double max_product = 0, max_preact = 0;
        for (int64_t p = 0; p < positions; ++p) {
          for (int c = 0; c < op.out_c; ++c) {
            max_product = std::max(max_product, std::fabs(static_cast<double>(ym[p * op.out_c + c])));
            double v = op.scale[c] * ym[p * op.out_c + c] + op.shift[c];
            max_preact = std::max(max_preact, std::fabs(v));
            if (res != nullptr) v += res[p * op.out_c + c];
            if (op.relu) v = std::max(v, 0.0);
            ym[p * op.out_c + c] = static_cast<float>(v);
          }
        }
        if (stats != nullptr) {
          FloatOpStats& st = (*stats)[k];
          st.max_abs_product = std::max(st.max_abs_product, max_product);
          st.max_abs_preact = std::max(st.max_abs_preact, max_preact);
        }
        break;
      }
      case FloatOp::Kind::kMaxPool:
        for (int64_t i = 0; i < n; ++i) {
          const float* a = in.data() + i * op.in_size();
          float* b = out.data() + i * op.out_size();
          for (int oy = 0; oy < op.out_h; ++oy) {
            for (int ox = 0; ox < op.out_w; ++ox) {
              for (int c = 0; c < op.out_c; ++c) {
                float m = a[((2 * oy) * op.in_w + 2 * ox) * op.in_c + c];
                for (int d = 1; d < 4; ++d) {
                  m = std::max(m, a[((2 * oy + d / 2) * op.in_w + 2 * ox + d % 2) * op.in_c + c]);
                }
                b[(oy * op.out_w + ox) * op.out_c + c] = m;
              }
            }
          }
        }
        break;
      case FloatOp::Kind::kGlobalAvgPool:
        for (int64_t i = 0; i < n; ++i) {
          const float* a = in.data() + i * op.in_size();
          for (int c = 0; c < op.out_c; ++c) {
            double sum = 0;
            for (int p = 0; p < op.in_h * op.in_w; ++p) sum += a[p * op.in_c + c];
            out[i * op.out_c + c] = static_cast<float>(sum / (op.in_h * op.in_w));
          }
        }
        break;
      case FloatOp::Kind::kFlatten:
        // NHWC -> PyTorch's C*H*W order.
        for (int64_t i = 0; i < n; ++i) {
          const float* a = in.data() + i * op.in_size();
          float* b = out.data() + i * op.out_size();
          for (int c = 0; c < op.in_c; ++c) {
            for (int p = 0; p < op.in_h * op.in_w; ++p) b[c * op.in_h * op.in_w + p] = a[p * op.in_c + c];
          }
        }
        break;
    }
  }
}

}  // namespace nftcim::firmware
