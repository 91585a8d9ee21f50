#ifndef NFTCIM_FIRMWARE_MODEL_MODEL_INPUTS_H_
#define NFTCIM_FIRMWARE_MODEL_MODEL_INPUTS_H_

// What the command-line tools that run a deployable model need besides the
// model: the device it is programmed with and the test images it was
// trained for (//emulator:emulate, //emulator:golden).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "data/dataset.h"
#include "firmware_model/model.h"
#include "formats/deployable_model.pb.h"
#include "formats/device_model.pb.h"

namespace nftcim::firmware {

// The device the model was trained for, at the hardware's weight and cell
// bits; `preset` (a --device flag, empty = keep) overrides the preset.
// Errors name the flag.
absl::StatusOr<formats::DeviceModel> DeviceOfModel(const formats::DeployableModel& proto,
                                                   const std::string& preset);

// The test split of the dataset the model was trained on, resized as it was
// trained, the first `test_limit` images (0 = all). `data_dir` (empty = the
// folder recorded in the model) must already be resolved.
absl::StatusOr<data::LoadedDataset> LoadModelTestSplit(const formats::DeployableModel& proto,
                                                       const CompiledModel& model,
                                                       const std::string& data_dir,
                                                       int64_t test_limit);

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_MODEL_INPUTS_H_
