// Crossbar MVM throughput: the fast path (exact GEMMs, §9.2) against the
// literal reference loops, on one full 128 x 128 tile (32 outputs of four
// 2-bit cells) and a batch of 1024 unsigned 8-bit input vectors with a 1-bit
// DAC (8 slices), lossless and 8-bit ADC. Also cell programming.
//
//   bazel run -c opt //emulator:crossbar_bench
//
// Arguments of each benchmark: /adc_bits/threads.

#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "emulator/crossbar.h"
#include "emulator/crossbar_test_util.h"

namespace nftcim::emulator {
namespace {

constexpr int64_t kBatch = 1024;

struct Fixture {
  HardwareParams params;
  ProgrammedTile tile;
  std::vector<int32_t> x;
  std::vector<int64_t> y;
  MvmOptions options;
};

Fixture Make(int adc_bits, int threads) {
  formats::HardwareConfig c = DefaultHardwareConfig();
  if (adc_bits > 0) {
    c.set_adc_bits(adc_bits);
    c.set_adc_range(formats::ADC_UNIPOLAR);
    c.set_adc_shift(6);
  }
  Fixture f;
  f.params = testing::ParamsOrDie(c);
  const CellStdCodes s = testing::StdCodesOrDie(f.params, 0.1);
  const std::vector<int16_t> w = testing::RandomWeightCodes(f.params, 128, 32, 1);
  f.tile = testing::ProgramTileOrDie(f.params, s, w, 128, 32, {1, 0});
  f.x = testing::RandomInputs(f.params, kBatch, 128, false, 2);
  f.y.resize(kBatch * 32);
  f.options = DefaultMvmOptions(f.params);
  f.options.num_threads = threads;
  return f;
}

template <bool kFast>
void BM_CrossbarMvm(benchmark::State& state) {
  Fixture f = Make(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    const absl::Status s =
        kFast ? CrossbarMvmFast(f.params, f.tile, f.options, f.x.data(), 128, kBatch, f.y.data(),
                                32, nullptr)
              : CrossbarMvmReference(f.params, f.tile, f.options, f.x.data(), 128, kBatch,
                                     f.y.data(), 32, nullptr);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    benchmark::DoNotOptimize(f.y.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  // Multiply-accumulates of the bit-serial datapath: per input, 8 slices x
  // 2 arrays x 128 columns x 128 rows.
  state.counters["MAC/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kBatch * 8 * 2 * 128 * 128,
      benchmark::Counter::kIsRate);
}

BENCHMARK_TEMPLATE(BM_CrossbarMvm, false)
    ->ArgNames({"adc_bits", "threads"})
    ->Args({0, 1})
    ->Args({8, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_CrossbarMvm, true)
    ->ArgNames({"adc_bits", "threads"})
    ->Args({0, 1})
    ->Args({0, 2})
    ->Args({8, 1})
    ->Args({8, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ProgramCells(benchmark::State& state) {
  const HardwareParams p = testing::ParamsOrDie(DefaultHardwareConfig());
  const CellStdCodes s = testing::StdCodesOrDie(p, 0.1);
  const std::vector<int16_t> w = testing::RandomWeightCodes(p, 128, 32, 1);
  uint64_t seed = 0;
  for (auto _ : state) {
    ProgrammedTile t = testing::ProgramTileOrDie(p, s, w, 128, 32, {seed++, 0},
                                                 static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(t.positive.data());
  }
  state.SetItemsProcessed(state.iterations() * 128 * 32 * 4);  // programmed cells
}
BENCHMARK(BM_ProgramCells)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace nftcim::emulator

BENCHMARK_MAIN();
