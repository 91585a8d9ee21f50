#include "util/monte_carlo.h"

#include <cmath>

#include "gtest/gtest.h"

namespace nftcim {
namespace {

TEST(MonteCarloTest, SummaryStatistics) {
  // Accuracies 80%, 90%, 100% over 10 images each.
  std::vector<McRun> runs = {{8, 10, 0.8, 0}, {9, 10, 0.9, 0}, {10, 10, 1.0, 0}};
  McSummary s = Summarize(0.2, runs);
  EXPECT_EQ(s.runs, 3);
  EXPECT_DOUBLE_EQ(s.mean_accuracy, 90);
  EXPECT_DOUBLE_EQ(s.std, 10);  // sample std of (80, 90, 100)
  EXPECT_NEAR(s.ci95, 1.96 * 10 / std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(s.ekl, 2.7 / 27, 1e-12);  // pooled over all correct predictions
  EXPECT_EQ(s.images_per_run, 10);
}

TEST(MonteCarloTest, OneRunHasNoSpread) {
  McSummary s = Summarize(0, {{5, 10, 1.0, 0}});
  EXPECT_EQ(s.std, 0);
  EXPECT_EQ(s.ci95, 0);
  EXPECT_EQ(Summarize(0, {{0, 10, 0, 0}}).ekl, 0);
}

TEST(MonteCarloTest, JsonShape) {
  McSummary s = Summarize(0.1, {{871, 1000, 10, 0}});
  EXPECT_EQ(McJson({s}),
            "{\"results\": [\n  {\"sigma\": 0.1, \"runs\": 1, \"images\": 1000, "
            "\"mean_accuracy\": 87.1, \"std\": 0, \"ci95\": 0, \"ekl\": 0.0114811}\n]}\n");
  s.has_saturations = true;
  s.saturations = 42;
  EXPECT_NE(McJson({s}, "\"model\": \"m.pb\"").find("\"adc_saturations\": 42"),
            std::string::npos);
  EXPECT_EQ(McJson({s}, "\"model\": \"m.pb\"").rfind("{\"model\": \"m.pb\", \"results\"", 0), 0u);
}

TEST(MonteCarloTest, TableHasOneRowPerSigma) {
  std::string t = McTable({Summarize(0, {{1, 2, 0, 0}}), Summarize(0.1, {{2, 2, 0, 0}})});
  EXPECT_NE(t.find("50.00%"), std::string::npos);
  EXPECT_NE(t.find("100.00%"), std::string::npos);
}

TEST(MonteCarloTest, JsonStringEscapes) {
  EXPECT_EQ(JsonString("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
}

}  // namespace
}  // namespace nftcim
