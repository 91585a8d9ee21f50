// Per-channel, pooling, layout and loss kernels (see kernels.h).

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "trainer/nn/kernels.h"
#include "trainer/nn/parallel.h"
#include "trainer/nn/simd.h"

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

typedef int32_t IVec __attribute__((vector_size(kLanes * sizeof(int32_t))));

// Rows per reduction block: float sums inside a block, double across blocks.
constexpr int64_t kStatRows = 256;
// Rows per piece of elementwise work.
constexpr int64_t kApplyRows = 1024;

int64_t CeilDiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Loads lanes [v*kLanes, ...) of a row of c floats.
inline Vec LoadCh(const float* row, int v, int c) {
  const int n = c - v * kLanes;
  return n >= kLanes ? Load(row + v * kLanes) : LoadN(row + v * kLanes, n);
}
inline void StoreCh(float* row, int v, int c, Vec x) {
  const int n = c - v * kLanes;
  if (n >= kLanes) {
    Store(row + v * kLanes, x);
  } else {
    StoreN(row + v * kLanes, x, n);
  }
}

// Runs fn(block, r0, r1) for fixed blocks of kStatRows rows and returns the
// number of blocks.
template <typename Fn>
int64_t ForStatBlocks(int64_t rows, Fn fn) {
  const int64_t nb = CeilDiv(rows, kStatRows);
  ParallelFor(nb, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      fn(b, b * kStatRows, std::min(rows, (b + 1) * kStatRows));
    }
  });
  return nb;
}

// Per-block partial sums, kept across calls (no allocation per call).
std::vector<double>& StatScratch(int64_t n) {
  thread_local std::vector<double> part;
  part.resize(static_cast<size_t>(n));
  return part;
}

template <typename Fn>
void ForApplyRows(int64_t rows, Fn fn) {
  ParallelFor(CeilDiv(rows, kApplyRows), [&](int64_t b0, int64_t b1, int) {
    fn(b0 * kApplyRows, std::min(rows, b1 * kApplyRows));
  });
}

}  // namespace

void ChannelMeanVar(int64_t rows, int c, const float* x, double* mean,
                    double* var) {
  if (rows == 0) {
    std::fill(mean, mean + c, 0.0);
    std::fill(var, var + c, 0.0);
    return;
  }
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  // Sums of (x - shift) and (x - shift)^2 with shift = the first row, which
  // keeps the variance free of cancellation when |mean| >> std.
  const float* shift = x;
  std::vector<double>& part = StatScratch(CeilDiv(rows, kStatRows) * 2 * c);
  const int64_t nb = ForStatBlocks(rows, [&](int64_t b, int64_t r0, int64_t r1) {
    double* s1 = part.data() + b * 2 * c;
    double* s2 = s1 + c;
    for (int v = 0; v < nv; ++v) {
      const Vec k = LoadCh(shift, v, c);
      Vec a = Vec{}, q = Vec{};
      for (int64_t r = r0; r < r1; ++r) {
        const Vec d = LoadCh(x + r * c, v, c) - k;
        a += d;
        q = Fma(d, d, q);
      }
      for (int l = 0; l < kLanes && v * kLanes + l < c; ++l) {
        s1[v * kLanes + l] = a[l];
        s2[v * kLanes + l] = q[l];
      }
    }
  });
  const double m = static_cast<double>(rows);
  for (int o = 0; o < c; ++o) {
    double s1 = 0, s2 = 0;
    for (int64_t b = 0; b < nb; ++b) {
      s1 += part[b * 2 * c + o];
      s2 += part[b * 2 * c + c + o];
    }
    const double d = s1 / m;
    mean[o] = shift[o] + d;
    var[o] = std::max(0.0, s2 / m - d * d);
  }
}

