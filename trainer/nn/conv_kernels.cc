// Convolution and fully connected kernels (NHWC), see kernels.h.
//
// Every multiply here is one of two register-blocked "gather" products:
//
//  * GatherGemm (forward and backward-data):
//      out[row, col] = sum_{t, c} in[in_off(row) + tap_off[t] + c] * w[t, c, col]
//    Each output row is one output pixel; its input is read straight from the
//    (zero-padded) NHWC image: tap t of the kernel window is the pixel at
//    in_off(row) + tap_off[t], and its channels are contiguous. A tile of MR
//    rows x NV vectors of columns lives in registers; each step broadcasts MR
//    input values and loads NV weight vectors. No im2col buffer is built.
//
//  * GatherGemmTN (weight gradients):
//      out[k, col] = sum_row a[a_off(row) + koff[k]] * b[row, col]
//    a tile of MR k's x NV column vectors; the reduction over rows runs in
//    blocks of rows that stay in L1, the tile's partial sums in memory.
//
// Backward-data of a strided convolution is split into stride^2 "phases"
// (input pixels with the same position modulo the stride); each phase is an
// ordinary stride-1 gather product over the zero-padded output gradient with
// the subset of kernel taps that reach it, so no work is wasted on zeros.

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <vector>

#include "trainer/nn/kernels.h"
#include "trainer/nn/parallel.h"
#include "trainer/nn/simd.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn::kernels {
namespace {

using simd::Fma;
using simd::kLanes;
using simd::Load;
using simd::LoadN;
using simd::Splat;
using simd::Store;
using simd::StoreN;
using simd::Vec;

#if defined(__AVX512F__)
constexpr int kMaxNv = 4;
// Rows per forward tile for a call whose widest column chunk has NV vectors
// (MR*NV accumulators of the 32 vector registers; MR row pointers must fit in
// the general registers too).
constexpr int kMrFwd[5] = {0, 8, 8, 8, 6};
#else
constexpr int kMaxNv = 2;
constexpr int kMrFwd[3] = {0, 4, 4};
#endif
constexpr int kChunkCols = kMaxNv * kLanes;
constexpr int kRowBlock = 96;      // rows per forward piece; a multiple of every kMrFwd
constexpr int kWgtRowBlock = 128;  // rows of a weight-gradient reduction kept in cache
constexpr int kWgtUnitBlocks = 4;  // k-blocks per weight-gradient piece
constexpr int64_t kGroupRows = 16384;
constexpr int kMaxGroups = 4;

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t CeilDiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Grow-only scratch buffers of the calling (orchestrating) thread.
struct Scratch {
  Tensor packed;   // packed weights
  Tensor bpad;     // column-padded copy of a gradient
  Tensor product;  // weight-gradient product (+ group partials)
  Tensor zeros;    // never written after zeroing: the padding "pixel"
};
Scratch& GetScratch() {
  thread_local Scratch s;
  return s;
}
float* Grow(Tensor& t, int64_t n) {
  t.Resize({std::max<int64_t>(n, 1)});
  return t.data();
}
// At least n + kLanes zero floats.
const float* Zeros(int64_t n) {
  Tensor& z = GetScratch().zeros;
  if (z.size() < n + kLanes) z.ResizeZero({n + kLanes});
  return z.data();
}

// ---------------------------------------------------------------------------
// Gathered operands.
//
// Row r = (n, i, j) of a batch x grid_h x grid_w grid. Its tap t is the pixel
// (i*stride + dy[t], j*stride + dx[t]) of image n of `in` (NHWC,
// h x w x chans), or a row of zeros where that falls outside the image: zero
// padding without a padded copy.
struct Gather {
  const float* in = nullptr;
  int64_t batch = 0;
  int h = 1, w = 1, chans = 0;
  int grid_h = 1, grid_w = 1;
  int stride = 1;
  std::vector<int> dy, dx;  // per tap
  int taps() const { return static_cast<int>(dy.size()); }
  int64_t rows() const { return batch * grid_h * grid_w; }
};

// Walks rows r0 .. r0+nr-1, calling fn(k, n, i, j) for the k-th.
template <typename Fn>
void ForRows(const Gather& g, int64_t r0, int nr, Fn fn) {
  const int64_t per_img = static_cast<int64_t>(g.grid_h) * g.grid_w;
  int64_t n = r0 / per_img;
  const int64_t rem = r0 % per_img;
  int i = static_cast<int>(rem / g.grid_w);
  int j = static_cast<int>(rem % g.grid_w);
  for (int k = 0; k < nr; ++k) {
    fn(k, n, i, j);
    if (++j == g.grid_w) {
      j = 0;
      if (++i == g.grid_h) {
        i = 0;
        ++n;
      }
    }
  }
}

// Per-call facts about a Gather's taps: offsets within an image and the
// extent of the window, to test a whole row for "interior" at once.
struct TapInfo {
  std::vector<int64_t> off;  // (dy*w + dx)*chans
  int dy_min = 0, dy_max = 0, dx_min = 0, dx_max = 0;
};
TapInfo MakeTapInfo(const Gather& g) {
  TapInfo ti;
  for (int t = 0; t < g.taps(); ++t) {
    ti.off.push_back((static_cast<int64_t>(g.dy[t]) * g.w + g.dx[t]) * g.chans);
  }
  if (g.taps() > 0) {
    ti.dy_min = *std::min_element(g.dy.begin(), g.dy.end());
    ti.dy_max = *std::max_element(g.dy.begin(), g.dy.end());
    ti.dx_min = *std::min_element(g.dx.begin(), g.dx.end());
    ti.dx_max = *std::max_element(g.dx.begin(), g.dx.end());
  }
  return ti;
}

// ptr[slot(k, t)] = the tap-t input row of row r0+k, for k < nr; slot(k, t)
// is ((k / mr) * taps + t) * mr + k % mr (tile-major: the mr rows of a tile
// are adjacent for each tap). Slots of rows nr .. RoundUp(nr, mr) get zeros.
void TapPointers(const Gather& g, const TapInfo& ti, int64_t r0, int nr,
                 int mr, const float* zeros, const float** ptr) {
  const int taps = g.taps();
  const int64_t img_size = static_cast<int64_t>(g.h) * g.w * g.chans;
  const int64_t* off = ti.off.data();
  // slot(k, 0), advanced row by row without divisions.
  int tile = 0, lane = 0;
  ForRows(g, r0, nr, [&](int, int64_t n, int i, int j) {
    const float** slots = ptr + static_cast<int64_t>(tile) * taps * mr + lane;
    if (++lane == mr) {
      lane = 0;
      ++tile;
    }
    const int y0 = i * g.stride, x0 = j * g.stride;
    const float* base = g.in + n * img_size +
                        (static_cast<int64_t>(y0) * g.w + x0) * g.chans;
    if (y0 + ti.dy_min >= 0 && y0 + ti.dy_max < g.h && x0 + ti.dx_min >= 0 &&
        x0 + ti.dx_max < g.w) {
      for (int t = 0; t < taps; ++t) slots[t * mr] = base + off[t];
      return;
    }
    for (int t = 0; t < taps; ++t) {
      const int y = y0 + g.dy[t], x = x0 + g.dx[t];
      slots[t * mr] =
          (y >= 0 && y < g.h && x >= 0 && x < g.w) ? base + off[t] : zeros;
    }
  });
  for (int k = nr; k < RoundUp(nr, mr); ++k) {
    const float** slots = ptr + static_cast<int64_t>(tile) * taps * mr + lane;
    for (int t = 0; t < taps; ++t) slots[t * mr] = zeros;
    if (++lane == mr) {
      lane = 0;
      ++tile;
    }
  }
}

// dst[0, n) = src[0, n), inline (runs are short: one pixel's channels).
inline void CopyRun(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) Store(dst + i, Load(src + i));
  if (i < n) StoreN(dst + i, LoadN(src + i, static_cast<int>(n - i)), static_cast<int>(n - i));
}

