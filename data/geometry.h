#ifndef NFTCIM_DATA_GEOMETRY_H_
#define NFTCIM_DATA_GEOMETRY_H_

// Changing image size on raw uint8 pixels, before any normalisation, so that
// the float trainer and the integer emulator see identical pixels. The
// networks are built for 32x32 inputs; MNIST-family images are 28x28.
//
// Pad (the default for MNIST and Fashion-MNIST): the image is placed in a
// zero canvas of the target size, offset by top = (out_h - h) / 2 rows and
// left = (out_w - w) / 2 columns (integer division; 28 -> 32 gives 2 on every
// side). Pixels are copied, never changed. Zero is the background of both
// MNIST datasets, so padding adds no content.
//
// Resize: bilinear interpolation computed exactly in integers. Per axis, with
// input size n and output size m, output index o samples the input at
//     s = (o + 1/2) * n / m - 1/2
// (pixel centres aligned: the convention of OpenCV INTER_LINEAR and of
// PyTorch's interpolate with align_corners=False), clamped to [0, n - 1].
// With D = 2m the sample position is the integer S = (2o + 1) * n - m in
// units of 1/D, clamped to [0, (n - 1) * D]; i0 = S / D, i1 = min(i0 + 1,
// n - 1), and the fractional weight is f = S - i0 * D in [0, D). Then
//     acc = p[y0][x0] (Dy - fy)(Dx - fx) + p[y0][x1] (Dy - fy) fx
//         + p[y1][x0] fy (Dx - fx)       + p[y1][x1] fy fx
//     out = floor((acc + Dy Dx / 2) / (Dy Dx))
// i.e. the exact bilinear value (the weights are exact rationals) rounded to
// the nearest integer, ties rounded up. acc stays below 255 * 2^32, so 64-bit
// arithmetic is exact for any side this package reads.
//
// None: images keep their native size.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/raw_dataset.h"

namespace nftcim::data {

enum class ResizeMode { kNone, kPad, kResize };

// Accepts "none", "pad" and "resize"; anything else is InvalidArgument
// listing those names.
absl::StatusOr<ResizeMode> ParseResizeMode(absl::string_view name);
const char* ResizeModeName(ResizeMode mode);

// One plane (h x w, row-major) into a zeroed out_h x out_w plane with the
// image at (top, left). Requires out_h >= top + h and out_w >= left + w.
void PadPlane(const uint8_t* src, int32_t h, int32_t w, int32_t top,
              int32_t left, int32_t out_h, int32_t out_w, uint8_t* dst);

// One plane, bilinear as specified above. All sizes must be positive.
void ResizePlaneBilinear(const uint8_t* src, int32_t h, int32_t w,
                         int32_t out_h, int32_t out_w, uint8_t* dst);

// Brings every image of `dataset` to out_h x out_w with `mode`. Images that
// already have that size are returned untouched whatever the mode (so CIFAR
// passes through), as are all images under kNone. kPad cannot shrink and
// fails with InvalidArgument if the target is smaller than the images.
absl::StatusOr<RawDataset> ApplyGeometry(RawDataset dataset, ResizeMode mode,
                                         int32_t out_h, int32_t out_w);

}  // namespace nftcim::data

#endif  // NFTCIM_DATA_GEOMETRY_H_
