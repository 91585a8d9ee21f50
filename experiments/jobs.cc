#include "experiments/jobs.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "experiments/config.h"
#include "rng/fnv1a.h"

namespace nftcim::experiments {
namespace {

// ---- Cost model: seconds of one core, measured on the development machine
// for VGG-8 width 0.25 on Fashion-MNIST (//trainer:train, 1 thread). ----
constexpr double kTrainSecondsPerImage = 2.9e-3;    // noise injection
constexpr double kVanillaSecondsPerImage = 2.8e-3;
constexpr double kOvfPerFeedback = 0.78;            // each extra forward + backward
constexpr double kIrsPerFeedback = 0.05;            // each auxiliary head
constexpr double kInferSecondsPerImage = 5e-4;
constexpr double kProcessStartSeconds = 2;

double ScaleOfModel(const Experiment& e) {
  const double w = e.width() / 0.25;
  // VGG-8 and the CIFAR ResNet-18 have about the same multiply-adds (0.54 and
  // 0.56 G at width 1); convolutions scale with width squared.
  return std::max(0.05, w * w) * (e.model() == "resnet18" ? 1.2 : 1.0);
}

int64_t DefaultSplitSize(const std::string& dataset, bool train) {
  if (!train) return 10000;
  return dataset.rfind("cifar", 0) == 0 ? 50000 : 60000;
}

int DefaultFeedbacks(const Experiment& e, const std::string& method) {
  if (method == "ovf") return 3;
  if (method == "irs") return e.model() == "resnet18" ? 4 : 3;
  return 0;
}

double TrainCost(const Experiment& e, const JobSpec& j) {
  const int64_t images = TrainImages(e) > 0 ? TrainImages(e)
                                            : DefaultSplitSize(e.dataset(), true) -
                                                  e.beta_search().validation_images();
  const int n = j.variant.feedbacks() > 0 ? j.variant.feedbacks() : DefaultFeedbacks(e, j.method);
  double per_image = kTrainSecondsPerImage;
  if (j.method == "vanilla") per_image = kVanillaSecondsPerImage;
  if (j.method == "ovf") per_image *= 1 + kOvfPerFeedback * n;
  if (j.method == "irs") per_image *= 1 + kIrsPerFeedback * n;
  const double monitor = 2.0 * MonitorTestLimit(e) * kInferSecondsPerImage;
  return kProcessStartSeconds +
         e.epochs() * (images * per_image + monitor) * ScaleOfModel(e);
}

double EvalCost(const Experiment& e, const JobSpec& j) {
  int64_t images = e.beta_search().validation_images();
  if (j.eval_split == "test") {
    images = e.evaluation().test_limit() > 0 ? e.evaluation().test_limit()
                                             : DefaultSplitSize(e.dataset(), false);
  }
  int64_t passes = 0;
  for (double s : j.eval_sigmas) passes += s == 0 ? 1 : j.eval_runs;
  return kProcessStartSeconds + images * passes * kInferSecondsPerImage * ScaleOfModel(e);
}

std::string SigmasText(const std::vector<double>& sigmas) {
  std::vector<std::string> parts;
  for (double s : sigmas) parts.push_back(FormatNumber(s));
  return absl::StrJoin(parts, ",");
}

// Every setting shared by all training runs of the experiment.
std::string CommonTrainText(const Experiment& e) {
  return absl::StrCat("dataset=", e.dataset(), ";data_dir=", e.data_dir(),
                      ";train_limit=", e.train_limit(),
                      ";validation=", e.beta_search().validation_images(),
                      ";monitor=", MonitorTestLimit(e), ";model=", e.model(),
                      ";width=", FormatNumber(e.width()), ";epochs=", e.epochs(),
                      ";batch=", BatchSize(e), ";device=", DevicePreset(e));
}

std::string VariantText(const Ablation& v) {
  return absl::StrCat(";feedbacks=", v.feedbacks(), ";reversed_decay=", v.reversed_decay(),
                      ";reversed_orientation=", v.reversed_orientation(),
                      ";irs_classifier_noise_off=", v.irs_classifier_noise_off(),
                      ";ovf_shared_noise=", v.ovf_shared_noise());
}

std::string TrainText(const Experiment& e, const JobSpec& j, double beta) {
  return absl::StrCat(CommonTrainText(e), ";method=", j.method, ";sigma=", FormatNumber(j.sigma),
                      ";beta=", FormatNumber(beta), ";seed=", j.seed, VariantText(j.variant));
}

std::string EvalText(const Experiment& e, const JobSpec& j) {
  std::string images = j.eval_split == "test"
                           ? absl::StrCat("test_limit=", e.evaluation().test_limit())
                           : absl::StrCat("validation=", e.beta_search().validation_images());
  return absl::StrCat("split=", j.eval_split, ";", images, ";sigmas=", SigmasText(j.eval_sigmas),
                      ";runs=", j.eval_runs, ";eval_seed=", e.evaluation().seed());
}

std::string SearchText(const Experiment& e) {
  std::vector<std::string> betas, seeds;
  for (double b : e.beta_search().betas()) betas.push_back(FormatNumber(b));
  for (uint32_t s : SearchSeeds(e)) seeds.push_back(absl::StrCat(s));
  return absl::StrCat(";search_betas=", absl::StrJoin(betas, ","),
                      ";search_seeds=", absl::StrJoin(seeds, ","),
                      ";search_runs=", SearchRuns(e), ";eval_seed=", e.evaluation().seed());
}

std::string SigmaPart(const JobSpec& j) {
  return j.method == "vanilla" ? "" : absl::StrCat("/sigma=", FormatNumber(j.sigma));
}

std::string JobText(const Experiment& e, const JobSpec& j) {
  if (j.beta_from_search) {
    return absl::StrCat(TrainText(e, j, -1), SearchText(e), ";", EvalText(e, j));
  }
  return absl::StrCat(TrainText(e, j, j.beta), ";", EvalText(e, j));
}

void Finish(const Experiment& e, JobSpec* j, const std::string& name) {
  j->key = absl::StrCat(name, "#", Fingerprint(JobText(e, *j)));
  j->cost = (j->stage == Stage::kEmulator ? 0 : TrainCost(e, *j)) + EvalCost(e, *j);
}

}  // namespace

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kSearch: return "search";
    case Stage::kFinal: return "final";
    case Stage::kAblation: return "ablation";
    case Stage::kEmulator: return "emulator";
  }
  return "?";
}