// col[r * ldcol + (k - k0)] = A[r0 + r, k] for k in [k0, k1), where
// A[row, t*chans + c] = tap_t(row)[c] (zero outside the image or k >= K):
// an im2col of a block of rows, restricted to some columns.
void GatherCols(const Gather& g, const TapInfo& ti, int64_t r0, int nr,
                int64_t k0, int64_t k1, float* col, int64_t ldcol) {
  const int chans = g.chans;
  const int64_t K = static_cast<int64_t>(g.taps()) * chans;
  const int64_t kend = std::min(k1, K);
  const int64_t t_first = k0 / chans, c_first = k0 % chans;
  const int64_t img_size = static_cast<int64_t>(g.h) * g.w * chans;
  const int64_t* off = ti.off.data();
  ForRows(g, r0, nr, [&](int r, int64_t n, int i, int j) {
    float* dst = col + r * ldcol - k0;
    const int y0 = i * g.stride, x0 = j * g.stride;
    const float* base = g.in + n * img_size +
                        (static_cast<int64_t>(y0) * g.w + x0) * chans;
    const bool interior = y0 + ti.dy_min >= 0 && y0 + ti.dy_max < g.h &&
                          x0 + ti.dx_min >= 0 && x0 + ti.dx_max < g.w;
    int64_t k = k0, t = t_first, c = c_first;
    if (chans == 1) {
      if (interior) {
        for (; k < kend; ++k, ++t) dst[k] = base[off[t]];
      } else {
        for (; k < kend; ++k, ++t) {
          const int y = y0 + g.dy[t], x = x0 + g.dx[t];
          dst[k] = (y >= 0 && y < g.h && x >= 0 && x < g.w) ? base[off[t]] : 0.0f;
        }
      }
    } else {
      for (; k < kend; ++t, c = 0) {
        const int64_t len = std::min<int64_t>(chans - c, kend - k);
        const int y = y0 + g.dy[t], x = x0 + g.dx[t];
        if (interior || (y >= 0 && y < g.h && x >= 0 && x < g.w)) {
          CopyRun(dst + k, base + off[t] + c, len);
        } else {
          for (int64_t q = 0; q < len; ++q) dst[k + q] = 0.0f;
        }
        k += len;
      }
    }
    for (; k < k1; ++k) dst[k] = 0.0f;
  });
}

