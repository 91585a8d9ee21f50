#include "firmware_model/compiler.h"

#include <cmath>
#include <string>
#include <vector>

#include "data/normalize.h"
#include "device_model/device_model.h"
#include "emulator/hardware_config.h"
#include "emulator/programming.h"
#include "firmware_model/float_graph.h"
#include "firmware_model/model.h"
#include "firmware_model/programmed_model.h"
#include "firmware_model/sequencer.h"
#include "firmware_model/test_networks.h"
#include "gtest/gtest.h"

namespace nftcim::firmware {
namespace {

using formats::DeployedLayer;
using trainer::nn::Network;

struct Compiled {
  std::unique_ptr<Network> net;
  formats::Architecture arch;
  formats::DatasetInfo dataset;
  std::vector<uint8_t> calibration;
  absl::StatusOr<formats::DeployableModel> model;
  CompileReport report;
};

Compiled CompileRandom(const std::string& arch_name, int channels, double width,
                       const CompileOptions& options, int images = 16) {
  Compiled c;
  c.net = testing::RandomNetwork(arch_name, width, channels, 10, 5);
  c.arch.set_arch(arch_name);
  c.arch.set_width(width);
  c.arch.set_in_channels(channels);
  c.arch.set_input_size(32);
  c.arch.set_num_classes(10);
  for (int k = 0; k < channels; ++k) {
    c.dataset.add_mean(0.25 + 0.1 * k);
    c.dataset.add_std(0.35);
  }
  c.calibration = testing::RandomPixels(images, channels, 32, 42);
  c.model = CompileNetwork(*c.net, c.arch, c.dataset, c.calibration.data(), images, options,
                           &c.report);
  return c;
}

TEST(EncodeMultiplierTest, NormalisedAndAccurate) {
  absl::StatusOr<MultiplierShift> one = EncodeMultiplier(1.0);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->multiplier, 1 << 30);
  EXPECT_EQ(one->shift, 30);
  absl::StatusOr<MultiplierShift> neg = EncodeMultiplier(-0.75);
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->multiplier, -1610612736);  // -0.75 * 2^31
  EXPECT_EQ(neg->shift, 31);
  absl::StatusOr<MultiplierShift> zero = EncodeMultiplier(0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->multiplier, 0);
  // Tiny ratios: the shift caps at 62, precision is lost gracefully.
  absl::StatusOr<MultiplierShift> tiny = EncodeMultiplier(1e-15);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->shift, 62);
  EXPECT_NEAR(std::ldexp(tiny->multiplier, -62), 1e-15, 1e-18);
  // Rounding up to 2^31 renormalises.
  absl::StatusOr<MultiplierShift> edge = EncodeMultiplier(1.0 - 1e-12);
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(edge->multiplier, 1 << 30);
  EXPECT_EQ(edge->shift, 30);
  EXPECT_FALSE(EncodeMultiplier(2147483648.0).ok());
  EXPECT_FALSE(EncodeMultiplier(2147483647.9).ok());
  EXPECT_FALSE(EncodeMultiplier(std::nan("")).ok());
  // Relative error below 2^-30 over many decades.
  for (double r = 1.37e-7; r < 1e6; r *= 3.1) {
    for (double sign : {1.0, -1.0}) {
      absl::StatusOr<MultiplierShift> ms = EncodeMultiplier(sign * r);
      ASSERT_TRUE(ms.ok()) << r;
      EXPECT_GE(std::abs(static_cast<int64_t>(ms->multiplier)), int64_t{1} << 30);
      EXPECT_LE(std::fabs(std::ldexp(ms->multiplier, -ms->shift) - sign * r), r * std::ldexp(1.0, -30));
    }
  }
}