std::string Fingerprint(const std::string& text) {
  rng::Fnv1a64 h;
  h.Update(text.data(), text.size());
  return absl::StrFormat("%08x", static_cast<uint32_t>(h.value() >> 32));
}

int64_t TrainImages(const Experiment& e) {
  if (e.train_limit() <= 0) return -1;
  return e.train_limit() - e.beta_search().validation_images();
}

std::string SearchKey(const Experiment& e, const std::string& method, double sigma, double beta,
                      uint32_t seed) {
  JobSpec j;
  j.stage = Stage::kSearch;
  j.method = method;
  j.sigma = sigma;
  j.beta = beta;
  j.seed = seed;
  j.eval_split = "validation";
  j.eval_sigmas = {sigma};
  j.eval_runs = SearchRuns(e);
  return absl::StrCat("search/", method, SigmaPart(j), "/beta=", FormatNumber(beta),
                      "/seed=", seed, "#", Fingerprint(JobText(e, j)));
}

std::vector<JobSpec> ExpandJobs(const Experiment& e) {
  std::vector<JobSpec> search, final_jobs, ablations, emulator;
  const std::vector<double> eval_sigmas = EvaluationSigmas(e.evaluation());
  const bool searched = HasBetaSearch(e);

  for (const std::string& method : e.methods()) {
    const bool vanilla = method == "vanilla";
    // Vanilla training sees no variation: one run per seed, at sigma 0.
    const std::vector<double> sigmas =
        vanilla ? std::vector<double>{0}
                : std::vector<double>(e.train_sigmas().begin(), e.train_sigmas().end());
    for (double sigma : sigmas) {
      if (UsesBeta(method) && searched) {
        for (double beta : e.beta_search().betas()) {
          for (uint32_t seed : SearchSeeds(e)) {
            JobSpec j;
            j.stage = Stage::kSearch;
            j.method = method;
            j.sigma = sigma;
            j.beta = beta;
            j.seed = seed;
            j.eval_split = "validation";
            j.eval_sigmas = {sigma};
            j.eval_runs = SearchRuns(e);
            j.key = SearchKey(e, method, sigma, beta, seed);
            j.cost = TrainCost(e, j) + EvalCost(e, j);
            search.push_back(j);
          }
        }
      }
      for (uint32_t seed : e.seeds()) {
        JobSpec j;
        j.stage = Stage::kFinal;
        j.method = method;
        j.sigma = sigma;
        j.seed = seed;
        j.eval_sigmas = eval_sigmas;
        j.eval_runs = e.evaluation().runs();
        if (UsesBeta(method)) {
          j.beta_from_search = searched;
          j.beta = searched ? 0 : FixedBeta(e);
        }
        if (j.beta_from_search) {
          for (double beta : e.beta_search().betas()) {
            for (uint32_t s : SearchSeeds(e)) {
              j.depends_on.push_back(SearchKey(e, method, sigma, beta, s));
            }
          }
        }
        Finish(e, &j, absl::StrCat("final/", method, SigmaPart(j), "/seed=", seed));
        final_jobs.push_back(j);
        if (e.emulator().enabled() && seed == e.seeds(0) && !vanilla &&
            std::fabs(sigma - e.emulator().train_sigma()) < 1e-9) {
          JobSpec m = j;
          m.stage = Stage::kEmulator;
          m.depends_on = {j.key};
          m.eval_sigmas = e.emulator().sigmas().empty()
                              ? eval_sigmas
                              : std::vector<double>(e.emulator().sigmas().begin(),
                                                    e.emulator().sigmas().end());
          Finish(e, &m, absl::StrCat("emulator/", method, SigmaPart(j), "/seed=", seed));
          m.key += absl::StrCat("-", Fingerprint(e.emulator().compile_command() + "\n" +
                                                 e.emulator().emulate_command()));
          emulator.push_back(m);
        }
      }
    }
  }
  if (e.emulator().enabled()) {
    // Vanilla too, at its only training sigma.
    for (const JobSpec& f : final_jobs) {
      if (f.method == "vanilla" && f.seed == e.seeds(0)) {
        JobSpec m = f;
        m.stage = Stage::kEmulator;
        m.depends_on = {f.key};
        m.eval_sigmas = e.emulator().sigmas().empty()
                            ? eval_sigmas
                            : std::vector<double>(e.emulator().sigmas().begin(),
                                                  e.emulator().sigmas().end());
        Finish(e, &m, absl::StrCat("emulator/vanilla/seed=", f.seed));
        m.key += absl::StrCat("-", Fingerprint(e.emulator().compile_command() + "\n" +
                                               e.emulator().emulate_command()));
        emulator.insert(emulator.begin(), m);
      }
    }
  }

  for (const Ablation& a : e.ablations()) {
    for (uint32_t seed : e.seeds()) {
      JobSpec j;
      j.stage = Stage::kAblation;
      j.method = a.method();
      j.sigma = a.sigma();
      j.seed = seed;
      j.variant = a;
      j.eval_sigmas = {0, a.sigma()};
      j.eval_runs = e.evaluation().runs();
      j.beta_from_search = a.beta() == 0 && searched;
      j.beta = a.beta() > 0 ? a.beta() : (searched ? 0 : FixedBeta(e));
      if (j.beta_from_search) {
        for (double beta : e.beta_search().betas()) {
          for (uint32_t s : SearchSeeds(e)) {
            j.depends_on.push_back(SearchKey(e, a.method(), a.sigma(), beta, s));
          }
        }
      }
      // The name and labels do not change what is computed; leave them out of
      // the fingerprint so a renamed ablation keeps its record.
      Ablation anonymous = a;
      anonymous.clear_name();
      anonymous.clear_group();
      anonymous.clear_label();
      j.variant = anonymous;
      Finish(e, &j, absl::StrCat("ablation/", a.name(), "/seed=", seed));
      j.variant = a;
      ablations.push_back(j);
    }
  }

  auto by_cost = [](const JobSpec& a, const JobSpec& b) { return a.cost > b.cost; };
  std::stable_sort(search.begin(), search.end(), by_cost);
  std::stable_sort(final_jobs.begin(), final_jobs.end(), by_cost);
  std::stable_sort(ablations.begin(), ablations.end(), by_cost);
  std::vector<JobSpec> all;
  for (auto* group : {&search, &final_jobs, &ablations, &emulator}) {
    all.insert(all.end(), group->begin(), group->end());
  }
  return all;
}