// Output row (n, i, j) is out + base + n*img + i*row + j*col.
struct OutMap {
  float* out = nullptr;
  int64_t base = 0, img = 0, row = 0, col = 0;
};

// ---------------------------------------------------------------------------
// GatherGemm: out[row, col] = epilogue(sum_{t,c} tap_t(row)[c] * w[t*chans + c, col])

struct FwdArgs {
  const float* w = nullptr;  // [taps*chans, ldw], ldw >= ncols rounded up to kLanes
  int64_t ldw = 0;
  int ncols = 0;
  Epilogue epi;
};

template <int MR, int NV>
void FwdTile(const float* const* tp, int taps, int chans, const FwdArgs& a,
             int col0, float* const* out_rows) {
  // With one column vector, two accumulator sets (even / odd channels) keep
  // enough independent multiply-adds in flight.
  constexpr int KS = NV == 1 ? 2 : 1;
  Vec acc[KS][MR][NV];
#pragma GCC unroll 2
  for (int s = 0; s < KS; ++s)
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[s][i][v] = Vec{};

  const int64_t ldw = a.ldw;
  for (int t = 0; t < taps; ++t) {
    const float* p[MR];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) p[i] = tp[t * MR + i];
    const float* wt = a.w + static_cast<int64_t>(t) * chans * ldw + col0;
    int c = 0;
    if constexpr (KS == 2) {
      for (; c + 1 < chans; c += 2, wt += 2 * ldw) {
        const Vec b0 = Load(wt), b1 = Load(wt + ldw);
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
          acc[0][i][0] = Fma(Splat(p[i][c]), b0, acc[0][i][0]);
          acc[1][i][0] = Fma(Splat(p[i][c + 1]), b1, acc[1][i][0]);
        }
      }
    }
    for (; c < chans; ++c, wt += ldw) {
      Vec b[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) b[v] = Load(wt + v * kLanes);
#pragma GCC unroll 32
      for (int i = 0; i < MR; ++i) {
        const Vec x = Splat(p[i][c]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[0][i][v] = Fma(x, b[v], acc[0][i][v]);
      }
    }
  }
  if constexpr (KS == 2) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) acc[0][i][0] += acc[1][i][0];
  }

  const Epilogue& e = a.epi;
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const int col = col0 + v * kLanes;
    const int n = std::min(kLanes, a.ncols - col);
    if (n <= 0) break;
    const bool full = n == kLanes;
    const Vec scale = e.scale == nullptr ? Splat(1.0f)
                      : full            ? Load(e.scale + col)
                                        : LoadN(e.scale + col, n);
    const Vec shift = e.shift == nullptr ? Vec{}
                      : full            ? Load(e.shift + col)
                                        : LoadN(e.shift + col, n);
    const bool affine = e.scale != nullptr || e.shift != nullptr;
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      Vec r = acc[0][i][v];
      if (affine) r = Fma(r, scale, shift);
      if (e.relu) r = simd::Max(r, Vec{});
      float* o = out_rows[i] + v * kLanes;
      if (full) {
        if (e.accumulate) r += Load(o);
        Store(o, r);
      } else {
        if (e.accumulate) r += LoadN(o, n);
        StoreN(o, r, n);
      }
    }
  }
}

