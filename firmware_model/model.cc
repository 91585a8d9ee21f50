#include "firmware_model/model.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "util/proto_io.h"

namespace nftcim::firmware {
namespace {

using formats::DeployedLayer;

bool AtMost16Bits(formats::ActivationType t) {
  return t == formats::ACTIVATION_UINT || t == formats::ACTIVATION_INT ||
         t == formats::ACTIVATION_INT16;
}

std::string ShapeString(const TensorShape& s) {
  return absl::StrCat(s.channels, "x", s.height, "x", s.width);
}

bool SameShape(const TensorShape& a, const TensorShape& b) {
  return a.channels == b.channels && a.height == b.height && a.width == b.width;
}

// Errors of one layer: "layer 3 'conv2' (CONV): <what>".
class LayerChecker {
 public:
  LayerChecker(int index, const DeployedLayer& l) : index_(index), l_(l) {}
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat("layer ", index_, " '", l_.name(), "' (",
                                                   DeployedLayer::Kind_Name(l_.kind()),
                                                   "): ", what));
  }
  absl::Status Range(const std::string& field, int64_t got, int64_t lo, int64_t hi) const {
    if (got < lo || got > hi) {
      return Error(absl::StrCat(field, " must be in ", lo, "..", hi, ", got ", got));
    }
    return absl::OkStatus();
  }

 private:
  int index_;
  const DeployedLayer& l_;
};

}  // namespace

emulator::OutputRange RangeOf(formats::ActivationType type, int activation_bits) {
  switch (type) {
    case formats::ACTIVATION_UINT:
      return emulator::UnsignedRange(activation_bits);
    case formats::ACTIVATION_INT:
      return emulator::SignedRange(activation_bits);
    case formats::ACTIVATION_INT16:
      return emulator::SignedRange(16);
    case formats::ACTIVATION_INT32:
      return emulator::SignedRange(32);
    default:
      return {0, -1};
  }
}

absl::StatusOr<CompiledModel> CompiledModel::Load(const std::string& path) {
  formats::DeployableModel proto;
  if (absl::Status s = ReadProto(path, &proto); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read a deployable model: ", s.message()));
  }
  return FromProto(proto, path);
}