TEST(CompilerTest, Vgg8ShapesTilingAndWeights) {
  Compiled c = CompileRandom("vgg8", 1, 0.25, CompileOptions());
  ASSERT_TRUE(c.model.ok()) << c.model.status();
  const formats::DeployableModel& m = *c.model;
  const std::vector<std::pair<std::string, DeployedLayer::Kind>> want = {
      {"conv1", DeployedLayer::CONV},     {"conv2", DeployedLayer::CONV},
      {"pool1", DeployedLayer::MAXPOOL},  {"conv3", DeployedLayer::CONV},
      {"conv4", DeployedLayer::CONV},     {"pool2", DeployedLayer::MAXPOOL},
      {"conv5", DeployedLayer::CONV},     {"conv6", DeployedLayer::CONV},
      {"pool3", DeployedLayer::MAXPOOL},  {"flatten", DeployedLayer::FLATTEN},
      {"fc1", DeployedLayer::LINEAR},     {"fc2", DeployedLayer::LINEAR}};
  ASSERT_EQ(m.layers_size(), static_cast<int>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(m.layers(i).name(), want[i].first);
    EXPECT_EQ(m.layers(i).kind(), want[i].second) << want[i].first;
  }
  // conv1: signed pixel input, 1*3*3 rows, 16 outputs, one tile.
  const DeployedLayer& conv1 = m.layers(0);
  EXPECT_TRUE(conv1.signed_inputs());
  EXPECT_EQ(conv1.tiling().matrix_rows(), 9);
  EXPECT_EQ(conv1.tiling().arrays(), 2);
  EXPECT_EQ(conv1.output().type(), formats::ACTIVATION_UINT);
  // conv2: 16*9 = 144 rows -> 2 row tiles (128 + 16), 32 outputs -> 1 tile.
  const DeployedLayer& conv2 = m.layers(1);
  EXPECT_FALSE(conv2.signed_inputs());
  EXPECT_EQ(conv2.tiling().matrix_rows(), 144);
  EXPECT_EQ(conv2.tiling().matrix_outputs(), 32);
  EXPECT_EQ(conv2.tiling().row_tiles(), 2);
  EXPECT_EQ(conv2.tiling().last_tile_rows(), 16);
  EXPECT_EQ(conv2.tiling().column_tiles(), 1);
  EXPECT_EQ(conv2.tiling().outputs_per_tile(), 32);
  EXPECT_EQ(conv2.tiling().arrays(), 4);
  // fc1: 128*4*4 = 2048 rows (16 tiles), 256 outputs (8 tiles of 32).
  const DeployedLayer& fc1 = m.layers(10);
  EXPECT_EQ(fc1.tiling().row_tiles(), 16);
  EXPECT_EQ(fc1.tiling().column_tiles(), 8);
  EXPECT_EQ(fc1.tiling().arrays(), 256);
  EXPECT_EQ(m.layers(11).output().type(), formats::ACTIVATION_INT32);
  EXPECT_GT(m.layers(11).output().scale(), 0);
  // Crossbar layer ids 0..7 in order.
  uint32_t id = 0;
  for (const DeployedLayer& l : m.layers()) {
    if (l.kind() == DeployedLayer::CONV || l.kind() == DeployedLayer::LINEAR) {
      EXPECT_EQ(l.crossbar_layer(), id++);
    }
  }
  // Weights: per-layer W_max of the TRAINED weight (BatchNorm not folded in)
  // and the device model's codes, in layer-matrix order code[r * out + n].
  absl::StatusOr<device::DeviceModel> dev = device::DeviceModel::Create(8, 2, 0, formats::GAUSSIAN);
  for (const char* name : {"conv2.weight", "fc1.weight"}) {
    const trainer::nn::Parameter* w = c.net->FindParameter(name);
    ASSERT_NE(w, nullptr);
    const DeployedLayer& l = std::string(name) == "fc1.weight" ? fc1 : conv2;
    double w_max = 0;
    for (float v : w->value) w_max = std::max(w_max, std::fabs(static_cast<double>(v)));
    EXPECT_EQ(l.w_max(), w_max) << name;
    const int64_t rows = l.tiling().matrix_rows(), outs = l.tiling().matrix_outputs();
    for (int64_t n = 0; n < outs; n += 7) {
      for (int64_t r = 0; r < rows; r += 5) {
        EXPECT_EQ(l.weight_codes(static_cast<int>(r * outs + n)),
                  emulator::SignedWeightCode(*dev, w->value[n * rows + r], w_max));
      }
    }
  }
}

