#include "firmware_model/monte_carlo.h"

#include <cmath>
#include <string>
#include <vector>

#include "device_model/device_model.h"
#include "emulator/hardware_config.h"
#include "firmware_model/compiler.h"
#include "firmware_model/model.h"
#include "firmware_model/programmed_model.h"
#include "firmware_model/test_networks.h"
#include "gtest/gtest.h"
#include "util/monte_carlo.h"

namespace nftcim::firmware {
namespace {

data::RawDataset TestSet(int n, int channels) {
  data::RawDataset d;
  d.num_images = n;
  d.channels = channels;
  d.height = d.width = 32;
  d.num_classes = 10;
  d.pixels = testing::RandomPixels(n, channels, 32, 5);
  for (int i = 0; i < n; ++i) d.labels.push_back(i % 10);
  return d;
}

const CompiledModel& Model(formats::HardwareConfig hw = emulator::DefaultHardwareConfig()) {
  static std::vector<std::unique_ptr<CompiledModel>>* cache = new std::vector<std::unique_ptr<CompiledModel>>;
  for (const auto& m : *cache) {
    if (m->proto().hardware().SerializeAsString() == hw.SerializeAsString()) return *m;
  }
  absl::StatusOr<CompiledModel> m =
      CompiledModel::FromProto(testing::CompiledRandomModel("vgg8", 1, hw), "vgg8");
  EXPECT_TRUE(m.ok()) << m.status();
  cache->push_back(std::make_unique<CompiledModel>(*std::move(m)));
  return *cache->back();
}

device::DeviceModel Device(formats::DevicePreset preset = formats::GAUSSIAN) {
  absl::StatusOr<device::DeviceModel> d = device::DeviceModel::Create(8, 2, 0, preset);
  return *d;
}

std::string Json(const EmulatorMcResult& r) {
  std::string extra;
  for (const auto& sums : r.checksums) {
    for (uint64_t c : sums) extra += std::to_string(c) + ",";
  }
  for (const InferenceStats& s : r.stats) {
    extra += std::to_string(s.mvm.adc.conversions) + "," + std::to_string(s.adc_saturations()) +
             "," + std::to_string(s.periphery_saturations) + ";";
  }
  return McJson(r.summaries, "\"x\": \"" + extra + "\"");
}

// Same seed: the same conductances and the same JSON, byte for byte; one
// thread or two: the same.
TEST(MonteCarloTest, DeterministicAcrossRepeatsAndThreads) {
  const data::RawDataset test = TestSet(24, 1);
  for (const formats::HardwareConfig& hw :
       {emulator::DefaultHardwareConfig(),
        testing::AdcConfig(6, formats::ADC_BIPOLAR, formats::ADC_SHIFT_PER_LAYER)}) {
    EmulatorMcOptions o;
    o.sigmas = {0, 0.3};
    o.runs = 2;
    o.seed = 11;
    o.batch = 5;
    o.threads = 1;
    absl::StatusOr<EmulatorMcResult> a = EmulatorMonteCarlo(Model(hw), test, Device(), o);
    ASSERT_TRUE(a.ok()) << a.status();
    absl::StatusOr<EmulatorMcResult> b = EmulatorMonteCarlo(Model(hw), test, Device(), o);
    o.threads = 2;
    o.batch = 3;
    absl::StatusOr<EmulatorMcResult> c = EmulatorMonteCarlo(Model(hw), test, Device(), o);
    ASSERT_TRUE(b.ok() && c.ok());
    EXPECT_EQ(Json(*a), Json(*b));
    EXPECT_EQ(Json(*a), Json(*c));
    ASSERT_EQ(a->summaries.size(), 2u);
    EXPECT_EQ(a->summaries[0].runs, 1);  // sigma 0: one run
    EXPECT_EQ(a->summaries[1].runs, 2);
    EXPECT_TRUE(a->summaries[1].has_saturations);
    // Different instances per run; another seed, other instances.
    EXPECT_NE(a->checksums[1][0], a->checksums[1][1]);
    o.seed = 12;
    absl::StatusOr<EmulatorMcResult> d = EmulatorMonteCarlo(Model(hw), test, Device(), o);
    ASSERT_TRUE(d.ok());
    EXPECT_NE(a->checksums[1][0], d->checksums[1][0]);
    EXPECT_EQ(a->checksums[0][0], d->checksums[0][0]);  // sigma 0: no draw matters
  }
}

// A sigma's result does not depend on which other sigmas run with it.
TEST(MonteCarloTest, SigmaResultIndependentOfTheOthers) {
  const data::RawDataset test = TestSet(12, 1);
  EmulatorMcOptions o;
  o.runs = 2;
  o.sigmas = {0.1, 0.2};
  absl::StatusOr<EmulatorMcResult> both = EmulatorMonteCarlo(Model(), test, Device(), o);
  o.sigmas = {0.2};
  absl::StatusOr<EmulatorMcResult> one = EmulatorMonteCarlo(Model(), test, Device(), o);
  ASSERT_TRUE(both.ok() && one.ok());
  EXPECT_EQ(both->checksums[1], one->checksums[0]);
  EXPECT_EQ(both->summaries[1].mean_accuracy, one->summaries[0].mean_accuracy);
  EXPECT_EQ(both->summaries[1].ekl, one->summaries[0].ekl);
}

TEST(MonteCarloTest, ProgrammingIsThreadIndependent) {
  const device::DeviceModel d = Device(formats::FEFET2).WithSigma(0.25);
  ProgramOptions po;
  po.seed = RunSeed(3, 0.25, 1);
  po.num_threads = 1;
  absl::StatusOr<ProgrammedModel> one = ProgrammedModel::Program(Model(), d, po, nullptr);
  po.num_threads = 2;
  absl::StatusOr<ProgrammedModel> two = ProgrammedModel::Program(Model(), d, po, nullptr);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->CodeChecksum(), two->CodeChecksum());
  for (int32_t index : Model().crossbar_layers()) {
    const emulator::ProgrammedMatrix& a = one->matrix(index);
    const emulator::ProgrammedMatrix& b = two->matrix(index);
    for (int64_t t = 0; t < a.row_tiles(); ++t) {
      for (int64_t u = 0; u < a.column_tiles(); ++u) {
        EXPECT_EQ(a.tile(t, u).positive, b.tile(t, u).positive);
        EXPECT_EQ(a.tile(t, u).negative, b.tile(t, u).negative);
      }
    }
  }
}

TEST(MonteCarloTest, FiguresFromIntegerLogits) {
  const int32_t logits[4] = {5, 9, 9, -3};
  EXPECT_EQ(PredictedClass(logits, 4), 1);  // ties to the lowest index (§7.9)
  const double scale = 0.25;
  double sum = 0;
  for (int32_t v : logits) sum += std::exp(scale * v);
  EXPECT_NEAR(NegativeLogLikelihood(logits, 4, scale, 2), -(scale * 9 - std::log(sum)), 1e-12);
  // Large logits: no overflow.
  const int32_t big[2] = {2000000000, -2000000000};
  EXPECT_NEAR(NegativeLogLikelihood(big, 2, 1.0, 0), 0.0, 1e-12);
}

TEST(MonteCarloTest, RejectsBadInput) {
  EmulatorMcOptions o;
  o.sigmas = {0.1};
  EXPECT_FALSE(EmulatorMonteCarlo(Model(), TestSet(4, 3), Device(), o).ok());  // 3 channels
  data::RawDataset bad_label = TestSet(4, 1);
  bad_label.labels[2] = 10;
  absl::StatusOr<EmulatorMcResult> r = EmulatorMonteCarlo(Model(), bad_label, Device(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("label 10"), std::string::npos);
  o.runs = 0;
  EXPECT_FALSE(EmulatorMonteCarlo(Model(), TestSet(4, 1), Device(), o).ok());
  o.runs = 1;
  o.sigmas = {-0.1};
  EXPECT_FALSE(EmulatorMonteCarlo(Model(), TestSet(4, 1), Device(), o).ok());
}

}  // namespace
}  // namespace nftcim::firmware
