#include "firmware_model/model.h"

#include <cstdlib>
#include <functional>
#include <string>

#include "emulator/hardware_config.h"
#include "firmware_model/test_networks.h"
#include "gtest/gtest.h"
#include "util/atomic_file.h"
#include "util/proto_io.h"

namespace nftcim::firmware {
namespace {

using formats::DeployableModel;
using formats::DeployedLayer;

const DeployableModel& Base() {
  static const DeployableModel* m = new DeployableModel(
      testing::CompiledRandomModel("resnet18", 3, emulator::DefaultHardwareConfig()));
  return *m;
}

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// Expects FromProto to fail on the mutated model with a message containing
// every `parts` string.
void ExpectRejected(const std::function<void(DeployableModel*)>& mutate,
                    const std::vector<std::string>& parts) {
  DeployableModel m = Base();
  mutate(&m);
  absl::StatusOr<CompiledModel> c = CompiledModel::FromProto(m, "model.pb");
  ASSERT_FALSE(c.ok()) << "accepted a model that should fail with: " << parts[0];
  for (const std::string& p : parts) {
    EXPECT_NE(c.status().message().find(p), std::string::npos)
        << "'" << c.status().message() << "' lacks '" << p << "'";
  }
  EXPECT_NE(c.status().message().find("model.pb"), std::string::npos);
}

TEST(ModelTest, LoadsWhatTheCompilerWrote) {
  const std::string path = TmpPath("model.pb");
  ASSERT_TRUE(WriteBinaryProto(path, Base()).ok());
  absl::StatusOr<CompiledModel> m = CompiledModel::Load(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->num_classes(), 10);
  EXPECT_EQ(m->in_channels(), 3);
  EXPECT_EQ(m->layers().back().out_type, formats::ACTIVATION_INT32);
  EXPECT_GT(m->logit_scale(), 0);
  EXPECT_EQ(m->crossbar_layers().size(), 21u);  // stem + 16 convs + 3 shortcuts + fc
}

TEST(ModelTest, CorruptOrMissingFile) {
  const std::string path = TmpPath("corrupt.pb");
  ASSERT_TRUE(WriteFileAtomically(path, "\x08\x01\x12\xff\xff garbage, not a proto").ok());
  absl::StatusOr<CompiledModel> m = CompiledModel::Load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("corrupt.pb"), std::string::npos) << m.status();
  EXPECT_NE(m.status().message().find("DeployableModel"), std::string::npos) << m.status();
  // A truncated model file.
  std::string bytes = Base().SerializeAsString();
  ASSERT_TRUE(WriteFileAtomically(path, bytes.substr(0, bytes.size() / 2)).ok());
  EXPECT_FALSE(CompiledModel::Load(path).ok());
  m = CompiledModel::Load(TmpPath("missing.pb"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("missing.pb"), std::string::npos);
  // Some other proto that happens to parse.
  formats::HardwareConfig hw = emulator::DefaultHardwareConfig();
  ASSERT_TRUE(WriteBinaryProto(path, hw).ok());
  m = CompiledModel::Load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("format_version"), std::string::npos) << m.status();
}

TEST(ModelTest, RejectsBadFields) {
  ExpectRejected([](DeployableModel* m) { m->set_format_version(7); }, {"format_version 7"});
  ExpectRejected([](DeployableModel* m) { m->mutable_hardware()->set_array_rows(0); },
                 {"array_rows"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(3)->set_kind(static_cast<DeployedLayer::Kind>(42)); },
                 {"layer 3", "unknown kind 42"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(0)->set_weight_codes(5, 256); },
                 {"layer 0", "weight_codes[5] = 256", "-255..255"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(0)->mutable_weight_codes()->RemoveLast(); },
                 {"weight_codes has"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(1)->mutable_tiling()->set_row_tiles(9); },
                 {"tiling"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(2)->set_inputs(0, 5); },
                 {"layer 2", "earlier layer"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(1)->mutable_requant()->set_shift(0, 63); },
                 {"requant.shift[0]", "0..62"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(1)->mutable_requant()->mutable_bias()->RemoveLast(); },
                 {"requant needs"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(1)->set_adc_shift(3); },
                 {"adc_shift must be 0 with a lossless ADC"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(1)->mutable_output()->set_zero_point(3); },
                 {"zero_point"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(1)->set_signed_inputs(true); },
                 {"crossbar inputs are signed"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(0)->mutable_output()->set_height(31); },
                 {"does not follow"});
  ExpectRejected([](DeployableModel* m) { m->mutable_pixel_transform()->mutable_k()->RemoveLast(); },
                 {"pixel_transform"});
  ExpectRejected([](DeployableModel* m) {
    m->mutable_layers(m->layers_size() - 1)->mutable_output()->set_type(formats::ACTIVATION_INT16);
  }, {"ACTIVATION_INT32"});
  ExpectRejected([](DeployableModel* m) { m->mutable_layers(1)->set_crossbar_layer(0); },
                 {"crossbar_layer 0 is used twice"});
  ExpectRejected([](DeployableModel* m) { m->clear_layers(); }, {"no layers"});
  // A residual add whose operands' shapes differ.
  ExpectRejected([](DeployableModel* m) {
    for (DeployedLayer& l : *m->mutable_layers()) {
      if (l.kind() == DeployedLayer::RESIDUAL_ADD) {
        l.set_inputs(1, 0);  // the stem's output: same shape for layer1's first add
        l.set_inputs(0, -1);  // the network input: 3 channels
        break;
      }
    }
  }, {"RESIDUAL_ADD"});
}

}  // namespace
}  // namespace nftcim::firmware