template <int MR, int NV>
void RunFwdTiles(const float* const* tab, int taps, int chans, int nr,
                 float* const* outp, float* dummy, const FwdArgs& a,
                 int col0) {
  for (int r = 0; r < nr; r += MR) {
    float* op[MR];
    for (int i = 0; i < MR; ++i) op[i] = r + i < nr ? outp[r + i] + col0 : dummy;
    FwdTile<MR, NV>(tab + (r / MR) * taps * MR, taps, chans, a, col0, op);
  }
}

void GatherGemm(const Gather& g, const OutMap& om, const FwdArgs& a) {
  const int64_t rows = g.rows();
  if (rows == 0 || a.ncols == 0) return;
  const int taps = g.taps();
  const int nvmax =
      static_cast<int>(std::min<int64_t>(kMaxNv, CeilDiv(a.ncols, kLanes)));
  const int mr = kMrFwd[nvmax];
  const TapInfo ti = MakeTapInfo(g);
  const bool small = g.chans < 4 && taps > 1;
  const float* zeros = Zeros(small ? static_cast<int64_t>(taps) * g.chans : g.chans);
  // Small problems (fully connected layers: one row per image) get smaller
  // pieces so that both threads have work; results do not depend on this.
  const int row_block = static_cast<int>(
      std::clamp<int64_t>(RoundUp(CeilDiv(rows, 8), mr), mr, kRowBlock));
  const int64_t nblocks = CeilDiv(rows, row_block);
  ParallelFor(nblocks, [&](int64_t b0, int64_t b1, int) {
    alignas(64) float dummy[kChunkCols];
    // Per-thread buffers, kept across calls (no allocation per call).
    thread_local std::vector<const float*> tab;
    thread_local std::vector<float> col;
    tab.resize(static_cast<size_t>(kRowBlock) * taps);
    if (small) col.resize(static_cast<size_t>(kRowBlock) * taps * g.chans);
    float* outp[kRowBlock];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t r0 = blk * row_block;
      const int nr = static_cast<int>(std::min<int64_t>(row_block, rows - r0));
      int ktaps = taps, kchans = g.chans;
      if (small) {
        // Tiny channel runs (a first layer): gather the block's rows into a
        // contiguous [nr, taps*chans] buffer once, then multiply it as one
        // "tap" with taps*chans channels.
        const int64_t K = static_cast<int64_t>(taps) * g.chans;
        GatherCols(g, ti, r0, nr, 0, K, col.data(), K);
        // One tap: the tile-major slot of row k is k itself.
        for (int k = 0; k < RoundUp(nr, mr); ++k) tab[k] = k < nr ? col.data() + k * K : zeros;
        ktaps = 1;
        kchans = static_cast<int>(K);
      } else {
        TapPointers(g, ti, r0, nr, mr, zeros, tab.data());
      }
      ForRows(g, r0, nr, [&](int k, int64_t n, int i, int j) {
        outp[k] = om.out + om.base + n * om.img + i * om.row + j * om.col;
      });
      for (int col0 = 0; col0 < a.ncols; col0 += kChunkCols) {
        const int nv = static_cast<int>(
            std::min<int64_t>(kMaxNv, CeilDiv(a.ncols - col0, kLanes)));
        const float* const* t = tab.data();
#if defined(__AVX512F__)
        if (mr == 8) {
          switch (nv) {
            case 1: RunFwdTiles<8, 1>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
            case 2: RunFwdTiles<8, 2>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
            case 3: RunFwdTiles<8, 3>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
            default: assert(false);
          }
        } else {
          switch (nv) {
            case 1: RunFwdTiles<6, 1>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
            case 2: RunFwdTiles<6, 2>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
            case 3: RunFwdTiles<6, 3>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
            case 4: RunFwdTiles<6, 4>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
            default: assert(false);
          }
        }
#else
        switch (nv) {
          case 1: RunFwdTiles<4, 1>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
          case 2: RunFwdTiles<4, 2>(t, ktaps, kchans, nr, outp, dummy, a, col0); break;
          default: assert(false);
        }
#endif
      }
    }
  });
}

