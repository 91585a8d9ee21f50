#include "firmware_model/compiler.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/normalize.h"
#include "device_model/device_model.h"
#include "emulator/crossbar.h"
#include "emulator/hardware_config.h"
#include "emulator/programming.h"
#include "firmware_model/float_graph.h"
#include "firmware_model/model.h"
#include "firmware_model/programmed_model.h"
#include "firmware_model/sequencer.h"
#include "trainer/nft_trainer.h"
#include "trainer/variation.h"

namespace nftcim::firmware {
namespace {

using formats::DeployedLayer;

// The accumulator range p is chosen for: this many times the largest |W x|
// seen in calibration (variation and unseen images go beyond it).
constexpr double kAccumulatorHeadroom = 4.0;
// int16 tensors (residual operands) take this many times the largest
// calibrated |value| as full scale: 16 bits leave room for it.
constexpr double kInt16Headroom = 2.0;
// Images per float / integer calibration batch.
constexpr int kCalibrationBatch = 32;
// The ADC column-sum calibration (step 5) runs on the first this many
// calibration images: it forms every column sum of every slice.
constexpr int64_t kAdcCalibrationImages = 64;
// |activation| samples kept per tensor for its percentile.
constexpr int64_t kMaxSamples = 1 << 20;

int64_t Pow2(int e) { return int64_t{1} << e; }

double Percentile(std::vector<float>* v, double pct) {
  if (v->empty()) return 0;
  const size_t n = v->size();
  size_t k = static_cast<size_t>(std::ceil(pct / 100.0 * static_cast<double>(n)));
  k = std::min(std::max<size_t>(k, 1), n) - 1;
  std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(k), v->end());
  return (*v)[k];
}

// Real value of one accumulator LSB of a crossbar layer (§6.4).
double AccumulatorLsb(const emulator::HardwareParams& hw, double input_scale, double w_max,
                      int32_t adc_shift) {
  return input_scale * (w_max / hw.max_magnitude) *
         std::ldexp(1.0, adc_shift - hw.conductance_frac_bits);
}

// §7.2 constants of a crossbar layer from its real-valued factors, for its
// s_adc. Fills requant.{pre_shift, bias, multiplier, shift} and, for int32
// logits, output.scale.
absl::Status DeriveRequantization(const emulator::HardwareParams& hw, double input_scale,
                                  DeployedLayer* l, std::vector<std::string>* notes) {
  formats::Requantization* q = l->mutable_requant();
  const int channels = l->output().channels();
  if (q->real_scale_size() != channels || q->real_offset_size() != channels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "layer '", l->name(), "': requant.real_scale / real_offset need ", channels,
        " entries (one per output channel) to derive the constants"));
  }
  q->clear_bias();
  q->clear_multiplier();
  q->clear_shift();
  const bool logits = l->output().type() == formats::ACTIVATION_INT32;
  const double lsb = AccumulatorLsb(hw, input_scale, l->w_max(), l->adc_shift());
  double max_scale = 0;
  for (double s : q->real_scale()) max_scale = std::max(max_scale, std::fabs(s));
  if (!(lsb > 0) || !std::isfinite(lsb)) {
    // All-zero weights (or an all-zero input): the accumulator is 0, the
    // output is the offset alone: t = bias, y = t (m / 2^s = 1).
    const double out_scale = logits ? 1.0 : l->output().scale();
    q->set_pre_shift(0);
    for (int n = 0; n < channels; ++n) {
      const double b = std::round(q->real_offset(n) / out_scale);
      q->add_bias(static_cast<int32_t>(std::clamp(b, -2147483648.0, 2147483647.0)));
      q->add_multiplier(1 << 30);
      q->add_shift(30);
    }
    if (logits) l->mutable_output()->set_scale(out_scale);
    return absl::OkStatus();
  }
  // Biases in accumulator LSBs: offset / scale is in units of W x.
  double max_bias = 0;
  for (int n = 0; n < channels; ++n) {
    if (q->real_scale(n) != 0) {
      max_bias = std::max(max_bias, std::fabs(q->real_offset(n) / q->real_scale(n) / lsb));
    }
  }
  const double acc_range = l->calibrated_max_abs_product() / lsb * kAccumulatorHeadroom;
  // p: the smallest pre-shift with the accumulator range and the biases each
  // within 2^30 (so t fits int32, §7.2) ...
  int p_range = 0, p_bias = 0;
  while (p_range < 62 && acc_range / std::ldexp(1.0, p_range) > std::ldexp(1.0, 30)) ++p_range;
  while (p_bias < 62 && max_bias / std::ldexp(1.0, p_bias) > std::ldexp(1.0, 30)) ++p_bias;
  // ... but not so large that one pre-shifted unit exceeds 1/16 of an output
  // LSB (precision, §7.2); a bias that then does not fit saturates (noted).
  int p_precision = 62;
  if (!logits && max_scale > 0) {
    p_precision = 0;
    while (p_precision < 62 &&
           std::ldexp(lsb, p_precision + 1) * max_scale <= l->output().scale() / 16) {
      ++p_precision;
    }
  }
  int p = std::max(p_range, p_bias);
  if (p > p_precision) {
    p = std::max(p_range, p_precision);
    if (p_bias > p) {
      notes->push_back(absl::StrCat("layer '", l->name(), "': some folded biases exceed int32 at "
                                    "pre-shift ", p, " and saturate (BatchNorm gamma near 0)"));
    }
  }
  q->set_pre_shift(static_cast<uint32_t>(p));
  const double unit = std::ldexp(lsb, p);  // real value of one t unit (times scale)
  if (logits) {
    // int32 logits keep t's full precision: y = t (m / 2^s = 1), scale = the
    // unit of t times the channels' scale (1 for a plain linear layer).
    l->mutable_output()->set_scale(unit * (max_scale > 0 ? max_scale : 1.0));
  }
  const double out_scale = l->output().scale();
  int zero_scale_channels = 0;
  for (int n = 0; n < channels; ++n) {
    const double scale = q->real_scale(n);
    if (scale == 0) {
      // No multiplier reproduces a constant output; the channel outputs 0.
      ++zero_scale_channels;
      q->add_bias(0);
      q->add_multiplier(0);
      q->add_shift(0);
      continue;
    }
    const double b = std::round(q->real_offset(n) / scale / unit);
    q->add_bias(static_cast<int32_t>(std::clamp(b, -2147483648.0, 2147483647.0)));
    absl::StatusOr<MultiplierShift> ms = EncodeMultiplier(scale * unit / out_scale);
    if (!ms.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("layer '", l->name(), "', channel ", n,
                                                     ": requantization ", ms.status().message()));
    }
    q->add_multiplier(ms->multiplier);
    q->add_shift(static_cast<uint32_t>(ms->shift));
  }
  if (zero_scale_channels > 0) {
    notes->push_back(absl::StrCat("layer '", l->name(), "': ", zero_scale_channels,
                                  " channel(s) with BatchNorm gamma = 0 output 0 instead of "
                                  "their constant beta"));
  }
  return absl::OkStatus();
}

