#include "trainer/checkpoint.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "trainer/run_config.h"
#include "util/proto_io.h"

namespace nftcim::trainer {

absl::StatusOr<formats::Checkpoint> ReadCheckpoint(const std::string& path) {
  formats::Checkpoint checkpoint;
  absl::Status s = ReadProto(path, &checkpoint);
  if (!s.ok()) return s;
  if (checkpoint.format_version() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "': not an nftcim checkpoint (format_version missing)"));
  }
  if (checkpoint.format_version() > kCheckpointFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "': checkpoint format_version ", checkpoint.format_version(),
        " is newer than this build reads (", kCheckpointFormatVersion, "); rebuild nftcim"));
  }
  s = ValidateRunConfig(checkpoint.config());
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "': invalid run configuration: ", s.message()));
  }
  return checkpoint;
}

absl::Status WriteCheckpoint(const std::string& path, const formats::Checkpoint& checkpoint) {
  return WriteBinaryProto(path, checkpoint);
}

void TensorToProto(const std::string& name, const nn::Tensor& t, formats::TensorProto* out) {
  out->set_name(name);
  for (int64_t d : t.shape()) out->add_shape(d);
  out->mutable_data()->Add(t.begin(), t.end());
}

absl::Status TensorsFromProto(const google::protobuf::RepeatedPtrField<formats::TensorProto>& from,
                              const std::vector<std::pair<std::string, nn::Tensor*>>& targets,
                              const std::string& what) {
  if (from.size() != static_cast<int>(targets.size())) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint has ", from.size(), " ", what,
                                                   ", the model expects ", targets.size()));
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    const formats::TensorProto& t = from[static_cast<int>(i)];
    nn::Tensor* target = targets[i].second;
    if (t.name() != targets[i].first) {
      return absl::InvalidArgumentError(absl::StrCat(what, " ", i, ": checkpoint has '",
                                                     t.name(), "', the model expects '",
                                                     targets[i].first, "'"));
    }
    nn::Shape shape(t.shape().begin(), t.shape().end());
    if (shape != target->shape() || t.data_size() != target->size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " '", t.name(), "': checkpoint shape [", absl::StrJoin(t.shape(), ", "),
          "] with ", t.data_size(), " values, the model expects ", target->ShapeString()));
    }
    std::copy(t.data().begin(), t.data().end(), target->data());
  }
  return absl::OkStatus();
}

}  // namespace nftcim::trainer
