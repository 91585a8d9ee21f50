// bazel run //trainer:train -- [flags]
//
// Trains a network with Negative Feedback Training (or a baseline), writes
// DIR/checkpoint.pb (atomically, every epoch) and DIR/metrics.json, and ends
// with the Monte Carlo table at the training sigma. With no flags it trains
// a small OVF model on Fashion-MNIST in a few minutes.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/dataset.h"
#include "data/flags.h"
#include "device_model/device_model.h"
#include "device_model/nonideal_flags.h"
#include "trainer/checkpoint.h"
#include "trainer/evaluation.h"
#include "trainer/nft_trainer.h"
#include "trainer/nn/parallel.h"
#include "trainer/run_config.h"
#include "util/atomic_file.h"
#include "util/monte_carlo.h"
#include "util/progress.h"
#include "util/user_path.h"

ABSL_FLAG(std::string, model, "vgg8", "Architecture: vgg8 or resnet18 (CIFAR variant).");
ABSL_FLAG(double, width, 0.25, "Multiplier on every channel and hidden size (1 = paper).");
ABSL_FLAG(std::string, method, "ovf", "Training method: vanilla, noise, ovf or irs.");
ABSL_FLAG(double, sigma, 0.2, "Training device variation sigma (relative to one cell's range).");
ABSL_FLAG(double, beta, 1e-3, "Negative feedback coefficient beta, in [0, 1].");
ABSL_FLAG(int32_t, feedbacks, 0, "Number of negative feedbacks N (0 = method default: OVF 3, IRS all).");
ABSL_FLAG(double, ovf_step, 0.05, "OVF: sigma increment between oriented forwards.");
ABSL_FLAG(bool, ovf_shared_noise, false,
          "OVF: feedback forwards reuse the backbone's noise pattern scaled to their sigma.");
ABSL_FLAG(bool, reversed_decay, false, "Ablation: decay factors alpha in reversed order.");
ABSL_FLAG(bool, reversed_orientation, false, "Ablation (OVF): feedbacks at sigma - k*step.");
ABSL_FLAG(double, irs_sigma, 0, "IRS: classifier sigma (0 = the training sigma).");
ABSL_FLAG(bool, irs_classifier_noise, true, "IRS: inject variation into the classifiers.");
ABSL_FLAG(std::string, device, "gaussian", "Device preset: gaussian, RRAM1, FeFET2, RRAM4, FeFET6.");
ABSL_FLAG(int32_t, weight_bits, 8, "Weight magnitude bits M.");
ABSL_FLAG(int32_t, cell_bits, 2, "Bits per cell K.");
ABSL_FLAG(int32_t, epochs, 2, "Training epochs.");
ABSL_FLAG(int32_t, batch, 128, "Batch size.");
ABSL_FLAG(std::string, optimizer, "adam", "adam or sgd (with momentum).");
ABSL_FLAG(double, lr, 1e-3, "Initial learning rate.");
ABSL_FLAG(double, momentum, 0.9, "SGD momentum.");
ABSL_FLAG(double, weight_decay, 0, "L2 weight decay.");
ABSL_FLAG(bool, cosine, true, "Cosine annealing of the learning rate over the epochs.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of initialisation, data order and variation.");
ABSL_FLAG(int32_t, threads, 2, "Worker threads.");
ABSL_FLAG(std::string, out, "runs/default", "Output directory (checkpoint.pb, metrics.json).");
ABSL_FLAG(bool, resume, false, "Continue the run whose checkpoint is in --out.");
ABSL_FLAG(int32_t, stop_after_epoch, 0,
          "Stop (exit 3) right after writing this epoch's checkpoint, as a killed run would; "
          "for testing --resume. 0 = never.");
ABSL_FLAG(int32_t, eval_runs, 20, "Monte Carlo runs of the final evaluation.");
ABSL_FLAG(int64_t, validation_split, 0,
          "Hold out the last V images of the (limited) training split and train on the rest, "
          "for hyperparameter selection with //trainer:evaluate --split=validation. "
          "Give it again with --resume. 0 = train on all.");

