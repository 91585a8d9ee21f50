#ifndef NFTCIM_DATA_AUGMENT_H_
#define NFTCIM_DATA_AUGMENT_H_

// CIFAR training augmentation on raw uint8 images: a random 32x32 crop of the
// image zero-padded by 4 pixels on every side, then a horizontal flip with
// probability 1/2 (the usual ResNet-on-CIFAR recipe, in that order).
//
// The random choices for an image depend only on (seed, epoch, index of the
// image in the dataset), never on the batch it lands in, the batch size, the
// shuffle or the thread that processes it, so a run is reproducible under
// any batching and a resumed run sees the same augmented pixels.

#include <cstdint>

namespace nftcim::data {

inline constexpr int32_t kDefaultCropPadding = 4;

struct CropFlip {
  // Top-left corner of the crop inside the padded image, each in
  // [0, 2 * padding]; padding is the no-shift position.
  int32_t dy = 0;
  int32_t dx = 0;
  bool flip = false;
};

// Draws, in this order from Xoshiro256(DeriveSeed(seed, kAugmentPurpose,
// epoch, image_index)): dy = Below(2p + 1), dx = Below(2p + 1), flip = top
// bit of the next output.
CropFlip DrawCropFlip(uint64_t seed, int64_t epoch, int64_t image_index,
                      int32_t padding);

// Writes the augmented CHW image (same size as the input) to `dst`, which
// must not alias `src`:
//   dst[c][y][x] = src[c][y + dy - p][xs + dx - p],
//   xs = flip ? w - 1 - x : x,
// and 0 where the source index falls outside the image.
void ApplyCropFlip(const uint8_t* src, int32_t channels, int32_t height,
                   int32_t width, int32_t padding, const CropFlip& choice,
                   uint8_t* dst);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_AUGMENT_H_
