#include "firmware_model/sequencer.h"

#include <algorithm>
#include <cstring>
#include <climits>

#include "absl/strings/str_cat.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/periphery.h"

namespace nftcim::firmware {
namespace {

// §7.8: entry e = (image, oy, ox) of the layer's MVM batch, rows
// r = (c * k + ky) * k + kx, 0 outside the image. `in` holds the images of
// the batch, each height x width x channels.
template <typename T>
void Unroll(const Layer& l, const int32_t* in, int64_t first_entry, int64_t entries, T* cols) {
  const int k = l.kernel, C = l.in_shape.channels, H = l.in_shape.height, W = l.in_shape.width;
  const int OW = l.out_shape.width;
  const int64_t positions = l.positions();
  const int64_t rows = l.matrix_rows;
  for (int64_t e = 0; e < entries; ++e) {
    const int64_t entry = first_entry + e;
    const int64_t image = entry / positions;
    const int64_t pos = entry % positions;
    const int oy = static_cast<int>(pos / OW), ox = static_cast<int>(pos % OW);
    const int32_t* img = in + image * l.in_shape.size();
    T* row = cols + e * rows;
    for (int c = 0; c < C; ++c) {
      for (int ky = 0; ky < k; ++ky) {
        const int iy = oy * l.stride + ky - l.padding;
        T* dst = row + (c * k + ky) * k;
        if (iy < 0 || iy >= H) {
          for (int kx = 0; kx < k; ++kx) dst[kx] = 0;
          continue;
        }
        const int32_t* src_row = img + static_cast<int64_t>(iy) * W * C + c;
        for (int kx = 0; kx < k; ++kx) {
          const int ix = ox * l.stride + kx - l.padding;
          dst[kx] = (ix >= 0 && ix < W) ? static_cast<T>(src_row[static_cast<int64_t>(ix) * C]) : T{0};
        }
      }
    }
  }
}

// The same entries in the fast path's GEMM row order (programmed_model.h
// GemmRowOrder): kernel position major, each position's channels one
// contiguous run of the HWC input.
void UnrollGemmOrder(const Layer& l, const int32_t* in, int64_t first_entry, int64_t entries,
                     double* cols) {
  const int k = l.kernel, C = l.in_shape.channels, H = l.in_shape.height, W = l.in_shape.width;
  const int OW = l.out_shape.width;
  const int64_t positions = l.positions();
  const int64_t rows = l.matrix_rows;
  for (int64_t e = 0; e < entries; ++e) {
    const int64_t entry = first_entry + e;
    const int64_t image = entry / positions;
    const int64_t pos = entry % positions;
    const int oy = static_cast<int>(pos / OW), ox = static_cast<int>(pos % OW);
    const int32_t* img = in + image * l.in_shape.size();
    double* row = cols + e * rows;
    for (int ky = 0; ky < k; ++ky) {
      const int iy = oy * l.stride + ky - l.padding;
      for (int kx = 0; kx < k; ++kx) {
        const int ix = ox * l.stride + kx - l.padding;
        double* __restrict dst = row + (ky * k + kx) * C;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
          for (int c = 0; c < C; ++c) dst[c] = 0;
        } else {
          const int32_t* __restrict src = img + (static_cast<int64_t>(iy) * W + ix) * C;
          for (int c = 0; c < C; ++c) dst[c] = src[c];
        }
      }
    }
  }
}

// A convolution's input tensors (HWC, n images) as uint8 with the §7.8
// padding made explicit: (H + 2p) x (W + 2p) x C per image, the border at
// the value 0 (`offset` when inputs are offset), so that every kernel row
// of every output position is one contiguous run of k * C bytes that the
// int8 GEMM reads in place (Int8Gemm::MultiplySegments).
void PadToU8(const Layer& l, const int32_t* in, int64_t n, uint8_t offset, uint8_t* out) {
  const int64_t C = l.in_shape.channels, H = l.in_shape.height, W = l.in_shape.width;
  const int64_t p = l.padding, Wp = W + 2 * p, Hp = H + 2 * p;
  for (int64_t image = 0; image < n; ++image) {
    const int32_t* src = in + image * l.in_shape.size();
    uint8_t* dst = out + image * Hp * Wp * C;
    std::memset(dst, offset, static_cast<size_t>(p * Wp * C));
    for (int64_t y = 0; y < H; ++y) {
      uint8_t* __restrict row = dst + (y + p) * Wp * C;
      const int32_t* __restrict s = src + y * W * C;
      std::memset(row, offset, static_cast<size_t>(p * C));
      for (int64_t i = 0; i < W * C; ++i) row[p * C + i] = static_cast<uint8_t>(s[i] + offset);
      std::memset(row + (p + W) * C, offset, static_cast<size_t>(p * C));
    }
    std::memset(dst + (p + H) * Wp * C, offset, static_cast<size_t>(p * Wp * C));
  }
}

// §7.2 constants as raw pointers, taken once per row: with the vectors
// themselves the compiler reloads their data pointers after every store of
// an output and the loops below stay scalar.
struct RequantView {
  explicit RequantView(const RequantArrays& q)
      : bias(q.bias.data()), mult(q.multiplier.data()), shift(q.shift.data()),
        shift1(q.shift_less_one.data()), mask(q.round_mask.data()), p(q.pre_shift),
        p1(q.pre_shift > 0 ? q.pre_shift - 1 : 0), pmask(q.pre_shift > 0 ? 1 : 0), lo(q.lo),
        hi(q.hi) {}
  const int64_t* __restrict bias;
  const int32_t* __restrict mult;
  const int64_t* __restrict shift;
  const int64_t* __restrict shift1;
  const int64_t* __restrict mask;
  int32_t p, p1;
  int64_t pmask, lo, hi;
};

// §7.2 on one value of channel c: the same integer and counts as
// emulator::Requantize, written without branches so that the loops below
// vectorize. Needs |a| < 2^62 (then the pre-shifted value plus an int32 bias
// cannot overflow int64, so Sat_64 is the identity).
inline int32_t RequantizeLane(int64_t a, int64_t c, const RequantView& q, int64_t* sats,
                              int64_t* top) {
  const int64_t t0 = (a >> q.p) + ((a >> q.p1) & q.pmask) + q.bias[c];
  const int64_t t = t0 < INT32_MIN ? INT32_MIN : (t0 > INT32_MAX ? INT32_MAX : t0);
  // t is within int32 here, so the product is the exact 32 x 32 one.
  const int64_t x = static_cast<int64_t>(static_cast<int32_t>(t)) * static_cast<int64_t>(q.mult[c]);
  const int64_t u = (x >> q.shift[c]) + ((x >> q.shift1[c]) & q.mask[c]);
  const int64_t v = u < q.lo ? q.lo : (u > q.hi ? q.hi : u);
  *sats += (t != t0) + (v != u);
  *top += v == q.hi;
  return static_cast<int32_t>(v);
}

// One entry's n channels from exact accumulators of any integer-valued type.
template <typename Acc>
void RequantizeRow(const Acc* __restrict acc, int64_t n, const RequantArrays& arrays,
                   int32_t* __restrict y, int64_t* sats, int64_t* at_top) {
  const RequantView q(arrays);
  int64_t s = 0, top = 0;
  for (int64_t c = 0; c < n; ++c) y[c] = RequantizeLane(static_cast<int64_t>(acc[c]), c, q, &s, &top);
  *sats += s;
  *at_top += top;
}

// The same from the int8 GEMM's digit sums (Int8Gemm::Digits: digit q of
// channel c at d[q * n + c]), recombined in the same pass: the int64
// products are never stored.
void RequantizeDigitsRow(const int32_t* __restrict d, int64_t n, const int64_t* __restrict corr,
                         const RequantArrays& arrays, int32_t* __restrict y, int64_t* sats,
                         int64_t* at_top) {
  const RequantView q(arrays);
  int64_t s = 0, top = 0;
  for (int64_t c = 0; c < n; ++c) {
    y[c] = RequantizeLane(Int8Gemm::Combine(d[c], d[n + c], d[2 * n + c], corr[c]), c, q, &s, &top);
  }
  *sats += s;
  *at_top += top;
}

// Values of y[0, n) equal to `hi`.
int64_t CountAtTop(const int32_t* y, int64_t n, int64_t hi) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += y[i] == hi;
  return count;
}

}  // namespace