namespace nftcim::trainer {
namespace {

absl::StatusOr<formats::RunConfig> ConfigFromFlags(const data::LoadedDataset& ds) {
  formats::RunConfig c;
  formats::DatasetInfo* info = c.mutable_dataset();
  info->set_name(ds.info.name);
  for (double m : ds.info.mean) info->add_mean(m);
  for (double s : ds.info.stddev) info->add_std(s);
  info->set_geometry(data::ResizeModeName(ds.resize_mode));
  info->set_augment(ds.info.train_augmentation);
  c.set_data_dir(ds.data_dir);
  c.set_train_limit(absl::GetFlag(FLAGS_train_limit));
  c.set_test_limit(absl::GetFlag(FLAGS_test_limit));
  formats::Architecture* a = c.mutable_architecture();
  a->set_arch(absl::GetFlag(FLAGS_model));
  a->set_width(absl::GetFlag(FLAGS_width));
  a->set_in_channels(ds.train.channels);
  a->set_input_size(ds.train.height);
  a->set_num_classes(ds.info.num_classes);
  absl::StatusOr<formats::DevicePreset> preset = device::ParsePreset(absl::GetFlag(FLAGS_device));
  if (!preset.ok()) return absl::InvalidArgumentError(absl::StrCat("--device: ", preset.status().message()));
  c.mutable_device()->set_weight_bits(absl::GetFlag(FLAGS_weight_bits));
  c.mutable_device()->set_cell_bits(absl::GetFlag(FLAGS_cell_bits));
  c.mutable_device()->set_sigma(absl::GetFlag(FLAGS_sigma));
  c.mutable_device()->set_preset(*preset);
  // Noise injection, OVF and IRS train against these too (the same device
  // model the evaluation and the emulator use).
  if (absl::Status s = device::ApplyNonIdealityFlags(c.mutable_device()); !s.ok()) return s;
  absl::StatusOr<formats::TrainingMethod::Kind> kind = ParseMethod(absl::GetFlag(FLAGS_method));
  if (!kind.ok()) return kind.status();
  formats::TrainingMethod* m = c.mutable_method();
  m->set_kind(*kind);
  m->set_beta(absl::GetFlag(FLAGS_beta));
  m->set_num_feedbacks(absl::GetFlag(FLAGS_feedbacks));
  m->set_ovf_step(absl::GetFlag(FLAGS_ovf_step));
  m->set_ovf_shared_noise(absl::GetFlag(FLAGS_ovf_shared_noise));
  m->set_reversed_decay(absl::GetFlag(FLAGS_reversed_decay));
  m->set_reversed_orientation(absl::GetFlag(FLAGS_reversed_orientation));
  m->set_irs_sigma(absl::GetFlag(FLAGS_irs_sigma));
  m->set_irs_classifier_noise_off(!absl::GetFlag(FLAGS_irs_classifier_noise));
  formats::OptimizerConfig* o = c.mutable_optimizer();
  const std::string opt = absl::GetFlag(FLAGS_optimizer);
  if (opt != "adam" && opt != "sgd") {
    return absl::InvalidArgumentError(absl::StrCat("--optimizer: unknown '", opt, "'; expected adam or sgd"));
  }
  o->set_kind(opt == "sgd" ? formats::OptimizerConfig::SGD : formats::OptimizerConfig::ADAM);
  o->set_learning_rate(absl::GetFlag(FLAGS_lr));
  o->set_momentum(absl::GetFlag(FLAGS_momentum));
  o->set_weight_decay(absl::GetFlag(FLAGS_weight_decay));
  o->set_cosine(absl::GetFlag(FLAGS_cosine));
  c.set_epochs(absl::GetFlag(FLAGS_epochs));
  c.set_batch_size(absl::GetFlag(FLAGS_batch));
  c.set_seed(absl::GetFlag(FLAGS_seed));
  c.set_threads(absl::GetFlag(FLAGS_threads));
  absl::Status s = ValidateRunConfig(c);
  if (!s.ok()) return s;
  absl::StatusOr<device::DeviceModel> dm = device::DeviceModel::FromProto(c.device());
  if (!dm.ok()) return dm.status();
  return c;
}

std::string MetricsJson(const formats::RunConfig& c, const std::vector<formats::EpochMetrics>& h,
                        const std::vector<McSummary>* mc) {
  std::string out = absl::StrFormat(
      "{\"dataset\": %s, \"model\": %s, \"width\": %.6g, \"method\": %s, \"sigma\": %.6g, "
      "\"beta\": %.6g, \"device\": %s, \"seed\": %d, \"epochs\": %d, \"threads\": %d,\n"
      "\"history\": [",
      JsonString(c.dataset().name()), JsonString(c.architecture().arch()),
      c.architecture().width(), JsonString(MethodName(c.method().kind())), c.device().sigma(),
      c.method().beta(), JsonString(device::PresetName(c.device().preset())), c.seed(),
      c.epochs(), c.threads());
  for (size_t i = 0; i < h.size(); ++i) {
    absl::StrAppendFormat(&out,
                          "%s\n  {\"epoch\": %d, \"train_loss\": %.6g, \"clean_test_accuracy\": "
                          "%.6g, \"noisy_test_accuracy\": %.6g, \"images_per_second\": %.6g, "
                          "\"seconds\": %.6g}",
                          i ? "," : "", h[i].epoch(), h[i].train_loss(),
                          h[i].clean_test_accuracy(), h[i].noisy_test_accuracy(),
                          h[i].images_per_second(), h[i].seconds());
  }
  out += "\n]";
  if (mc != nullptr) {
    std::string mc_json = McJson(*mc);
    // Splice {"results": [...]} in as "monte_carlo".
    absl::StrAppend(&out, ",\n\"monte_carlo\": ", mc_json.substr(0, mc_json.size() - 1));
  }
  out += "}\n";
  return out;
}

int Run() {
  nn::SetNumThreads(absl::GetFlag(FLAGS_threads));
  const std::string out_dir = ResolveUserPath(absl::GetFlag(FLAGS_out));
  const std::string ckpt_path = out_dir + "/checkpoint.pb";
  const std::string metrics_path = out_dir + "/metrics.json";

  std::unique_ptr<NftTrainer> trainer;
  absl::StatusOr<data::LoadOptions> load = data::LoadOptionsFromFlags();
  if (!load.ok()) {
    absl::FPrintF(stderr, "error: %s\n", load.status().message());
    return 2;
  }
  load->data_dir = ResolveUserPath(load->data_dir);
  formats::Checkpoint resumed;
  if (absl::GetFlag(FLAGS_resume)) {
    absl::StatusOr<formats::Checkpoint> ck = ReadCheckpoint(ckpt_path);
    if (!ck.ok()) {
      absl::FPrintF(stderr, "error: --resume: %s\n", ck.status().message());
      return 2;
    }
    resumed = *ck;
    // The checkpoint's run decides the data, so the resumed run is the same.
    load->dataset = resumed.config().dataset().name();
    load->data_dir = resumed.config().data_dir();
    load->train_limit = resumed.config().train_limit();
    load->test_limit = resumed.config().test_limit();
    absl::StatusOr<data::ResizeMode> mode = data::ParseResizeMode(resumed.config().dataset().geometry());
    if (mode.ok()) load->resize_mode = *mode;
  }
  absl::FPrintF(stderr, "loading %s ...\n", load->dataset);
  absl::StatusOr<data::LoadedDataset> ds = data::LoadDataset(*load);
  if (!ds.ok()) {
    absl::FPrintF(stderr, "error: %s\n", ds.status().message());
    return 2;
  }
  const int64_t held_out = absl::GetFlag(FLAGS_validation_split);
  if (held_out < 0 || (held_out > 0 && held_out >= ds->train.num_images)) {
    absl::FPrintF(stderr, "error: --validation_split must be in [0, %d) (the training images), got %d\n",
                  ds->train.num_images, held_out);
    return 2;
  }
  if (held_out > 0) {
    // The first N - V images train; the last V are the validation split.
    ds->train.num_images -= held_out;
    ds->train.pixels.resize(ds->train.num_images * ds->train.image_size());
    ds->train.labels.resize(ds->train.num_images);
  }
  if (absl::GetFlag(FLAGS_resume)) {
    absl::StatusOr<std::unique_ptr<NftTrainer>> t = NftTrainer::FromCheckpoint(resumed);
    if (!t.ok()) {
      absl::FPrintF(stderr, "error: --resume '%s': %s\n", ckpt_path, t.status().message());
      return 2;
    }
    trainer = std::move(*t);
    absl::FPrintF(stderr, "resuming after epoch %d of %d\n", trainer->epochs_done(),
                  trainer->config().epochs());
  } else {
    absl::StatusOr<formats::RunConfig> config = ConfigFromFlags(*ds);
    if (!config.ok()) {
      absl::FPrintF(stderr, "error: %s\n", config.status().message());
      return 2;
    }
    absl::StatusOr<std::unique_ptr<NftTrainer>> t = NftTrainer::Create(*config);
    if (!t.ok()) {
      absl::FPrintF(stderr, "error: %s\n", t.status().message());
      return 2;
    }
    trainer = std::move(*t);
  }
  const formats::RunConfig config = trainer->config();
  if (absl::Status s = MakeDirectories(out_dir); !s.ok()) {
    absl::FPrintF(stderr, "error: --out: %s\n", s.message());
    return 2;
  }
  absl::StatusOr<EvalSet> test = EvalSet::Create(ds->test, config.dataset(), 256);
  if (!test.ok()) {
    absl::FPrintF(stderr, "error: %s\n", test.status().message());
    return 2;
  }
  absl::FPrintF(stderr,
                "%s %s width %g on %s (%d train%s / %d test), sigma %g, beta %g, %d epochs, "
                "%d threads -> %s\n",
                MethodName(config.method().kind()), config.architecture().arch(),
                config.architecture().width(), config.dataset().name(), ds->train.num_images,
                held_out > 0 ? absl::StrFormat(", %d held out for validation", held_out) : "",
                ds->test.num_images, config.device().sigma(), config.method().beta(),
                config.epochs(), config.threads(), out_dir);
  absl::StatusOr<device::DeviceModel> device = device::DeviceModel::FromProto(config.device());

  const int64_t batches =
      (ds->train.num_images + config.batch_size() - 1) / config.batch_size();
  while (trainer->epochs_done() < config.epochs()) {
    const int epoch = trainer->epochs_done() + 1;
    Progress bar(absl::StrFormat("epoch %d/%d", epoch, config.epochs()), batches);
    const EpochResult r = trainer->TrainEpoch(
        ds->train, [&](int64_t k, int64_t, double loss, int images) {
          bar.Update(k + 1, absl::StrFormat("loss %.4f", loss), images);
        });
    formats::EpochMetrics m;
    m.set_epoch(epoch);
    m.set_train_loss(r.mean_loss);
    m.set_images_per_second(r.images_per_second);
    m.set_seconds(r.seconds);
    m.set_clean_test_accuracy(Summarize(0, {EvaluateOnce(trainer->network(), nullptr, *test)})
                                  .mean_accuracy);
    if (config.device().sigma() > 0) {
      // One variation instance per epoch, keyed by the epoch, as a quick
      // reading of robustness; the final table averages many.
      m.set_noisy_test_accuracy(
          MonteCarloEvaluate(trainer->network(), *device, {config.device().sigma()}, 1,
                             config.seed() + static_cast<uint64_t>(epoch), *test, {})[0]
              .mean_accuracy);
    } else {
      m.set_noisy_test_accuracy(m.clean_test_accuracy());
    }
    bar.Finish(absl::StrFormat("loss %.4f, train acc %.2f%%, test acc %.2f%% clean / %.2f%% "
                               "at sigma %g,",
                               r.mean_loss, r.train_accuracy, m.clean_test_accuracy(),
                               m.noisy_test_accuracy(), config.device().sigma()));
    trainer->history().push_back(m);
    absl::Status s = WriteCheckpoint(ckpt_path, trainer->ToCheckpoint());
    if (s.ok()) s = WriteFileAtomically(metrics_path, MetricsJson(config, trainer->history(), nullptr));
    if (!s.ok()) {
      absl::FPrintF(stderr, "error: %s\n", s.message());
      return 1;
    }
    if (epoch == absl::GetFlag(FLAGS_stop_after_epoch)) {
      absl::FPrintF(stderr, "stopping after epoch %d as asked; continue with --resume\n", epoch);
      return 3;
    }
  }

  const int runs = absl::GetFlag(FLAGS_eval_runs);
  std::vector<double> sigmas = {0};
  if (config.device().sigma() > 0) sigmas.push_back(config.device().sigma());
  Progress bar("monte carlo", 1 + (config.device().sigma() > 0 ? runs : 0));
  const std::vector<McSummary> mc =
      MonteCarloEvaluate(trainer->network(), *device, sigmas, runs, config.seed(), *test,
                         [&](int64_t done, int64_t) { bar.Update(done, ""); });
  bar.Finish("");
  absl::Status s = WriteFileAtomically(metrics_path, MetricsJson(config, trainer->history(), &mc));
  if (!s.ok()) {
    absl::FPrintF(stderr, "error: %s\n", s.message());
    return 1;
  }
  absl::PrintF("\nMonte Carlo inference, %d test images (%s):\n%s", test->size(),
               device::PresetName(config.device().preset()), McTable(mc));
  absl::PrintF("wrote %s and %s\n", ckpt_path, metrics_path);
  return 0;
}

}  // namespace
}  // namespace nftcim::trainer

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Negative Feedback Training of a network robust to NVM device variation.\n"
      "  bazel run //trainer:train -- --dataset=fashion_mnist --model=vgg8 --width=0.25 "
      "--method=ovf --sigma=0.2 --beta=1e-3 --epochs=10 --out=DIR");
  // A quick default run: a prefix of the data, unless the user asks otherwise.
  absl::SetFlag(&FLAGS_train_limit, 12000);
  absl::SetFlag(&FLAGS_test_limit, 2000);
  absl::ParseCommandLine(argc, argv);
  return nftcim::trainer::Run();
}
