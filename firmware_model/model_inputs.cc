#include "firmware_model/model_inputs.h"

#include "absl/strings/str_cat.h"
#include "data/geometry.h"
#include "device_model/device_model.h"

namespace nftcim::firmware {

absl::StatusOr<formats::DeviceModel> DeviceOfModel(const formats::DeployableModel& proto,
                                                   const std::string& preset) {
  formats::DeviceModel device = proto.provenance().training_device();
  device.set_weight_bits(proto.hardware().weight_bits());
  device.set_cell_bits(proto.hardware().cell_bits());
  if (!preset.empty()) {
    absl::StatusOr<formats::DevicePreset> p = device::ParsePreset(preset);
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("--device: ", p.status().message()));
    device.set_preset(*p);
  }
  return device;
}

absl::StatusOr<data::LoadedDataset> LoadModelTestSplit(const formats::DeployableModel& proto,
                                                       const CompiledModel& model,
                                                       const std::string& data_dir,
                                                       int64_t test_limit) {
  data::LoadOptions load;
  load.dataset = proto.dataset().name();
  load.data_dir = data_dir.empty() ? proto.provenance().data_dir() : data_dir;
  load.train_limit = 1;  // only the test split is used
  load.test_limit = test_limit;
  absl::StatusOr<data::ResizeMode> mode = data::ParseResizeMode(proto.dataset().geometry());
  if (mode.ok()) load.resize_mode = *mode;
  load.target_height = load.target_width = model.input_size();
  return data::LoadDataset(load);
}

}  // namespace nftcim::firmware