// §7.2: m_n / 2^s_n encodes scale_n * 2^p * (accumulator LSB) / S_out, the
// bias offset_n / scale_n in 2^p accumulator LSBs.
TEST(CompilerTest, RequantizationConstantsEncodeTheFoldedBatchNorm) {
  Compiled c = CompileRandom("vgg8", 1, 1.0 / 8, CompileOptions());
  ASSERT_TRUE(c.model.ok()) << c.model.status();
  const formats::DeployableModel& m = *c.model;
  absl::StatusOr<FloatGraph> g = BuildFloatGraph(*c.net);
  ASSERT_TRUE(g.ok());
  for (int i = 0; i < m.layers_size(); ++i) {
    const DeployedLayer& l = m.layers(i);
    if (l.kind() != DeployedLayer::CONV && l.kind() != DeployedLayer::LINEAR) continue;
    const FloatOp* op = nullptr;
    for (const FloatOp& o : g->ops) {
      if (o.name == l.name()) op = &o;
    }
    ASSERT_NE(op, nullptr);
    const double s_x = l.inputs(0) < 0 ? m.pixel_transform().input_scale()
                                       : m.layers(l.inputs(0)).output().scale();
    // Lossless: one accumulator LSB = S_x * W_max / 255 * 2^-8 (§6.4).
    const double lsb = s_x * l.w_max() / 255.0 / 256.0;
    const formats::Requantization& q = l.requant();
    for (int n = 0; n < l.output().channels(); ++n) {
      EXPECT_DOUBLE_EQ(q.real_scale(n), op->scale[n]);
      EXPECT_DOUBLE_EQ(q.real_offset(n), op->shift[n]);
      const double want = op->scale[n] * std::ldexp(lsb, q.pre_shift()) / l.output().scale();
      const double got = std::ldexp(static_cast<double>(q.multiplier(n)), -static_cast<int>(q.shift(n)));
      EXPECT_NEAR(got, want, std::fabs(want) * 1e-9) << l.name() << " channel " << n;
      const double bias_want = op->shift[n] / op->scale[n] / std::ldexp(lsb, q.pre_shift());
      EXPECT_NEAR(q.bias(n), bias_want, 0.5 + 1e-9 * std::fabs(bias_want)) << l.name();
    }
  }
}

// The integer model without variation computes the float model's function:
// integer logits times their scale match the folded float graph's (and so
// nn::Network's, float_graph_test) up to quantization error.
void ExpectIntegerMatchesFloat(const std::string& arch, int channels) {
  Compiled c = CompileRandom(arch, channels, 1.0 / 8, CompileOptions(), 16);
  ASSERT_TRUE(c.model.ok()) << c.model.status();
  absl::StatusOr<FloatGraph> g = BuildFloatGraph(*c.net);
  ASSERT_TRUE(g.ok());
  absl::StatusOr<data::Normalizer> norm = data::Normalizer::Create(
      {c.dataset.mean().begin(), c.dataset.mean().end()}, {c.dataset.std().begin(), c.dataset.std().end()});
  const int n = 8;
  const std::vector<uint8_t> pixels = testing::RandomPixels(n, channels, 32, 999);
  std::vector<float> x(pixels.size());
  for (int i = 0; i < n; ++i) {
    norm->NormalizeImage(pixels.data() + i * channels * 1024, 1024, x.data() + i * channels * 1024);
  }
  std::vector<std::vector<float>> outs;
  RunFloatGraph(*g, x.data(), n, &outs);
  absl::StatusOr<CompiledModel> model = CompiledModel::FromProto(*c.model, arch);
  ASSERT_TRUE(model.ok());
  absl::StatusOr<device::DeviceModel> dev = device::DeviceModel::Create(8, 2, 0, formats::GAUSSIAN);
  absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(*model, *dev, ProgramOptions(), nullptr);
  ASSERT_TRUE(pm.ok());
  Sequencer::Options so;
  so.max_batch = n;
  absl::StatusOr<Sequencer> seq = Sequencer::Create(*model, so);
  std::vector<int32_t> logits(n * 10);
  ASSERT_TRUE(seq->Run(*pm, pixels.data(), n, logits.data(), nullptr).ok());
  double err = 0, spread = 0, mean = 0;
  for (float v : outs.back()) mean += v / (n * 10);
  for (int k = 0; k < n * 10; ++k) {
    err += std::pow(logits[k] * model->logit_scale() - outs.back()[k], 2);
    spread += std::pow(outs.back()[k] - mean, 2);
  }
  // Relative RMS error of the logits well below their spread.
  EXPECT_LT(std::sqrt(err / spread), 0.1) << arch;
  EXPECT_GE(c.report.calibration_agreement, 75.0) << arch;
}

TEST(CompilerTest, Vgg8IntegerMatchesFloat) { ExpectIntegerMatchesFloat("vgg8", 1); }
TEST(CompilerTest, ResNet18IntegerMatchesFloat) { ExpectIntegerMatchesFloat("resnet18", 3); }