void ChannelSum(int64_t rows, int c, const float* x, float* sum) {
  if (rows == 0) return;
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  std::vector<double>& part = StatScratch(CeilDiv(rows, kStatRows) * c);
  const int64_t nb = ForStatBlocks(rows, [&](int64_t b, int64_t r0, int64_t r1) {
    double* s = part.data() + b * c;
    for (int v = 0; v < nv; ++v) {
      Vec a = Vec{};
      for (int64_t r = r0; r < r1; ++r) a += LoadCh(x + r * c, v, c);
      for (int l = 0; l < kLanes && v * kLanes + l < c; ++l) s[v * kLanes + l] = a[l];
    }
  });
  for (int o = 0; o < c; ++o) {
    double s = 0;
    for (int64_t b = 0; b < nb; ++b) s += part[b * c + o];
    sum[o] += static_cast<float>(s);
  }
}

void ChannelAffine(int64_t rows, int c, const float* x, const float* scale,
                   const float* shift, const float* residual, bool relu,
                   float* y) {
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  ForApplyRows(rows, [&](int64_t r0, int64_t r1) {
    for (int v = 0; v < nv; ++v) {
      const Vec sc = LoadCh(scale, v, c);
      const Vec sh = LoadCh(shift, v, c);
      for (int64_t r = r0; r < r1; ++r) {
        Vec t = Fma(LoadCh(x + r * c, v, c), sc, sh);
        if (residual != nullptr) t += LoadCh(residual + r * c, v, c);
        if (relu) t = simd::Max(t, Vec{});
        StoreCh(y + r * c, v, c, t);
      }
    }
  });
}

void BatchNormBackward(const BatchNormBackwardArgs& a) {
  const int c = a.c;
  const int64_t rows = a.rows;
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  // Pass 1: per-channel sums of g and g*xhat; the residual gradient.
  std::vector<double>& part = StatScratch(CeilDiv(rows, kStatRows) * 2 * c);
  const int64_t nb = ForStatBlocks(rows, [&](int64_t b, int64_t r0, int64_t r1) {
    double* sg = part.data() + b * 2 * c;
    double* sgx = sg + c;
    for (int v = 0; v < nv; ++v) {
      const Vec mu = LoadCh(a.mean, v, c);
      const Vec is = LoadCh(a.invstd, v, c);
      Vec s1 = Vec{}, s2 = Vec{};
      const bool zmask = a.out == nullptr && a.mask_scale != nullptr;
      const Vec msc = zmask ? LoadCh(a.mask_scale, v, c) : Vec{};
      const Vec msh = zmask ? LoadCh(a.mask_shift, v, c) : Vec{};
      for (int64_t r = r0; r < r1; ++r) {
        Vec g = LoadCh(a.dout + r * c, v, c);
        const Vec zv = LoadCh(a.z + r * c, v, c);
        if (a.out != nullptr) {
          g = LoadCh(a.out + r * c, v, c) > Vec{} ? g : Vec{};
        } else if (zmask) {
          g = Fma(zv, msc, msh) > Vec{} ? g : Vec{};
        }
        const Vec xh = (zv - mu) * is;
        s1 += g;
        s2 = Fma(g, xh, s2);
        if (a.dresidual != nullptr) {
          float* dr = a.dresidual + r * c;
          StoreCh(dr, v, c, a.accumulate_residual ? g + LoadCh(dr, v, c) : g);
        }
      }
      for (int l = 0; l < kLanes && v * kLanes + l < c; ++l) {
        sg[v * kLanes + l] = s1[l];
        sgx[v * kLanes + l] = s2[l];
      }
    }
  });
  // Per-channel coefficients: dz = A*(g - mg - xhat*mgx).
  std::vector<float> coef_a(c), coef_mg(c), coef_mgx(c);
  const double m = static_cast<double>(std::max<int64_t>(rows, 1));
  for (int o = 0; o < c; ++o) {
    double sg = 0, sgx = 0;
    for (int64_t b = 0; b < nb; ++b) {
      sg += part[b * 2 * c + o];
      sgx += part[b * 2 * c + c + o];
    }
    if (a.dgamma != nullptr) a.dgamma[o] += static_cast<float>(sgx);
    if (a.dbeta != nullptr) a.dbeta[o] += static_cast<float>(sg);
    coef_a[o] = a.gamma[o] * a.invstd[o];
    coef_mg[o] = a.batch_stats ? static_cast<float>(sg / m) : 0.0f;
    coef_mgx[o] = a.batch_stats ? static_cast<float>(sgx / m) : 0.0f;
  }
  // Pass 2: dz.
  ForApplyRows(rows, [&](int64_t r0, int64_t r1) {
    for (int v = 0; v < nv; ++v) {
      const Vec mu = LoadCh(a.mean, v, c);
      const Vec is = LoadCh(a.invstd, v, c);
      const Vec ca = LoadCh(coef_a.data(), v, c);
      const Vec mg = LoadCh(coef_mg.data(), v, c);
      const Vec mgx = LoadCh(coef_mgx.data(), v, c);
      const bool zmask = a.out == nullptr && a.mask_scale != nullptr;
      const Vec msc = zmask ? LoadCh(a.mask_scale, v, c) : Vec{};
      const Vec msh = zmask ? LoadCh(a.mask_shift, v, c) : Vec{};
      for (int64_t r = r0; r < r1; ++r) {
        Vec g = LoadCh(a.dout + r * c, v, c);
        const Vec zv = LoadCh(a.z + r * c, v, c);
        if (a.out != nullptr) {
          g = LoadCh(a.out + r * c, v, c) > Vec{} ? g : Vec{};
        } else if (zmask) {
          g = Fma(zv, msc, msh) > Vec{} ? g : Vec{};
        }
        Vec dz;
        if (a.batch_stats) {
          const Vec xh = (zv - mu) * is;
          dz = ca * (g - mg - xh * mgx);
        } else {
          dz = ca * g;
        }
        StoreCh(a.dz + r * c, v, c, dz);
      }
    }
  });
}

