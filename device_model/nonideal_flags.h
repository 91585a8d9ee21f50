#ifndef NFTCIM_DEVICE_MODEL_NONIDEAL_FLAGS_H_
#define NFTCIM_DEVICE_MODEL_NONIDEAL_FLAGS_H_

// The command-line flags of the non-idealities (docs/device-model.md
// "Non-idealities"), shared by //trainer:evaluate, //trainer:train,
// //emulator:emulate and //emulator:golden so that every front door spells
// them the same way:
//   --nonideal_preset=none|pcm|rram|faulty   (applied first)
//   --read_noise=S --read_noise_granularity=per_slice|per_inference
//   --drift_seconds=T --drift_nu_mean=MU --drift_nu_std=SD
//   --drift_compensation=true|false
//   --stuck_at_low_rate=P --stuck_at_high_rate=P
// A flag that is not given leaves the field as the preset (or the model's
// recorded device) has it.

#include <string>

#include "absl/status/status.h"
#include "device_model/device_model.h"
#include "formats/device_model.pb.h"

namespace nftcim::device {

// Applies the preset, then every flag given, to *proto. An evaluation calls
// ClearNonidealities first (the flags are then the whole story).
absl::Status ApplyNonIdealityFlags(formats::DeviceModel* proto);

// One line naming every active non-ideality ("none" when there is none),
// for logs and result files.
std::string NonIdealitySummary(const DeviceModel& device);

// The active non-idealities as JSON object members (no braces, leading
// ", "), or "" when there is none, so default result files do not change.
std::string NonIdealityJsonMembers(const DeviceModel& device);

}  // namespace nftcim::device

#endif  // NFTCIM_DEVICE_MODEL_NONIDEAL_FLAGS_H_
