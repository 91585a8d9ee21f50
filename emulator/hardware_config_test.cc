#include "emulator/hardware_config.h"

#include <functional>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "util/proto_io.h"

namespace nftcim::emulator {
namespace {

TEST(HardwareConfigTest, DefaultIsValidAndThePapers) {
  const formats::HardwareConfig c = DefaultHardwareConfig();
  ASSERT_TRUE(ValidateHardwareConfig(c).ok()) << ValidateHardwareConfig(c);
  absl::StatusOr<HardwareParams> p = HardwareParams::FromConfig(c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->array_rows, 128);
  EXPECT_EQ(p->array_cols, 128);
  EXPECT_EQ(p->cells_per_weight, 4);
  EXPECT_EQ(p->outputs_per_tile, 32);
  EXPECT_EQ(p->max_level, 3);
  EXPECT_EQ(p->max_magnitude, 255);
  EXPECT_EQ(p->code_min, -32768);
  EXPECT_EQ(p->code_max, 32767);
  EXPECT_EQ(p->num_slices, 8);
  EXPECT_TRUE(p->lossless_adc());
  EXPECT_EQ(p->accumulator_max, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(p->ToConfig(), c));
}

TEST(HardwareConfigTest, CheckedInDefaultMatches) {
  absl::StatusOr<formats::HardwareConfig> c =
      LoadHardwareConfig("emulator/configs/default.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*c, DefaultHardwareConfig()))
      << c->DebugString();
}

TEST(HardwareConfigTest, AdcRanges) {
  formats::HardwareConfig c = DefaultHardwareConfig();
  c.set_adc_bits(6);
  c.set_adc_range(formats::ADC_UNIPOLAR);
  absl::StatusOr<HardwareParams> p = HardwareParams::FromConfig(c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->adc_min, 0);
  EXPECT_EQ(p->adc_max, 63);
  c.set_adc_range(formats::ADC_BIPOLAR);
  p = HardwareParams::FromConfig(c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->adc_min, -32);
  EXPECT_EQ(p->adc_max, 31);
}

struct BadCase {
  std::string field;
  std::function<void(formats::HardwareConfig*)> mutate;
};

TEST(HardwareConfigTest, ErrorsNameTheField) {
  const std::vector<BadCase> cases = {
      {"format_version", [](auto* c) { c->set_format_version(2); }},
      {"format_version", [](auto* c) { c->set_format_version(0); }},
      {"array_rows", [](auto* c) { c->set_array_rows(0); }},
      {"array_rows", [](auto* c) { c->set_array_rows(5000); }},
      {"array_cols", [](auto* c) { c->set_array_cols(3); }},
      {"weight_bits", [](auto* c) { c->set_weight_bits(16); }},
      {"weight_bits", [](auto* c) { c->set_weight_bits(7); }},
      {"cell_bits", [](auto* c) { c->set_cell_bits(0); }},
      {"conductance_code_bits", [](auto* c) { c->set_conductance_code_bits(17); }},
      {"conductance_frac_bits", [](auto* c) { c->set_conductance_frac_bits(15); }},
      // 3 * 2^13 = 24576 does not fit int16's 32767? It does; 3 * 2^14 does not.
      {"conductance_frac_bits", [](auto* c) { c->set_conductance_frac_bits(14); }},
      {"conductance_frac_bits",
       [](auto* c) {
         c->set_conductance_code_bits(8);
         c->set_conductance_frac_bits(6);
       }},
      {"dac_bits", [](auto* c) { c->set_dac_bits(0); }},
      {"activation_bits", [](auto* c) { c->set_dac_bits(3); }},
      {"activation_bits", [](auto* c) { c->set_activation_bits(17); }},
      {"array_rows",  // column sum would overflow int32
       [](auto* c) {
         c->set_array_rows(4096);
         c->set_dac_bits(8);
       }},
      {"adc_bits", [](auto* c) { c->set_adc_bits(17); }},
      {"adc_shift", [](auto* c) { c->set_adc_shift(3); }},  // lossless needs 0
      {"adc_shift",
       [](auto* c) {
         c->set_adc_bits(8);
         c->set_adc_shift(32);
       }},
      {"adc_range",
       [](auto* c) {
         c->set_adc_bits(8);
         c->set_adc_range(formats::ADC_RANGE_UNSPECIFIED);
       }},
      {"adc_range", [](auto* c) { c->set_adc_range(static_cast<formats::AdcRange>(9)); }},
      {"adc_shift_policy",
       [](auto* c) {
         c->set_adc_bits(8);
         c->set_adc_shift_policy(formats::ADC_SHIFT_POLICY_UNSPECIFIED);
       }},
      {"adc_bits",
       [](auto* c) {
         c->set_adc_bits(1);
         c->set_adc_range(formats::ADC_BIPOLAR);
       }},
      {"accumulator_bits", [](auto* c) { c->set_accumulator_bits(65); }},
      {"accumulator_bits", [](auto* c) { c->set_accumulator_bits(8); }},
  };
  for (const BadCase& bad : cases) {
    formats::HardwareConfig c = DefaultHardwareConfig();
    bad.mutate(&c);
    const absl::Status s = ValidateHardwareConfig(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad.field;
    EXPECT_NE(s.message().find(bad.field), std::string::npos)
        << "expected the error to name " << bad.field << ": " << s.message();
    EXPECT_FALSE(HardwareParams::FromConfig(c).ok());
  }
}

TEST(HardwareConfigTest, EmptyConfigIsRejected) {
  const absl::Status s = ValidateHardwareConfig(formats::HardwareConfig());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("format_version"), std::string::npos) << s;
}

TEST(HardwareConfigTest, LoadNamesTheFile) {
  const std::string path = ::testing::TempDir() + "/bad.textproto";
  formats::HardwareConfig c = DefaultHardwareConfig();
  c.set_array_rows(0);
  ASSERT_TRUE(WriteTextProto(path, c).ok());
  absl::StatusOr<formats::HardwareConfig> loaded = LoadHardwareConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("bad.textproto"), std::string::npos);
  EXPECT_NE(loaded.status().message().find("array_rows"), std::string::npos);
  EXPECT_FALSE(LoadHardwareConfig(::testing::TempDir() + "/missing.textproto").ok());
}

}  // namespace
}  // namespace nftcim::emulator