void ReluForward(int64_t n, const float* x, float* y) {
  ForApplyRows(CeilDiv(n, kLanes), [&](int64_t v0, int64_t v1) {
    for (int64_t v = v0; v < v1; ++v) {
      const int64_t i = v * kLanes;
      const int k = static_cast<int>(std::min<int64_t>(kLanes, n - i));
      if (k == kLanes) {
        Store(y + i, simd::Max(Load(x + i), Vec{}));
      } else {
        StoreN(y + i, simd::Max(LoadN(x + i, k), Vec{}), k);
      }
    }
  });
}

void ReluBackward(int64_t n, const float* y, const float* dy, float* dx) {
  ForApplyRows(CeilDiv(n, kLanes), [&](int64_t v0, int64_t v1) {
    for (int64_t v = v0; v < v1; ++v) {
      const int64_t i = v * kLanes;
      const int k = static_cast<int>(std::min<int64_t>(kLanes, n - i));
      if (k == kLanes) {
        Store(dx + i, Load(y + i) > Vec{} ? Load(dy + i) : Vec{});
      } else {
        StoreN(dx + i, LoadN(y + i, k) > Vec{} ? LoadN(dy + i, k) : Vec{}, k);
      }
    }
  });
}

void MaxPool2x2Forward(int64_t batch, int h, int w, int c, const float* x,
                       float* y) {
  const int ho = h / 2, wo = w / 2;
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  ParallelFor(batch * ho, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / ho, i = r % ho;
      const float* top = x + ((n * h + 2 * i) * w) * c;
      const float* bot = top + static_cast<int64_t>(w) * c;
      float* out = y + r * wo * c;
      for (int j = 0; j < wo; ++j) {
        for (int v = 0; v < nv; ++v) {
          const int64_t o0 = static_cast<int64_t>(2 * j) * c, o1 = o0 + c;
          const Vec m = simd::Max(
              simd::Max(LoadCh(top + o0, v, c), LoadCh(top + o1, v, c)),
              simd::Max(LoadCh(bot + o0, v, c), LoadCh(bot + o1, v, c)));
          StoreCh(out + static_cast<int64_t>(j) * c, v, c, m);
        }
      }
    }
  });
}

