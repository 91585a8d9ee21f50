#include "emulator/hardware_config.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "emulator/fixed_point.h"
#include "util/proto_io.h"

namespace nftcim::emulator {
namespace {

absl::Status OutOfRange(absl::string_view field, int64_t got, absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat("hardware config: ", field, " must be ",
                                                 expected, ", got ", got));
}

absl::Status CheckRange(absl::string_view field, int64_t got, int64_t lo, int64_t hi) {
  if (got < lo || got > hi) return OutOfRange(field, got, absl::StrCat("in ", lo, "..", hi));
  return absl::OkStatus();
}

}  // namespace

formats::HardwareConfig DefaultHardwareConfig() {
  formats::HardwareConfig c;
  c.set_format_version(kHardwareConfigVersion);
  c.set_array_rows(128);
  c.set_array_cols(128);
  c.set_weight_bits(8);
  c.set_cell_bits(2);
  c.set_conductance_frac_bits(8);
  c.set_conductance_code_bits(16);
  c.set_clip_conductance(false);
  c.set_unprogrammed_variation(false);
  c.set_dac_bits(1);
  c.set_activation_bits(8);
  c.set_adc_bits(0);
  c.set_adc_range(formats::ADC_BIPOLAR);
  c.set_adc_shift_policy(formats::ADC_SHIFT_PER_LAYER);
  c.set_adc_shift(0);
  c.set_accumulator_bits(64);
  return c;
}

absl::Status ValidateHardwareConfig(const formats::HardwareConfig& c) {
  if (c.format_version() != kHardwareConfigVersion) {
    return OutOfRange("format_version", c.format_version(),
                      absl::StrCat(kHardwareConfigVersion, " (the only version this build reads)"));
  }
  if (absl::Status s = CheckRange("array_rows", c.array_rows(), 1, 4096); !s.ok()) return s;
  // Signed weight codes are int16_t, so magnitudes have at most 15 bits.
  if (absl::Status s = CheckRange("weight_bits", c.weight_bits(), 1, 15); !s.ok()) return s;
  if (absl::Status s = CheckRange("cell_bits", c.cell_bits(), 1, 8); !s.ok()) return s;
  if (c.weight_bits() % c.cell_bits() != 0) {
    return OutOfRange("weight_bits", c.weight_bits(),
                      absl::StrCat("a multiple of cell_bits (", c.cell_bits(), ")"));
  }
  const int64_t cells_per_weight = c.weight_bits() / c.cell_bits();
  if (absl::Status s = CheckRange("array_cols", c.array_cols(), cells_per_weight, 4096); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange("conductance_code_bits", c.conductance_code_bits(), 2, 16);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange("conductance_frac_bits", c.conductance_frac_bits(), 0, 14);
      !s.ok()) {
    return s;
  }
  // The highest level must be representable: (2^K - 1) * 2^F <= 2^(G-1) - 1.
  const int64_t top_code = ((int64_t{1} << c.cell_bits()) - 1) << c.conductance_frac_bits();
  if (top_code > MaxOfSignedBits(static_cast<int>(c.conductance_code_bits()))) {
    return OutOfRange("conductance_frac_bits", c.conductance_frac_bits(),
                      absl::StrCat("such that (2^cell_bits - 1) * 2^conductance_frac_bits = ",
                                   top_code, " fits a signed ", c.conductance_code_bits(),
                                   "-bit conductance code"));
  }
  if (absl::Status s = CheckRange("dac_bits", c.dac_bits(), 1, 8); !s.ok()) return s;
  if (absl::Status s = CheckRange("activation_bits", c.activation_bits(), 1, 16); !s.ok()) {
    return s;
  }
  if (c.activation_bits() % c.dac_bits() != 0) {
    return OutOfRange("activation_bits", c.activation_bits(),
                      absl::StrCat("a multiple of dac_bits (", c.dac_bits(), ")"));
  }
  // §5.1: the column sum is an exact int32. |slice| <= 2^D - 1 and
  // |code| <= 2^(G-1), so R * (2^D - 1) * 2^(G-1) must fit.
  const int64_t column_bound = static_cast<int64_t>(c.array_rows()) *
                               ((int64_t{1} << c.dac_bits()) - 1) *
                               (int64_t{1} << (c.conductance_code_bits() - 1));
  if (column_bound > std::numeric_limits<int32_t>::max()) {
    return OutOfRange(
        "array_rows", c.array_rows(),
        absl::StrCat("small enough that array_rows * (2^dac_bits - 1) * 2^(conductance_code_bits "
                     "- 1) = ",
                     column_bound, " fits the int32 column sum (2^31 - 1); reduce array_rows, "
                     "dac_bits or conductance_code_bits"));
  }
  if (absl::Status s = CheckRange("adc_bits", c.adc_bits(), 0, 16); !s.ok()) return s;
  if (absl::Status s = CheckRange("adc_shift", c.adc_shift(), 0, 31); !s.ok()) return s;
  if (!formats::AdcRange_IsValid(c.adc_range())) {
    return OutOfRange("adc_range", c.adc_range(), "ADC_UNIPOLAR or ADC_BIPOLAR");
  }
  if (!formats::AdcShiftPolicy_IsValid(c.adc_shift_policy())) {
    return OutOfRange("adc_shift_policy", c.adc_shift_policy(),
                      "ADC_SHIFT_FIXED or ADC_SHIFT_PER_LAYER");
  }
  if (c.adc_bits() == 0) {
    if (c.adc_shift() != 0) {
      return OutOfRange("adc_shift", c.adc_shift(), "0 with a lossless ADC (adc_bits = 0)");
    }
  } else {
    if (c.adc_range() == formats::ADC_RANGE_UNSPECIFIED) {
      return OutOfRange("adc_range", c.adc_range(),
                        "ADC_UNIPOLAR or ADC_BIPOLAR when adc_bits > 0");
    }
    if (c.adc_shift_policy() == formats::ADC_SHIFT_POLICY_UNSPECIFIED) {
      return OutOfRange("adc_shift_policy", c.adc_shift_policy(),
                        "ADC_SHIFT_FIXED or ADC_SHIFT_PER_LAYER when adc_bits > 0");
    }
    if (c.adc_range() == formats::ADC_BIPOLAR && c.adc_bits() < 2) {
      return OutOfRange("adc_bits", c.adc_bits(), "in 2..16 for a bipolar ADC");
    }
  }
  if (absl::Status s = CheckRange("accumulator_bits", c.accumulator_bits(), 16, 64); !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<formats::HardwareConfig> LoadHardwareConfig(const std::string& path) {
  formats::HardwareConfig config;
  if (absl::Status s = ReadProto(path, &config); !s.ok()) return s;
  if (absl::Status s = ValidateHardwareConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "': ", s.message()));
  }
  return config;
}