absl::StatusOr<CompiledModel> CompiledModel::FromProto(const formats::DeployableModel& proto,
                                                       const std::string& origin) {
  auto fail = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("deployable model '", origin, "': ", s.message()));
  };
  auto bad = [&](const std::string& what) { return fail(absl::InvalidArgumentError(what)); };
  if (proto.format_version() == 0) {
    return bad("not a deployable model (format_version missing; was it written by "
               "//firmware_model:compile?)");
  }
  if (proto.format_version() != kDeployableModelVersion) {
    return bad(absl::StrCat("format_version ", proto.format_version(),
                            " is not one this build reads (", kDeployableModelVersion, ")"));
  }
  CompiledModel m;
  m.proto_ = proto;
  absl::StatusOr<emulator::HardwareParams> params =
      emulator::HardwareParams::FromConfig(proto.hardware());
  if (!params.ok()) return fail(params.status());
  m.params_ = *params;
  const emulator::HardwareParams& hw = m.params_;
  const int A = hw.activation_bits;

  const formats::Architecture& arch = proto.architecture();
  if (arch.in_channels() < 1 || arch.in_channels() > 64 || arch.input_size() < 1 ||
      arch.input_size() > 4096 || arch.num_classes() < 1) {
    return bad(absl::StrCat("architecture: in_channels (", arch.in_channels(),
                            ") must be in 1..64, input_size (", arch.input_size(),
                            ") in 1..4096, num_classes (", arch.num_classes(), ") >= 1"));
  }
  m.in_channels_ = arch.in_channels();
  m.input_size_ = arch.input_size();
  m.num_classes_ = arch.num_classes();

  const formats::PixelTransform& px = proto.pixel_transform();
  if (px.k_size() != m.in_channels_ || px.offset_size() != m.in_channels_) {
    return bad(absl::StrCat("pixel_transform: k and offset need one entry per input channel (",
                            m.in_channels_, "), got ", px.k_size(), " and ", px.offset_size()));
  }
  if (px.shift() > 62) {
    return bad(absl::StrCat("pixel_transform: shift must be in 0..62, got ", px.shift()));
  }
  for (int c = 0; c < m.in_channels_; ++c) {
    // p * k - offset must not overflow int64: |k| < 2^31, |offset| <= 2^62.
    if (px.offset(c) > (int64_t{1} << 62) || px.offset(c) < -(int64_t{1} << 62)) {
      return bad(absl::StrCat("pixel_transform: offset[", c, "] = ", px.offset(c),
                              " is outside +-2^62"));
    }
  }
  m.pixel_k_.assign(px.k().begin(), px.k().end());
  m.pixel_offset_.assign(px.offset().begin(), px.offset().end());
  m.pixel_shift_ = static_cast<int32_t>(px.shift());

  if (proto.layers_size() == 0) return bad("no layers");
  const TensorShape input_shape{m.in_channels_, m.input_size_, m.input_size_};
  std::set<uint32_t> crossbar_ids;
  for (int i = 0; i < proto.layers_size(); ++i) {
    const DeployedLayer& l = proto.layers(i);
    const LayerChecker check(i, l);
    Layer out;
    out.name = l.name();
    switch (l.kind()) {
      case DeployedLayer::CONV: out.kind = LayerKind::kConv; break;
      case DeployedLayer::LINEAR: out.kind = LayerKind::kLinear; break;
      case DeployedLayer::MAXPOOL: out.kind = LayerKind::kMaxPool; break;
      case DeployedLayer::AVGPOOL: out.kind = LayerKind::kAvgPool; break;
      case DeployedLayer::FLATTEN: out.kind = LayerKind::kFlatten; break;
      case DeployedLayer::RESIDUAL_ADD: out.kind = LayerKind::kResidualAdd; break;
      default:
        return fail(absl::InvalidArgumentError(absl::StrCat(
            "layer ", i, " '", l.name(), "': unknown kind ", static_cast<int>(l.kind()),
            " (expected CONV, LINEAR, MAXPOOL, AVGPOOL, FLATTEN or RESIDUAL_ADD)")));
    }
    const int want_inputs = out.kind == LayerKind::kResidualAdd ? 2 : 1;
    if (l.inputs_size() != want_inputs) {
      return fail(check.Error(absl::StrCat("needs ", want_inputs, " input(s), has ",
                                           l.inputs_size())));
    }
    for (int k = 0; k < l.inputs_size(); ++k) {
      if (l.inputs(k) < -1 || l.inputs(k) >= i) {
        return fail(check.Error(absl::StrCat("inputs[", k, "] = ", l.inputs(k),
                                             " must name an earlier layer (-1 .. ", i - 1,
                                             ", -1 = the network input)")));
      }
    }
    out.input = l.inputs(0);
    out.input_b = want_inputs == 2 ? l.inputs(1) : -1;
    auto shape_of = [&](int32_t producer) {
      return producer < 0 ? input_shape : m.layers_[producer].out_shape;
    };
    auto type_of = [&](int32_t producer) {
      return producer < 0 ? formats::ACTIVATION_INT : m.layers_[producer].out_type;
    };
    out.in_shape = shape_of(out.input);
    const formats::ActivationType in_type = type_of(out.input);

    const formats::TensorFormat& f = l.output();
    if (!formats::ActivationType_IsValid(f.type()) ||
        f.type() == formats::ACTIVATION_TYPE_UNSPECIFIED) {
      return fail(check.Error(absl::StrCat("output.type must be ACTIVATION_UINT, _INT, _INT16 or "
                                           "_INT32, got ",
                                           static_cast<int>(f.type()))));
    }
    if (f.zero_point() != 0) {
      return fail(check.Error(absl::StrCat("output.zero_point must be 0 (symmetric activations, "
                                           "hardware-spec §7), got ",
                                           f.zero_point())));
    }
    if (!(f.scale() >= 0) || !std::isfinite(f.scale())) {
      return fail(check.Error(absl::StrCat("output.scale must be finite and >= 0, got ",
                                           f.scale())));
    }
    if (f.channels() < 1 || f.height() < 1 || f.width() < 1) {
      return fail(check.Error(absl::StrCat("output shape must be positive, got ", f.channels(),
                                           "x", f.height(), "x", f.width())));
    }
    out.out_shape = {f.channels(), f.height(), f.width()};
    out.out_type = f.type();
    out.out_range = RangeOf(f.type(), A);
    out.out_scale = f.scale();

    switch (out.kind) {
      case LayerKind::kConv:
      case LayerKind::kLinear: {
        const bool conv = out.kind == LayerKind::kConv;
        out.kernel = l.kernel();
        out.stride = l.stride();
        out.padding = l.padding();
        if (conv) {
          if (absl::Status s = check.Range("kernel", l.kernel(), 1, 64); !s.ok()) return fail(s);
          if (absl::Status s = check.Range("stride", l.stride(), 1, 64); !s.ok()) return fail(s);
          if (absl::Status s = check.Range("padding", l.padding(), 0, 64); !s.ok()) return fail(s);
          const int32_t oh = (out.in_shape.height + 2 * l.padding() - l.kernel()) / l.stride() + 1;
          const int32_t ow = (out.in_shape.width + 2 * l.padding() - l.kernel()) / l.stride() + 1;
          if (out.in_shape.height + 2 * l.padding() < l.kernel() ||
              out.in_shape.width + 2 * l.padding() < l.kernel() || oh != f.height() ||
              ow != f.width()) {
            return fail(check.Error(absl::StrCat(
                "output ", f.height(), "x", f.width(), " does not follow from input ",
                ShapeString(out.in_shape), ", kernel ", l.kernel(), ", stride ", l.stride(),
                ", padding ", l.padding())));
          }
          out.matrix_rows = int64_t{out.in_shape.channels} * l.kernel() * l.kernel();
        } else {
          if (l.kernel() != 1 || l.stride() != 1 || l.padding() != 0 || f.height() != 1 ||
              f.width() != 1) {
            return fail(check.Error("a linear layer has kernel 1, stride 1, padding 0 and a "
                                    "1x1 output"));
          }
          // The rows are the input vector in its stored order, which is
          // PyTorch's only for a C x 1 x 1 tensor (FLATTEN or AVGPOOL output).
          if (out.in_shape.height != 1 || out.in_shape.width != 1) {
            return fail(check.Error(absl::StrCat("a linear layer's input must be C x 1 x 1 (a ",
                                                 "FLATTEN or AVGPOOL output), got ",
                                                 ShapeString(out.in_shape))));
          }
          out.kernel = out.stride = 1;
          out.matrix_rows = out.in_shape.size();
        }
        out.matrix_outputs = f.channels();
        out.signed_inputs = l.signed_inputs();
        const formats::ActivationType want =
            l.signed_inputs() ? formats::ACTIVATION_INT : formats::ACTIVATION_UINT;
        if (in_type != want) {
          return fail(check.Error(absl::StrCat(
              "its input is ", formats::ActivationType_Name(in_type), " but the layer's crossbar ",
              "inputs are ", l.signed_inputs() ? "signed" : "unsigned", " (",
              formats::ActivationType_Name(want), " expected, hardware-spec §4.1)")));
        }
        if (crossbar_ids.count(l.crossbar_layer()) != 0) {
          return fail(check.Error(absl::StrCat("crossbar_layer ", l.crossbar_layer(),
                                               " is used twice (random keys must differ, §3.4)")));
        }
        crossbar_ids.insert(l.crossbar_layer());
        out.crossbar_layer = l.crossbar_layer();
        const int64_t codes = out.matrix_rows * out.matrix_outputs;
        if (l.weight_codes_size() != codes) {
          return fail(check.Error(absl::StrCat("weight_codes has ", l.weight_codes_size(),
                                               " values, expected matrix_rows x outputs = ",
                                               out.matrix_rows, " x ", out.matrix_outputs, " = ",
                                               codes)));
        }
        out.weight_codes.resize(static_cast<size_t>(codes));
        for (int64_t k = 0; k < codes; ++k) {
          const int32_t w = l.weight_codes(static_cast<int>(k));
          if (w < -hw.max_magnitude || w > hw.max_magnitude) {
            return fail(check.Error(absl::StrCat(
                "weight_codes[", k, "] = ", w, " is outside -", hw.max_magnitude, "..",
                hw.max_magnitude, " (", hw.weight_bits, "-bit magnitudes, hardware-spec §2.1)")));
          }
          out.weight_codes[k] = static_cast<int16_t>(w);
        }
        // The tiling is a function of the matrix and the hardware (§2.2); a
        // mismatch means the model was compiled for other arrays.
        const formats::CrossbarTiling& t = l.tiling();
        const int64_t row_tiles = (out.matrix_rows + hw.array_rows - 1) / hw.array_rows;
        const int64_t col_tiles = (out.matrix_outputs + hw.outputs_per_tile - 1) / hw.outputs_per_tile;
        if (t.matrix_rows() != out.matrix_rows || t.matrix_outputs() != out.matrix_outputs ||
            t.rows_per_tile() != hw.array_rows || t.outputs_per_tile() != hw.outputs_per_tile ||
            t.row_tiles() != row_tiles || t.column_tiles() != col_tiles ||
            t.arrays() != 2 * row_tiles * col_tiles ||
            t.last_tile_rows() != out.matrix_rows - (row_tiles - 1) * hw.array_rows ||
            t.last_tile_outputs() != out.matrix_outputs - (col_tiles - 1) * hw.outputs_per_tile) {
          return fail(check.Error(absl::StrCat(
              "tiling (", t.row_tiles(), " x ", t.column_tiles(), " tiles of ", t.rows_per_tile(),
              " rows x ", t.outputs_per_tile(), " outputs) does not match the ", out.matrix_rows,
              " x ", out.matrix_outputs, " matrix on this hardware config (", row_tiles, " x ",
              col_tiles, " tiles of ", hw.array_rows, " x ", hw.outputs_per_tile, ")")));
        }
        if (absl::Status s = check.Range("adc_shift", l.adc_shift(), 0, 31); !s.ok()) return fail(s);
        if (hw.lossless_adc() && l.adc_shift() != 0) {
          return fail(check.Error(absl::StrCat("adc_shift must be 0 with a lossless ADC, got ",
                                               l.adc_shift())));
        }
        if (!hw.lossless_adc() && hw.adc_shift_policy == formats::ADC_SHIFT_FIXED &&
            static_cast<int32_t>(l.adc_shift()) != hw.adc_shift) {
          return fail(check.Error(absl::StrCat("adc_shift ", l.adc_shift(), " differs from the ",
                                               "config's fixed adc_shift ", hw.adc_shift)));
        }
        out.adc_shift = static_cast<int32_t>(l.adc_shift());
        const formats::Requantization& q = l.requant();
        if (q.bias_size() != f.channels() || q.multiplier_size() != f.channels() ||
            q.shift_size() != f.channels()) {
          return fail(check.Error(absl::StrCat(
              "requant needs bias, multiplier and shift per output channel (", f.channels(),
              "), got ", q.bias_size(), ", ", q.multiplier_size(), ", ", q.shift_size())));
        }
        if (absl::Status s = check.Range("requant.pre_shift", q.pre_shift(), 0, 62); !s.ok()) {
          return fail(s);
        }
        out.requant.resize(f.channels());
        for (int n = 0; n < f.channels(); ++n) {
          if (absl::Status s = check.Range(absl::StrCat("requant.shift[", n, "]"), q.shift(n), 0, 62);
              !s.ok()) {
            return fail(s);
          }
          emulator::Requantization& r = out.requant[n];
          r.pre_shift = static_cast<int32_t>(q.pre_shift());
          r.bias = q.bias(n);
          r.multiplier = q.multiplier(n);
          r.shift = static_cast<int32_t>(q.shift(n));
          r.range = out.out_range;
        }
        break;
      }
      case LayerKind::kMaxPool:
        if (out.in_shape.height < 2 || out.in_shape.width < 2 ||
            !SameShape(out.out_shape, {out.in_shape.channels, out.in_shape.height / 2,
                                       out.in_shape.width / 2}) ||
            out.out_type != in_type) {
          return fail(check.Error(absl::StrCat(
              "2x2 max pooling of ", ShapeString(out.in_shape), " ",
              formats::ActivationType_Name(in_type), " gives ", out.in_shape.channels, "x",
              out.in_shape.height / 2, "x", out.in_shape.width / 2, " of the same type, not ",
              ShapeString(out.out_shape), " ", formats::ActivationType_Name(out.out_type))));
        }
        break;
      case LayerKind::kFlatten:
        if (!SameShape(out.out_shape, {static_cast<int32_t>(out.in_shape.size()), 1, 1}) ||
            out.out_type != in_type) {
          return fail(check.Error(absl::StrCat("flattening ", ShapeString(out.in_shape),
                                               " gives ", out.in_shape.size(),
                                               "x1x1 of the same type")));
        }
        break;
      case LayerKind::kAvgPool: {
        if (!SameShape(out.out_shape, {out.in_shape.channels, 1, 1}) || !AtMost16Bits(in_type)) {
          return fail(check.Error(absl::StrCat("global average pooling of ",
                                               ShapeString(out.in_shape), " gives ",
                                               out.in_shape.channels, "x1x1, from an A-bit or "
                                               "16-bit input")));
        }
        // §7.6: the int32 sum of H*W values must be exact.
        const int64_t hw_count = int64_t{out.in_shape.height} * out.in_shape.width;
        if (hw_count * 32768 > (int64_t{1} << 31) - 1 && in_type == formats::ACTIVATION_INT16) {
          return fail(check.Error("the int32 sum of the pooled positions could overflow"));
        }
        if (absl::Status s = check.Range("avgpool.shift", l.avgpool().shift(), 0, 62); !s.ok()) {
          return fail(s);
        }
        out.pool_multiplier = l.avgpool().multiplier();
        out.pool_shift = static_cast<int32_t>(l.avgpool().shift());
        break;
      }
      case LayerKind::kResidualAdd: {
        const TensorShape b_shape = shape_of(out.input_b);
        const formats::ActivationType b_type = type_of(out.input_b);
        if (!SameShape(out.in_shape, b_shape) || !SameShape(out.in_shape, out.out_shape)) {
          return fail(check.Error(absl::StrCat("adds ", ShapeString(out.in_shape), " and ",
                                               ShapeString(b_shape), " into ",
                                               ShapeString(out.out_shape),
                                               "; all three must be equal")));
        }
        if (!AtMost16Bits(in_type) || !AtMost16Bits(b_type) || !AtMost16Bits(out.out_type)) {
          return fail(check.Error("residual add operands and output must be uint/int A-bit or "
                                  "int16 (hardware-spec §7.5)"));
        }
        if (absl::Status s = check.Range("residual.shift", l.residual().shift(), 0, 62); !s.ok()) {
          return fail(s);
        }
        out.multiplier_a = l.residual().multiplier_a();
        out.multiplier_b = l.residual().multiplier_b();
        out.residual_shift = static_cast<int32_t>(l.residual().shift());
        if (l.relu()) out.out_range.lo = std::max<int64_t>(out.out_range.lo, 0);
        break;
      }
    }
    if (out.kind != LayerKind::kResidualAdd && l.relu()) {
      return fail(check.Error("relu is only a RESIDUAL_ADD field (a CONV / LINEAR ReLU is its "
                              "ACTIVATION_UINT output type)"));
    }
    if (out.uses_crossbar()) m.crossbar_layers_.push_back(i);
    m.layers_.push_back(std::move(out));
  }
  const Layer& last = m.layers_.back();
  if (last.kind != LayerKind::kLinear || last.out_type != formats::ACTIVATION_INT32 ||
      last.out_shape.channels != m.num_classes_) {
    return bad(absl::StrCat("the last layer must be a LINEAR layer with ", m.num_classes_,
                            " ACTIVATION_INT32 outputs (the logits, hardware-spec §7.9)"));
  }
  // Every layer's output is used by a later layer except the logits'.
  std::vector<char> used(m.layers_.size(), 0);
  for (const Layer& l : m.layers_) {
    if (l.input >= 0) used[l.input] = 1;
    if (l.input_b >= 0) used[l.input_b] = 1;
  }
  for (size_t i = 0; i + 1 < m.layers_.size(); ++i) {
    if (!used[i]) {
      return bad(absl::StrCat("layer ", i, " '", m.layers_[i].name, "' is never read"));
    }
  }
  return m;
}

}  // namespace nftcim::firmware
