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
// Rows per tile for NV = 1..4 column vectors (accumulators MR*NV <= 24 of
// the 32 vector registers).
constexpr int kMrFwd[5] = {0, 16, 12, 8, 6};
constexpr int kMrWgt[5] = {0, 12, 12, 8, 6};
#else
constexpr int kMaxNv = 2;
constexpr int kMrFwd[3] = {0, 8, 4};
constexpr int kMrWgt[3] = {0, 8, 4};
#endif
constexpr int kChunkCols = kMaxNv * kLanes;
constexpr int kRowBlock = 96;      // rows per forward task piece; multiple of every kMrFwd
constexpr int kKUnit = 24;         // k rows per weight-gradient piece; multiple of every kMrWgt
constexpr int kWgtRowBlock = 128;  // rows of the reduction kept in L1
constexpr int64_t kGroupRows = 16384;
constexpr int kMaxGroups = 4;

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t CeilDiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Grow-only scratch buffers of the calling (orchestrating) thread.
struct Scratch {
  Tensor pad;      // padded input / output gradient
  Tensor packed;   // packed weights
  Tensor bpad;     // column-padded copy of a gradient
  Tensor product;  // weight-gradient product (+ group partials)
  std::vector<int64_t> row_off;
  std::vector<int64_t> koff;
};
Scratch& GetScratch() {
  thread_local Scratch s;
  return s;
}
float* Grow(Tensor& t, int64_t n) {
  t.Resize({std::max<int64_t>(n, 1)});
  return t.data();
}

// ---------------------------------------------------------------------------
// GatherGemm

// Row r = (n, i, j) of a batch x grid_h x grid_w grid reads the input at
// n*in_img + i*in_row + j*in_col and writes the output at
// out_base + n*out_img + i*out_row + j*out_col.
struct RowMap {
  int64_t batch = 0, grid_h = 0, grid_w = 0;
  int64_t in_img = 0, in_row = 0, in_col = 0;
  int64_t out_base = 0, out_img = 0, out_row = 0, out_col = 0;
  int64_t rows() const { return batch * grid_h * grid_w; }
};

void RowOffsets(const RowMap& m, int64_t r0, int nr, int64_t* in_off,
                int64_t* out_off) {
  const int64_t per_img = m.grid_h * m.grid_w;
  int64_t n = r0 / per_img;
  int64_t rem = r0 % per_img;
  int64_t i = rem / m.grid_w;
  int64_t j = rem % m.grid_w;
  for (int k = 0; k < nr; ++k) {
    in_off[k] = n * m.in_img + i * m.in_row + j * m.in_col;
    if (out_off != nullptr) {
      out_off[k] = m.out_base + n * m.out_img + i * m.out_row + j * m.out_col;
    }
    if (++j == m.grid_w) {
      j = 0;
      if (++i == m.grid_h) {
        i = 0;
        ++n;
      }
    }
  }
}

struct GemmArgs {
  const float* in;
  const int64_t* tap_off;
  int ntaps;
  int chans;
  const float* w;  // [ntaps*chans, ldw], ldw >= ncols rounded up to kLanes
  int64_t ldw;
  int ncols;
  float* out;
  Epilogue epi;
};

