#include "firmware_model/test_networks.h"

#include <cstdio>
#include <cstdlib>

#include "emulator/hardware_config.h"
#include "firmware_model/compiler.h"
#include "rng/splitmix64.h"

namespace nftcim::firmware::testing {
namespace {

// Uniform in [0, 1).
double Uniform(rng::SplitMix64* g) { return (g->Next() >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace

std::unique_ptr<trainer::nn::Network> RandomNetwork(const std::string& arch, double width,
                                                    int in_channels, int num_classes,
                                                    uint64_t seed, int input_size) {
  trainer::nn::ModelConfig mc;
  mc.arch = arch;
  mc.width = width;
  mc.in_channels = in_channels;
  mc.num_classes = num_classes;
  mc.input_size = input_size;
  mc.seed = seed;
  absl::StatusOr<std::unique_ptr<trainer::nn::Network>> net = trainer::nn::MakeNetwork(mc);
  if (!net.ok()) {
    std::fprintf(stderr, "RandomNetwork: %s\n", net.status().ToString().c_str());
    std::abort();
  }
  rng::SplitMix64 state(seed * 7919 + 17);
  for (trainer::nn::Parameter* p : (*net)->Parameters()) {
    const bool bn = p->name.find("bn") != std::string::npos;
    if (bn && p->name.find(".weight") != std::string::npos) {
      // gamma in [0.5, 1.5], a few negative (folding must keep the sign).
      for (float& v : p->value) v = static_cast<float>(Uniform(&state) < 0.1 ? -0.7 : 0.5 + Uniform(&state));
    } else if (!p->device_mapped) {
      for (float& v : p->value) v = static_cast<float>(0.2 * (Uniform(&state) - 0.5));
    }
  }
  for (trainer::nn::Buffer* b : (*net)->Buffers()) {
    const bool var = b->name.find("running_var") != std::string::npos;
    // Conv outputs of Kaiming-initialised layers have std around 1-3.
    for (float& v : b->value) {
      v = var ? static_cast<float>(0.5 + 3.0 * Uniform(&state))
              : static_cast<float>(0.6 * (Uniform(&state) - 0.5));
    }
  }
  return std::move(*net);
}

std::vector<float> RandomImages(int64_t n, int channels, int size, uint64_t seed) {
  std::vector<float> x(static_cast<size_t>(n) * channels * size * size);
  rng::SplitMix64 state(seed);
  for (float& v : x) v = static_cast<float>(2.0 * Uniform(&state) - 0.8);
  return x;
}

std::vector<uint8_t> RandomPixels(int64_t n, int channels, int size, uint64_t seed) {
  std::vector<uint8_t> x(static_cast<size_t>(n) * channels * size * size);
  rng::SplitMix64 state(seed);
  for (int64_t i = 0; i < n; ++i) {
    // A bright blob at a random place over noise: some structure, some zeros.
    const int cy = static_cast<int>(Uniform(&state) * size);
    const int cx = static_cast<int>(Uniform(&state) * size);
    for (int c = 0; c < channels; ++c) {
      for (int y = 0; y < size; ++y) {
        for (int xx = 0; xx < size; ++xx) {
          const int d2 = (y - cy) * (y - cy) + (xx - cx) * (xx - cx);
          const double v = (d2 < 40 ? 200.0 : 0.0) + 55.0 * Uniform(&state);
          x[((i * channels + c) * size + y) * size + xx] = static_cast<uint8_t>(v);
        }
      }
    }
  }
  return x;
}

formats::DeployableModel CompiledRandomModel(const std::string& arch, int in_channels,
                                             const formats::HardwareConfig& hardware,
                                             double width, uint64_t seed, int input_size) {
  std::unique_ptr<trainer::nn::Network> net =
      RandomNetwork(arch, width, in_channels, 10, seed, input_size);
  formats::Architecture a;
  a.set_arch(arch);
  a.set_width(width);
  a.set_in_channels(in_channels);
  a.set_input_size(input_size);
  a.set_num_classes(10);
  formats::DatasetInfo ds;
  ds.set_name("random");
  for (int c = 0; c < in_channels; ++c) {
    ds.add_mean(0.3 + 0.05 * c);
    ds.add_std(0.3 - 0.02 * c);
  }
  ds.set_geometry("none");
  const std::vector<uint8_t> cal = RandomPixels(16, in_channels, input_size, seed + 100);
  CompileOptions options;
  options.hardware = hardware;
  absl::StatusOr<formats::DeployableModel> m =
      CompileNetwork(*net, a, ds, cal.data(), 16, options, nullptr);
  if (!m.ok()) {
    std::fprintf(stderr, "CompiledRandomModel: %s\n", m.status().ToString().c_str());
    std::abort();
  }
  return *std::move(m);
}

formats::HardwareConfig AdcConfig(int adc_bits, formats::AdcRange range,
                                  formats::AdcShiftPolicy policy, int adc_shift) {
  formats::HardwareConfig c = emulator::DefaultHardwareConfig();
  c.set_adc_bits(adc_bits);
  c.set_adc_range(range);
  c.set_adc_shift_policy(policy);
  c.set_adc_shift(adc_shift);
  return c;
}

}  // namespace nftcim::firmware::testing