TEST(CompilerTest, ResNet18ResidualStructure) {
  Compiled c = CompileRandom("resnet18", 3, 1.0 / 16, CompileOptions());
  ASSERT_TRUE(c.model.ok()) << c.model.status();
  int adds = 0, shortcuts = 0;
  for (const DeployedLayer& l : c.model->layers()) {
    if (l.kind() == DeployedLayer::RESIDUAL_ADD) {
      ++adds;
      ASSERT_EQ(l.inputs_size(), 2);
      // a: the block's second conv, requantized to int16 without ReLU (§7.1).
      const DeployedLayer& a = c.model->layers(l.inputs(0));
      EXPECT_EQ(a.kind(), DeployedLayer::CONV);
      EXPECT_EQ(a.output().type(), formats::ACTIVATION_INT16);
      EXPECT_TRUE(l.relu());
      EXPECT_EQ(l.output().type(), formats::ACTIVATION_UINT);
      EXPECT_NEAR(std::ldexp(static_cast<double>(l.residual().multiplier_a()), -static_cast<int>(l.residual().shift())),
                  a.output().scale() / l.output().scale(), 1e-6 * a.output().scale() / l.output().scale());
    }
    if (l.name().find("shortcut") != std::string::npos) {
      ++shortcuts;
      EXPECT_EQ(l.output().type(), formats::ACTIVATION_INT16);
    }
  }
  EXPECT_EQ(adds, 8);
  EXPECT_EQ(shortcuts, 3);
  const DeployedLayer& pool = c.model->layers(c.model->layers_size() - 2);
  EXPECT_EQ(pool.kind(), DeployedLayer::AVGPOOL);
  // 4x4 positions: m / 2^s = 1/16 exactly.
  EXPECT_EQ(std::ldexp(static_cast<double>(pool.avgpool().multiplier()), -static_cast<int>(pool.avgpool().shift())), 1.0 / 16);
}

TEST(CompilerTest, AdcShiftsPerLayerAndFixed) {
  CompileOptions per_layer;
  per_layer.hardware = testing::AdcConfig(8, formats::ADC_BIPOLAR, formats::ADC_SHIFT_PER_LAYER);
  Compiled c = CompileRandom("vgg8", 1, 1.0 / 16, per_layer);
  ASSERT_TRUE(c.model.ok()) << c.model.status();
  absl::StatusOr<emulator::HardwareParams> hw = emulator::HardwareParams::FromConfig(per_layer.hardware);
  for (const DeployedLayer& l : c.model->layers()) {
    if (l.kind() != DeployedLayer::CONV && l.kind() != DeployedLayer::LINEAR) continue;
    EXPECT_GT(l.calibrated_max_column_sum(), 0) << l.name();
    // The smallest shift that converts the calibrated maximum (§5.3).
    EXPECT_EQ(static_cast<int32_t>(l.adc_shift()),
              emulator::AdcShiftForColumnSum(*hw, l.calibrated_max_column_sum()))
        << l.name();
    EXPECT_GT(l.adc_shift(), 0u) << l.name();
  }
  CompileOptions fixed;
  fixed.hardware = testing::AdcConfig(8, formats::ADC_BIPOLAR, formats::ADC_SHIFT_FIXED, 9);
  Compiled f = CompileRandom("vgg8", 1, 1.0 / 16, fixed);
  ASSERT_TRUE(f.model.ok()) << f.model.status();
  for (const DeployedLayer& l : f.model->layers()) {
    if (l.kind() == DeployedLayer::CONV || l.kind() == DeployedLayer::LINEAR) {
      EXPECT_EQ(l.adc_shift(), 9u);
    }
  }
  // Re-targeting the lossless compile to the same ADC gives the same model.
  Compiled lossless = CompileRandom("vgg8", 1, 1.0 / 16, CompileOptions());
  ASSERT_TRUE(lossless.model.ok());
  absl::StatusOr<formats::DeployableModel> re = RetargetHardware(*lossless.model, per_layer.hardware);
  ASSERT_TRUE(re.ok()) << re.status();
  for (int i = 0; i < re->layers_size(); ++i) {
    EXPECT_EQ(re->layers(i).adc_shift(), c.model->layers(i).adc_shift());
    EXPECT_EQ(re->layers(i).requant().SerializeAsString(),
              c.model->layers(i).requant().SerializeAsString());
  }
}