void MaxPool2x2Backward(int64_t batch, int h, int w, int c, const float* x,
                        const float* dy, float* dx) {
  const int ho = h / 2, wo = w / 2;
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  const int64_t row = static_cast<int64_t>(w) * c;
  // Each piece owns input rows 2i, 2i+1 (and the odd last row with i = ho-1).
  ParallelFor(batch * std::max(ho, 1), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / std::max(ho, 1), i = r % std::max(ho, 1);
      float* dimg = dx + n * h * row;
      if (ho == 0) {
        std::memset(dimg, 0, sizeof(float) * h * row);
        continue;
      }
      const float* top = x + (n * h + 2 * i) * row;
      const float* bot = top + row;
      float* dtop = dimg + 2 * i * row;
      float* dbot = dtop + row;
      const float* g = dy + r * wo * c;
      for (int j = 0; j < wo; ++j) {
        const int64_t o0 = static_cast<int64_t>(2 * j) * c, o1 = o0 + c;
        for (int v = 0; v < nv; ++v) {
          const Vec a = LoadCh(top + o0, v, c), b = LoadCh(top + o1, v, c);
          const Vec d = LoadCh(bot + o0, v, c), e = LoadCh(bot + o1, v, c);
          const Vec m = simd::Max(simd::Max(a, b), simd::Max(d, e));
          const Vec gv = LoadCh(g + static_cast<int64_t>(j) * c, v, c);
          const IVec ea = a == m;
          const IVec eb = (b == m) & ~ea;
          const IVec ed = (d == m) & ~(ea | eb);
          const IVec ee = ~(ea | eb | ed);
          StoreCh(dtop + o0, v, c, ea ? gv : Vec{});
          StoreCh(dtop + o1, v, c, eb ? gv : Vec{});
          StoreCh(dbot + o0, v, c, ed ? gv : Vec{});
          StoreCh(dbot + o1, v, c, ee ? gv : Vec{});
        }
      }
      // Odd width: the last column is in no window.
      if (w % 2 == 1) {
        std::memset(dtop + (w - 1) * static_cast<int64_t>(c), 0, sizeof(float) * c);
        std::memset(dbot + (w - 1) * static_cast<int64_t>(c), 0, sizeof(float) * c);
      }
      // Odd height: the last row is in no window.
      if (h % 2 == 1 && i == ho - 1) {
        std::memset(dimg + (h - 1) * row, 0, sizeof(float) * row);
      }
    }
  });
}

namespace {

// The 2x2 window routing of MaxPool2x2Backward on affine values: masks of
// the first maximum among (a, b, d, e) in row-major order.
struct Route {
  IVec ea, eb, ed, ee;
  Vec m;
};
inline Route FirstMax(Vec a, Vec b, Vec d, Vec e) {
  Route r;
  r.m = simd::Max(simd::Max(a, b), simd::Max(d, e));
  r.ea = a == r.m;
  r.eb = (b == r.m) & ~r.ea;
  r.ed = (d == r.m) & ~(r.ea | r.eb);
  r.ee = ~(r.ea | r.eb | r.ed);
  return r;
}

}  // namespace

void BnReluMaxPoolForward(int64_t batch, int h, int w, int c, const float* z,
                          const float* scale, const float* shift, float* y) {
  const int ho = h / 2, wo = w / 2;
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  const int64_t row = static_cast<int64_t>(w) * c;
  ParallelFor(batch * ho, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / ho, i = r % ho;
      const float* top = z + (n * h + 2 * i) * row;
      const float* bot = top + row;
      float* out = y + r * wo * c;
      for (int v = 0; v < nv; ++v) {
        const Vec sc = LoadCh(scale, v, c), sh = LoadCh(shift, v, c);
        for (int j = 0; j < wo; ++j) {
          const int64_t o0 = static_cast<int64_t>(2 * j) * c, o1 = o0 + c;
          const Vec m = simd::Max(
              simd::Max(Fma(LoadCh(top + o0, v, c), sc, sh), Fma(LoadCh(top + o1, v, c), sc, sh)),
              simd::Max(Fma(LoadCh(bot + o0, v, c), sc, sh), Fma(LoadCh(bot + o1, v, c), sc, sh)));
          StoreCh(out + static_cast<int64_t>(j) * c, v, c, simd::Max(m, Vec{}));
        }
      }
    }
  });
}