absl::StatusOr<Path> ParsePath(const std::string& name) {
  if (name == "reference") return Path::kReference;
  if (name == "tile") return Path::kTile;
  if (name == "fast") return Path::kFast;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown path '", name, "' (expected fast, reference or tile)"));
}

const char* PathName(Path path) {
  switch (path) {
    case Path::kReference: return "reference";
    case Path::kTile: return "tile";
    case Path::kFast: return "fast";
  }
  return "?";
}

absl::StatusOr<Sequencer> Sequencer::Create(const CompiledModel& model, const Options& options) {
  if (options.max_batch < 1 || options.max_batch > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequencer max_batch must be in 1..2^20, got ", options.max_batch));
  }
  if (options.max_mvm_entries < 1 || options.max_mvm_entries > (int64_t{1} << 24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sequencer max_mvm_entries must be in 1..2^24, got ", options.max_mvm_entries));
  }
  Sequencer s;
  s.model_ = &model;
  s.options_ = options;
  const int64_t b = options.max_batch;
  s.input_.assign(static_cast<size_t>(b * model.image_size()), 0);
  int64_t max_rows = 0, max_outputs = 0;
  s.outputs_.resize(model.layers().size());
  for (size_t i = 0; i < model.layers().size(); ++i) {
    const Layer& l = model.layers()[i];
    s.outputs_[i].assign(static_cast<size_t>(b * l.out_shape.size()), 0);
    if (l.uses_crossbar()) {
      max_rows = std::max(max_rows, l.matrix_rows);
      max_outputs = std::max(max_outputs, l.matrix_outputs);
    }
  }
  const int64_t entries = options.max_mvm_entries;
  s.cols_.assign(static_cast<size_t>(entries * max_rows), 0);
  if (options.path == Path::kFast && model.params().lossless_adc()) {
    s.cols_double_.assign(static_cast<size_t>(entries * max_rows), 0.0);
    s.acc_double_.assign(static_cast<size_t>(entries * max_outputs), 0.0);
    if (Int8Gemm::Supported() && model.params().activation_bits <= 8) {
      s.cols_u8_.assign(static_cast<size_t>(entries * ((max_rows + 3) / 4 * 4)), 0);
      // The largest layer input, with a convolution's padding (PadToU8).
      int64_t max_in = 0;
      for (const Layer& l : model.layers()) {
        max_in = std::max(max_in, l.in_shape.size());
        if (l.kind == LayerKind::kConv) {
          max_in = std::max<int64_t>(max_in, int64_t{l.in_shape.height + 2 * l.padding} *
                                                 (l.in_shape.width + 2 * l.padding) *
                                                 l.in_shape.channels);
        }
      }
      // (+64: a kernel row read in place may run up to 3 bytes past the
      // last pixel, onto zero weights; Int8Gemm::Pack.)
      s.in_u8_.assign(static_cast<size_t>(b * max_in + 64), 0);
      s.row_offset_.assign(static_cast<size_t>(entries), 0);
      // Three digit columns per output, padded to a panel (int8_gemm.cc).
      s.gemm_scratch_.reserve(static_cast<size_t>(entries * (3 * max_outputs + 64)));
    }
  }
  s.acc_.assign(static_cast<size_t>(entries * max_outputs), 0);
  s.scratch_bytes_ = static_cast<int64_t>(s.input_.size() * sizeof(int32_t) +
                                          s.cols_.size() * sizeof(int32_t) +
                                          s.cols_double_.size() * sizeof(double) +
                                          s.acc_double_.size() * sizeof(double) +
                                          s.acc_.size() * sizeof(int64_t) + s.cols_u8_.size() + s.in_u8_.size() +
                                          s.row_offset_.size() * sizeof(int64_t) +
                                          s.gemm_scratch_.capacity() * sizeof(int32_t));
  const emulator::HardwareParams& hw = model.params();
  if (options.path == Path::kFast) {
    s.fast_scratch_.Reserve(hw, entries, max_rows, max_outputs);
  }
  s.requant_.resize(model.layers().size());
  s.compensated_.resize(model.layers().size());
  for (int32_t index : model.crossbar_layers()) {
    const Layer& l = model.layers()[index];
    RequantArrays& r = s.requant_[index];
    FillRequantArrays(hw, l, l.requant, &r);
    s.scratch_bytes_ += static_cast<int64_t>(r.bias.size() * (4 * sizeof(int64_t) + sizeof(int32_t)));
  }
  for (const auto& o : s.outputs_) s.scratch_bytes_ += o.size() * sizeof(int32_t);
  return s;
}

void FillRequantArrays(const emulator::HardwareParams& hw, const Layer& l,
                       const std::vector<emulator::Requantization>& requant, RequantArrays* out) {
  RequantArrays& r = *out;
  r = RequantArrays();
  r.pre_shift = requant.empty() ? 0 : requant[0].pre_shift;
  r.lo = l.out_range.lo;
  r.hi = l.out_range.hi;
  for (const emulator::Requantization& q : requant) {
    r.bias.push_back(q.bias);
    r.multiplier.push_back(q.multiplier);
    r.shift.push_back(q.shift);
    r.shift_less_one.push_back(q.shift > 0 ? q.shift - 1 : 0);
    r.round_mask.push_back(q.shift > 0 ? 1 : 0);
  }
  // |acc| <= Sat_W range, and <= the sum of the tiles' bounds (§6.2).
  __int128 bound = 0;
  for (int64_t r0 = 0; r0 < l.matrix_rows; r0 += hw.array_rows) {
    bound += emulator::TileOutputBound(
        hw, static_cast<int32_t>(std::min<int64_t>(hw.array_rows, l.matrix_rows - r0)),
        l.signed_inputs);
  }
  r.fast_ok = hw.accumulator_bits <= 62 || bound < (static_cast<__int128>(1) << 62);
}

absl::Status Sequencer::RunCrossbarLayer(const ProgrammedModel& pm, int index, const int32_t* in,
                                         int n, InferenceStats* stats) {
  const emulator::HardwareParams& params = model_->params();
  const Layer& l = model_->layers()[index];
  emulator::MvmOptions mvm;
  mvm.adc_shift = l.adc_shift;
  mvm.signed_inputs = l.signed_inputs;
  mvm.num_threads = 1;
  const int64_t rows = l.matrix_rows, outs = l.matrix_outputs;
  const bool conv = l.kind == LayerKind::kConv;
  const int64_t total = n * l.positions();
  int32_t* out = outputs_[index].data();
  const bool fast = options_.path == Path::kFast;
  const FastMatrix* fm = fast ? &pm.fast(index) : nullptr;
  // §3.9: a drift-compensated instance brings its own multipliers and
  // shifts; their arrays are rebuilt when the instance changes.
  const uint32_t alpha = pm.compensation_q16(index);
  if (alpha != (1u << 16)) {
    Compensated& c = compensated_[index];
    if (c.instance != &pm || c.seed != pm.seed() || c.alpha != alpha) {
      FillRequantArrays(params, l, pm.requant(index), &c.arrays);
      c.instance = &pm;
      c.seed = pm.seed();
      c.alpha = alpha;
    }
  }
  const RequantArrays& rq = alpha != (1u << 16) ? compensated_[index].arrays : requant_[index];
  const std::vector<emulator::Requantization>& layer_requant = pm.requant(index);
  // §7.2 on entries [e0, e0 + batch) of acc (any exact integer type), and
  // the counters (full scale is not counted for int32 logits).
  auto requantize = [&](const auto* acc, int64_t e0, int64_t batch) {
    int64_t sats = 0, top = 0;
    for (int64_t e = 0; e < batch; ++e) {
      RequantizeRow(acc + e * outs, outs, rq, out + (e0 + e) * outs, &sats, &top);
    }
    stats->periphery_saturations += sats;
    if (l.out_type != formats::ACTIVATION_INT32) stats->outputs_at_full_scale += top;
  };
  const Int8Gemm* i8 = fast && !hook_ ? fm->int8_gemm() : nullptr;
  // A convolution's kernel rows are read in place (Int8Gemm::MultiplySegments;
  // packed as padded runs when k * C is not a multiple of 4); a matrix
  // packed otherwise takes the double GEMM below.
  if (i8 != nullptr && !cols_u8_.empty() && rq.fast_ok && (!conv || i8->CanSegment(l.kernel))) {
    // Lossless and proven, 8-bit inputs: the exact product with 8-bit dot
    // products (int8_gemm.h).
    const int64_t padded = i8->padded_rows();
    const uint8_t offset = l.signed_inputs ? 128 : 0;
    const int64_t C = l.in_shape.channels;
    const int64_t Wp = l.in_shape.width + 2 * l.padding;
    const int64_t padded_image = (l.in_shape.height + 2 * l.padding) * Wp * C;
    if (conv) PadToU8(l, in, n, offset, in_u8_.data());
    const int64_t positions = l.positions();
    const int OW = l.out_shape.width;
    for (int64_t e0 = 0; e0 < total; e0 += options_.max_mvm_entries) {
      const int64_t batch = std::min(options_.max_mvm_entries, total - e0);
      if (conv) {
        int64_t* offsets = row_offset_.data();
        for (int64_t e = 0; e < batch; ++e) {
          const int64_t image = (e0 + e) / positions, pos = (e0 + e) % positions;
          const int64_t oy = pos / OW, ox = pos % OW;
          offsets[e] = image * padded_image + (oy * l.stride * Wp + ox * l.stride) * C;
        }
        i8->Digits(in_u8_.data(), offsets, l.kernel, Wp * C, batch, &gemm_scratch_);
      } else {
        uint8_t* xa = cols_u8_.data();
        for (int64_t e = 0; e < batch; ++e) {
          const int32_t* src = in + (e0 + e) * rows;
          uint8_t* dst = xa + e * padded;
          for (int64_t r = 0; r < rows; ++r) dst[r] = static_cast<uint8_t>(src[r] + offset);
          for (int64_t r = rows; r < padded; ++r) dst[r] = 0;
        }
        i8->Digits(xa, nullptr, 1, 0, batch, &gemm_scratch_);
      }
      fm->CountLosslessConversions(params, batch, &stats->mvm);
      int64_t sats = 0, top = 0;
      for (int64_t e = 0; e < batch; ++e) {
        RequantizeDigitsRow(gemm_scratch_.data() + e * i8->digit_stride(), outs, i8->correction(),
                            rq, out + (e0 + e) * outs, &sats, &top);
      }
      stats->periphery_saturations += sats;
      if (l.out_type != formats::ACTIVATION_INT32) stats->outputs_at_full_scale += top;
    }
    return absl::OkStatus();
  }
  if (fast && fm->lossless_single_gemm() && !hook_) {
    // Lossless and proven (§6.3, §9.2): one exact double GEMM per MVM batch,
    // inputs unrolled straight into the GEMM's row order and type.
    for (int64_t e0 = 0; e0 < total; e0 += options_.max_mvm_entries) {
      const int64_t batch = std::min(options_.max_mvm_entries, total - e0);
      double* xd = cols_double_.data();
      if (conv) {
        UnrollGemmOrder(l, in, e0, batch, xd);
      } else {
        const int32_t* x = in + e0 * rows;
        std::copy(x, x + batch * rows, xd);
      }
      fm->LosslessMvmDouble(params, xd, batch, acc_double_.data(), &stats->mvm);
      requantize(acc_double_.data(), e0, batch);
    }
    return absl::OkStatus();
  }
  for (int64_t e0 = 0; e0 < total; e0 += options_.max_mvm_entries) {
    const int64_t batch = std::min(options_.max_mvm_entries, total - e0);
    // The MVM's input vectors: unrolled patches (§7.8), or for a linear layer
    // the input tensor itself (one vector per image, rows contiguous).
    const int32_t* x = in + e0 * rows;
    if (conv) {
      Unroll(l, in, e0, batch, cols_.data());
      x = cols_.data();
    }
    if (hook_) hook_(index, x, batch);
    if (fast) {
      fm->Mvm(params, mvm, x, rows, batch, acc_.data(), outs, &stats->mvm, &fast_scratch_);
    } else {
      absl::Status s = emulator::MatrixMvm(
          params, pm.matrix(index), mvm, x, rows, batch, acc_.data(), outs,
          options_.path == Path::kReference ? emulator::MvmPath::kReference
                                            : emulator::MvmPath::kFast,
          &stats->mvm);
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat("layer ", index, " '", l.name, "': ",
                                                   s.message()));
      }
    }
    // §7.2 per output channel; entry e's outputs are channels-fastest at
    // out[(e0 + e) * outs], which is the NHWC layout of the output tensor.
    if (fast && rq.fast_ok) {
      requantize(acc_.data(), e0, batch);
      continue;
    }
    int64_t sats = 0;
    {
      const emulator::Requantization* q = layer_requant.data();
      for (int64_t e = 0; e < batch; ++e) {
        const int64_t* a = acc_.data() + e * outs;
        int32_t* y = out + (e0 + e) * outs;
        for (int64_t c = 0; c < outs; ++c) {
          y[c] = static_cast<int32_t>(emulator::Requantize(a[c], q[c], &sats));
        }
      }
    }
    stats->periphery_saturations += sats;
    if (l.out_type != formats::ACTIVATION_INT32) {
      stats->outputs_at_full_scale += CountAtTop(out + e0 * outs, batch * outs, l.out_range.hi);
    }
  }
  return absl::OkStatus();
}