// Calibrating under variation pools forwards with varied weights: the
// activation full scales widen, the result is deterministic, the network's
// own weights are left as they were, and the provenance says so.
TEST(CompilerTest, CalibrationUnderVariationWidensActivationScales) {
  CompileOptions varied;
  varied.calibration_sigma = 0.3;
  varied.calibration_instances = 3;
  Compiled clean = CompileRandom("vgg8", 1, 1.0 / 16, CompileOptions());
  Compiled noisy = CompileRandom("vgg8", 1, 1.0 / 16, varied);
  Compiled again = CompileRandom("vgg8", 1, 1.0 / 16, varied);
  ASSERT_TRUE(clean.model.ok()) << clean.model.status();
  ASSERT_TRUE(noisy.model.ok()) << noisy.model.status();
  ASSERT_TRUE(again.model.ok());
  EXPECT_EQ(noisy.model->SerializeAsString(), again.model->SerializeAsString());
  EXPECT_EQ(noisy.model->provenance().calibration_sigma(), 0.3);
  EXPECT_EQ(noisy.model->provenance().calibration_instances(), 3);
  EXPECT_EQ(clean.model->provenance().calibration_sigma(), 0);
  double log_ratio = 0, widest = 0;
  int compared = 0;
  for (int i = 0; i < clean.model->layers_size(); ++i) {
    const formats::TensorFormat& a = clean.model->layers(i).output();
    const formats::TensorFormat& b = noisy.model->layers(i).output();
    if (a.type() == formats::ACTIVATION_INT32 || !(a.scale() > 0)) continue;
    log_ratio += std::log(b.scale() / a.scale());
    widest = std::max(widest, b.scale() / a.scale());
    ++compared;
  }
  ASSERT_GT(compared, 4);
  EXPECT_GT(log_ratio / compared, 0.0);
  EXPECT_GT(widest, 1.1);
  // The varied instances were swapped in for the build only: compiling the
  // same network object cleanly afterwards gives the clean model.
  absl::StatusOr<formats::DeployableModel> after =
      CompileNetwork(*noisy.net, noisy.arch, noisy.dataset, noisy.calibration.data(), 16,
                     CompileOptions(), nullptr);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->SerializeAsString(), clean.model->SerializeAsString());

  CompileOptions bad = varied;
  bad.calibration_sigma = -0.1;
  EXPECT_FALSE(CompileRandom("vgg8", 1, 1.0 / 16, bad).model.ok());
  bad = varied;
  bad.calibration_instances = 0;
  const Compiled none = CompileRandom("vgg8", 1, 1.0 / 16, bad);
  ASSERT_FALSE(none.model.ok());
  EXPECT_NE(none.model.status().message().find("calibration"), std::string::npos);
}

TEST(CompilerTest, ClearErrors) {
  // A lossless 128-row tile cannot be proven in a 32-bit accumulator (§6.3).
  CompileOptions w32;
  w32.hardware.set_accumulator_bits(32);
  Compiled c = CompileRandom("vgg8", 1, 1.0 / 16, w32);
  ASSERT_FALSE(c.model.ok());
  EXPECT_NE(c.model.status().message().find("can saturate the 32-bit accumulator"), std::string::npos)
      << c.model.status();
  EXPECT_NE(c.model.status().message().find("conv"), std::string::npos);
  // ... unless accepted, with a note.
  w32.allow_accumulator_saturation = true;
  Compiled ok = CompileRandom("vgg8", 1, 1.0 / 16, w32);
  ASSERT_TRUE(ok.model.ok()) << ok.model.status();
  EXPECT_FALSE(ok.model->provenance().notes().empty());

  CompileOptions bits;
  bits.hardware.set_weight_bits(6);
  Compiled b = CompileRandom("vgg8", 1, 1.0 / 16, bits);
  ASSERT_FALSE(b.model.ok());
  EXPECT_NE(b.model.status().message().find("weight_bits"), std::string::npos) << b.model.status();

  CompileOptions pct;
  pct.calibration_percentile = 0;
  EXPECT_FALSE(CompileRandom("vgg8", 1, 1.0 / 16, pct).model.ok());

  CompileOptions bad_hw;
  bad_hw.hardware.set_array_rows(0);
  Compiled h = CompileRandom("vgg8", 1, 1.0 / 16, bad_hw);
  ASSERT_FALSE(h.model.ok());
  EXPECT_NE(h.model.status().message().find("array_rows"), std::string::npos) << h.model.status();

  // Re-targeting may not change the arrays.
  Compiled base = CompileRandom("vgg8", 1, 1.0 / 16, CompileOptions());
  ASSERT_TRUE(base.model.ok());
  formats::HardwareConfig other = emulator::DefaultHardwareConfig();
  other.set_array_rows(64);
  EXPECT_FALSE(RetargetHardware(*base.model, other).ok());
}

}  // namespace
}  // namespace nftcim::firmware
