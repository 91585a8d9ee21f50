#include "experiments/records.h"

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "util/atomic_file.h"

namespace nftcim::experiments {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

Record Job(const std::string& key, const std::string& status, double accuracy) {
  Record r;
  r.set_type("job");
  JobRecord* j = r.mutable_job();
  j->set_key(key);
  j->set_status(status);
  j->set_error(status == "ok" ? "" : "training failed: exit status 2\n\"quoted\"");
  McPoint* p = j->add_results();
  p->set_sigma(0.2);
  p->set_runs(20);
  p->set_mean_accuracy(accuracy);
  return r;
}

TEST(RecordsTest, JsonRoundTripIsOneLineWithEveryField) {
  const Record r = Job("final/ovf/sigma=0.2/seed=1#00000000", "failed", 0);
  const std::string json = RecordToJson(r);
  EXPECT_EQ(json.find('\n'), std::string::npos) << json;
  // Defaults are printed too (the report relies on them) with proto names.
  EXPECT_NE(json.find("\"reused_training\":false"), std::string::npos) << json;
  EXPECT_NE(json.find("\"mean_accuracy\":0"), std::string::npos) << json;
  absl::StatusOr<Record> back = RecordFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->job().error(), r.job().error());
  EXPECT_EQ(back->job().key(), r.job().key());
}

TEST(RecordsTest, ReadSkipsTornLinesAndLastRecordWins) {
  const std::string path = TempPath("records_read.jsonl");
  std::remove(path.c_str());
  ASSERT_TRUE(AppendRecord(path, Job("a", "failed", 0)).ok());
  ASSERT_TRUE(AppendRecord(path, Job("b", "ok", 50)).ok());
  ASSERT_TRUE(AppendRecord(path, Job("a", "ok", 70)).ok());
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"type\":\"job\",\"job\":{\"key\":\"c\",\"sta";  // torn by a kill
  }
  // Before the next append the torn line gets its newline.
  ASSERT_TRUE(PrepareRecordsFile(path).ok());
  ASSERT_TRUE(AppendRecord(path, Job("d", "ok", 10)).ok());
  absl::StatusOr<RecordsFile> f = ReadRecords(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->jobs.size(), 3u);
  EXPECT_EQ(f->jobs.at("a").status(), "ok");
  EXPECT_EQ(f->jobs.at("a").results(0).mean_accuracy(), 70);
  EXPECT_EQ(f->jobs.count("c"), 0u);
  EXPECT_EQ(f->jobs.at("d").results(0).mean_accuracy(), 10);
  ASSERT_EQ(f->warnings.size(), 1u);
  EXPECT_NE(f->warnings[0].find(":4: skipped"), std::string::npos) << f->warnings[0];
}

TEST(RecordsTest, MissingFileIsEmpty) {
  absl::StatusOr<RecordsFile> f = ReadRecords(TempPath("no_such_records.jsonl"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->jobs.empty());
}

TEST(RecordsTest, PrepareCreatesFolders) {
  const std::string path = TempPath("nested/deeper/records.jsonl");
  ASSERT_TRUE(PrepareRecordsFile(path).ok());
  ASSERT_TRUE(AppendRecord(path, Job("x", "ok", 1)).ok());
  EXPECT_EQ(ReadRecords(path)->jobs.size(), 1u);
}

TEST(RecordsTest, SweepRecords) {
  const std::string path = TempPath("records_sweep.jsonl");
  std::remove(path.c_str());
  Record s;
  s.set_type("sweep");
  s.mutable_sweep()->set_config_text("# comment\nname: \"x\"\n");
  ASSERT_TRUE(AppendRecord(path, s).ok());
  absl::StatusOr<RecordsFile> f = ReadRecords(path);
  ASSERT_EQ(f->sweeps.size(), 1u);
  EXPECT_EQ(f->sweeps[0].config_text(), "# comment\nname: \"x\"\n");
}

TEST(RecordsTest, UnknownTypeIsRejected) {
  EXPECT_FALSE(RecordFromJson("{\"type\": \"other\"}").ok());
  EXPECT_FALSE(RecordFromJson("{\"type\": \"job\", \"job\": {}}").ok());
  EXPECT_FALSE(RecordFromJson("not json").ok());
}

TEST(TrainerJsonTest, MetricsJson) {
  // The shape //trainer:train writes (train_main.cc MetricsJson).
  const std::string running =
      "{\"dataset\": \"fashion_mnist\", \"model\": \"vgg8\", \"width\": 0.25, \"method\": \"ovf\", "
      "\"sigma\": 0.2, \"beta\": 0.001, \"device\": \"gaussian\", \"seed\": 1, \"epochs\": 2, "
      "\"threads\": 2,\n\"history\": [\n  {\"epoch\": 1, \"train_loss\": 2.5, "
      "\"clean_test_accuracy\": 40, \"noisy_test_accuracy\": 30, \"images_per_second\": 300, "
      "\"seconds\": 12.5}\n]}\n";
  absl::StatusOr<TrainMetrics> m = ParseTrainMetrics(running);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->finished);
  ASSERT_EQ(m->history.size(), 1u);
  EXPECT_EQ(m->history[0].seconds(), 12.5);
  const std::string done = running.substr(0, running.size() - 2) +
                           ",\n\"monte_carlo\": {\"results\": [{\"sigma\": 0, \"runs\": 1, "
                           "\"mean_accuracy\": 40, \"std\": 0, \"ci95\": 0, \"ekl\": nan}]}}\n";
  m = ParseTrainMetrics(done);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->finished);
  EXPECT_FALSE(ParseTrainMetrics("{\"history\": [").ok());
}

TEST(TrainerJsonTest, EvaluateJson) {
  absl::StatusOr<std::vector<McPoint>> p = ParseMcResults(
      "{\"results\": [{\"sigma\": 0, \"runs\": 1, \"mean_accuracy\": 87.5, \"std\": 0, "
      "\"ci95\": 0, \"ekl\": 0.2}, {\"sigma\": 0.1, \"runs\": 20, \"mean_accuracy\": 80, "
      "\"std\": 1.5, \"ci95\": 0.66, \"ekl\": 0.3, \"adc_saturations\": 7}], "
      "\"checkpoint\": \"x\", \"device\": \"gaussian\", \"seed\": 1}");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1].runs(), 20);
  EXPECT_EQ((*p)[1].ci95(), 0.66);
  EXPECT_FALSE(ParseMcResults("{\"results\": []}").ok());
}

}  // namespace
}  // namespace nftcim::experiments
