// The emulator issue's acceptance criteria, fast version: a small VGG-8
// trained for a few seconds with noise injection (trainer/nft_trainer.h) on a
// generated 10-class task, compiled (firmware_model/compiler.h) for the
// paper's accelerator and run through the integer datapath, against the
// float trainer's own evaluation (trainer/evaluation.h):
//
//   sigma 0, lossless ADC: emulator accuracy within 1 point of EvaluateOnce;
//   sigma 0.1: the emulator's Monte Carlo mean within the float Monte
//   Carlo's 95% interval widened by the sigma-0 gap.
//
// The full table (VGG-8 width 0.25, Fashion-MNIST, noise / OVF / IRS, sigma
// 0 / 0.1 / 0.2, 20 runs) is tools/agreement.sh.

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <vector>

#include "data/raw_dataset.h"
#include "device_model/device_model.h"
#include "device_model/random.h"
#include "device_model/weight_noise.h"
#include "emulator/crossbar_matrix.h"
#include "firmware_model/programmed_model.h"
#include "trainer/variation.h"
#include "firmware_model/compiler.h"
#include "firmware_model/model.h"
#include "firmware_model/monte_carlo.h"
#include "gtest/gtest.h"
#include "trainer/evaluation.h"
#include "trainer/nft_trainer.h"
#include "trainer/nn/parallel.h"