std::string TrainId(const Experiment& e, const JobSpec& j, double beta) {
  std::string id = j.method;
  if (j.method != "vanilla") absl::StrAppend(&id, "_sigma", FormatNumber(j.sigma));
  if (UsesBeta(j.method)) absl::StrAppend(&id, "_beta", FormatNumber(beta));
  absl::StrAppend(&id, "_seed", j.seed);
  const Ablation& v = j.variant;
  if (v.feedbacks() > 0) absl::StrAppend(&id, "_n", v.feedbacks());
  if (v.reversed_decay()) absl::StrAppend(&id, "_revdecay");
  if (v.reversed_orientation()) absl::StrAppend(&id, "_revorient");
  if (v.irs_classifier_noise_off()) absl::StrAppend(&id, "_cleanheads");
  if (v.ovf_shared_noise()) absl::StrAppend(&id, "_sharednoise");
  JobSpec unnamed = j;
  unnamed.variant.clear_name();
  unnamed.variant.clear_group();
  unnamed.variant.clear_label();
  return absl::StrCat(id, "-", Fingerprint(TrainText(e, unnamed, beta)));
}

std::string EvalId(const Experiment& e, const JobSpec& j) {
  return absl::StrCat("eval-", j.eval_split, "-", Fingerprint(EvalText(e, j)));
}

