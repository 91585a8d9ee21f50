#include "util/proto_io.h"

#include <string>

#include "formats/run_config.pb.h"
#include "gtest/gtest.h"
#include "util/atomic_file.h"

namespace nftcim {
namespace {

using formats::RunConfig;

std::string TmpPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

TEST(ProtoIoTest, BinaryRoundTrip) {
  RunConfig config;
  config.set_epochs(7);
  config.mutable_device()->set_sigma(0.25);
  const std::string path = TmpPath("config.pb");
  ASSERT_TRUE(WriteBinaryProto(path, config).ok());
  RunConfig back;
  ASSERT_TRUE(ReadProto(path, &back).ok());
  EXPECT_EQ(back.epochs(), 7);
  EXPECT_DOUBLE_EQ(back.device().sigma(), 0.25);
}

TEST(ProtoIoTest, TextRoundTripByExtension) {
  RunConfig config;
  config.set_batch_size(128);
  const std::string path = TmpPath("config.textproto");
  ASSERT_TRUE(WriteTextProto(path, config).ok());
  EXPECT_EQ(*ReadFileToString(path), "batch_size: 128\n");
  RunConfig back;
  ASSERT_TRUE(ReadProto(path, &back).ok());
  EXPECT_EQ(back.batch_size(), 128);
}

TEST(ProtoIoTest, TextErrorNamesFileLineAndField) {
  const std::string path = TmpPath("bad.textproto");
  ASSERT_TRUE(WriteFileAtomically(path, "epochs: 3\nno_such_field: 1\n").ok());
  RunConfig config;
  absl::Status s = ReadProto(path, &config);
  ASSERT_FALSE(s.ok());
  const std::string msg(s.message());
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no_such_field"), std::string::npos) << msg;
}

TEST(ProtoIoTest, GarbageBinaryIsDataLoss) {
  const std::string path = TmpPath("garbage.pb");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("\xff\xff\xff\xff\x0f", 5)).ok());
  RunConfig config;
  absl::Status s = ReadProto(path, &config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(s.message()).find("nftcim.formats.RunConfig"), std::string::npos);
}

TEST(ProtoIoTest, MissingFileNamesPath) {
  RunConfig config;
  absl::Status s = ReadProto(TmpPath("missing.pb"), &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(s.message()).find("missing.pb"), std::string::npos);
}

}  // namespace
}  // namespace nftcim