namespace nftcim {
namespace {

// Class k: a bright 7x7 block at one of ten places (jittered by up to 2
// pixels, random brightness) over textured clutter; some images get a
// second, mostly dimmer distractor block, so that the task is not trivial.
data::RawDataset MakeBlocks(int n, uint32_t seed) {
  data::RawDataset d;
  d.num_images = n;
  d.channels = 1;
  d.height = d.width = 32;
  d.num_classes = 10;
  d.pixels.assign(static_cast<size_t>(n) * 32 * 32, 0);
  uint32_t state = seed;
  auto next = [&state](int range) {
    state = state * 1664525u + 1013904223u;
    return static_cast<int>((state >> 8) % static_cast<uint32_t>(range));
  };
  auto block = [](uint8_t* img, int y0, int x0, int value) {
    for (int y = y0; y < y0 + 7; ++y) {
      for (int x = x0; x < x0 + 7; ++x) img[y * 32 + x] = static_cast<uint8_t>(value);
    }
  };
  for (int i = 0; i < n; ++i) {
    const int label = next(10);
    d.labels.push_back(label);
    uint8_t* img = d.mutable_image(i);
    for (int p = 0; p < 32 * 32; ++p) img[p] = static_cast<uint8_t>(next(110));
    if (next(2) == 0) {
      const int other = next(10);
      block(img, (other / 5) * 14 + 2 + next(5), (other % 5) * 6 + next(3), 120 + next(70));
    }
    block(img, (label / 5) * 14 + 2 + next(5), (label % 5) * 6 + next(3), 140 + next(115));
  }
  return d;
}

formats::RunConfig Config() {
  formats::RunConfig c;
  formats::DatasetInfo* ds = c.mutable_dataset();
  ds->set_name("blocks");
  ds->add_mean(0.25);
  ds->add_std(0.3);
  ds->set_geometry("none");
  c.mutable_architecture()->set_arch("vgg8");
  c.mutable_architecture()->set_width(0.125);
  c.mutable_architecture()->set_in_channels(1);
  c.mutable_architecture()->set_input_size(32);
  c.mutable_architecture()->set_num_classes(10);
  c.mutable_device()->set_sigma(0.1);
  c.mutable_method()->set_kind(formats::TrainingMethod::NOISE);
  c.mutable_method()->set_beta(0.1);
  c.mutable_optimizer()->set_kind(formats::OptimizerConfig::ADAM);
  c.mutable_optimizer()->set_learning_rate(2e-3);
  c.mutable_optimizer()->set_cosine(true);
  c.set_epochs(3);
  c.set_batch_size(32);
  c.set_seed(3);
  c.set_threads(2);
  return c;
}

TEST(AgreementTest, EmulatorAgreesWithTheFloatTrainer) {
  trainer::nn::SetNumThreads(2);
  const data::RawDataset train = MakeBlocks(1200, 1);
  const data::RawDataset test = MakeBlocks(400, 2);
  const formats::RunConfig config = Config();
  absl::StatusOr<std::unique_ptr<trainer::NftTrainer>> t = trainer::NftTrainer::Create(config);
  ASSERT_TRUE(t.ok()) << t.status();
  for (int e = 0; e < config.epochs(); ++e) (*t)->TrainEpoch(train, {});

  // Float: the trainer's evaluation.
  absl::StatusOr<trainer::EvalSet> eval = trainer::EvalSet::Create(test, config.dataset(), 100);
  ASSERT_TRUE(eval.ok()) << eval.status();
  const McRun clean = trainer::EvaluateOnce((*t)->network(), nullptr, *eval);
  const double float_clean = 100.0 * clean.correct / clean.total;
  ASSERT_GE(float_clean, 60.0) << "the model did not learn the task; the comparison would be empty";
  const device::DeviceModel device = *device::DeviceModel::FromProto(config.device());
  const int runs = 6;
  const std::vector<McSummary> float_mc =
      trainer::MonteCarloEvaluate((*t)->network(), device, {0.1}, runs, 1, *eval, {});

  // Emulator: compile (calibrated on the first 256 training images), then
  // integer Monte Carlo on the paper's accelerator, lossless ADC.
  const formats::Checkpoint ck = (*t)->ToCheckpoint();
  firmware::CompileReport report;
  absl::StatusOr<formats::DeployableModel> proto =
      firmware::CompileCheckpoint(ck, train.pixels.data(), 256, firmware::CompileOptions(), &report);
  ASSERT_TRUE(proto.ok()) << proto.status();
  absl::StatusOr<firmware::CompiledModel> model = firmware::CompiledModel::FromProto(*proto, "trained");
  ASSERT_TRUE(model.ok()) << model.status();
  firmware::EmulatorMcOptions o;
  o.sigmas = {0, 0.1};
  o.runs = runs;
  o.seed = 1;
  o.threads = 2;
  absl::StatusOr<firmware::EmulatorMcResult> emu =
      firmware::EmulatorMonteCarlo(*model, test, device, o);
  ASSERT_TRUE(emu.ok()) << emu.status();

  const double gap0 = emu->summaries[0].mean_accuracy - float_clean;
  const double gap1 = emu->summaries[1].mean_accuracy - float_mc[0].mean_accuracy;
  std::printf("float: clean %.2f%%, sigma 0.1 %.2f +- %.2f\n", float_clean,
              float_mc[0].mean_accuracy, float_mc[0].ci95);
  std::printf("emulator: sigma 0 %.2f%%, sigma 0.1 %.2f +- %.2f (calibration agreement %.1f%%)\n",
              emu->summaries[0].mean_accuracy, emu->summaries[1].mean_accuracy,
              emu->summaries[1].ci95, report.calibration_agreement);
  EXPECT_LE(std::fabs(gap0), 1.0) << "sigma 0: emulator vs float accuracy";
  EXPECT_LE(std::fabs(gap1), float_mc[0].ci95 + std::fabs(gap0))
      << "sigma 0.1: emulator mean outside the float 95% interval widened by the sigma-0 gap";
  // The EKL of the integer logits (times their scale) is the float model's
  // quantity: same order of magnitude.
  EXPECT_GT(emu->summaries[0].ekl, 0);
  EXPECT_LT(emu->summaries[0].ekl, 3 * float_mc[0].ekl + 0.5);
}

device::DeviceModel NonIdeal(double sigma, double low, double high, double drift_seconds,
                             bool compensation) {
  formats::DeviceModel p;
  p.set_sigma(sigma);
  p.set_stuck_at_low_rate(low);
  p.set_stuck_at_high_rate(high);
  p.set_drift_seconds(drift_seconds);
  p.set_drift_compensation(compensation);
  absl::StatusOr<device::DeviceModel> d = device::DeviceModel::FromProto(p);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

// The stuck-at map and the drift exponents from one seed are the same cells
// in the trainer (device::ApplyDeviceWithNormals) and in the emulator's
// programmed codes: every weight the emulator's arrays represent equals the
// trainer's hardware weight (exactly for stuck-at; to the codes' 2^-F
// rounding under drift).
TEST(AgreementTest, StuckAtMapAndDriftAreTheSameCellsInTrainerAndEmulator) {
  trainer::nn::SetNumThreads(2);
  const formats::RunConfig config = Config();
  absl::StatusOr<std::unique_ptr<trainer::NftTrainer>> t = trainer::NftTrainer::Create(config);
  ASSERT_TRUE(t.ok()) << t.status();
  const data::RawDataset images = MakeBlocks(64, 5);
  const formats::Checkpoint ck = (*t)->ToCheckpoint();
  absl::StatusOr<formats::DeployableModel> proto = firmware::CompileCheckpoint(
      ck, images.pixels.data(), 64, firmware::CompileOptions(), nullptr);
  ASSERT_TRUE(proto.ok()) << proto.status();
  absl::StatusOr<firmware::CompiledModel> model =
      firmware::CompiledModel::FromProto(*proto, "untrained");
  ASSERT_TRUE(model.ok()) << model.status();
  const emulator::HardwareParams& hw = model->params();
  const std::vector<trainer::nn::Parameter*> params = (*t)->network().Parameters();
  std::vector<trainer::nn::Parameter*> mapped;
  for (trainer::nn::Parameter* p : params) {
    if (p->device_mapped) mapped.push_back(p);
  }
  ASSERT_EQ(mapped.size(), model->crossbar_layers().size());

  for (const bool drift : {false, true}) {
    const device::DeviceModel device = NonIdeal(0, 0.02, 0.03, drift ? 1e5 : 0, false);
    const uint64_t seed = device::MonteCarloRunSeed(1, 0.0, 3);
    firmware::ProgramOptions po;
    po.seed = seed;
    po.num_threads = 2;
    emulator::ProgrammingStats stats;
    absl::StatusOr<firmware::ProgrammedModel> pm =
        firmware::ProgrammedModel::Program(*model, device, po, &stats);
    ASSERT_TRUE(pm.ok()) << pm.status();
    ASSERT_GT(stats.cells_stuck_low, 100);
    ASSERT_GT(stats.cells_stuck_high, 100);
    trainer::StandardNormalDraw zero =
        trainer::DrawStandardNormals(params, 1, trainer::NoisePurpose::kEvaluate, 0, 0);
    for (std::vector<float>& z : zero.z) std::fill(z.begin(), z.end(), 0.0f);
    trainer::NoisyWeights noisy;
    noisy.Build(params, device, zero, seed);
    int64_t weights = 0, moved = 0;
    for (size_t j = 0; j < mapped.size(); ++j) {
      const int index = model->crossbar_layers()[j];
      const firmware::Layer& l = model->layers()[index];
      ASSERT_EQ(l.crossbar_layer, static_cast<int32_t>(j));
      const trainer::nn::Tensor& w = mapped[j]->value;
      ASSERT_EQ(w.size(), l.matrix_rows * l.matrix_outputs) << l.name;
      size_t p = 0;
      while (params[p] != mapped[j]) ++p;
      const trainer::nn::Tensor& out = *(*noisy.overrides())[p];
      const float w_max = device::MaxAbs(w.data(), w.size());
      const double unit = w_max / 255.0;
      const emulator::ProgrammedMatrix& m = pm->matrix(index);
      for (int64_t k = 0; k < w.size(); ++k) {
        const int64_t r = k % l.matrix_rows, n = k / l.matrix_rows;
        const int32_t wq = l.weight_codes[r * l.matrix_outputs + n];
        const emulator::ProgrammedTile& tile =
            m.tile(r / hw.array_rows, n / hw.outputs_per_tile);
        const int32_t tr = static_cast<int32_t>(r % hw.array_rows);
        const int32_t tn = static_cast<int32_t>(n % hw.outputs_per_tile);
        double levels = 0;
        for (int i = 0; i < hw.cells_per_weight; ++i) {
          const int32_t c = tn * hw.cells_per_weight + i;
          levels += std::ldexp(1.0, hw.cell_bits * i) *
                    (tile.Code(emulator::ArraySide::kPositive, tr, c) -
                     tile.Code(emulator::ArraySide::kNegative, tr, c)) /
                    256.0;
        }
        // The trainer's hardware weight: its output minus the float
        // residual w - w_q.
        const double hardware = out[k] - w[k] + wq * unit;
        const double tol = drift ? 0.17 * unit + 1e-6 : 1e-6 + 1e-6 * std::fabs(w_max);
        ASSERT_NEAR(hardware, levels * unit, tol)
            << l.name << " weight " << k << (drift ? " (drift)" : " (stuck-at)");
        ++weights;
        moved += std::fabs(levels - wq) > 0.5;
      }
    }
    EXPECT_GT(moved, weights / 20) << "the faults (and drift) changed weights";
  }
}

// Float Monte Carlo vs emulator Monte Carlo under stuck-at faults and under
// compensated drift, each at one strength, with the criterion of the test
// above (tools/agreement.sh runs two strengths of each on Fashion-MNIST).
TEST(AgreementTest, MonteCarloAgreesUnderStuckAtAndDrift) {
  trainer::nn::SetNumThreads(2);
  const data::RawDataset train = MakeBlocks(1200, 1);
  const data::RawDataset test = MakeBlocks(400, 2);
  const formats::RunConfig config = Config();
  absl::StatusOr<std::unique_ptr<trainer::NftTrainer>> t = trainer::NftTrainer::Create(config);
  ASSERT_TRUE(t.ok()) << t.status();
  for (int e = 0; e < config.epochs(); ++e) (*t)->TrainEpoch(train, {});
  absl::StatusOr<trainer::EvalSet> eval = trainer::EvalSet::Create(test, config.dataset(), 100);
  ASSERT_TRUE(eval.ok()) << eval.status();
  const formats::Checkpoint ck = (*t)->ToCheckpoint();
  absl::StatusOr<formats::DeployableModel> proto =
      firmware::CompileCheckpoint(ck, train.pixels.data(), 256, firmware::CompileOptions(), nullptr);
  ASSERT_TRUE(proto.ok()) << proto.status();
  absl::StatusOr<firmware::CompiledModel> model = firmware::CompiledModel::FromProto(*proto, "trained");
  ASSERT_TRUE(model.ok()) << model.status();
  const McRun clean = trainer::EvaluateOnce((*t)->network(), nullptr, *eval);
  const double float_clean = 100.0 * clean.correct / clean.total;
  firmware::EmulatorMcOptions o;
  o.sigmas = {0};
  o.runs = 1;
  o.seed = 1;
  o.threads = 2;
  absl::StatusOr<firmware::EmulatorMcResult> emu0 =
      firmware::EmulatorMonteCarlo(*model, test, NonIdeal(0, 0, 0, 0, false), o);
  ASSERT_TRUE(emu0.ok()) << emu0.status();
  const double gap0 = emu0->summaries[0].mean_accuracy - float_clean;
  struct Case {
    const char* name;
    device::DeviceModel device;
  };
  const std::vector<Case> cases = {{"stuck-at 2%/2%", NonIdeal(0, 0.02, 0.02, 0, false)},
                                   {"drift 1 day, compensated", NonIdeal(0, 0, 0, 86400, true)}};
  for (const Case& c : cases) {
    const int runs = 6;
    const std::vector<McSummary> f =
        trainer::MonteCarloEvaluate((*t)->network(), c.device, {0}, runs, 1, *eval, {});
    o.runs = runs;
    absl::StatusOr<firmware::EmulatorMcResult> e =
        firmware::EmulatorMonteCarlo(*model, test, c.device, o);
    ASSERT_TRUE(e.ok()) << e.status();
    const double gap = e->summaries[0].mean_accuracy - f[0].mean_accuracy;
    std::printf("%s: float %.2f +- %.2f, emulator %.2f +- %.2f, gap %+.2f (sigma-0 gap %+.2f)\n",
                c.name, f[0].mean_accuracy, f[0].ci95, e->summaries[0].mean_accuracy,
                e->summaries[0].ci95, gap, gap0);
    EXPECT_EQ(f[0].runs, runs);
    EXPECT_LE(std::fabs(gap), f[0].ci95 + std::fabs(gap0)) << c.name;
  }
}

}  // namespace
}  // namespace nftcim