std::vector<std::string> TrainFlags(const Experiment& e, const JobSpec& j, double beta,
                                    const std::string& out_dir, int threads, bool resume) {
  std::vector<std::string> f;
  const int64_t v = e.beta_search().validation_images();
  if (resume) {
    f = {"--resume", absl::StrCat("--out=", out_dir), absl::StrCat("--threads=", threads),
         "--eval_runs=1"};
    if (v > 0) f.push_back(absl::StrCat("--validation_split=", v));
    return f;
  }
  f.push_back(absl::StrCat("--dataset=", e.dataset()));
  if (!e.data_dir().empty()) f.push_back(absl::StrCat("--data_dir=", e.data_dir()));
  f.push_back(absl::StrCat("--train_limit=", e.train_limit()));
  f.push_back(absl::StrCat("--test_limit=", MonitorTestLimit(e)));
  if (v > 0) f.push_back(absl::StrCat("--validation_split=", v));
  f.push_back(absl::StrCat("--model=", e.model()));
  f.push_back(absl::StrCat("--width=", FormatNumber(e.width())));
  f.push_back(absl::StrCat("--method=", j.method));
  f.push_back(absl::StrCat("--sigma=", FormatNumber(j.sigma)));
  f.push_back(absl::StrCat("--beta=", FormatNumber(beta)));
  const Ablation& a = j.variant;
  if (a.feedbacks() > 0) f.push_back(absl::StrCat("--feedbacks=", a.feedbacks()));
  if (a.reversed_decay()) f.push_back("--reversed_decay=true");
  if (a.reversed_orientation()) f.push_back("--reversed_orientation=true");
  if (a.irs_classifier_noise_off()) f.push_back("--irs_classifier_noise=false");
  if (a.ovf_shared_noise()) f.push_back("--ovf_shared_noise=true");
  f.push_back(absl::StrCat("--device=", DevicePreset(e)));
  f.push_back(absl::StrCat("--epochs=", e.epochs()));
  f.push_back(absl::StrCat("--batch=", BatchSize(e)));
  f.push_back(absl::StrCat("--seed=", j.seed));
  f.push_back(absl::StrCat("--threads=", threads));
  f.push_back(absl::StrCat("--out=", out_dir));
  f.push_back("--eval_runs=1");
  return f;
}

