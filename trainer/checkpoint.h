#ifndef NFTCIM_TRAINER_CHECKPOINT_H_
#define NFTCIM_TRAINER_CHECKPOINT_H_

// Reading and writing the checkpoint format (formats/checkpoint.proto).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "formats/checkpoint.pb.h"
#include "trainer/nn/network.h"

namespace nftcim::trainer {

inline constexpr uint32_t kCheckpointFormatVersion = 1;

// Reads a checkpoint and checks its version and its run configuration.
// Errors name the file and what was wrong.
absl::StatusOr<formats::Checkpoint> ReadCheckpoint(const std::string& path);
// Writes atomically (temporary file + rename).
absl::Status WriteCheckpoint(const std::string& path, const formats::Checkpoint& checkpoint);

void TensorToProto(const std::string& name, const nn::Tensor& t, formats::TensorProto* out);

// Copies named tensors into `targets` (matched by position; names and shapes
// must agree). `what` names the list in errors ("parameters", "buffers").
absl::Status TensorsFromProto(const google::protobuf::RepeatedPtrField<formats::TensorProto>& from,
                              const std::vector<std::pair<std::string, nn::Tensor*>>& targets,
                              const std::string& what);

}  // namespace nftcim::trainer

#endif  // NFTCIM_TRAINER_CHECKPOINT_H_
