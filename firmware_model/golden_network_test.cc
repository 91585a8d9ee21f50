#include "firmware_model/golden_network.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "device_model/device_model.h"
#include "emulator/golden_layer.h"
#include "emulator/golden_verify.h"
#include "firmware_model/model.h"
#include "firmware_model/programmed_model.h"
#include "firmware_model/sequencer.h"
#include "firmware_model/test_networks.h"
#include "gtest/gtest.h"
#include "util/atomic_file.h"
#include "util/digest.h"

namespace nftcim::firmware {
namespace {

struct Fixture {
  CompiledModel model;
  device::DeviceModel device;
  std::vector<uint8_t> pixels;
};

Fixture Make(const std::string& arch, int adc_bits) {
  const formats::DeployableModel proto = testing::CompiledRandomModel(
      arch, 1, testing::AdcConfig(adc_bits, formats::ADC_BIPOLAR, formats::ADC_SHIFT_PER_LAYER),
      1.0 / 32, 3, /*input_size=*/8);
  absl::StatusOr<CompiledModel> m = CompiledModel::FromProto(proto, "test");
  EXPECT_TRUE(m.ok()) << m.status();
  absl::StatusOr<device::DeviceModel> d = device::DeviceModel::Create(8, 2, 0.1, formats::GAUSSIAN);
  EXPECT_TRUE(d.ok());
  return Fixture{*std::move(m), *std::move(d), testing::RandomPixels(3, 1, 8, 11)};
}

std::string Dir(const std::string& name) { return std::string(::testing::TempDir()) + "/" + name; }

// Every file the manifests name, relative to the set's root.
std::vector<std::string> Files(const formats::GoldenNetworkManifest& m, const std::string& root) {
  std::vector<std::string> out = {"manifest.textproto"};
  for (const formats::GoldenFile& f : m.files()) out.push_back(f.name());
  for (const formats::GoldenLayer& l : m.layers()) {
    if (l.kind() == "conv" || l.kind() == "linear") {
      for (const char* n : {"manifest.textproto", "golden_params.vh", "gpos.hex", "gneg.hex", "x.hex",
                            "xbits.hex", "tile_y.hex", "acc.hex", "out.hex", "weights.hex"})
        out.push_back(absl::StrCat(l.directory(), "/", n));
      if (m.adc_codes()) out.push_back(absl::StrCat(l.directory(), "/adc.hex"));
    } else {
      out.push_back(l.output().name());
    }
  }
  (void)root;
  return out;
}

TEST(GoldenNetwork, SameInputsSameBytesAndLogitsOfEveryPath) {
  Fixture f = Make("vgg8", 8);
  GoldenNetworkOptions o;
  o.seed = 5;
  o.command_line = "test";
  formats::GoldenNetworkManifest m;
  ASSERT_TRUE(WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 3, nullptr, o, Dir("a"), &m).ok());
  ASSERT_TRUE(WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 3, nullptr, o, Dir("b"), nullptr).ok());
  EXPECT_EQ(m.layers_size(), static_cast<int>(f.model.layers().size()));
  int64_t bytes = 0;
  for (const std::string& name : Files(m, Dir("a"))) {
    absl::StatusOr<std::string> a = ReadFileToString(Dir("a") + "/" + name);
    absl::StatusOr<std::string> b = ReadFileToString(Dir("b") + "/" + name);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(*a, *b) << name;
    if (name.size() > 4 && name.substr(name.size() - 4) == ".hex") bytes += a->size();
  }
  EXPECT_GT(bytes, 0);
  EXPECT_LE(bytes, m.total_bytes());

  // logits.hex equals what the fast path computes on the same instance.
  ProgramOptions po;
  po.seed = 5;
  absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(f.model, f.device, po, nullptr);
  ASSERT_TRUE(pm.ok());
  Sequencer::Options so;
  so.max_batch = 3;
  absl::StatusOr<Sequencer> seq = Sequencer::Create(f.model, so);
  ASSERT_TRUE(seq.ok());
  std::vector<int32_t> logits(3 * 10);
  ASSERT_TRUE(seq->Run(*pm, f.pixels.data(), 3, logits.data(), nullptr).ok());
  std::string expect;
  for (int32_t v : logits) expect += absl::StrFormat("%08x\n", static_cast<uint32_t>(v));
  EXPECT_EQ(*ReadFileToString(Dir("a") + "/logits.hex"), expect);
  EXPECT_EQ(m.programming_checksum(), absl::StrFormat("%016x", pm->CodeChecksum()));
}