std::vector<std::string> EvalFlags(const Experiment& e, const JobSpec& j,
                                   const std::string& checkpoint, const std::string& json,
                                   int threads) {
  std::vector<std::string> f = {
      absl::StrCat("--checkpoint=", checkpoint),
      absl::StrCat("--sigmas=", SigmasText(j.eval_sigmas)),
      absl::StrCat("--runs=", j.eval_runs),
      absl::StrCat("--seed=", e.evaluation().seed()),
      absl::StrCat("--json=", json),
      absl::StrCat("--threads=", threads),
  };
  if (!e.data_dir().empty()) f.push_back(absl::StrCat("--data_dir=", e.data_dir()));
  if (j.eval_split == "validation") {
    f.push_back("--split=validation");
    f.push_back(absl::StrCat("--validation_split=", e.beta_search().validation_images()));
  } else {
    f.push_back(absl::StrCat("--test_limit=", e.evaluation().test_limit()));
  }
  return f;
}

absl::StatusOr<double> SelectBeta(const std::vector<BetaCandidate>& candidates) {
  const BetaCandidate* best = nullptr;
  for (const BetaCandidate& c : candidates) {
    if (!c.ok()) continue;
    if (best == nullptr || c.validation_accuracy() > best->validation_accuracy() + 1e-9 ||
        (std::fabs(c.validation_accuracy() - best->validation_accuracy()) <= 1e-9 &&
         c.beta() < best->beta())) {
      best = &c;
    }
  }
  if (best == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("no beta candidate succeeded (", candidates.size(), " tried)"));
  }
  return best->beta();
}

BetaChoice ChooseBeta(const Experiment& e, const std::string& method, double sigma,
                      const std::map<std::string, JobRecord>& records) {
  BetaChoice choice;
  choice.ready = true;
  const std::vector<uint32_t> seeds = SearchSeeds(e);
  for (double beta : e.beta_search().betas()) {
    BetaCandidate c;
    c.set_beta(beta);
    c.set_ok(true);
    double sum = 0, ci2 = 0;
    for (uint32_t seed : seeds) {
      auto it = records.find(SearchKey(e, method, sigma, beta, seed));
      if (it == records.end()) {
        choice.ready = false;
        return choice;
      }
      const JobRecord& r = it->second;
      const McPoint* point = nullptr;
      for (const McPoint& p : r.results()) {
        if (std::fabs(p.sigma() - sigma) < 1e-9) point = &p;
      }
      if (r.status() != "ok" || point == nullptr) {
        c.set_ok(false);
        continue;
      }
      sum += point->mean_accuracy();
      ci2 += point->ci95() * point->ci95();
    }
    if (c.ok() && !seeds.empty()) {
      c.set_validation_accuracy(sum / seeds.size());
      c.set_validation_ci95(std::sqrt(ci2) / seeds.size());
    }
    choice.candidates.push_back(c);
  }
  absl::StatusOr<double> beta = SelectBeta(choice.candidates);
  if (beta.ok()) {
    choice.ok = true;
    choice.beta = *beta;
  } else {
    choice.error = absl::StrCat("beta search for ", method, " at sigma ", FormatNumber(sigma),
                                ": ", beta.status().message());
  }
  return choice;
}

}  // namespace nftcim::experiments