// ---------------------------------------------------------------------------
// GatherGemmTN: product[k, col] = sum_row A[row, k] * b[row, col], where
// A[row, t*chans + c] = tap_t(row)[c]. Per block of rows the needed columns
// of A are copied to a small contiguous buffer (im2col of kWgtRowBlock rows),
// so the micro-kernel reads its MR k's at fixed offsets.

template <int MR, int NV>
void WgtTile(const float* a, int64_t lda, int nrows, const float* b,
             int64_t ldb, float* out, int64_t ldo) {
  Vec acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = Load(out + i * ldo + v * kLanes);
  for (int r = 0; r < nrows; ++r, a += lda, b += ldb) {
    Vec bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = Load(b + v * kLanes);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const Vec x = Splat(a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = Fma(x, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) Store(out + i * ldo + v * kLanes, acc[i][v]);
}

template <int MR, int NV>
void RunWgtTiles(const float* col, int64_t ldcol, int nrows, int64_t k0,
                 int64_t k1, const float* b, int64_t ldb, float* out,
                 int64_t ldo) {
  for (int64_t k = k0; k < k1; k += MR) {
    WgtTile<MR, NV>(col + (k - k0), ldcol, nrows, b, ldb, out + k * ldo, ldo);
  }
}

// Allowed k-block sizes per column-vector count, largest first.
#if defined(__AVX512F__)
const std::vector<int>& WgtMrChoices(int nv) {
  static const std::vector<int> c[5] = {{}, {16, 12, 8, 6}, {12, 8, 6}, {8, 6}, {6}};
  return c[nv];
}
#else
const std::vector<int>& WgtMrChoices(int nv) {
  static const std::vector<int> c[3] = {{}, {8, 4}, {4}};
  return c[nv];
}
#endif

template <int NV>
void DispatchWgt(int mr, const float* col, int64_t ldcol, int nrows,
                 int64_t k0, int64_t k1, const float* b, int64_t ldb,
                 float* out, int64_t ldo) {
#if defined(__AVX512F__)
  switch (mr) {
    case 16: if constexpr (NV <= 1) { RunWgtTiles<16, NV>(col, ldcol, nrows, k0, k1, b, ldb, out, ldo); return; } break;
    case 12: if constexpr (NV <= 2) { RunWgtTiles<12, NV>(col, ldcol, nrows, k0, k1, b, ldb, out, ldo); return; } break;
    case 8: if constexpr (NV <= 3) { RunWgtTiles<8, NV>(col, ldcol, nrows, k0, k1, b, ldb, out, ldo); return; } break;
    case 6: RunWgtTiles<6, NV>(col, ldcol, nrows, k0, k1, b, ldb, out, ldo); return;
  }
#else
  switch (mr) {
    case 8: if constexpr (NV <= 1) { RunWgtTiles<8, NV>(col, ldcol, nrows, k0, k1, b, ldb, out, ldo); return; } break;
    case 4: RunWgtTiles<4, NV>(col, ldcol, nrows, k0, k1, b, ldb, out, ldo); return;
  }
#endif
  assert(false);
}

// product (G groups x kp x ldo, kp = K rounded up to the k-block) gets, in its
// first kp x ldo, product[k, col] for k < K, col < ldo. b has ldb >= ldo
// columns readable (ldo a multiple of kLanes). Returns nothing; rows are
// reduced in groups fixed by the row count, the groups summed in order.
void GatherGemmTN(const Gather& g, const float* b, int64_t ldb, int64_t ldo,
                  Tensor* product) {
  const int taps = g.taps();
  const int chans = g.chans;
  const int64_t K = static_cast<int64_t>(taps) * chans;
  const int64_t rows = g.rows();
  const int nvmax = static_cast<int>(std::min<int64_t>(kMaxNv, ldo / kLanes));
  const std::vector<int>& choices = WgtMrChoices(nvmax);
  int mr = choices.front();
  for (int c : choices)
    if (c >= K) mr = c;  // small K: the smallest block that covers it
  const int64_t kp = RoundUp(K, mr);
  const int64_t unit = static_cast<int64_t>(mr) * kWgtUnitBlocks;
  const int64_t nu = CeilDiv(kp, unit);
  const int groups = static_cast<int>(
      std::clamp<int64_t>(rows / kGroupRows, 1, kMaxGroups));
  product->ResizeZero({groups * kp * ldo});
  if (rows == 0) return;
  const TapInfo ti = MakeTapInfo(g);
  float* const base = product->data();

  ParallelFor(groups * nu, [&](int64_t t0, int64_t t1, int) {
    // Per-thread buffers, kept across calls (no allocation per call).
    thread_local std::vector<float> col;
    for (int64_t task = t0; task < t1;) {
      const int64_t grp = task / nu;
      const int64_t u0 = task % nu;
      const int64_t u1 = std::min(nu, u0 + (t1 - task));
      task += u1 - u0;
      const int64_t k0 = u0 * unit, k1 = std::min(kp, u1 * unit);
      const int64_t ldcol = k1 - k0;
      col.resize(static_cast<size_t>(kWgtRowBlock) * ldcol);
      float* part = base + grp * kp * ldo;
      const int64_t r_begin = rows * grp / groups;
      const int64_t r_end = rows * (grp + 1) / groups;
      for (int64_t r0 = r_begin; r0 < r_end; r0 += kWgtRowBlock) {
        const int nr = static_cast<int>(std::min<int64_t>(kWgtRowBlock, r_end - r0));
        GatherCols(g, ti, r0, nr, k0, k1, col.data(), ldcol);
        for (int64_t col0 = 0; col0 < ldo; col0 += kChunkCols) {
          const int nv = static_cast<int>(std::min<int64_t>(kMaxNv, (ldo - col0) / kLanes));
          const float* bb = b + r0 * ldb + col0;
          float* oo = part + col0;
          switch (nv) {
            case 1: DispatchWgt<1>(mr, col.data(), ldcol, nr, k0, k1, bb, ldb, oo, ldo); break;
            case 2: DispatchWgt<2>(mr, col.data(), ldcol, nr, k0, k1, bb, ldb, oo, ldo); break;
#if defined(__AVX512F__)
            case 3: DispatchWgt<3>(mr, col.data(), ldcol, nr, k0, k1, bb, ldb, oo, ldo); break;
            case 4: DispatchWgt<4>(mr, col.data(), ldcol, nr, k0, k1, bb, ldb, oo, ldo); break;
#endif
            default: assert(false);
          }
        }
      }
    }
  });
  if (groups > 1) {
    const int64_t len = K * ldo;
    ParallelFor(CeilDiv(len, 4096), [&](int64_t c0, int64_t c1, int) {
      const int64_t e0 = c0 * 4096, e1 = std::min(len, c1 * 4096);
      for (int grp = 1; grp < groups; ++grp) {
        const float* src = base + grp * kp * ldo;
        for (int64_t e = e0; e < e1; ++e) base[e] += src[e];
      }
    });
  }
}

// b (rows x cols, row stride cols) with rows padded to a multiple of kLanes
// floats, if needed. Returns the stride to use.
const float* PadColumns(const float* b, int64_t rows, int cols, Tensor* buf,
                        int64_t* ldb) {
  const int64_t ld = RoundUp(cols, kLanes);
  *ldb = ld;
  if (ld == cols) return b;
  float* dst = Grow(*buf, rows * ld);
  ParallelFor(CeilDiv(rows, 1024), [&](int64_t c0, int64_t c1, int) {
    for (int64_t r = c0 * 1024; r < std::min(rows, c1 * 1024); ++r) {
      std::memcpy(dst + r * ld, b + r * cols, sizeof(float) * cols);
      std::memset(dst + r * ld + cols, 0, sizeof(float) * (ld - cols));
    }
  });
  return dst;
}

// Forward packing: packed[(t*cin + c)*ldw + o] = w[o, c, t], zero for
// o >= cout. Blocks of 16 output channels: 16 sequential read streams and
// contiguous 16-float writes (a plain transpose would read with a large
// stride, one cache line per element).
void PackForward(const float* w, int cout, int cin, int taps, int64_t ldw,
                 float* packed) {
  const int64_t nob = CeilDiv(ldw, 16);
  ParallelFor(nob, [&](int64_t b0, int64_t b1, int) {
    for (int64_t ob = b0; ob < b1; ++ob) {
      const int64_t o0 = ob * 16;
      const int64_t o1 = std::min<int64_t>(cout, o0 + 16);
      const int64_t oe = std::min<int64_t>(ldw, o0 + 16);
      for (int64_t c = 0; c < cin; ++c) {
        for (int64_t t = 0; t < taps; ++t) {
          float* row = packed + (t * cin + c) * ldw;
          for (int64_t o = o0; o < o1; ++o) row[o] = w[(o * cin + c) * taps + t];
          for (int64_t o = std::max(o1, o0); o < oe; ++o) row[o] = 0;
        }
      }
    }
  });
}

// The gathered input of a convolution (forward and weight gradient).
Gather ConvInput(const ConvGeometry& g, const float* x) {
  Gather in;
  in.in = x;
  in.batch = g.batch;
  in.h = g.in_h;
  in.w = g.in_w;
  in.chans = g.in_c;
  in.grid_h = g.out_h();
  in.grid_w = g.out_w();
  in.stride = g.stride;
  for (int u = 0; u < g.kernel_h; ++u)
    for (int v = 0; v < g.kernel_w; ++v) {
      in.dy.push_back(u - g.pad);
      in.dx.push_back(v - g.pad);
    }
  return in;
}

}  // namespace

// ---------------------------------------------------------------------------

void ConvForward(const ConvGeometry& g, const float* x, const float* w,
                 float* y, const Epilogue& epilogue) {
  Scratch& s = GetScratch();
  const int taps = g.kernel_h * g.kernel_w;
  const int64_t ldw = RoundUp(g.out_c, kLanes);
  float* packed = Grow(s.packed, static_cast<int64_t>(taps) * g.in_c * ldw);
  PackForward(w, g.out_c, g.in_c, taps, ldw, packed);
  OutMap om;
  om.out = y;
  om.img = static_cast<int64_t>(g.out_h()) * g.out_w() * g.out_c;
  om.row = static_cast<int64_t>(g.out_w()) * g.out_c;
  om.col = g.out_c;
  FwdArgs a;
  a.w = packed;
  a.ldw = ldw;
  a.ncols = g.out_c;
  a.epi = epilogue;
  GatherGemm(ConvInput(g, x), om, a);
}

void ConvBackwardData(const ConvGeometry& g, const float* dy, const float* w,
                      float* dx, bool accumulate) {
  Scratch& s = GetScratch();
  const int ho = g.out_h(), wo = g.out_w();
  const int st = g.stride, p = g.pad;
  const int kh = g.kernel_h, kw = g.kernel_w;
  const int64_t taps = static_cast<int64_t>(kh) * kw;
  // Input row r = st*i + a receives, from each kernel row u with
  // (a + p - u) divisible by st, the output row i + (a + p - u)/st (zero
  // when out of range).
  auto floordiv = [](int num, int den) {
    return num >= 0 ? num / den : -((-num + den - 1) / den);
  };
  auto delta = [&](int a, int u) { return floordiv(a + p - u, st); };
  auto reaches = [&](int a, int u) { return ((a + p - u) % st + st) % st == 0; };
  auto grid = [&](int in, int a) { return a < in ? (in - a + st - 1) / st : 0; };
  const int64_t ldw = RoundUp(g.in_c, kLanes);
  float* packed = Grow(s.packed, taps * g.out_c * ldw);

  for (int a = 0; a < st; ++a) {
    for (int b = 0; b < st; ++b) {
      Gather src;
      src.in = dy;
      src.batch = g.batch;
      src.h = ho;
      src.w = wo;
      src.chans = g.out_c;
      src.grid_h = grid(g.in_h, a);
      src.grid_w = grid(g.in_w, b);
      src.stride = 1;
      if (src.rows() == 0) continue;
      std::vector<int> tap_index;
      for (int u = 0; u < kh; ++u) {
        if (!reaches(a, u)) continue;
        for (int v = 0; v < kw; ++v) {
          if (!reaches(b, v)) continue;
          src.dy.push_back(delta(a, u));
          src.dx.push_back(delta(b, v));
          tap_index.push_back(u * kw + v);
        }
      }
      OutMap om;
      om.out = dx;
      om.base = (static_cast<int64_t>(a) * g.in_w + b) * g.in_c;
      om.img = static_cast<int64_t>(g.in_h) * g.in_w * g.in_c;
      om.row = static_cast<int64_t>(st) * g.in_w * g.in_c;
      om.col = static_cast<int64_t>(st) * g.in_c;
      const int ntaps = src.taps();
      if (ntaps == 0) {
        // No kernel tap reaches these input pixels: their gradient is 0.
        if (accumulate) continue;
        ParallelFor(src.rows(), [&](int64_t r0, int64_t r1, int) {
          ForRows(src, r0, static_cast<int>(r1 - r0), [&](int, int64_t n, int i, int j) {
            std::memset(dx + om.base + n * om.img + i * om.row + j * om.col, 0,
                        sizeof(float) * g.in_c);
          });
        });
        continue;
      }
      // packed[(ti*cout + o)*ldw + c] = w[o, c, tap_index[ti]]
      ParallelFor(static_cast<int64_t>(ntaps) * g.out_c, [&](int64_t k0, int64_t k1, int) {
        for (int64_t k = k0; k < k1; ++k) {
          const int64_t ti = k / g.out_c, o = k % g.out_c;
          float* row = packed + k * ldw;
          const float* wsrc = w + o * g.in_c * taps + tap_index[ti];
          for (int c = 0; c < g.in_c; ++c) row[c] = wsrc[c * taps];
          for (int64_t c = g.in_c; c < ldw; ++c) row[c] = 0;
        }
      });
      FwdArgs args;
      args.w = packed;
      args.ldw = ldw;
      args.ncols = g.in_c;
      args.epi.accumulate = accumulate;
      GatherGemm(src, om, args);
    }
  }
}

void ConvBackwardWeights(const ConvGeometry& g, const float* x,
                         const float* dy, float* dw) {
  Scratch& s = GetScratch();
  const int taps = g.kernel_h * g.kernel_w;
  const Gather in = ConvInput(g, x);
  int64_t ldb;
  const float* b = PadColumns(dy, in.rows(), g.out_c, &s.bpad, &ldb);
  GatherGemmTN(in, b, ldb, ldb, &s.product);
  // dw[o, c, t] += product[(t*cin + c), o]
  const float* prod = s.product.data();
  ParallelFor(g.out_c, [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; ++o)
      for (int c = 0; c < g.in_c; ++c)
        for (int t = 0; t < taps; ++t)
          dw[(o * g.in_c + c) * taps + t] +=
              prod[(static_cast<int64_t>(t) * g.in_c + c) * ldb + o];
  });
}

