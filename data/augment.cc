#include "data/augment.h"

#include <cstring>

#include "data/prng.h"

namespace nftcim::data {
namespace {

// Distinguishes augmentation draws from shuffles made with the same seed.
constexpr uint64_t kAugmentPurpose = 0x61756720;  // "aug "

}  // namespace

CropFlip DrawCropFlip(uint64_t seed, int64_t epoch, int64_t image_index,
                      int32_t padding) {
  Xoshiro256 rng(DeriveSeed(seed, kAugmentPurpose, static_cast<uint64_t>(epoch),
                            static_cast<uint64_t>(image_index)));
  const uint64_t span = 2 * static_cast<uint64_t>(padding > 0 ? padding : 0) + 1;
  CropFlip choice;
  choice.dy = static_cast<int32_t>(rng.Below(span));
  choice.dx = static_cast<int32_t>(rng.Below(span));
  choice.flip = (rng.Next() >> 63) != 0;
  return choice;
}

void ApplyCropFlip(const uint8_t* src, int32_t channels, int32_t height,
                   int32_t width, int32_t padding, const CropFlip& choice,
                   uint8_t* dst) {
  const int64_t plane = int64_t{height} * width;
  const int32_t shift_y = choice.dy - padding;
  const int32_t shift_x = choice.dx - padding;
  for (int32_t c = 0; c < channels; ++c) {
    const uint8_t* in = src + c * plane;
    uint8_t* out = dst + c * plane;
    for (int32_t y = 0; y < height; ++y) {
      const int32_t sy = y + shift_y;
      uint8_t* out_row = out + int64_t{y} * width;
      if (sy < 0 || sy >= height) {
        std::memset(out_row, 0, static_cast<size_t>(width));
        continue;
      }
      const uint8_t* in_row = in + int64_t{sy} * width;
      for (int32_t x = 0; x < width; ++x) {
        const int32_t sx = (choice.flip ? width - 1 - x : x) + shift_x;
        out_row[x] = (sx >= 0 && sx < width) ? in_row[sx] : 0;
      }
    }
  }
}

}  // namespace nftcim::data