void BnReluMaxPoolBackward(const BnReluMaxPoolBackwardArgs& a) {
  const int h = a.h, w = a.w, c = a.c;
  const int ho = h / 2, wo = w / 2;
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  const int64_t row = static_cast<int64_t>(w) * c;
  const int64_t windows = a.batch * ho * wo;
  // Pass 1: sums of g and g*xhat; g is non-zero only at window maxima.
  std::vector<double>& part = StatScratch(CeilDiv(windows, kStatRows) * 2 * c);
  const int64_t nb = ForStatBlocks(windows, [&](int64_t b, int64_t q0, int64_t q1) {
    double* sg = part.data() + b * 2 * c;
    double* sgx = sg + c;
    for (int v = 0; v < nv; ++v) {
      const Vec sc = LoadCh(a.scale, v, c), sh = LoadCh(a.shift, v, c);
      const Vec mu = LoadCh(a.mean, v, c), is = LoadCh(a.invstd, v, c);
      Vec s1 = Vec{}, s2 = Vec{};
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t n = q / (static_cast<int64_t>(ho) * wo);
        const int64_t rem = q % (static_cast<int64_t>(ho) * wo);
        const int64_t i = rem / wo, j = rem % wo;
        const float* top = a.z + (n * h + 2 * i) * row + 2 * j * c;
        const float* bot = top + row;
        const Vec za = LoadCh(top, v, c), zb = LoadCh(top + c, v, c);
        const Vec zd = LoadCh(bot, v, c), ze = LoadCh(bot + c, v, c);
        const Route rt = FirstMax(Fma(za, sc, sh), Fma(zb, sc, sh), Fma(zd, sc, sh),
                                  Fma(ze, sc, sh));
        const Vec g = rt.m > Vec{} ? LoadCh(a.dout + q * c, v, c) : Vec{};
        const Vec zs = rt.ea ? za : rt.eb ? zb : rt.ed ? zd : ze;
        s1 += g;
        s2 = Fma(g, (zs - mu) * is, s2);
      }
      for (int l = 0; l < kLanes && v * kLanes + l < c; ++l) {
        sg[v * kLanes + l] = s1[l];
        sgx[v * kLanes + l] = s2[l];
      }
    }
  });
  std::vector<float> coef_a(c), coef_mg(c), coef_mgx(c);
  const double m = static_cast<double>(std::max<int64_t>(a.batch * h * w, 1));
  for (int o = 0; o < c; ++o) {
    double sg = 0, sgx = 0;
    for (int64_t b = 0; b < nb; ++b) {
      sg += part[b * 2 * c + o];
      sgx += part[b * 2 * c + c + o];
    }
    if (a.dgamma != nullptr) a.dgamma[o] += static_cast<float>(sgx);
    if (a.dbeta != nullptr) a.dbeta[o] += static_cast<float>(sg);
    coef_a[o] = a.gamma[o] * a.invstd[o];
    coef_mg[o] = a.batch_stats ? static_cast<float>(sg / m) : 0.0f;
    coef_mgx[o] = a.batch_stats ? static_cast<float>(sgx / m) : 0.0f;
  }
  // Pass 2: dz everywhere. Each piece owns input rows 2i, 2i+1 (and the odd
  // last row with i = ho - 1); with ho == 0 a piece owns a whole image.
  const int pieces_per_img = std::max(ho, 1);
  ParallelFor(a.batch * pieces_per_img, [&](int64_t p0, int64_t p1, int) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / pieces_per_img, i = p % pieces_per_img;
      for (int v = 0; v < nv; ++v) {
        const Vec sc = LoadCh(a.scale, v, c), sh = LoadCh(a.shift, v, c);
        const Vec mu = LoadCh(a.mean, v, c), is = LoadCh(a.invstd, v, c);
        const Vec ca = LoadCh(coef_a.data(), v, c);
        const Vec mg = LoadCh(coef_mg.data(), v, c);
        const Vec mgx = LoadCh(coef_mgx.data(), v, c);
        auto dz_of = [&](Vec zv, Vec g) {
          return a.batch_stats ? ca * (g - mg - (zv - mu) * is * mgx) : ca * g;
        };
        // Positions in no window: g = 0.
        auto plain_row = [&](int64_t y, int x0) {
          const float* zr = a.z + (n * h + y) * row;
          float* dr = a.dz + (n * h + y) * row;
          for (int x = x0; x < w; ++x) {
            StoreCh(dr + static_cast<int64_t>(x) * c, v, c,
                    dz_of(LoadCh(zr + static_cast<int64_t>(x) * c, v, c), Vec{}));
          }
        };
        if (ho == 0) {
          for (int y = 0; y < h; ++y) plain_row(y, 0);
          continue;
        }
        const float* top = a.z + (n * h + 2 * i) * row;
        const float* bot = top + row;
        float* dtop = a.dz + (n * h + 2 * i) * row;
        float* dbot = dtop + row;
        const float* gw = a.dout + ((n * ho + i) * wo) * c;
        for (int j = 0; j < wo; ++j) {
          const int64_t o0 = static_cast<int64_t>(2 * j) * c, o1 = o0 + c;
          const Vec za = LoadCh(top + o0, v, c), zb = LoadCh(top + o1, v, c);
          const Vec zd = LoadCh(bot + o0, v, c), ze = LoadCh(bot + o1, v, c);
          const Route rt = FirstMax(Fma(za, sc, sh), Fma(zb, sc, sh), Fma(zd, sc, sh),
                                    Fma(ze, sc, sh));
          const Vec g = rt.m > Vec{} ? LoadCh(gw + static_cast<int64_t>(j) * c, v, c) : Vec{};
          StoreCh(dtop + o0, v, c, dz_of(za, rt.ea ? g : Vec{}));
          StoreCh(dtop + o1, v, c, dz_of(zb, rt.eb ? g : Vec{}));
          StoreCh(dbot + o0, v, c, dz_of(zd, rt.ed ? g : Vec{}));
          StoreCh(dbot + o1, v, c, dz_of(ze, rt.ee ? g : Vec{}));
        }
        if (w % 2 == 1) {
          const int64_t o = static_cast<int64_t>(w - 1) * c;
          StoreCh(dtop + o, v, c, dz_of(LoadCh(top + o, v, c), Vec{}));
          StoreCh(dbot + o, v, c, dz_of(LoadCh(bot + o, v, c), Vec{}));
        }
        if (h % 2 == 1 && i == ho - 1) plain_row(h - 1, 0);
      }
    }
  });
}