absl::StatusOr<HardwareParams> HardwareParams::FromConfig(const formats::HardwareConfig& c) {
  if (absl::Status s = ValidateHardwareConfig(c); !s.ok()) return s;
  HardwareParams p;
  p.array_rows = static_cast<int32_t>(c.array_rows());
  p.array_cols = static_cast<int32_t>(c.array_cols());
  p.weight_bits = static_cast<int32_t>(c.weight_bits());
  p.cell_bits = static_cast<int32_t>(c.cell_bits());
  p.cells_per_weight = p.weight_bits / p.cell_bits;
  p.outputs_per_tile = p.array_cols / p.cells_per_weight;
  p.max_level = (1 << p.cell_bits) - 1;
  p.max_magnitude = (1 << p.weight_bits) - 1;
  p.conductance_frac_bits = static_cast<int32_t>(c.conductance_frac_bits());
  p.conductance_code_bits = static_cast<int32_t>(c.conductance_code_bits());
  p.code_min = static_cast<int32_t>(MinOfSignedBits(p.conductance_code_bits));
  p.code_max = static_cast<int32_t>(MaxOfSignedBits(p.conductance_code_bits));
  p.clip_conductance = c.clip_conductance();
  p.unprogrammed_variation = c.unprogrammed_variation();
  p.dac_bits = static_cast<int32_t>(c.dac_bits());
  p.activation_bits = static_cast<int32_t>(c.activation_bits());
  p.num_slices = p.activation_bits / p.dac_bits;
  p.adc_bits = static_cast<int32_t>(c.adc_bits());
  p.adc_range = c.adc_range();
  p.adc_shift_policy = c.adc_shift_policy();
  p.adc_shift = static_cast<int32_t>(c.adc_shift());
  if (p.adc_bits == 0) {
    p.adc_min = std::numeric_limits<int32_t>::min();
    p.adc_max = std::numeric_limits<int32_t>::max();
  } else if (p.adc_range == formats::ADC_UNIPOLAR) {
    p.adc_min = 0;
    p.adc_max = (1 << p.adc_bits) - 1;
  } else {
    p.adc_min = -(1 << (p.adc_bits - 1));
    p.adc_max = (1 << (p.adc_bits - 1)) - 1;
  }
  p.accumulator_bits = static_cast<int32_t>(c.accumulator_bits());
  p.accumulator_min = MinOfSignedBits(p.accumulator_bits);
  p.accumulator_max = MaxOfSignedBits(p.accumulator_bits);
  return p;
}

formats::HardwareConfig HardwareParams::ToConfig() const {
  formats::HardwareConfig c;
  c.set_format_version(kHardwareConfigVersion);
  c.set_array_rows(array_rows);
  c.set_array_cols(array_cols);
  c.set_weight_bits(weight_bits);
  c.set_cell_bits(cell_bits);
  c.set_conductance_frac_bits(conductance_frac_bits);
  c.set_conductance_code_bits(conductance_code_bits);
  c.set_clip_conductance(clip_conductance);
  c.set_unprogrammed_variation(unprogrammed_variation);
  c.set_dac_bits(dac_bits);
  c.set_activation_bits(activation_bits);
  c.set_adc_bits(adc_bits);
  c.set_adc_range(adc_range);
  c.set_adc_shift_policy(adc_shift_policy);
  c.set_adc_shift(adc_shift);
  c.set_accumulator_bits(accumulator_bits);
  return c;
}

}  // namespace nftcim::emulator
