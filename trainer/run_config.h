#ifndef NFTCIM_TRAINER_RUN_CONFIG_H_
#define NFTCIM_TRAINER_RUN_CONFIG_H_

// The trainer's run configuration: defaults, validation, and the derived
// per-method settings of nft-spec.md section 2.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "formats/run_config.pb.h"

namespace nftcim::trainer {

// "vanilla" | "noise" | "ovf" | "irs".
absl::StatusOr<formats::TrainingMethod::Kind> ParseMethod(const std::string& name);
std::string MethodName(formats::TrainingMethod::Kind kind);

// Checks every field a user can get wrong and says which and why: unknown
// method or architecture, sigma < 0, width <= 0, beta outside [0, 1], ...
absl::Status ValidateRunConfig(const formats::RunConfig& config);

// Number of IRS snapshot points of an architecture (VGG-8: 3, ResNet-18: 4).
int IrsSnapshotCount(const std::string& arch);
// AdaptiveAvgPool output size of each IRS classifier (VGG-8: 6, 4, 3;
// ResNet-18: 6, 6, 4, 3).
std::vector<int> IrsPoolSizes(const std::string& arch);

// N actually used: the configured num_feedbacks, or the method's default
// (OVF 3, IRS all snapshot points, 0 for vanilla and noise).
int FeedbackCount(const formats::RunConfig& config);

// OVF: the sigma of each feedback forward, in feedback order (largest
// variation first, so that alpha = 1, 0.1, ... goes with the largest):
// sigma + N*step, ..., sigma + step; reversed orientation uses minus and
// never goes below 0.
std::vector<double> OvfSigmas(const formats::RunConfig& config);

// IRS classifier sigma (the backbone's unless set, 0 when switched off).
double IrsClassifierSigma(const formats::RunConfig& config);

}  // namespace nftcim::trainer

#endif  // NFTCIM_TRAINER_RUN_CONFIG_H_