void GlobalAvgPoolForward(int64_t batch, int hw, int c, const float* x,
                          float* y) {
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  const float inv = 1.0f / static_cast<float>(hw);
  ParallelFor(batch, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* img = x + n * hw * c;
      for (int v = 0; v < nv; ++v) {
        Vec s = Vec{};
        for (int p = 0; p < hw; ++p) s += LoadCh(img + static_cast<int64_t>(p) * c, v, c);
        StoreCh(y + n * c, v, c, s * inv);
      }
    }
  });
}

void GlobalAvgPoolBackward(int64_t batch, int hw, int c, const float* dy,
                           float* dx, bool accumulate) {
  const int nv = static_cast<int>(CeilDiv(c, kLanes));
  const float inv = 1.0f / static_cast<float>(hw);
  ParallelFor(batch, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      float* img = dx + n * hw * c;
      for (int v = 0; v < nv; ++v) {
        const Vec g = LoadCh(dy + n * c, v, c) * inv;
        for (int p = 0; p < hw; ++p) {
          float* d = img + static_cast<int64_t>(p) * c;
          StoreCh(d, v, c, accumulate ? g + LoadCh(d, v, c) : g);
        }
      }
    }
  });
}

void AdaptiveAvgPoolNchwForward(int64_t batch, int c, int h, int w, int s,
                                const float* x, float* y) {
  ParallelFor(batch * c, [&](int64_t p0, int64_t p1, int) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* plane = x + p * h * w;
      float* out = y + p * s * s;
      for (int i = 0; i < s; ++i) {
        const int r0 = i * h / s, r1 = ((i + 1) * h + s - 1) / s;
        for (int j = 0; j < s; ++j) {
          const int c0 = j * w / s, c1 = ((j + 1) * w + s - 1) / s;
          float sum = 0;
          for (int r = r0; r < r1; ++r)
            for (int q = c0; q < c1; ++q) sum += plane[r * w + q];
          out[i * s + j] = sum / static_cast<float>((r1 - r0) * (c1 - c0));
        }
      }
    }
  });
}

