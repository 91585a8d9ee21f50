#ifndef NFTCIM_EMULATOR_HARDWARE_CONFIG_H_
#define NFTCIM_EMULATOR_HARDWARE_CONFIG_H_

// Loading, validating and unpacking formats::HardwareConfig
// (docs/hardware-spec.md §1.3). Everything downstream takes HardwareParams,
// which only FromConfig creates, so an unvalidated configuration cannot reach
// the datapath.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "formats/hardware_config.pb.h"

namespace nftcim::emulator {

inline constexpr uint32_t kHardwareConfigVersion = 1;

// The paper's accelerator (= emulator/configs/default.textproto): 128 x 128
// arrays, 8-bit weights in four 2-bit cells, conductance codes Q.8 in 16
// bits, bit-serial 8-bit inputs, lossless ADC, 64-bit accumulator.
formats::HardwareConfig DefaultHardwareConfig();

// OK, or InvalidArgument naming the first bad field and its allowed range.
absl::Status ValidateHardwareConfig(const formats::HardwareConfig& config);

// Reads a text (.textproto, .txtpb, .pbtxt) or binary file and validates it;
// errors name the file.
absl::StatusOr<formats::HardwareConfig> LoadHardwareConfig(const std::string& path);

// A validated configuration with its derived quantities (§1.3).
struct HardwareParams {
  // Arrays (§2).
  int32_t array_rows = 0;        // R
  int32_t array_cols = 0;        // C
  int32_t weight_bits = 0;       // M
  int32_t cell_bits = 0;         // K
  int32_t cells_per_weight = 0;  // P = M / K
  int32_t outputs_per_tile = 0;  // floor(C / P)
  int32_t max_level = 0;         // 2^K - 1
  int32_t max_magnitude = 0;     // 2^M - 1
  // Conductance codes (§3.1).
  int32_t conductance_frac_bits = 0;  // F
  int32_t conductance_code_bits = 0;  // G
  int32_t code_min = 0;               // -2^(G-1)
  int32_t code_max = 0;               // 2^(G-1) - 1
  bool clip_conductance = false;
  bool unprogrammed_variation = false;
  // Inputs (§4).
  int32_t dac_bits = 0;         // D
  int32_t activation_bits = 0;  // A
  int32_t num_slices = 0;       // J = A / D
  // ADC (§5).
  int32_t adc_bits = 0;  // B, 0 = lossless
  formats::AdcRange adc_range = formats::ADC_RANGE_UNSPECIFIED;
  formats::AdcShiftPolicy adc_shift_policy = formats::ADC_SHIFT_POLICY_UNSPECIFIED;
  int32_t adc_shift = 0;  // default s_adc
  // Output code range of the ADC: [adc_min, adc_max]. For a lossless ADC,
  // the int32 column-sum range.
  int32_t adc_min = 0;
  int32_t adc_max = 0;
  // Accumulation (§6).
  int32_t accumulator_bits = 0;  // W
  int64_t accumulator_min = 0;   // -2^(W-1)
  int64_t accumulator_max = 0;   // 2^(W-1) - 1

  bool lossless_adc() const { return adc_bits == 0; }

  static absl::StatusOr<HardwareParams> FromConfig(const formats::HardwareConfig& config);
  formats::HardwareConfig ToConfig() const;
};

}  // namespace nftcim::emulator

#endif  // NFTCIM_EMULATOR_HARDWARE_CONFIG_H_
