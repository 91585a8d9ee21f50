#include "trainer/nft_trainer.h"

#include <cmath>

#include "gtest/gtest.h"
#include "trainer/checkpoint.h"
#include "trainer/evaluation.h"
#include "trainer/nn/parallel.h"

namespace nftcim::trainer {
namespace {

// A small learnable task: class k is a bright 8x8 square at one of four
// places, over faint deterministic clutter.
data::RawDataset MakeSquares(int n, uint32_t seed) {
  data::RawDataset d;
  d.num_images = n;
  d.channels = 1;
  d.height = d.width = 32;
  d.num_classes = 4;
  d.pixels.assign(static_cast<size_t>(n) * 32 * 32, 0);
  uint32_t state = seed;
  for (int i = 0; i < n; ++i) {
    const int label = i % 4;
    d.labels.push_back(label);
    uint8_t* img = d.mutable_image(i);
    for (int p = 0; p < 32 * 32; ++p) {
      state = state * 1664525u + 1013904223u;
      img[p] = static_cast<uint8_t>((state >> 24) & 63);
    }
    const int y0 = (label / 2) * 16 + 4, x0 = (label % 2) * 16 + 4;
    for (int y = y0; y < y0 + 8; ++y) {
      for (int x = x0; x < x0 + 8; ++x) img[y * 32 + x] = 230;
    }
  }
  return d;
}

formats::RunConfig TinyConfig(formats::TrainingMethod::Kind kind, int epochs) {
  formats::RunConfig c;
  formats::DatasetInfo* ds = c.mutable_dataset();
  ds->set_name("squares");
  ds->add_mean(0.2);
  ds->add_std(0.3);
  c.mutable_architecture()->set_arch("vgg8");
  c.mutable_architecture()->set_width(1.0 / 16);
  c.mutable_architecture()->set_in_channels(1);
  c.mutable_architecture()->set_input_size(32);
  c.mutable_architecture()->set_num_classes(4);
  c.mutable_device()->set_sigma(kind == formats::TrainingMethod::VANILLA ? 0 : 0.1);
  c.mutable_method()->set_kind(kind);
  c.mutable_method()->set_beta(0.1);
  c.mutable_optimizer()->set_kind(formats::OptimizerConfig::ADAM);
  c.mutable_optimizer()->set_learning_rate(3e-3);
  c.mutable_optimizer()->set_cosine(true);
  c.set_epochs(epochs);
  c.set_batch_size(16);
  c.set_seed(5);
  c.set_threads(1);
  return c;
}

std::vector<float> AllWeights(NftTrainer& t) {
  std::vector<float> out;
  for (nn::Parameter* p : t.network().Parameters()) out.insert(out.end(), p->value.begin(), p->value.end());
  for (nn::Buffer* b : t.network().Buffers()) out.insert(out.end(), b->value.begin(), b->value.end());
  return out;
}

class MethodTest : public ::testing::TestWithParam<formats::TrainingMethod::Kind> {};

TEST_P(MethodTest, LearnsTheToyTask) {
  nn::SetNumThreads(1);
  const data::RawDataset train = MakeSquares(128, 1), test = MakeSquares(64, 2);
  absl::StatusOr<std::unique_ptr<NftTrainer>> t = NftTrainer::Create(TinyConfig(GetParam(), 4));
  ASSERT_TRUE(t.ok()) << t.status();
  double first_loss = 0, last_loss = 0;
  for (int e = 0; e < 4; ++e) {
    EpochResult r = (*t)->TrainEpoch(train, {});
    ASSERT_TRUE(std::isfinite(r.mean_loss));
    if (e == 0) first_loss = r.mean_loss;
    last_loss = r.mean_loss;
  }
  EXPECT_LT(last_loss, first_loss);
  absl::StatusOr<EvalSet> eval = EvalSet::Create(test, (*t)->config().dataset(), 32);
  ASSERT_TRUE(eval.ok()) << eval.status();
  McRun clean = EvaluateOnce((*t)->network(), nullptr, *eval);
  EXPECT_EQ(clean.total, 64);
  EXPECT_GE(clean.correct, 48) << "clean accuracy on an easy 4-class task";
}

INSTANTIATE_TEST_SUITE_P(AllMethods, MethodTest,
                         ::testing::Values(formats::TrainingMethod::VANILLA,
                                           formats::TrainingMethod::NOISE,
                                           formats::TrainingMethod::OVF,
                                           formats::TrainingMethod::IRS));

TEST(NftTrainerTest, ResumeEqualsUninterrupted) {
  nn::SetNumThreads(2);
  const data::RawDataset train = MakeSquares(48, 3);
  for (auto kind : {formats::TrainingMethod::OVF, formats::TrainingMethod::IRS}) {
    auto straight = *NftTrainer::Create(TinyConfig(kind, 2));
    straight->TrainEpoch(train, {});
    straight->TrainEpoch(train, {});

    auto first = *NftTrainer::Create(TinyConfig(kind, 2));
    first->TrainEpoch(train, {});
    // Through the on-disk format, as a killed run would be resumed.
    const std::string path = ::testing::TempDir() + "/resume.pb";
    ASSERT_TRUE(WriteCheckpoint(path, first->ToCheckpoint()).ok());
    first.reset();
    absl::StatusOr<formats::Checkpoint> ck = ReadCheckpoint(path);
    ASSERT_TRUE(ck.ok()) << ck.status();
    absl::StatusOr<std::unique_ptr<NftTrainer>> resumed = NftTrainer::FromCheckpoint(*ck);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_EQ((*resumed)->epochs_done(), 1);
    (*resumed)->TrainEpoch(train, {});
    EXPECT_EQ(AllWeights(*straight), AllWeights(**resumed)) << formats::TrainingMethod::Kind_Name(kind);
  }
  nn::SetNumThreads(1);
}

TEST(NftTrainerTest, SameSeedSameWeightsDifferentSeedDifferent) {
  nn::SetNumThreads(1);
  const data::RawDataset train = MakeSquares(32, 4);
  auto a = *NftTrainer::Create(TinyConfig(formats::TrainingMethod::NOISE, 1));
  auto b = *NftTrainer::Create(TinyConfig(formats::TrainingMethod::NOISE, 1));
  formats::RunConfig other = TinyConfig(formats::TrainingMethod::NOISE, 1);
  other.set_seed(6);
  auto c = *NftTrainer::Create(other);
  a->TrainEpoch(train, {});
  b->TrainEpoch(train, {});
  c->TrainEpoch(train, {});
  EXPECT_EQ(AllWeights(*a), AllWeights(*b));
  EXPECT_NE(AllWeights(*a), AllWeights(*c));
}

TEST(NftTrainerTest, CheckpointMismatchIsAClearError) {
  auto t = *NftTrainer::Create(TinyConfig(formats::TrainingMethod::IRS, 1));
  formats::Checkpoint ck = t->ToCheckpoint();
  EXPECT_EQ(ck.aux_parameters_size(), 12);  // 3 heads x (2 weights + 2 biases)
  ck.mutable_parameters(0)->add_data(1.0f);
  absl::StatusOr<std::unique_ptr<NftTrainer>> bad = NftTrainer::FromCheckpoint(ck);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("conv1.weight"), std::string::npos)
      << bad.status();
  ck = t->ToCheckpoint();
  ck.set_format_version(99);
  const std::string path = ::testing::TempDir() + "/future.pb";
  ASSERT_TRUE(WriteCheckpoint(path, ck).ok());
  absl::StatusOr<formats::Checkpoint> future = ReadCheckpoint(path);
  ASSERT_FALSE(future.ok());
  EXPECT_NE(std::string(future.status().message()).find("format_version 99"), std::string::npos);
}

TEST(EvaluationTest, MonteCarloIsKeyedAndThreadIndependent) {
  const data::RawDataset test = MakeSquares(40, 9);
  auto t = *NftTrainer::Create(TinyConfig(formats::TrainingMethod::NOISE, 1));
  t->TrainEpoch(MakeSquares(64, 8), {});
  EvalSet eval = *EvalSet::Create(test, t->config().dataset(), 16);
  const device::DeviceModel d = *device::DeviceModel::Create(8, 2, 0.1, formats::GAUSSIAN);
  nn::SetNumThreads(1);
  std::vector<McSummary> one = MonteCarloEvaluate(t->network(), d, {0, 0.3}, 5, 3, eval, {});
  nn::SetNumThreads(2);
  std::vector<McSummary> two = MonteCarloEvaluate(t->network(), d, {0.3}, 5, 3, eval, {});
  nn::SetNumThreads(1);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].runs, 1);  // sigma 0 needs one run
  EXPECT_EQ(one[1].runs, 5);
  EXPECT_EQ(one[1].mean_accuracy, two[0].mean_accuracy);
  EXPECT_EQ(one[1].ekl, two[0].ekl);
  EXPECT_DOUBLE_EQ(one[0].mean_accuracy,
                   100.0 * EvaluateOnce(t->network(), nullptr, eval).correct / 40);
}

}  // namespace
}  // namespace nftcim::trainer