void AdaptiveAvgPoolNchwBackward(int64_t batch, int c, int h, int w, int s,
                                 const float* dy, float* dx) {
  ParallelFor(batch * c, [&](int64_t p0, int64_t p1, int) {
    for (int64_t p = p0; p < p1; ++p) {
      float* plane = dx + p * h * w;
      std::memset(plane, 0, sizeof(float) * h * w);
      const float* g = dy + p * s * s;
      for (int i = 0; i < s; ++i) {
        const int r0 = i * h / s, r1 = ((i + 1) * h + s - 1) / s;
        for (int j = 0; j < s; ++j) {
          const int c0 = j * w / s, c1 = ((j + 1) * w + s - 1) / s;
          const float v = g[i * s + j] / static_cast<float>((r1 - r0) * (c1 - c0));
          for (int r = r0; r < r1; ++r)
            for (int q = c0; q < c1; ++q) plane[r * w + q] += v;
        }
      }
    }
  });
}

namespace {
// dst[j, i] (+)= src[i, j] for an a x b matrix src, in 16 x 16 blocks.
void Transpose(int64_t a, int64_t b, const float* src, float* dst,
               bool accumulate) {
  constexpr int64_t kB = 16;
  for (int64_t i0 = 0; i0 < a; i0 += kB) {
    const int64_t i1 = std::min(a, i0 + kB);
    for (int64_t j0 = 0; j0 < b; j0 += kB) {
      const int64_t j1 = std::min(b, j0 + kB);
      for (int64_t j = j0; j < j1; ++j) {
        float* d = dst + j * a;
        if (accumulate) {
          for (int64_t i = i0; i < i1; ++i) d[i] += src[i * b + j];
        } else {
          for (int64_t i = i0; i < i1; ++i) d[i] = src[i * b + j];
        }
      }
    }
  }
}
}  // namespace

void NchwToNhwc(int64_t batch, int c, int hw, const float* src, float* dst,
                bool accumulate) {
  const int64_t img = static_cast<int64_t>(c) * hw;
  ParallelFor(batch, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n)
      Transpose(c, hw, src + n * img, dst + n * img, accumulate);
  });
}

void NhwcToNchw(int64_t batch, int c, int hw, const float* src, float* dst,
                bool accumulate) {
  const int64_t img = static_cast<int64_t>(c) * hw;
  ParallelFor(batch, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n)
      Transpose(hw, c, src + n * img, dst + n * img, accumulate);
  });
}

void Accumulate(int64_t n, const float* src, float* dst) {
  ForApplyRows(CeilDiv(n, 4096), [&](int64_t b0, int64_t b1) {
    const int64_t e = std::min(n, b1 * 4096);
    for (int64_t i = b0 * 4096; i < e; ++i) dst[i] += src[i];
  });
}

double SoftmaxCrossEntropy(int64_t n, int k, const float* logits,
                           const int32_t* labels, float* dlogits,
                           float* log_probs) {
  double loss = 0;
  for (int64_t r = 0; r < n; ++r) {
    const float* z = logits + r * k;
    double m = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < k; ++j) m = std::max(m, static_cast<double>(z[j]));
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(z[j] - m);
    const double lse = m + std::log(sum);
    assert(labels[r] >= 0 && labels[r] < k);
    loss -= z[labels[r]] - lse;
    for (int j = 0; j < k; ++j) {
      const double lp = z[j] - lse;
      if (log_probs != nullptr) log_probs[r * k + j] = static_cast<float>(lp);
      if (dlogits != nullptr) {
        dlogits[r * k + j] = static_cast<float>(
            (std::exp(lp) - (j == labels[r] ? 1.0 : 0.0)) / static_cast<double>(n));
      }
    }
  }
  return n > 0 ? loss / static_cast<double>(n) : 0.0;
}

}  // namespace nftcim::trainer::nn::kernels