void LinearForward(int64_t n, int in, int out, const float* x, const float* w,
                   const float* b, bool relu, float* y) {
  Scratch& s = GetScratch();
  const int64_t ldw = RoundUp(out, kLanes);
  float* packed = Grow(s.packed, static_cast<int64_t>(in) * ldw);
  PackForward(w, out, in, 1, ldw, packed);
  Gather src;
  src.in = x;
  src.batch = n;
  src.chans = in;
  src.dy = {0};
  src.dx = {0};
  OutMap om;
  om.out = y;
  om.img = out;
  FwdArgs a;
  a.w = packed;
  a.ldw = ldw;
  a.ncols = out;
  a.epi.shift = b;
  a.epi.relu = relu;
  GatherGemm(src, om, a);
}

void LinearBackwardData(int64_t n, int in, int out, const float* dy,
                        const float* w, float* dx, bool accumulate) {
  Scratch& s = GetScratch();
  int64_t ldw;
  const float* wp = PadColumns(w, out, in, &s.packed, &ldw);
  Gather src;
  src.in = dy;
  src.batch = n;
  src.chans = out;
  src.dy = {0};
  src.dx = {0};
  OutMap om;
  om.out = dx;
  om.img = in;
  FwdArgs a;
  a.w = wp;
  a.ldw = ldw;
  a.ncols = in;
  a.epi.accumulate = accumulate;
  GatherGemm(src, om, a);
}

void LinearBackwardWeights(int64_t n, int in, int out, const float* x,
                           const float* dy, float* dw, float* db) {
  Scratch& s = GetScratch();
  // product[o, i] = sum_r dy[r, o] * x[r, i]
  Gather src;
  src.in = dy;
  src.batch = n;
  src.chans = out;
  src.dy = {0};
  src.dx = {0};
  int64_t ldb;
  const float* xb = PadColumns(x, n, in, &s.bpad, &ldb);
  GatherGemmTN(src, xb, ldb, ldb, &s.product);
  const float* prod = s.product.data();
  ParallelFor(out, [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; ++o)
      for (int i = 0; i < in; ++i) dw[o * in + i] += prod[o * ldb + i];
  });
  if (db != nullptr) ChannelSum(n, out, dy, db);
}

}  // namespace nftcim::trainer::nn::kernels