template <int MR, int NV>
void FwdTile(const float* const* in_rows, const GemmArgs& a, int col0,
             float* const* out_rows) {
  Vec acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = Vec{};

  const int64_t ldw = a.ldw;
  const int chans = a.chans;
  for (int t = 0; t < a.ntaps; ++t) {
    const float* p[MR];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) p[i] = in_rows[i] + a.tap_off[t];
    const float* wt = a.w + static_cast<int64_t>(t) * chans * ldw + col0;
    for (int c = 0; c < chans; ++c, wt += ldw) {
      Vec b[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) b[v] = Load(wt + v * kLanes);
#pragma GCC unroll 32
      for (int i = 0; i < MR; ++i) {
        const Vec x = Splat(p[i][c]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[i][v] = Fma(x, b[v], acc[i][v]);
      }
    }
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
      Vec r = acc[i][v];
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

template <int NV>
void RunFwdTiles(const GemmArgs& a, const int64_t* in_off,
                 const int64_t* out_off, int nr, int col0, float* dummy) {
  constexpr int MR = kMrFwd[NV];
  for (int r = 0; r < nr; r += MR) {
    const float* ip[MR];
    float* op[MR];
    for (int i = 0; i < MR; ++i) {
      const int rr = r + i;
      if (rr < nr) {
        ip[i] = a.in + in_off[rr];
        op[i] = a.out + out_off[rr] + col0;
      } else {
        ip[i] = a.in + in_off[nr - 1];  // a real row, its result discarded
        op[i] = dummy;
      }
    }
    FwdTile<MR, NV>(ip, a, col0, op);
  }
}

void GatherGemm(const RowMap& m, const GemmArgs& a) {
  const int64_t rows = m.rows();
  if (rows == 0 || a.ncols == 0) return;
  const int64_t nblocks = CeilDiv(rows, kRowBlock);
  ParallelFor(nblocks, [&](int64_t b0, int64_t b1, int) {
    alignas(64) float dummy[kChunkCols] = {};
    int64_t in_off[kRowBlock];
    int64_t out_off[kRowBlock];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t r0 = blk * kRowBlock;
      const int nr = static_cast<int>(std::min<int64_t>(kRowBlock, rows - r0));
      RowOffsets(m, r0, nr, in_off, out_off);
      for (int col0 = 0; col0 < a.ncols; col0 += kChunkCols) {
        const int nv = static_cast<int>(
            std::min<int64_t>(kMaxNv, CeilDiv(a.ncols - col0, kLanes)));
        switch (nv) {
          case 1: RunFwdTiles<1>(a, in_off, out_off, nr, col0, dummy); break;
          case 2: RunFwdTiles<2>(a, in_off, out_off, nr, col0, dummy); break;
#if defined(__AVX512F__)
          case 3: RunFwdTiles<3>(a, in_off, out_off, nr, col0, dummy); break;
          case 4: RunFwdTiles<4>(a, in_off, out_off, nr, col0, dummy); break;
#endif
          default: assert(false);
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------
// GatherGemmTN

template <int MR, int NV>
void WgtTile(const float* a, const int64_t* a_off, int nrows,
             const int64_t* koff, const float* b, int64_t ldb, float* out,
             int64_t ldo) {
  Vec acc[MR][NV];
  int64_t ko[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    ko[i] = koff[i];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = Load(out + i * ldo + v * kLanes);
  }
  for (int r = 0; r < nrows; ++r, b += ldb) {
    const float* ar = a + a_off[r];
    Vec bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = Load(b + v * kLanes);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const Vec x = Splat(ar[ko[i]]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = Fma(x, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) Store(out + i * ldo + v * kLanes, acc[i][v]);
}

template <int NV>
void RunWgtTiles(const float* a, const int64_t* a_off, int nrows,
                 const int64_t* koff, int64_t k0, int64_t k1, const float* b,
                 int64_t ldb, float* out, int64_t ldo) {
  constexpr int MR = kMrWgt[NV];
  for (int64_t k = k0; k < k1; k += MR) {
    WgtTile<MR, NV>(a, a_off, nrows, koff + k, b, ldb, out + k * ldo, ldo);
  }
}

// out[k, col] = sum_{row < rows} a[a_off[row] + koff[k]] * b[row*ldb + col]
// for k < K (out has RoundUp(K, kKUnit) rows; the extra ones are scratch)
// and col < ldo, ldo a multiple of kLanes, ldb >= ldo. Rows are reduced in
// groups fixed by `rows`, the groups then summed in order.
void GatherGemmTN(int64_t rows, const int64_t* a_off, const float* a,
                  const std::vector<int64_t>& koff_in, const float* b,
                  int64_t ldb, int64_t ldo, Tensor* product) {
  const int64_t K = static_cast<int64_t>(koff_in.size());
  const int64_t kp = RoundUp(K, kKUnit);
  const int groups = static_cast<int>(
      std::clamp<int64_t>(rows / kGroupRows, 1, kMaxGroups));
  product->ResizeZero({groups * kp * ldo});
  std::vector<int64_t> koff(koff_in);
  koff.resize(kp, 0);
  if (rows == 0) return;

  const int64_t nku = kp / kKUnit;
  float* const base = product->data();
  ParallelFor(groups * nku, [&](int64_t t0, int64_t t1, int) {
    for (int64_t task = t0; task < t1;) {
      const int64_t g = task / nku;
      const int64_t u0 = task % nku;
      const int64_t u1 = std::min(nku, u0 + (t1 - task));
      task += u1 - u0;
      float* part = base + g * kp * ldo;
      const int64_t r_begin = rows * g / groups;
      const int64_t r_end = rows * (g + 1) / groups;
      for (int64_t r0 = r_begin; r0 < r_end; r0 += kWgtRowBlock) {
        const int nr = static_cast<int>(std::min<int64_t>(kWgtRowBlock, r_end - r0));
        for (int64_t col0 = 0; col0 < ldo; col0 += kChunkCols) {
          const int nv = static_cast<int>(
              std::min<int64_t>(kMaxNv, (ldo - col0) / kLanes));
          const float* bb = b + r0 * ldb + col0;
          float* oo = part + col0;
          const int64_t k0 = u0 * kKUnit, k1 = u1 * kKUnit;
          switch (nv) {
            case 1: RunWgtTiles<1>(a, a_off + r0, nr, koff.data(), k0, k1, bb, ldb, oo, ldo); break;
            case 2: RunWgtTiles<2>(a, a_off + r0, nr, koff.data(), k0, k1, bb, ldb, oo, ldo); break;
#if defined(__AVX512F__)
            case 3: RunWgtTiles<3>(a, a_off + r0, nr, koff.data(), k0, k1, bb, ldb, oo, ldo); break;
            case 4: RunWgtTiles<4>(a, a_off + r0, nr, koff.data(), k0, k1, bb, ldb, oo, ldo); break;
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
      for (int g = 1; g < groups; ++g) {
        const float* src = base + g * kp * ldo;
        for (int64_t e = e0; e < e1; ++e) base[e] += src[e];
      }
    });
  }
}

// Row offsets of every row of a RowMap, in parallel.
void AllRowOffsets(const RowMap& m, std::vector<int64_t>* off) {
  const int64_t rows = m.rows();
  off->resize(std::max<int64_t>(rows, 1));
  ParallelFor(CeilDiv(rows, 4096), [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = c * 4096;
      const int nr = static_cast<int>(std::min<int64_t>(4096, rows - r0));
      RowOffsets(m, r0, nr, off->data() + r0, nullptr);
    }
  });
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

// Copies NHWC x into a zero-bordered [batch, h+pt+pb, w+pl+pr, c] buffer.
const float* PadImage(const float* x, int64_t batch, int h, int w, int c,
                      int pt, int pb, int pl, int pr, Tensor* buf) {
  if (pt == 0 && pb == 0 && pl == 0 && pr == 0) return x;
  const int64_t hp = h + pt + pb, wp = w + pl + pr;
  float* dst = Grow(*buf, batch * hp * wp * c);
  ParallelFor(batch * hp, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / hp, i = r % hp - pt;
      float* row = dst + r * wp * c;
      if (i < 0 || i >= h) {
        std::memset(row, 0, sizeof(float) * wp * c);
        continue;
      }
      std::memset(row, 0, sizeof(float) * pl * c);
      std::memcpy(row + static_cast<int64_t>(pl) * c,
                  x + ((n * h + i) * w) * c, sizeof(float) * w * c);
      std::memset(row + static_cast<int64_t>(pl + w) * c, 0,
                  sizeof(float) * pr * c);
    }
  });
  return dst;
}

// Forward packing: packed[(t*cin + c)*ldw + o] = w[o, c, t], zero for
// o >= cout.
void PackForward(const float* w, int cout, int cin, int taps, int64_t ldw,
                 float* packed) {
  const int64_t k = static_cast<int64_t>(taps) * cin;
  ParallelFor(k, [&](int64_t k0, int64_t k1, int) {
    for (int64_t kk = k0; kk < k1; ++kk) {
      const int64_t t = kk / cin, c = kk % cin;
      float* row = packed + kk * ldw;
      for (int o = 0; o < cout; ++o) row[o] = w[(o * cin + c) * taps + t];
      for (int64_t o = cout; o < ldw; ++o) row[o] = 0;
    }
  });
}

}  // namespace

// ---------------------------------------------------------------------------

void ConvForward(const ConvGeometry& g, const float* x, const float* w,
                 float* y, const Epilogue& epilogue) {
  Scratch& s = GetScratch();
  const int ho = g.out_h(), wo = g.out_w();
  const int taps = g.kernel_h * g.kernel_w;
  const int64_t hp = g.in_h + 2 * g.pad, wp = g.in_w + 2 * g.pad;
  const float* xp = PadImage(x, g.batch, g.in_h, g.in_w, g.in_c, g.pad, g.pad,
                             g.pad, g.pad, &s.pad);
  const int64_t ldw = RoundUp(g.out_c, kLanes);
  float* packed = Grow(s.packed, static_cast<int64_t>(taps) * g.in_c * ldw);
  PackForward(w, g.out_c, g.in_c, taps, ldw, packed);
  std::vector<int64_t> tap_off(taps);
  for (int u = 0; u < g.kernel_h; ++u)
    for (int v = 0; v < g.kernel_w; ++v)
      tap_off[u * g.kernel_w + v] = (u * wp + v) * g.in_c;

  RowMap m;
  m.batch = g.batch;
  m.grid_h = ho;
  m.grid_w = wo;
  m.in_img = hp * wp * g.in_c;
  m.in_row = g.stride * wp * g.in_c;
  m.in_col = static_cast<int64_t>(g.stride) * g.in_c;
  m.out_img = static_cast<int64_t>(ho) * wo * g.out_c;
  m.out_row = static_cast<int64_t>(wo) * g.out_c;
  m.out_col = g.out_c;
  GemmArgs a{xp, tap_off.data(), taps, g.in_c, packed, ldw, g.out_c, y,
             epilogue};
  GatherGemm(m, a);
}

void ConvBackwardData(const ConvGeometry& g, const float* dy, const float* w,
                      float* dx, bool accumulate) {
  Scratch& s = GetScratch();
  const int ho = g.out_h(), wo = g.out_w();
  const int st = g.stride, p = g.pad;
  const int kh = g.kernel_h, kw = g.kernel_w;
  const int64_t taps = static_cast<int64_t>(kh) * kw;
  // Input row r = st*i + a receives, from each kernel row u with
  // (a + p - u) divisible by st, the output row i + (a + p - u)/st.
  auto floordiv = [](int num, int den) {
    return num >= 0 ? num / den : -((-num + den - 1) / den);
  };
  auto delta = [&](int a, int u) { return floordiv(a + p - u, st); };
  auto reaches = [&](int a, int u) { return ((a + p - u) % st + st) % st == 0; };
  auto grid = [&](int in, int a) { return a < in ? (in - a + st - 1) / st : 0; };
  // Zero padding of dy so that every reached output index is in range.
  auto padding = [&](int in, int out, int k, int* lo, int* hi) {
    *lo = 0;
    *hi = 0;
    for (int a = 0; a < st; ++a) {
      const int n = grid(in, a);
      if (n == 0) continue;
      for (int u = 0; u < k; ++u) {
        if (!reaches(a, u)) continue;
        const int d = delta(a, u);
        *lo = std::max(*lo, -d);
        *hi = std::max(*hi, n - 1 + d - (out - 1));
      }
    }
  };
  int plo_h, phi_h, plo_w, phi_w;
  padding(g.in_h, ho, kh, &plo_h, &phi_h);
  padding(g.in_w, wo, kw, &plo_w, &phi_w);
  const int64_t hq = ho + plo_h + phi_h, wq = wo + plo_w + phi_w;
  const float* dyp = PadImage(dy, g.batch, ho, wo, g.out_c, plo_h, phi_h,
                              plo_w, phi_w, &s.pad);
  const int64_t ldw = RoundUp(g.in_c, kLanes);
  float* packed = Grow(s.packed, taps * g.out_c * ldw);

  for (int a = 0; a < st; ++a) {
    for (int b = 0; b < st; ++b) {
      const int gh = grid(g.in_h, a), gw = grid(g.in_w, b);
      if (gh == 0 || gw == 0) continue;
      std::vector<int64_t> tap_off;
      std::vector<int> tap_index;
      for (int u = 0; u < kh; ++u) {
        if (!reaches(a, u)) continue;
        for (int v = 0; v < kw; ++v) {
          if (!reaches(b, v)) continue;
          tap_off.push_back(((delta(a, u) + plo_h) * wq + delta(b, v) + plo_w) *
                            g.out_c);
          tap_index.push_back(u * kw + v);
        }
      }
      RowMap m;
      m.batch = g.batch;
      m.grid_h = gh;
      m.grid_w = gw;
      m.in_img = hq * wq * g.out_c;
      m.in_row = wq * g.out_c;
      m.in_col = g.out_c;
      m.out_base = (static_cast<int64_t>(a) * g.in_w + b) * g.in_c;
      m.out_img = static_cast<int64_t>(g.in_h) * g.in_w * g.in_c;
      m.out_row = static_cast<int64_t>(st) * g.in_w * g.in_c;
      m.out_col = static_cast<int64_t>(st) * g.in_c;
      const int ntaps = static_cast<int>(tap_off.size());
      if (ntaps == 0) {
        // No kernel tap reaches these input pixels: their gradient is 0.
        if (accumulate) continue;
        ParallelFor(m.rows(), [&](int64_t r0, int64_t r1, int) {
          std::vector<int64_t> in_off(r1 - r0), out_off(r1 - r0);
          RowOffsets(m, r0, static_cast<int>(r1 - r0), in_off.data(), out_off.data());
          for (int64_t r = 0; r < r1 - r0; ++r)
            std::memset(dx + out_off[r], 0, sizeof(float) * g.in_c);
        });
        continue;
      }
      // packed[(ti*cout + o)*ldw + c] = w[o, c, tap_index[ti]]
      ParallelFor(static_cast<int64_t>(ntaps) * g.out_c, [&](int64_t k0, int64_t k1, int) {
        for (int64_t k = k0; k < k1; ++k) {
          const int64_t ti = k / g.out_c, o = k % g.out_c;
          float* row = packed + k * ldw;
          const float* src = w + o * g.in_c * taps + tap_index[ti];
          for (int c = 0; c < g.in_c; ++c) row[c] = src[c * taps];
          for (int64_t c = g.in_c; c < ldw; ++c) row[c] = 0;
        }
      });
      Epilogue e;
      e.accumulate = accumulate;
      GemmArgs args{dyp, tap_off.data(), ntaps, g.out_c, packed, ldw, g.in_c, dx, e};
      GatherGemm(m, args);
    }
  }
}

void ConvBackwardWeights(const ConvGeometry& g, const float* x,
                         const float* dy, float* dw) {
  Scratch& s = GetScratch();
  const int ho = g.out_h(), wo = g.out_w();
  const int taps = g.kernel_h * g.kernel_w;
  const int64_t hp = g.in_h + 2 * g.pad, wp = g.in_w + 2 * g.pad;
  const float* xp = PadImage(x, g.batch, g.in_h, g.in_w, g.in_c, g.pad, g.pad,
                             g.pad, g.pad, &s.pad);
  RowMap m;
  m.batch = g.batch;
  m.grid_h = ho;
  m.grid_w = wo;
  m.in_img = hp * wp * g.in_c;
  m.in_row = g.stride * wp * g.in_c;
  m.in_col = static_cast<int64_t>(g.stride) * g.in_c;
  AllRowOffsets(m, &s.row_off);
  s.koff.resize(static_cast<size_t>(taps) * g.in_c);
  for (int u = 0; u < g.kernel_h; ++u)
    for (int v = 0; v < g.kernel_w; ++v)
      for (int c = 0; c < g.in_c; ++c)
        s.koff[(u * g.kernel_w + v) * g.in_c + c] = (u * wp + v) * g.in_c + c;
  const int64_t rows = m.rows();
  int64_t ldb;
  const float* b = PadColumns(dy, rows, g.out_c, &s.bpad, &ldb);
  GatherGemmTN(rows, s.row_off.data(), xp, s.koff, b, ldb, ldb, &s.product);
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
  RowMap m;
  m.batch = n;
  m.grid_h = 1;
  m.grid_w = 1;
  m.in_img = in;
  m.out_img = out;
  const int64_t tap0 = 0;
  Epilogue e;
  e.shift = b;
  e.relu = relu;
  GemmArgs a{x, &tap0, 1, in, packed, ldw, out, y, e};
  GatherGemm(m, a);
}

void LinearBackwardData(int64_t n, int in, int out, const float* dy,
                        const float* w, float* dx, bool accumulate) {
  Scratch& s = GetScratch();
  int64_t ldw;
  const float* wp = PadColumns(w, out, in, &s.packed, &ldw);
  RowMap m;
  m.batch = n;
  m.grid_h = 1;
  m.grid_w = 1;
  m.in_img = out;
  m.out_img = in;
  const int64_t tap0 = 0;
  Epilogue e;
  e.accumulate = accumulate;
  GemmArgs a{dy, &tap0, 1, out, wp, ldw, in, dx, e};
  GatherGemm(m, a);
}

void LinearBackwardWeights(int64_t n, int in, int out, const float* x,
                           const float* dy, float* dw, float* db) {
  Scratch& s = GetScratch();
  // product[o, i] = sum_r dy[r, o] * x[r, i]
  s.row_off.resize(std::max<int64_t>(n, 1));
  for (int64_t r = 0; r < n; ++r) s.row_off[r] = r * out;
  s.koff.resize(out);
  for (int o = 0; o < out; ++o) s.koff[o] = o;
  int64_t ldb;
  const float* xb = PadColumns(x, n, in, &s.bpad, &ldb);
  GatherGemmTN(n, s.row_off.data(), dy, s.koff, xb, ldb, ldb, &s.product);
  const float* prod = s.product.data();
  ParallelFor(out, [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; ++o)
      for (int i = 0; i < in; ++i) dw[o * in + i] += prod[o * ldb + i];
  });
  if (db != nullptr) ChannelSum(n, out, dy, db);
}

}  // namespace nftcim::trainer::nn::kernels
