#include "trainer/run_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace nftcim::trainer {

absl::StatusOr<formats::TrainingMethod::Kind> ParseMethod(const std::string& name) {
  if (name == "vanilla") return formats::TrainingMethod::VANILLA;
  if (name == "noise") return formats::TrainingMethod::NOISE;
  if (name == "ovf") return formats::TrainingMethod::OVF;
  if (name == "irs") return formats::TrainingMethod::IRS;
  return absl::InvalidArgumentError(
      absl::StrCat("--method: unknown method '", name, "'; expected vanilla, noise, ovf or irs"));
}

std::string MethodName(formats::TrainingMethod::Kind kind) {
  switch (kind) {
    case formats::TrainingMethod::VANILLA: return "vanilla";
    case formats::TrainingMethod::NOISE: return "noise";
    case formats::TrainingMethod::OVF: return "ovf";
    case formats::TrainingMethod::IRS: return "irs";
    default: return "unspecified";
  }
}

int IrsSnapshotCount(const std::string& arch) { return arch == "resnet18" ? 4 : 3; }

std::vector<int> IrsPoolSizes(const std::string& arch) {
  if (arch == "resnet18") return {6, 6, 4, 3};
  return {6, 4, 3};
}

int FeedbackCount(const formats::RunConfig& config) {
  const formats::TrainingMethod& m = config.method();
  switch (m.kind()) {
    case formats::TrainingMethod::OVF: return m.num_feedbacks() > 0 ? m.num_feedbacks() : 3;
    case formats::TrainingMethod::IRS:
      return m.num_feedbacks() > 0 ? m.num_feedbacks()
                                   : IrsSnapshotCount(config.architecture().arch());
    default: return 0;
  }
}

std::vector<double> OvfSigmas(const formats::RunConfig& config) {
  const int n = FeedbackCount(config);
  const double step = config.method().ovf_step() > 0 ? config.method().ovf_step() : 0.05;
  const double sign = config.method().reversed_orientation() ? -1.0 : 1.0;
  std::vector<double> sigmas;
  for (int k = n; k >= 1; --k) {
    sigmas.push_back(std::max(0.0, config.device().sigma() + sign * k * step));
  }
  return sigmas;
}

double IrsClassifierSigma(const formats::RunConfig& config) {
  if (config.method().irs_classifier_noise_off()) return 0;
  return config.method().irs_sigma() > 0 ? config.method().irs_sigma() : config.device().sigma();
}

absl::Status ValidateRunConfig(const formats::RunConfig& c) {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  const std::string& arch = c.architecture().arch();
  if (arch != "vgg8" && arch != "resnet18") {
    return bad("--model: unknown architecture '", arch, "'; expected vgg8 or resnet18");
  }
  if (!(c.architecture().width() > 0) || !std::isfinite(c.architecture().width())) {
    return bad("--width must be > 0, got ", c.architecture().width());
  }
  if (!(c.device().sigma() >= 0) || !std::isfinite(c.device().sigma())) {
    return bad("--sigma must be >= 0, got ", c.device().sigma());
  }
  const formats::TrainingMethod& m = c.method();
  if (m.kind() == formats::TrainingMethod::KIND_UNSPECIFIED) return bad("--method is not set");
  if (!(m.beta() >= 0 && m.beta() <= 1)) return bad("--beta must be in [0, 1], got ", m.beta());
  if (m.num_feedbacks() < 0) return bad("--feedbacks must be >= 0, got ", m.num_feedbacks());
  if (m.kind() == formats::TrainingMethod::IRS &&
      m.num_feedbacks() > IrsSnapshotCount(arch)) {
    return bad("--feedbacks: IRS on ", arch, " has ", IrsSnapshotCount(arch),
               " snapshot points, asked for ", m.num_feedbacks());
  }
  if (m.kind() == formats::TrainingMethod::OVF && m.num_feedbacks() > 8) {
    return bad("--feedbacks: OVF supports up to 8 feedback forwards, got ", m.num_feedbacks());
  }
  if (m.ovf_step() < 0) return bad("--ovf_step must be > 0, got ", m.ovf_step());
  if (m.irs_sigma() < 0) return bad("--irs_sigma must be >= 0, got ", m.irs_sigma());
  if (c.epochs() < 1) return bad("--epochs must be >= 1, got ", c.epochs());
  if (c.batch_size() < 1) return bad("--batch must be >= 1, got ", c.batch_size());
  if (c.threads() < 1 || c.threads() > 256) return bad("--threads must be in 1..256, got ", c.threads());
  if (!(c.optimizer().learning_rate() > 0)) {
    return bad("--lr must be > 0, got ", c.optimizer().learning_rate());
  }
  if (c.optimizer().momentum() < 0 || c.optimizer().momentum() >= 1) {
    return bad("--momentum must be in [0, 1), got ", c.optimizer().momentum());
  }
  return absl::OkStatus();
}

}  // namespace nftcim::trainer
