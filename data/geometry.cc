#include "data/geometry.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace nftcim::data {
namespace {

// Per-axis sampling table for the bilinear resize (see geometry.h).
struct AxisTap {
  int32_t i0;
  int32_t i1;
  int64_t f;  // weight of i1, in units of 1/(2 * out)
};

std::vector<AxisTap> AxisTaps(int32_t in, int32_t out) {
  const int64_t d = 2 * int64_t{out};
  const int64_t max_s = (int64_t{in} - 1) * d;
  std::vector<AxisTap> taps(out);
  for (int32_t o = 0; o < out; ++o) {
    int64_t s = (2 * int64_t{o} + 1) * in - out;
    s = std::clamp<int64_t>(s, 0, max_s);
    const int64_t i0 = s / d;
    taps[o].i0 = static_cast<int32_t>(i0);
    taps[o].i1 = static_cast<int32_t>(std::min<int64_t>(i0 + 1, in - 1));
    taps[o].f = s - i0 * d;
  }
  return taps;
}

}  // namespace

absl::StatusOr<ResizeMode> ParseResizeMode(absl::string_view name) {
  if (name == "none") return ResizeMode::kNone;
  if (name == "pad") return ResizeMode::kPad;
  if (name == "resize") return ResizeMode::kResize;
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown resize mode \"%s\": expected one of none, pad, resize", name));
}

const char* ResizeModeName(ResizeMode mode) {
  switch (mode) {
    case ResizeMode::kNone:
      return "none";
    case ResizeMode::kPad:
      return "pad";
    case ResizeMode::kResize:
      return "resize";
  }
  return "unknown";
}

void PadPlane(const uint8_t* src, int32_t h, int32_t w, int32_t top,
              int32_t left, int32_t out_h, int32_t out_w, uint8_t* dst) {
  std::memset(dst, 0, static_cast<size_t>(out_h) * out_w);
  for (int32_t y = 0; y < h; ++y) {
    std::memcpy(dst + static_cast<size_t>(y + top) * out_w + left,
                src + static_cast<size_t>(y) * w, static_cast<size_t>(w));
  }
}

void ResizePlaneBilinear(const uint8_t* src, int32_t h, int32_t w,
                         int32_t out_h, int32_t out_w, uint8_t* dst) {
  const std::vector<AxisTap> ys = AxisTaps(h, out_h);
  const std::vector<AxisTap> xs = AxisTaps(w, out_w);
  const int64_t dy = 2 * int64_t{out_h};
  const int64_t dx = 2 * int64_t{out_w};
  const int64_t total = dy * dx;
  for (int32_t oy = 0; oy < out_h; ++oy) {
    const AxisTap& ty = ys[oy];
    const uint8_t* row0 = src + static_cast<size_t>(ty.i0) * w;
    const uint8_t* row1 = src + static_cast<size_t>(ty.i1) * w;
    for (int32_t ox = 0; ox < out_w; ++ox) {
      const AxisTap& tx = xs[ox];
      const int64_t top =
          row0[tx.i0] * (dx - tx.f) + row0[tx.i1] * tx.f;
      const int64_t bottom =
          row1[tx.i0] * (dx - tx.f) + row1[tx.i1] * tx.f;
      const int64_t acc = top * (dy - ty.f) + bottom * ty.f;
      dst[static_cast<size_t>(oy) * out_w + ox] =
          static_cast<uint8_t>((acc + total / 2) / total);
    }
  }
}

absl::StatusOr<RawDataset> ApplyGeometry(RawDataset dataset, ResizeMode mode,
                                         int32_t out_h, int32_t out_w) {
  if (out_h <= 0 || out_w <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ApplyGeometry: expected a positive target size, found %dx%d", out_h,
        out_w));
  }
  if (mode == ResizeMode::kNone ||
      (dataset.height == out_h && dataset.width == out_w)) {
    return dataset;
  }
  const int32_t h = dataset.height, w = dataset.width;
  if (mode == ResizeMode::kPad && (out_h < h || out_w < w)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ApplyGeometry: padding needs a target at least as large as the "
        "images; expected >= %dx%d, found target %dx%d (use resize)",
        h, w, out_h, out_w));
  }
  const int64_t planes = dataset.num_images * dataset.channels;
  const int64_t in_plane = int64_t{h} * w;
  const int64_t out_plane = int64_t{out_h} * out_w;
  std::vector<uint8_t> out(static_cast<size_t>(planes * out_plane));
  for (int64_t p = 0; p < planes; ++p) {
    const uint8_t* src = dataset.pixels.data() + p * in_plane;
    uint8_t* dst = out.data() + p * out_plane;
    if (mode == ResizeMode::kPad) {
      PadPlane(src, h, w, (out_h - h) / 2, (out_w - w) / 2, out_h, out_w, dst);
    } else {
      ResizePlaneBilinear(src, h, w, out_h, out_w, dst);
    }
  }
  dataset.pixels = std::move(out);
  dataset.height = out_h;
  dataset.width = out_w;
  return dataset;
}

}  // namespace nftcim::data
