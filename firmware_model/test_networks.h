#ifndef NFTCIM_FIRMWARE_MODEL_TEST_NETWORKS_H_
#define NFTCIM_FIRMWARE_MODEL_TEST_NETWORKS_H_

// Small networks for the firmware model's tests: the trainer's VGG-8 and
// ResNet-18 (nn::MakeNetwork) with random, non-trivial BatchNorm statistics
// and affine parameters, so that folding BatchNorm is really exercised.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/deployable_model.pb.h"
#include "formats/hardware_config.pb.h"
#include "trainer/nn/network.h"

namespace nftcim::firmware::testing {

// arch "vgg8" or "resnet18"; aborts on error.
std::unique_ptr<trainer::nn::Network> RandomNetwork(const std::string& arch, double width,
                                                    int in_channels, int num_classes,
                                                    uint64_t seed, int input_size = 32);

// n NCHW images of normalised-looking values (deterministic).
std::vector<float> RandomImages(int64_t n, int channels, int size, uint64_t seed);

// n raw images (uint8, NCHW) with some structure (deterministic).
std::vector<uint8_t> RandomPixels(int64_t n, int channels, int size, uint64_t seed);

// A compiled random network (width 1/16 unless given) for `hardware`,
// calibrated on 16 RandomPixels images; aborts on error.
formats::DeployableModel CompiledRandomModel(const std::string& arch, int in_channels,
                                             const formats::HardwareConfig& hardware,
                                             double width = 1.0 / 16, uint64_t seed = 1,
                                             int input_size = 32);

// The paper's hardware with a B-bit ADC (range, policy, shift as given).
formats::HardwareConfig AdcConfig(int adc_bits, formats::AdcRange range,
                                  formats::AdcShiftPolicy policy, int adc_shift = 0);

}  // namespace nftcim::firmware::testing

#endif  // NFTCIM_FIRMWARE_MODEL_TEST_NETWORKS_H_
