#include "experiments/config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "data/registry.h"
#include "device_model/device_model.h"
#include "util/proto_io.h"

namespace nftcim::experiments {
namespace {

const std::vector<std::string>& KnownMethods() {
  static const auto* methods = new std::vector<std::string>{"vanilla", "noise", "ovf", "irs"};
  return *methods;
}

bool IsKnownMethod(const std::string& m) {
  const auto& known = KnownMethods();
  return std::find(known.begin(), known.end(), m) != known.end();
}

bool IsName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

template <typename... Args>
absl::Status Bad(const Args&... parts) {
  return absl::InvalidArgumentError(absl::StrCat(parts...));
}

bool Finite(double v) { return std::isfinite(v); }

absl::Status CheckSigma(const std::string& field, double v) {
  if (!Finite(v) || v < 0 || v > 10) {
    return Bad(field, ": must be a sigma in [0, 10], got ", FormatNumber(v));
  }
  return absl::OkStatus();
}

bool Contains(const std::vector<double>& values, double v) {
  for (double x : values) {
    if (std::fabs(x - v) < 1e-9) return true;
  }
  return false;
}

absl::Status ValidateAblation(const Experiment& e, const Ablation& a, const std::string& where) {
  if (!IsName(a.name())) {
    return Bad(where, ".name: '", a.name(), "' is not a name; expected letters, digits, _ - .");
  }
  const std::string at = absl::StrCat("ablation '", a.name(), "'");
  if (a.method() != "ovf" && a.method() != "irs") {
    return Bad(at, ": method: '", a.method(), "' has no feedback to ablate; expected ovf or irs");
  }
  if (absl::Status s = CheckSigma(absl::StrCat(at, ": sigma"), a.sigma()); !s.ok()) return s;
  if (a.sigma() == 0) return Bad(at, ": sigma: must be > 0 (ablations need variation)");
  if (!Finite(a.beta()) || a.beta() < 0 || a.beta() > 1) {
    return Bad(at, ": beta: must be in (0, 1], or 0 for the searched beta; got ", a.beta());
  }
  if (a.beta() == 0) {
    const std::vector<double> sigmas(e.train_sigmas().begin(), e.train_sigmas().end());
    if (!Contains(sigmas, a.sigma())) {
      return Bad(at, ": sigma: ", FormatNumber(a.sigma()),
                 " is not one of train_sigmas, so there is no searched beta for it; add it to "
                 "train_sigmas or set beta");
    }
    if (std::find(e.methods().begin(), e.methods().end(), a.method()) == e.methods().end()) {
      return Bad(at, ": method: ", a.method(),
                 " is not in methods, so there is no searched beta for it; add it to methods or "
                 "set beta");
    }
  }
  if (a.feedbacks() < 0) return Bad(at, ": feedbacks: must be >= 0, got ", a.feedbacks());
  if (a.reversed_orientation() && a.method() != "ovf") {
    return Bad(at, ": reversed_orientation: only OVF has an orientation");
  }
  if (a.ovf_shared_noise() && a.method() != "ovf") {
    return Bad(at, ": ovf_shared_noise: only for method ovf");
  }
  if (a.irs_classifier_noise_off() && a.method() != "irs") {
    return Bad(at, ": irs_classifier_noise_off: only IRS has classifiers");
  }
  if (a.feedbacks() == 0 && !a.reversed_decay() && !a.reversed_orientation() &&
      !a.irs_classifier_noise_off() && !a.ovf_shared_noise() && a.beta() == 0) {
    return Bad(at, ": changes nothing; it would be the final run itself (the report draws that "
                   "baseline anyway)");
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatNumber(double v) {
  const double r = std::round(v * 1e9) / 1e9;
  return absl::StrFormat("%.9g", r == 0 ? 0.0 : r);
}

bool UsesBeta(const std::string& method) { return method == "ovf" || method == "irs"; }

int64_t MonitorTestLimit(const Experiment& e) {
  return e.monitor_test_limit() > 0 ? e.monitor_test_limit() : 500;
}
int32_t BatchSize(const Experiment& e) { return e.batch() > 0 ? e.batch() : 128; }
int32_t SearchRuns(const Experiment& e) {
  return e.beta_search().runs() > 0 ? e.beta_search().runs() : 10;
}
std::vector<uint32_t> SearchSeeds(const Experiment& e) {
  if (e.beta_search().seeds_size() > 0) {
    return {e.beta_search().seeds().begin(), e.beta_search().seeds().end()};
  }
  if (e.seeds_size() > 0) return {e.seeds(0)};
  return {};
}
bool HasBetaSearch(const Experiment& e) { return e.beta_search().betas_size() > 1; }
double FixedBeta(const Experiment& e) {
  return e.beta_search().betas_size() == 1 ? e.beta_search().betas(0) : 0;
}
std::string DevicePreset(const Experiment& e) {
  return e.device().empty() ? "gaussian" : e.device();
}

std::vector<double> EvaluationSigmas(const Evaluation& ev) {
  std::vector<double> out;
  auto round9 = [](double v) { return std::round(v * 1e9) / 1e9; };
  for (double s : ev.sigmas()) out.push_back(round9(s));
  if (ev.has_sigma_range() && ev.sigma_range().step() > 0) {
    const SigmaRange& r = ev.sigma_range();
    for (int k = 0;; ++k) {
      const double s = round9(r.start() + k * r.step());
      if (s > r.stop() + 1e-9 || k > 100000) break;
      out.push_back(s);
    }
  }
  return out;
}

absl::Status ValidateExperiment(const Experiment& e) {
  if (e.format_version() != kFormatVersion) {
    return Bad("format_version: expected ", kFormatVersion, ", got ", e.format_version(),
               e.format_version() == 0 ? " (missing; write format_version: 1 first)" : "");
  }
  if (!IsName(e.name())) {
    return Bad("name: '", e.name(), "' is not a name; expected letters, digits, _ - .");
  }
  if (absl::StatusOr<const data::DatasetInfo*> d = data::FindDataset(e.dataset()); !d.ok()) {
    return Bad("dataset: unknown '", e.dataset(), "'; expected one of ",
               data::KnownDatasetNames());
  }
  if (e.train_limit() < 0) return Bad("train_limit: must be >= 0 (0 = all), got ", e.train_limit());
  if (e.monitor_test_limit() < 0) {
    return Bad("monitor_test_limit: must be >= 0, got ", e.monitor_test_limit());
  }
  if (e.model() != "vgg8" && e.model() != "resnet18") {
    return Bad("model: unknown '", e.model(), "'; expected vgg8 or resnet18");
  }
  if (!(e.width() > 0) || !Finite(e.width()) || e.width() > 16) {
    return Bad("width: must be in (0, 16], got ", e.width());
  }
  if (e.epochs() < 1) return Bad("epochs: must be >= 1, got ", e.epochs());
  if (e.batch() < 0) return Bad("batch: must be >= 1 (0 = 128), got ", e.batch());
  if (!e.device().empty()) {
    if (absl::StatusOr<formats::DevicePreset> p = device::ParsePreset(e.device()); !p.ok()) {
      return Bad("device: ", p.status().message());
    }
  }

  if (e.methods().empty()) return Bad("methods: empty; expected some of vanilla, noise, ovf, irs");
  std::set<std::string> seen_methods;
  for (const std::string& m : e.methods()) {
    if (!IsKnownMethod(m)) {
      return Bad("methods: unknown method '", m, "'; expected vanilla, noise, ovf or irs");
    }
    if (!seen_methods.insert(m).second) return Bad("methods: '", m, "' listed twice");
  }
  if (e.train_sigmas().empty()) {
    return Bad("train_sigmas: empty; expected at least one training sigma");
  }
  std::vector<double> seen_sigmas;
  for (int i = 0; i < e.train_sigmas_size(); ++i) {
    const double s = e.train_sigmas(i);
    if (absl::Status st = CheckSigma(absl::StrCat("train_sigmas[", i, "]"), s); !st.ok()) return st;
    if (Contains(seen_sigmas, s)) return Bad("train_sigmas: ", FormatNumber(s), " listed twice");
    seen_sigmas.push_back(s);
    if (s == 0 && (seen_methods.count("noise") || seen_methods.count("ovf") ||
                   seen_methods.count("irs"))) {
      return Bad("train_sigmas[", i, "]: 0 trains noise/ovf/irs without variation (that is "
                 "vanilla); use sigmas > 0");
    }
  }
  if (e.seeds().empty()) return Bad("seeds: empty; expected at least one seed");
  std::set<uint32_t> seen_seeds(e.seeds().begin(), e.seeds().end());
  if (static_cast<int>(seen_seeds.size()) != e.seeds_size()) return Bad("seeds: a seed is listed twice");

  // Beta search.
  const BetaSearch& bs = e.beta_search();
  const bool needs_beta = seen_methods.count("ovf") || seen_methods.count("irs") ||
                          !e.ablations().empty();
  if (needs_beta && bs.betas().empty()) {
    return Bad("beta_search.betas: empty; ovf and irs need a beta (one value = fixed, several = "
               "searched), e.g. betas: [0.1, 0.01, 0.001, 0.0001]");
  }
  std::vector<double> seen_betas;
  for (int i = 0; i < bs.betas_size(); ++i) {
    const double b = bs.betas(i);
    if (!Finite(b) || !(b > 0) || b > 1) {
      return Bad("beta_search.betas[", i, "]: must be in (0, 1], got ", FormatNumber(b));
    }
    if (Contains(seen_betas, b)) return Bad("beta_search.betas: ", FormatNumber(b), " listed twice");
    seen_betas.push_back(b);
  }
  if (bs.validation_images() < 0) {
    return Bad("beta_search.validation_images: must be >= 0, got ", bs.validation_images());
  }
  if (HasBetaSearch(e) && bs.validation_images() == 0) {
    return Bad("beta_search.validation_images: must be > 0 when several betas are searched (the "
               "search never looks at the test set)");
  }
  if (e.train_limit() > 0 && bs.validation_images() >= e.train_limit()) {
    return Bad("beta_search.validation_images: ", bs.validation_images(),
               " leaves no training image of train_limit ", e.train_limit());
  }
  if (bs.runs() < 0) return Bad("beta_search.runs: must be >= 1 (0 = 10), got ", bs.runs());
  if (std::set<uint32_t>(bs.seeds().begin(), bs.seeds().end()).size() !=
      static_cast<size_t>(bs.seeds_size())) {
    return Bad("beta_search.seeds: a seed is listed twice");
  }

  // Evaluation.
  const Evaluation& ev = e.evaluation();
  if (ev.sigmas_size() > 0 && ev.has_sigma_range()) {
    return Bad("evaluation: give sigmas or sigma_range, not both");
  }
  if (ev.has_sigma_range()) {
    const SigmaRange& r = ev.sigma_range();
    if (!(r.step() > 0) || !Finite(r.step())) {
      return Bad("evaluation.sigma_range.step: must be > 0, got ", FormatNumber(r.step()));
    }
    if (absl::Status s = CheckSigma("evaluation.sigma_range.start", r.start()); !s.ok()) return s;
    if (absl::Status s = CheckSigma("evaluation.sigma_range.stop", r.stop()); !s.ok()) return s;
    if (r.stop() < r.start()) return Bad("evaluation.sigma_range: stop is below start");
    if ((r.stop() - r.start()) / r.step() > 1000) {
      return Bad("evaluation.sigma_range: more than 1000 sigmas");
    }
  }
  const std::vector<double> eval_sigmas = EvaluationSigmas(ev);
  if (eval_sigmas.empty()) {
    return Bad("evaluation.sigmas: empty; expected sigmas: [...] or sigma_range { start stop step }");
  }
  for (size_t i = 0; i < eval_sigmas.size(); ++i) {
    if (absl::Status s = CheckSigma(absl::StrCat("evaluation.sigmas[", i, "]"), eval_sigmas[i]);
        !s.ok()) {
      return s;
    }
  }
  if (ev.runs() < 1) return Bad("evaluation.runs: must be >= 1, got ", ev.runs());
  if (ev.test_limit() < 0) return Bad("evaluation.test_limit: must be >= 0 (0 = all), got ", ev.test_limit());

  // Ablations.
  std::set<std::string> ablation_names;
  for (int i = 0; i < e.ablations_size(); ++i) {
    const Ablation& a = e.ablations(i);
    if (absl::Status s = ValidateAblation(e, a, absl::StrCat("ablations[", i, "]")); !s.ok()) {
      return s;
    }
    if (!ablation_names.insert(a.name()).second) {
      return Bad("ablations: name '", a.name(), "' used twice");
    }
  }

  // Slurm resources.
  const SlurmResources& sl = e.slurm();
  if (sl.cpus_per_job() < 0 || sl.cpus_per_job() > 1024) {
    return Bad("slurm.cpus_per_job: must be in 0..1024 (0 = 1), got ", sl.cpus_per_job());
  }
  if (sl.mem_mb_per_job() < 0) {
    return Bad("slurm.mem_mb_per_job: must be >= 0 (0 = 4096), got ", sl.mem_mb_per_job());
  }
  if (sl.time_limit_minutes() < 0) {
    return Bad("slurm.time_limit_minutes: must be >= 0 (0 = from the estimate), got ",
               sl.time_limit_minutes());
  }
  if (sl.max_requeues() < 0) return Bad("slurm.max_requeues: must be >= 0, got ", sl.max_requeues());
  if (sl.max_running() < 0) return Bad("slurm.max_running: must be >= 0, got ", sl.max_running());
  for (int i = 0; i < sl.sbatch_args_size(); ++i) {
    if (sl.sbatch_args(i).rfind("--", 0) != 0) {
      return Bad("slurm.sbatch_args[", i, "]: '", sl.sbatch_args(i),
                 "' is not a long sbatch option; expected e.g. \"--account=NAME\"");
    }
  }

  // Emulator.
  const EmulatorCheck& em = e.emulator();
  if (em.enabled()) {
    if (!Contains(seen_sigmas, em.train_sigma())) {
      return Bad("emulator.train_sigma: ", FormatNumber(em.train_sigma()),
                 " is not one of train_sigmas");
    }
    if (em.emulate_command().find("{json}") == std::string::npos) {
      return Bad("emulator.emulate_command: must write its results to {json}");
    }
    if (em.compile_command().empty() && em.emulate_command().find("{checkpoint}") == std::string::npos) {
      return Bad("emulator: neither command mentions {checkpoint}; the emulator would not see the "
                 "model");
    }
    for (int i = 0; i < em.sigmas_size(); ++i) {
      if (absl::Status s = CheckSigma(absl::StrCat("emulator.sigmas[", i, "]"), em.sigmas(i));
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Experiment> ParseExperiment(const std::string& text, const std::string& origin) {
  Experiment e;
  if (absl::Status s = ParseTextProto(text, origin, &e); !s.ok()) return s;
  if (absl::Status s = ValidateExperiment(e); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", s.message()));
  }
  return e;
}

absl::StatusOr<Experiment> LoadExperiment(const std::string& path) {
  Experiment e;
  if (absl::Status s = ReadTextProto(path, &e); !s.ok()) return s;
  if (absl::Status s = ValidateExperiment(e); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return e;
}

}  // namespace nftcim::experiments
