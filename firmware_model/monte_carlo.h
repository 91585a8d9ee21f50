#ifndef NFTCIM_FIRMWARE_MODEL_MONTE_CARLO_H_
#define NFTCIM_FIRMWARE_MODEL_MONTE_CARLO_H_

// Monte Carlo inference on the emulated accelerator (nft-spec.md section 1):
// for each sigma, `runs` variation instances (one at sigma 0, where every run
// is the same), each ONE programming of all arrays kept for the whole test
// set; accuracy, spread and EKL as util/monte_carlo.h summarises them for
// //trainer:evaluate, plus the ADC saturation count.
//
// Determinism: run r of sigma s programs with seed
// StreamId({seed, "EMU", bits of s, r}), independent of which other sigmas
// run; images are split over threads in fixed contiguous ranges and every
// per-image result (integer logits, their KL term) is stored by image index
// and summed in image order, so results are bit-identical for any thread
// count.

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "data/raw_dataset.h"
#include "device_model/device_model.h"
#include "firmware_model/model.h"
#include "firmware_model/sequencer.h"
#include "util/monte_carlo.h"

namespace nftcim::firmware {

struct EmulatorMcOptions {
  std::vector<double> sigmas;
  int runs = 20;
  uint64_t seed = 1;
  // Threads over the test images (and inside programming).
  int threads = 1;
  Path path = Path::kFast;
  // Images per sequencer call.
  int batch = 16;
  // Called after each run with (runs done, total runs); may be empty.
  std::function<void(int64_t, int64_t)> on_run;
};

struct EmulatorMcResult {
  std::vector<McSummary> summaries;  // one per sigma, has_saturations set
  std::vector<InferenceStats> stats;  // one per sigma, summed over runs
  // Per sigma, per run: the programmed instance's CodeChecksum.
  std::vector<std::vector<uint64_t>> checksums;
};

// The seed a run programs its arrays with.
uint64_t RunSeed(uint64_t seed, double sigma, int run);

// Errors: an invalid option, a test set whose image shape differs from the
// model's input, labels outside the model's classes, a device whose bits
// differ from the hardware's.
absl::StatusOr<EmulatorMcResult> EmulatorMonteCarlo(const CompiledModel& model,
                                                    const data::RawDataset& test,
                                                    const device::DeviceModel& device,
                                                    const EmulatorMcOptions& options);

// One image's figures from its integer logits: the predicted class (ties to
// the lowest index, hardware-spec §7.9) and -log softmax(scale * logits)[label]
// in double.
int PredictedClass(const int32_t* logits, int classes);
double NegativeLogLikelihood(const int32_t* logits, int classes, double scale, int label);

}  // namespace nftcim::firmware

#endif  // NFTCIM_FIRMWARE_MODEL_MONTE_CARLO_H_
