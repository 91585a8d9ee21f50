#ifndef NFTCIM_EMULATOR_CROSSBAR_TEST_UTIL_H_
#define NFTCIM_EMULATOR_CROSSBAR_TEST_UTIL_H_

// Shared helpers of the emulator's tests and benchmark: configurations,
// deterministic random weights and inputs, programmed tiles.

#include <cstdint>
#include <vector>

#include "device_model/device_model.h"
#include "emulator/crossbar.h"
#include "emulator/hardware_config.h"
#include "emulator/programming.h"
#include "formats/device_model.pb.h"
#include "formats/hardware_config.pb.h"
#include "rng/splitmix64.h"

namespace nftcim::emulator::testing {

// Validated parameters; aborts with the error on an invalid configuration.
HardwareParams ParamsOrDie(const formats::HardwareConfig& config);

// The device model matching `params` at `sigma`.
device::DeviceModel DeviceOrDie(const HardwareParams& params, double sigma,
                                formats::DevicePreset preset = formats::GAUSSIAN);
CellStdCodes StdCodesOrDie(const HardwareParams& params, double sigma,
                           formats::DevicePreset preset = formats::GAUSSIAN);

// A small deterministic generator (SplitMix64) for test data.
class TestRng {
 public:
  explicit TestRng(uint64_t seed) : g_(seed) {}
  uint64_t Next() { return g_.Next(); }
  // Uniform in [lo, hi].
  int64_t Uniform(int64_t lo, int64_t hi);

 private:
  rng::SplitMix64 g_;
};

// rows x outputs signed weight codes in -(2^M-1) .. 2^M-1, about
// `zero_percent` % of them 0.
std::vector<int16_t> RandomWeightCodes(const HardwareParams& params, int64_t rows,
                                       int64_t outputs, uint64_t seed, int zero_percent = 10);

// batch x rows inputs uniform over the A-bit range.
std::vector<int32_t> RandomInputs(const HardwareParams& params, int64_t batch, int64_t rows,
                                  bool signed_inputs, uint64_t seed);

// Programs one tile from a dense rows x outputs code matrix; aborts on error.
ProgrammedTile ProgramTileOrDie(const HardwareParams& params, const CellStdCodes& std_codes,
                                const std::vector<int16_t>& codes, int32_t rows,
                                int32_t outputs, const ProgrammingKey& key,
                                int num_threads = 1);

}  // namespace nftcim::emulator::testing

#endif  // NFTCIM_EMULATOR_CROSSBAR_TEST_UTIL_H_