// Input scale of layer `index` of a model (its producer's output scale, or
// the pixel map's).
double InputScaleOf(const formats::DeployableModel& m, int index) {
  const int in = m.layers(index).inputs(0);
  return in < 0 ? m.pixel_transform().input_scale() : m.layers(in).output().scale();
}

// §5.3 for one layer: the configured shift, or the smallest one that
// converts the calibrated largest column sum without saturating.
int32_t ChooseAdcShift(const emulator::HardwareParams& hw, int64_t max_column_sum) {
  if (hw.lossless_adc()) return 0;
  if (hw.adc_shift_policy == formats::ADC_SHIFT_FIXED) return hw.adc_shift;
  return emulator::AdcShiftForColumnSum(hw, max_column_sum);
}

absl::Status RederiveAll(const emulator::HardwareParams& hw, formats::DeployableModel* m,
                         std::vector<std::string>* notes) {
  for (int i = 0; i < m->layers_size(); ++i) {
    DeployedLayer* l = m->mutable_layers(i);
    if (l->kind() != DeployedLayer::CONV && l->kind() != DeployedLayer::LINEAR) continue;
    l->set_adc_shift(static_cast<uint32_t>(ChooseAdcShift(hw, l->calibrated_max_column_sum())));
    if (absl::Status s = DeriveRequantization(hw, InputScaleOf(*m, i), l, notes); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Nominal conductance codes (no variation, §2.3, §3.1) of a layer matrix as
// [rows][2 * outputs * P] int32: the positive array's columns, then the
// negative array's.
std::vector<int32_t> NominalCodeRows(const emulator::HardwareParams& hw, const Layer& l) {
  const int32_t P = hw.cells_per_weight;
  const int64_t cols = l.matrix_outputs * P, width = 2 * cols;
  std::vector<int32_t> codes(static_cast<size_t>(l.matrix_rows * width), 0);
  for (int64_t r = 0; r < l.matrix_rows; ++r) {
    for (int64_t n = 0; n < l.matrix_outputs; ++n) {
      const int32_t w = l.weight_codes[r * l.matrix_outputs + n];
      const int32_t q = w < 0 ? -w : w;
      const int64_t base = r * width + (w < 0 ? cols : 0) + n * P;
      for (int32_t i = 0; i < P; ++i) {
        codes[base + i] = ((q >> (hw.cell_bits * i)) & hw.max_level) << hw.conductance_frac_bits;
      }
    }
  }
  return codes;
}

// Largest |column sum| (§5.1) of a batch of input vectors over every row
// tile, slice and column, without variation.
int64_t MaxColumnSum(const emulator::HardwareParams& hw, const Layer& l,
                     const std::vector<int32_t>& codes, const int32_t* x, int64_t batch) {
  const int32_t J = hw.num_slices, D = hw.dac_bits;
  const int32_t width = static_cast<int32_t>(2 * l.matrix_outputs * hw.cells_per_weight);
  std::vector<int32_t> sums(static_cast<size_t>(width));
  const int32_t max_rows = static_cast<int32_t>(std::min<int64_t>(hw.array_rows, l.matrix_rows));
  // Per slice, the driven rows and their digits (§4.2).
  std::vector<int32_t> rows_of(static_cast<size_t>(J) * max_rows), digit_of(rows_of.size());
  std::vector<int32_t> count(static_cast<size_t>(J));
  const uint32_t value_mask = (1u << hw.activation_bits) - 1;
  int32_t max_abs = 0;  // |S| < 2^31 (§5.1)
  for (int64_t r0 = 0; r0 < l.matrix_rows; r0 += hw.array_rows) {
    const int32_t rows = static_cast<int32_t>(std::min<int64_t>(hw.array_rows, l.matrix_rows - r0));
    for (int64_t b = 0; b < batch; ++b) {
      const int32_t* xb = x + b * l.matrix_rows + r0;
      std::fill(count.begin(), count.end(), 0);
      for (int32_t r = 0; r < rows; ++r) {
        if ((static_cast<uint32_t>(xb[r]) & value_mask) == 0) continue;
        for (int32_t j = 0; j < J; ++j) {
          const int32_t d = emulator::InputSlice(hw, xb[r], j, l.signed_inputs);
          if (d == 0) continue;
          rows_of[j * max_rows + count[j]] = r;
          digit_of[j * max_rows + count[j]++] = d;
        }
      }
      for (int32_t j = 0; j < J; ++j) {
        if (count[j] == 0) continue;
        int32_t* __restrict s = sums.data();
        std::fill(s, s + width, 0);
        for (int32_t k = 0; k < count[j]; ++k) {
          const int32_t d = digit_of[j * max_rows + k];
          const int32_t* __restrict row = codes.data() + (r0 + rows_of[j * max_rows + k]) * width;
          if (D == 1 && d == 1) {
            for (int32_t c = 0; c < width; ++c) s[c] += row[c];
          } else {
            for (int32_t c = 0; c < width; ++c) s[c] += d * row[c];
          }
        }
        int32_t hi = 0, lo = 0;
        for (int32_t c = 0; c < width; ++c) {
          hi = std::max(hi, s[c]);
          lo = std::min(lo, s[c]);
        }
        max_abs = std::max({max_abs, hi, lo == INT32_MIN ? INT32_MAX : -lo});
      }
    }
  }
  return max_abs;
}

std::string TypeName(formats::ActivationType t) {
  switch (t) {
    case formats::ACTIVATION_UINT: return "uint";
    case formats::ACTIVATION_INT: return "int";
    case formats::ACTIVATION_INT16: return "int16";
    case formats::ACTIVATION_INT32: return "int32";
    default: return "?";
  }
}

}  // namespace

CompileOptions::CompileOptions() : hardware(emulator::DefaultHardwareConfig()) {}

absl::StatusOr<MultiplierShift> EncodeMultiplier(double ratio) {
  MultiplierShift ms;
  if (!std::isfinite(ratio)) {
    return absl::InvalidArgumentError(absl::StrCat("multiplier ratio ", ratio, " is not finite"));
  }
  if (ratio == 0) return ms;
  int e = 0;
  std::frexp(std::fabs(ratio), &e);  // |ratio| = f * 2^e, f in [0.5, 1)
  int s = 31 - e;                    // |ratio| * 2^s in [2^30, 2^31)
  if (s < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("multiplier ratio ", ratio, " is >= 2^31 and not representable (int32 m, "
                     "shift >= 0)"));
  }
  s = std::min(s, 62);
  double m = std::round(std::ldexp(ratio, s));
  if (std::fabs(m) >= 2147483648.0) {  // rounded up to 2^31 = 2 * 2^30
    if (s == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multiplier ratio ", ratio, " rounds to 2^31 and is not representable (int32 m)"));
    }
    m /= 2;  // exact
    --s;
  }
  ms.multiplier = static_cast<int32_t>(m);
  ms.shift = s;
  return ms;
}

namespace {

absl::StatusOr<formats::DeployableModel> Retarget(const formats::DeployableModel& model,
                                                  const formats::HardwareConfig& hardware,
                                                  std::vector<std::string>* notes) {
  absl::StatusOr<emulator::HardwareParams> hw = emulator::HardwareParams::FromConfig(hardware);
  if (!hw.ok()) return hw.status();
  formats::HardwareConfig a = model.hardware(), b = hardware;
  for (formats::HardwareConfig* c : {&a, &b}) {
    c->clear_adc_bits();
    c->clear_adc_range();
    c->clear_adc_shift_policy();
    c->clear_adc_shift();
    c->clear_accumulator_bits();
  }
  if (a.SerializeAsString() != b.SerializeAsString()) {
    return absl::InvalidArgumentError(
        "re-targeting changes only the ADC (adc_bits, adc_range, adc_shift_policy, adc_shift) "
        "and accumulator_bits; the arrays, cells, conductances and inputs must stay as compiled");
  }
  formats::DeployableModel out = model;
  *out.mutable_hardware() = hardware;
  if (absl::Status s = RederiveAll(*hw, &out, notes); !s.ok()) return s;
  return out;
}

}  // namespace

absl::StatusOr<formats::DeployableModel> RetargetHardware(const formats::DeployableModel& model,
                                                          const formats::HardwareConfig& hardware) {
  std::vector<std::string> notes;
  absl::StatusOr<formats::DeployableModel> out = Retarget(model, hardware, &notes);
  if (!out.ok()) return out.status();
  for (const std::string& n : notes) {
    out->mutable_provenance()->add_notes(absl::StrCat("re-targeted (adc_bits ", hardware.adc_bits(),
                                                      "): ", n));
  }
  return out;
}

absl::StatusOr<formats::DeployableModel> CompileNetwork(trainer::nn::Network& network,
                                                        const formats::Architecture& architecture,
                                                        const formats::DatasetInfo& dataset,
                                                        const uint8_t* calibration,
                                                        int64_t num_images,
                                                        const CompileOptions& options,
                                                        CompileReport* report) {
  CompileReport local_report;
  CompileReport& rep = report != nullptr ? *report : local_report;
  absl::StatusOr<emulator::HardwareParams> target = emulator::HardwareParams::FromConfig(options.hardware);
  if (!target.ok()) return absl::InvalidArgumentError(absl::StrCat("--hw: ", target.status().message()));
  const emulator::HardwareParams& hw = *target;
  if (hw.activation_bits < 2) {
    return absl::InvalidArgumentError("hardware config: activation_bits must be >= 2 (the first "
                                      "layer's inputs are signed, hardware-spec §7.7)");
  }
  if (num_images < 1 || calibration == nullptr) {
    return absl::InvalidArgumentError("calibration needs at least one image");
  }
  if (!(options.calibration_percentile > 0) || options.calibration_percentile > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        "calibration percentile must be in (0, 100], got ", options.calibration_percentile));
  }
  absl::StatusOr<FloatGraph> graph = BuildFloatGraph(network);
  if (!graph.ok()) return graph.status();
  const FloatGraph& g = *graph;
  if (architecture.in_channels() != g.in_channels || architecture.input_size() != g.input_size ||
      architecture.num_classes() != g.num_classes) {
    return absl::InvalidArgumentError("architecture description differs from the network's");
  }
  // The device's bits must be the hardware's (§1.3).
  absl::StatusOr<device::DeviceModel> trained = device::DeviceModel::FromProto(options.training_device);
  if (!trained.ok()) return trained.status();
  if (trained->weight_bits() != hw.weight_bits || trained->cell_bits() != hw.cell_bits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the model was trained for ", trained->weight_bits(), "-bit weights in ",
        trained->cell_bits(), "-bit cells; the hardware config has weight_bits ", hw.weight_bits,
        ", cell_bits ", hw.cell_bits));
  }
  const device::DeviceModel clean = trained->WithSigma(0);
  const device::DeviceModel* device = &clean;
  absl::StatusOr<data::Normalizer> normalizer =
      data::Normalizer::Create(std::vector<double>(dataset.mean().begin(), dataset.mean().end()),
                               std::vector<double>(dataset.std().begin(), dataset.std().end()));
  if (!normalizer.ok()) return normalizer.status();
  if (normalizer->channels() != g.in_channels) {
    return absl::InvalidArgumentError(absl::StrCat("dataset normalisation has ",
                                                   normalizer->channels(), " channels, the model ",
                                                   g.in_channels));
  }
  const int64_t image_size = int64_t{g.in_channels} * g.input_size * g.input_size;
  const int64_t plane = int64_t{g.input_size} * g.input_size;

  // --- Step 3: float calibration. ---
  // The clean graph, then (calibrating under variation) one graph per
  // varied instance of the weights, built by swapping the noisy values into
  // the network for the build only.
  if (options.calibration_sigma < 0 || options.calibration_sigma > 1 ||
      (options.calibration_sigma > 0 && options.calibration_instances < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "calibration sigma must be in [0, 1] and calibration instances >= 1, got sigma ",
        options.calibration_sigma, ", instances ", options.calibration_instances));
  }
  std::vector<FloatGraph> noisy_graphs;
  if (options.calibration_sigma > 0) {
    const device::DeviceModel varied = trained->WithSigma(options.calibration_sigma);
    const std::vector<trainer::nn::Parameter*> params = network.Parameters();
    for (int32_t inst = 0; inst < options.calibration_instances; ++inst) {
      trainer::NoisyWeights noisy;
      noisy.Build(params, varied,
                  trainer::DrawStandardNormals(params, options.calibration_seed,
                                               trainer::NoisePurpose::kCalibrate,
                                               static_cast<uint64_t>(inst), 0));
      const std::vector<const trainer::nn::Tensor*>& over = *noisy.overrides();
      std::vector<trainer::nn::Tensor> clean(params.size());
      for (size_t p = 0; p < params.size(); ++p) {
        if (over[p] != nullptr) {
          clean[p] = params[p]->value.Clone();
          params[p]->value.CopyFrom(*over[p]);
        }
      }
      absl::StatusOr<FloatGraph> ng = BuildFloatGraph(network);
      for (size_t p = 0; p < params.size(); ++p) {
        if (over[p] != nullptr) params[p]->value = std::move(clean[p]);
      }
      if (!ng.ok()) return ng.status();
      noisy_graphs.push_back(*std::move(ng));
    }
  }
  std::vector<FloatOpStats> op_stats;
  std::vector<std::vector<float>> samples(g.ops.size());
  std::vector<double> max_abs_out(g.ops.size(), 0.0);
  std::vector<int> float_pred(static_cast<size_t>(num_images));
  for (size_t gi = 0; gi <= noisy_graphs.size(); ++gi) {
    const FloatGraph& graph_i = gi == 0 ? g : noisy_graphs[gi - 1];
    std::vector<float> x;
    std::vector<std::vector<float>> outs;
    for (int64_t i0 = 0; i0 < num_images; i0 += kCalibrationBatch) {
      const int64_t n = std::min<int64_t>(kCalibrationBatch, num_images - i0);
      x.resize(static_cast<size_t>(n * image_size));
      for (int64_t i = 0; i < n; ++i) {
        normalizer->NormalizeImage(calibration + (i0 + i) * image_size, plane, x.data() + i * image_size);
      }
      RunFloatGraph(graph_i, x.data(), n, &outs, nullptr, &op_stats);
      for (size_t k = 0; k < g.ops.size(); ++k) {
        const std::vector<float>& o = outs[k];
        const int64_t total = num_images * g.ops[k].out_size();
        const int64_t stride = std::max<int64_t>(1, (total + kMaxSamples - 1) / kMaxSamples);
        const int64_t first = i0 * g.ops[k].out_size();
        for (size_t e = 0; e < o.size(); ++e) {
          const float a = std::fabs(o[e]);
          max_abs_out[k] = std::max(max_abs_out[k], static_cast<double>(a));
          if ((first + static_cast<int64_t>(e)) % stride == 0) samples[k].push_back(a);
        }
      }
      if (gi > 0) continue;  // the float predictions are the clean model's
      const std::vector<float>& logits = outs.back();
      for (int64_t i = 0; i < n; ++i) {
        const float* row = logits.data() + i * g.num_classes;
        float_pred[i0 + i] = static_cast<int>(std::max_element(row, row + g.num_classes) - row);
      }
    }
  }

  // --- The deployed layer list and its tensor formats. ---
  formats::DeployableModel m;
  m.set_format_version(kDeployableModelVersion);
  *m.mutable_architecture() = architecture;
  *m.mutable_dataset() = dataset;
  formats::HardwareConfig lossless = options.hardware;
  lossless.set_adc_bits(0);
  lossless.set_adc_shift(0);
  absl::StatusOr<emulator::HardwareParams> lossless_hw = emulator::HardwareParams::FromConfig(lossless);
  if (!lossless_hw.ok()) return lossless_hw.status();
  *m.mutable_hardware() = lossless;  // steps 4-5 run lossless; step 6 re-targets

  // §7.7 pixel map: S_in covers the largest |normalised pixel| exactly.
  const int A = hw.activation_bits;
  const double int_max = static_cast<double>(Pow2(A - 1) - 1);
  const double uint_max = static_cast<double>(Pow2(A) - 1);
  {
    double max_x = 0;
    for (int c = 0; c < g.in_channels; ++c) {
      const double mean = dataset.mean(c), sd = dataset.std(c);
      max_x = std::max({max_x, std::fabs((0 - mean) / sd), std::fabs((1 - mean) / sd)});
    }
    const double s_in = max_x / int_max;
    int shift = 62;
    auto k_of = [&](int c, int s) { return std::round(std::ldexp(1.0, s) / (255.0 * dataset.std(c) * s_in)); };
    while (shift > 0) {
      bool fits = true;
      for (int c = 0; c < g.in_channels; ++c) fits &= k_of(c, shift) <= 2147483647.0;
      if (fits) break;
      --shift;
    }
    formats::PixelTransform* px = m.mutable_pixel_transform();
    px->set_shift(static_cast<uint32_t>(shift));
    px->set_input_scale(s_in);
    for (int c = 0; c < g.in_channels; ++c) {
      const double k = k_of(c, shift);
      px->add_k(static_cast<int32_t>(k));
      px->add_offset(static_cast<int64_t>(std::llround(255.0 * dataset.mean(c) * k)));
    }
  }

  // Consumers of each op's output, to choose the output types.
  std::vector<char> feeds_other(g.ops.size(), 0), feeds_residual(g.ops.size(), 0);
  for (const FloatOp& op : g.ops) {
    if (op.input >= 0) feeds_other[op.input] = 1;
    if (op.residual >= 0) feeds_residual[op.residual] = 1;
  }
  auto full_scale = [&](size_t k) {
    double v = Percentile(&samples[k], options.calibration_percentile);
    if (!(v > 0)) v = max_abs_out[k];
    return v > 0 ? v : 1.0;  // an all-zero tensor: any scale
  };
  std::vector<int> out_index(g.ops.size(), -1);
  uint32_t crossbar_id = 0;
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const FloatOp& op = g.ops[k];
    const bool last = k + 1 == g.ops.size();
    const int input = op.input < 0 ? -1 : out_index[op.input];
    const formats::TensorFormat* in_format =
        input < 0 ? nullptr : &m.layers(input).output();
    DeployedLayer* l = m.add_layers();
    l->set_name(op.name);
    l->add_inputs(input);
    formats::TensorFormat* f = l->mutable_output();
    f->set_channels(op.out_c);
    f->set_height(op.out_h);
    f->set_width(op.out_w);
    switch (op.kind) {
      case FloatOp::Kind::kConv:
      case FloatOp::Kind::kLinear: {
        const bool conv = op.kind == FloatOp::Kind::kConv;
        l->set_kind(conv ? DeployedLayer::CONV : DeployedLayer::LINEAR);
        l->set_kernel(conv ? op.kernel : 1);
        l->set_stride(conv ? op.stride : 1);
        l->set_padding(conv ? op.padding : 0);
        l->set_crossbar_layer(crossbar_id++);
        const formats::ActivationType in_type =
            in_format == nullptr ? formats::ACTIVATION_INT : in_format->type();
        if (in_type != formats::ACTIVATION_UINT && in_type != formats::ACTIVATION_INT) {
          return absl::InvalidArgumentError(absl::StrCat(
              "layer '", op.name, "': its input is ", TypeName(in_type),
              "; a crossbar input must be an A-bit activation (hardware-spec §4.1)"));
        }
        l->set_signed_inputs(in_type == formats::ACTIVATION_INT);
        // Step 2: per-layer W_max and signed codes (§2.1), matrix order §2.2.
        const int64_t rows = op.matrix_rows(), outs = op.out_c;
        double w_max = 0;
        for (float w : op.weight) w_max = std::max(w_max, std::fabs(static_cast<double>(w)));
        l->set_w_max(w_max);
        l->mutable_weight_codes()->Resize(static_cast<int>(rows * outs), 0);
        for (int64_t n = 0; n < outs; ++n) {
          for (int64_t r = 0; r < rows; ++r) {
            l->set_weight_codes(static_cast<int>(r * outs + n),
                                emulator::SignedWeightCode(*device, op.weight[n * rows + r], w_max));
          }
        }
        // Step 4: tiles (§2.2) and the accumulation proof (§6.3).
        formats::CrossbarTiling* t = l->mutable_tiling();
        const int64_t row_tiles = (rows + hw.array_rows - 1) / hw.array_rows;
        const int64_t col_tiles = (outs + hw.outputs_per_tile - 1) / hw.outputs_per_tile;
        t->set_matrix_rows(rows);
        t->set_matrix_outputs(outs);
        t->set_rows_per_tile(hw.array_rows);
        t->set_outputs_per_tile(hw.outputs_per_tile);
        t->set_row_tiles(static_cast<int32_t>(row_tiles));
        t->set_column_tiles(static_cast<int32_t>(col_tiles));
        t->set_last_tile_rows(static_cast<int32_t>(rows - (row_tiles - 1) * hw.array_rows));
        t->set_last_tile_outputs(static_cast<int32_t>(outs - (col_tiles - 1) * hw.outputs_per_tile));
        t->set_arrays(static_cast<int32_t>(2 * row_tiles * col_tiles));
        if (!emulator::AccumulationCannotSaturate(hw, rows, l->signed_inputs())) {
          const std::string what = absl::StrCat(
              "layer '", op.name, "': its ", rows, "-row matrix (", row_tiles, " row tiles of up to ",
              hw.array_rows, " rows, worst-case tile output ",
              emulator::TileOutputBound(hw, std::min<int64_t>(rows, hw.array_rows), l->signed_inputs()),
              ") can saturate the ", hw.accumulator_bits,
              "-bit accumulator (hardware-spec §6.3): use a wider accumulator_bits, a B-bit ADC or "
              "smaller arrays");
          if (!options.allow_accumulator_saturation) return absl::InvalidArgumentError(what);
          rep.notes.push_back(what + " (accepted)");
        }
        // §7.2 real factors: the folded BatchNorm (or 1 and the bias).
        for (int n = 0; n < op.out_c; ++n) {
          l->mutable_requant()->add_real_scale(op.scale[n]);
          l->mutable_requant()->add_real_offset(op.shift[n]);
        }
        l->set_calibrated_max_abs_product(op_stats[k].max_abs_product);
        l->set_weight_name(op.weight_name);
        l->set_batchnorm_name(op.batchnorm_name);
        l->set_bias_name(op.bias_name);
        // Output type (§7.3): ReLU -> uint; logits -> int32; a residual
        // operand -> int16; otherwise a signed A-bit activation.
        if (last) {
          if (op.relu || op.residual >= 0) {
            return absl::InvalidArgumentError(absl::StrCat("layer '", op.name, "': the logits "
                                                           "layer has no ReLU or residual"));
          }
          f->set_type(formats::ACTIVATION_INT32);
        } else if (op.residual >= 0) {
          f->set_type(formats::ACTIVATION_INT16);
          f->set_scale(std::max(op_stats[k].max_abs_preact, 1e-30) * kInt16Headroom / 32767.0);
        } else if (op.relu) {
          f->set_type(formats::ACTIVATION_UINT);
          f->set_scale(full_scale(k) / uint_max);
        } else if (feeds_residual[k] && !feeds_other[k]) {
          f->set_type(formats::ACTIVATION_INT16);
          f->set_scale(std::max(op_stats[k].max_abs_preact, 1e-30) * kInt16Headroom / 32767.0);
        } else {
          f->set_type(formats::ACTIVATION_INT);
          f->set_scale(full_scale(k) / int_max);
        }
        out_index[k] = m.layers_size() - 1;
        if (op.residual >= 0) {
          // §7.1: the block output is the residual add (with the ReLU).
          DeployedLayer* add = m.add_layers();
          add->set_name(op.add_name);
          add->set_kind(DeployedLayer::RESIDUAL_ADD);
          add->add_inputs(m.layers_size() - 2);
          add->add_inputs(out_index[op.residual]);
          add->set_relu(op.relu);
          formats::TensorFormat* af = add->mutable_output();
          af->set_channels(op.out_c);
          af->set_height(op.out_h);
          af->set_width(op.out_w);
          if (op.relu) {
            af->set_type(formats::ACTIVATION_UINT);
            af->set_scale(full_scale(k) / uint_max);
          } else {
            af->set_type(formats::ACTIVATION_INT16);
            af->set_scale(std::max(max_abs_out[k], 1e-30) * kInt16Headroom / 32767.0);
          }
          const double sa = m.layers(add->inputs(0)).output().scale();
          const double sb = m.layers(add->inputs(1)).output().scale();
          const double big = std::max(sa, sb) / af->scale();
          absl::StatusOr<MultiplierShift> ms = EncodeMultiplier(big);
          if (!ms.ok()) {
            return absl::InvalidArgumentError(absl::StrCat("layer '", op.add_name, "': residual ",
                                                           ms.status().message()));
          }
          const int s = ms->shift;
          add->mutable_residual()->set_shift(static_cast<uint32_t>(s));
          add->mutable_residual()->set_multiplier_a(
              static_cast<int32_t>(std::llround(std::ldexp(sa / af->scale(), s))));
          add->mutable_residual()->set_multiplier_b(
              static_cast<int32_t>(std::llround(std::ldexp(sb / af->scale(), s))));
          out_index[k] = m.layers_size() - 1;
        }
        break;
      }
      case FloatOp::Kind::kMaxPool:
      case FloatOp::Kind::kFlatten:
        l->set_kind(op.kind == FloatOp::Kind::kMaxPool ? DeployedLayer::MAXPOOL
                                                       : DeployedLayer::FLATTEN);
        f->set_type(in_format->type());
        f->set_scale(in_format->scale());
        out_index[k] = m.layers_size() - 1;
        break;
      case FloatOp::Kind::kGlobalAvgPool: {
        l->set_kind(DeployedLayer::AVGPOOL);
        f->set_type(in_format->type());
        f->set_scale(in_format->scale());
        // §7.6: m / 2^s = S_in / (H W S_out) = 1 / (H W).
        absl::StatusOr<MultiplierShift> ms = EncodeMultiplier(1.0 / (op.in_h * op.in_w));
        if (!ms.ok()) return ms.status();
        l->mutable_avgpool()->set_multiplier(ms->multiplier);
        l->mutable_avgpool()->set_shift(static_cast<uint32_t>(ms->shift));
        out_index[k] = m.layers_size() - 1;
        break;
      }
    }
  }
  // Steps 4-6 on the lossless variant: the constants, then the integer model
  // without variation on the calibration images, for the column sums.
  std::vector<std::string> lossless_notes;  // superseded by the final pass's
  if (absl::Status s = RederiveAll(*lossless_hw, &m, &lossless_notes); !s.ok()) return s;
  {
    absl::StatusOr<CompiledModel> cm = CompiledModel::FromProto(m, "compiler (lossless pass)");
    if (!cm.ok()) return cm.status();
    ProgramOptions po;
    po.prepare_fast_path = true;
    absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(*cm, clean, po, nullptr);
    if (!pm.ok()) return pm.status();
    Sequencer::Options so;
    so.max_batch = kCalibrationBatch;
    so.path = Path::kFast;
    absl::StatusOr<Sequencer> seq = Sequencer::Create(*cm, so);
    if (!seq.ok()) return seq.status();
    std::vector<std::vector<int32_t>> nominal(cm->layers().size());
    std::vector<int64_t> max_sum(cm->layers().size(), 0);
    for (int32_t index : cm->crossbar_layers()) {
      nominal[index] = NominalCodeRows(*lossless_hw, cm->layers()[index]);
    }
    seq->set_mvm_input_hook([&](int layer, const int32_t* x, int64_t batch) {
      max_sum[layer] = std::max(max_sum[layer], MaxColumnSum(*lossless_hw, cm->layers()[layer],
                                                             nominal[layer], x, batch));
    });
    std::vector<int32_t> logits(static_cast<size_t>(kCalibrationBatch) * g.num_classes);
    const int64_t adc_images = std::min(num_images, kAdcCalibrationImages);
    for (int64_t i0 = 0; i0 < adc_images; i0 += kCalibrationBatch) {
      const int n = static_cast<int>(std::min<int64_t>(kCalibrationBatch, adc_images - i0));
      if (absl::Status s = seq->Run(*pm, calibration + i0 * image_size, n, logits.data(), nullptr);
          !s.ok()) {
        return s;
      }
    }
    for (int32_t index : cm->crossbar_layers()) {
      m.mutable_layers(index)->set_calibrated_max_column_sum(max_sum[index]);
    }
  }

  // Step 6 for the target hardware.
  absl::StatusOr<formats::DeployableModel> final_model = Retarget(m, options.hardware, &rep.notes);
  if (!final_model.ok()) return final_model.status();
  formats::CompileProvenance* prov = final_model->mutable_provenance();
  prov->set_checkpoint_path(options.checkpoint_path);
  prov->set_checkpoint_epochs(options.checkpoint_epochs);
  prov->set_calibration_images(static_cast<int32_t>(num_images));
  prov->set_calibration_percentile(options.calibration_percentile);
  prov->set_calibration_sigma(options.calibration_sigma);
  prov->set_calibration_instances(options.calibration_sigma > 0 ? options.calibration_instances : 0);
  prov->set_compiler_version(kCompilerVersion);
  *prov->mutable_training_method() = options.training_method;
  *prov->mutable_training_device() = options.training_device;
  prov->set_training_seed(options.training_seed);
  prov->set_data_dir(options.data_dir);
  for (const std::string& n : rep.notes) prov->add_notes(n);

  // The result must load, and agree with the float model without variation.
  absl::StatusOr<CompiledModel> cm = CompiledModel::FromProto(*final_model, "compiler output");
  if (!cm.ok()) return cm.status();
  {
    ProgramOptions po;
    absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(*cm, clean, po, nullptr);
    if (!pm.ok()) return pm.status();
    Sequencer::Options so;
    so.max_batch = kCalibrationBatch;
    absl::StatusOr<Sequencer> seq = Sequencer::Create(*cm, so);
    if (!seq.ok()) return seq.status();
    std::vector<int32_t> logits(static_cast<size_t>(kCalibrationBatch) * g.num_classes);
    int64_t agree = 0;
    for (int64_t i0 = 0; i0 < num_images; i0 += kCalibrationBatch) {
      const int n = static_cast<int>(std::min<int64_t>(kCalibrationBatch, num_images - i0));
      if (absl::Status s = seq->Run(*pm, calibration + i0 * image_size, n, logits.data(), nullptr);
          !s.ok()) {
        return s;
      }
      for (int i = 0; i < n; ++i) {
        const int32_t* row = logits.data() + i * g.num_classes;
        agree += (std::max_element(row, row + g.num_classes) - row) == float_pred[i0 + i];
      }
    }
    rep.calibration_agreement = 100.0 * static_cast<double>(agree) / static_cast<double>(num_images);
  }
  for (int i = 0; i < final_model->layers_size(); ++i) {
    const DeployedLayer& l = final_model->layers(i);
    const formats::TensorFormat& f = l.output();
    std::string line = absl::StrFormat("%-24s %-12s -> %4dx%2dx%-2d %-5s S=%-10.4g", l.name(),
                                       DeployedLayer::Kind_Name(l.kind()), f.channels(),
                                       f.height(), f.width(), TypeName(f.type()), f.scale());
    if (l.kind() == DeployedLayer::CONV || l.kind() == DeployedLayer::LINEAR) {
      absl::StrAppendFormat(&line, " matrix %5dx%-4d tiles %3dx%-3d W_max %-8.4g p %-2d s_adc %-2d max|S| %d",
                            l.tiling().matrix_rows(), l.tiling().matrix_outputs(),
                            l.tiling().row_tiles(), l.tiling().column_tiles(), l.w_max(),
                            l.requant().pre_shift(), l.adc_shift(),
                            l.calibrated_max_column_sum());
    }
    rep.layer_lines.push_back(line);
  }
  return *std::move(final_model);
}

absl::StatusOr<formats::DeployableModel> CompileCheckpoint(const formats::Checkpoint& checkpoint,
                                                           const uint8_t* calibration,
                                                           int64_t num_images,
                                                           CompileOptions options,
                                                           CompileReport* report) {
  absl::StatusOr<std::unique_ptr<trainer::NftTrainer>> t =
      trainer::NftTrainer::FromCheckpoint(checkpoint);
  if (!t.ok()) return t.status();
  const formats::RunConfig& config = checkpoint.config();
  options.checkpoint_epochs = checkpoint.epochs_done();
  options.training_method = config.method();
  options.training_device = (*t)->config().device();
  options.training_seed = config.seed();
  options.data_dir = config.data_dir();
  return CompileNetwork((*t)->network(), config.architecture(), config.dataset(), calibration,
                        num_images, options, report);
}

}  // namespace nftcim::firmware