// The export's own manifest verifies: every file in the inventory, the
// programming checksum recomputed from gpos/gneg.hex of every layer (with
// several row tiles) equals ProgrammedModel::CodeChecksum, the model hashes
// are those of the model file; a changed checksum or model is caught.
TEST(GoldenNetwork, ExportVerifiesAgainstItsManifest) {
  for (const char* arch : {"vgg8", "resnet18"}) {
    Fixture f = Make(arch, 8);
    const std::string model_file = Dir(absl::StrCat(arch, "_model.pb"));
    std::string bytes;
    f.model.proto().SerializeToString(&bytes);
    ASSERT_TRUE(WriteFileAtomically(model_file, bytes).ok());
    GoldenNetworkOptions o;
    o.seed = 5;
    o.model_path = model_file;
    o.model_fnv1a64 = Fnv1a64Hex(bytes);
    o.model_sha256 = Sha256Hex(bytes);
    const std::string dir = Dir(absl::StrCat(arch, "_verify"));
    formats::GoldenNetworkManifest m;
    ASSERT_TRUE(WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 2, nullptr, o, dir, &m).ok());
    EXPECT_EQ(m.format_version(), kGoldenNetworkFormatVersion);
    bool several_row_tiles = false;
    for (const Layer& l : f.model.layers())
      several_row_tiles |= l.uses_crossbar() && l.matrix_rows > f.model.params().array_rows;
    EXPECT_TRUE(several_row_tiles) << arch;

    emulator::GoldenVerifyOptions vo;
    vo.model_path = model_file;
    absl::StatusOr<emulator::GoldenVerifyReport> r = emulator::VerifyGoldenSet(dir, vo);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->ok()) << (r->problems.empty() ? "" : r->problems[0]);
    EXPECT_TRUE(r->programming_checksum_checked);
    EXPECT_EQ(r->files, m.inventory_size());
    EXPECT_EQ(r->bytes, m.total_bytes());
    // Every file of the set but the manifest is in the inventory.
    int64_t on_disk = 0;
    for (const formats::FileDigest& d : m.inventory())
      on_disk += static_cast<int64_t>(ReadFileToString(dir + "/" + d.path())->size());
    EXPECT_EQ(on_disk, m.total_bytes());

    vo.model_path = Dir("other_model.pb");
    ASSERT_TRUE(WriteFileAtomically(vo.model_path, bytes + "x").ok());
    r = emulator::VerifyGoldenSet(dir, vo);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->ok());

    formats::GoldenNetworkManifest changed = m;
    changed.set_programming_checksum("0123456789abcdef");
    ASSERT_TRUE(WriteFileAtomically(dir + "/manifest.textproto",
                                    *emulator::GoldenManifestText(changed)).ok());
    vo.model_path = model_file;
    r = emulator::VerifyGoldenSet(dir, vo);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->problems.size(), 1u);
    EXPECT_NE(r->problems[0].find("programming_checksum 0123456789abcdef"), std::string::npos)
        << r->problems[0];
  }
}

TEST(GoldenNetwork, SeedChangesCodesAndAdcCodesCanBeLeftOut) {
  Fixture f = Make("vgg8", 8);
  GoldenNetworkOptions o;
  o.seed = 5;
  formats::GoldenNetworkManifest m1, m2;
  ASSERT_TRUE(WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 1, nullptr, o, Dir("s5"), &m1).ok());
  o.seed = 6;
  o.write_adc_codes = false;
  ASSERT_TRUE(WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 1, nullptr, o, Dir("s6"), &m2).ok());
  EXPECT_NE(m1.programming_checksum(), m2.programming_checksum());
  const std::string first = m1.layers(0).directory();
  EXPECT_NE(*ReadFileToString(Dir("s5") + "/" + first + "/gpos.hex"),
            *ReadFileToString(Dir("s6") + "/" + first + "/gpos.hex"));
  EXPECT_TRUE(ReadFileToString(Dir("s5") + "/" + first + "/adc.hex").ok());
  EXPECT_FALSE(ReadFileToString(Dir("s6") + "/" + first + "/adc.hex").ok());
  EXPECT_LT(m2.total_bytes(), m1.total_bytes());
}

TEST(GoldenNetwork, ResidualNetworkLosslessSelfChecks) {
  // ResNet-18: residual adds, 1x1 shortcut convolutions, average pooling.
  Fixture f = Make("resnet18", 0);
  GoldenNetworkOptions o;
  formats::GoldenNetworkManifest m;
  const absl::Status s = WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 1, nullptr, o, Dir("r"), &m);
  ASSERT_TRUE(s.ok()) << s;
  bool residual = false;
  for (const formats::GoldenLayer& l : m.layers()) residual |= l.kind() == "residual_add";
  EXPECT_TRUE(residual);
}

TEST(GoldenNetwork, RejectsBadImageCountAndUnwritableFolder) {
  Fixture f = Make("vgg8", 0);
  GoldenNetworkOptions o;
  EXPECT_FALSE(WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 0, nullptr, o, Dir("z"), nullptr).ok());
  ASSERT_TRUE(WriteFileAtomically(Dir("file"), "x").ok());
  const absl::Status s =
      WriteGoldenNetwork(f.model, f.device, f.pixels.data(), 1, nullptr, o, Dir("file") + "/sub", nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("file"), std::string::npos) << s;
}

}  // namespace
}  // namespace nftcim::firmware