absl::Status Sequencer::Run(const ProgrammedModel& programmed, const uint8_t* pixels, int n,
                            int32_t* logits, InferenceStats* stats) {
  if (n < 1 || n > options_.max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", n, " images; this sequencer takes 1..", options_.max_batch));
  }
  if (&programmed.model() != model_) {
    return absl::InvalidArgumentError("the programmed instance belongs to another model");
  }
  if (options_.path == Path::kFast && !programmed.has_fast_path()) {
    return absl::InvalidArgumentError(
        "the fast path needs an instance programmed with prepare_fast_path");
  }
  InferenceStats local;
  local.images = n;
  const emulator::HardwareParams& params = model_->params();

  // §7.7: pixel map, NCHW uint8 -> HWC signed A-bit; padding comes later
  // (§7.8) with 0.
  const int C = model_->in_channels(), S = model_->input_size();
  for (int i = 0; i < n; ++i) {
    const uint8_t* img = pixels + i * model_->image_size();
    int32_t* dst = input_.data() + i * model_->image_size();
    for (int c = 0; c < C; ++c) {
      const int32_t k = model_->pixel_k()[c];
      const int64_t o = model_->pixel_offset()[c];
      for (int p = 0; p < S * S; ++p) {
        dst[p * C + c] = emulator::PixelToActivation(img[c * S * S + p], k, o, model_->pixel_shift(),
                                                     params.activation_bits,
                                                     &local.periphery_saturations);
      }
    }
  }

  const std::vector<Layer>& layers = model_->layers();
  for (size_t li = 0; li < layers.size(); ++li) {
    const Layer& l = layers[li];
    const int32_t* in = l.input < 0 ? input_.data() : outputs_[l.input].data();
    int32_t* out = outputs_[li].data();
    const TensorShape& is = l.in_shape;
    const TensorShape& os = l.out_shape;
    switch (l.kind) {
      case LayerKind::kConv:
      case LayerKind::kLinear:
        if (absl::Status s = RunCrossbarLayer(programmed, static_cast<int>(li), in, n, &local);
            !s.ok()) {
          return s;
        }
        break;
      case LayerKind::kMaxPool:
        // §7.4: 2x2, stride 2, floor; exact.
        for (int i = 0; i < n; ++i) {
          const int32_t* a = in + i * is.size();
          int32_t* b = out + i * os.size();
          for (int oy = 0; oy < os.height; ++oy) {
            for (int ox = 0; ox < os.width; ++ox) {
              const int32_t* p00 = a + ((2 * oy) * is.width + 2 * ox) * is.channels;
              const int32_t* p01 = p00 + is.channels;
              const int32_t* p10 = p00 + is.width * is.channels;
              const int32_t* p11 = p10 + is.channels;
              int32_t* dst = b + (oy * os.width + ox) * os.channels;
              for (int c = 0; c < os.channels; ++c) {
                dst[c] = std::max(std::max(p00[c], p01[c]), std::max(p10[c], p11[c]));
              }
            }
          }
        }
        break;
      case LayerKind::kAvgPool: {
        // §7.6: exact int32 sum per channel, then the scaling.
        const int positions = is.height * is.width;
        for (int i = 0; i < n; ++i) {
          const int32_t* a = in + i * is.size();
          int32_t* b = out + i * os.size();
          for (int c = 0; c < is.channels; ++c) {
            int32_t sum = 0;
            for (int p = 0; p < positions; ++p) sum += a[p * is.channels + c];
            b[c] = static_cast<int32_t>(emulator::ScaleAverage(
                sum, l.pool_multiplier, l.pool_shift, l.out_range, &local.periphery_saturations));
          }
        }
        break;
      }
      case LayerKind::kFlatten: {
        // HWC -> PyTorch's C*H*W vector (§2.2 linear rows).
        const int plane = is.height * is.width;
        for (int i = 0; i < n; ++i) {
          const int32_t* a = in + i * is.size();
          int32_t* b = out + i * os.size();
          for (int c = 0; c < is.channels; ++c) {
            for (int p = 0; p < plane; ++p) b[c * plane + p] = a[p * is.channels + c];
          }
        }
        break;
      }
      case LayerKind::kResidualAdd: {
        // §7.5, the ReLU being the output's lower clamp.
        const int32_t* bsrc = l.input_b < 0 ? input_.data() : outputs_[l.input_b].data();
        const int64_t count = n * os.size();
        int64_t sats = 0;
        for (int64_t k = 0; k < count; ++k) {
          out[k] = static_cast<int32_t>(emulator::ResidualAdd(in[k], l.multiplier_a, bsrc[k],
                                                              l.multiplier_b, l.residual_shift,
                                                              l.out_range, &sats));
        }
        local.periphery_saturations += sats;
        local.outputs_at_full_scale += CountAtTop(out, count, l.out_range.hi);
        break;
      }
    }
  }
  // §7.9: the last layer's int32 outputs are the logits.
  const int32_t* last = outputs_.back().data();
  std::copy(last, last + static_cast<int64_t>(n) * model_->num_classes(), logits);
  if (stats != nullptr) stats->Add(local);
  return absl::OkStatus();
}

}  // namespace nftcim::firmware
