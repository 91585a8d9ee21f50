#include "emulator/golden_layer.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "emulator/fixed_point.h"
#include "google/protobuf/text_format.h"
#include "util/atomic_file.h"
#include "util/digest.h"

namespace nftcim::emulator {
namespace {

absl::Status Check(bool ok, const std::string& what) {
  return ok ? absl::OkStatus()
            : absl::InternalError(absl::StrCat("golden vectors self-check failed: ", what));
}

}  // namespace

absl::Status GoldenFileWriter::Write(const std::string& path, absl::string_view contents) {
  if (absl::Status s = WriteFileAtomically(absl::StrCat(dir_, "/", path), contents); !s.ok()) {
    return s;
  }
  formats::FileDigest d;
  d.set_path(path);
  d.set_bytes(static_cast<int64_t>(contents.size()));
  d.set_sha256(Sha256Hex(contents));
  written_.push_back(std::move(d));
  return absl::OkStatus();
}

void GoldenFileWriter::AddWritten(const std::string& prefix,
                                  const std::vector<formats::FileDigest>& files) {
  for (formats::FileDigest d : files) {
    d.set_path(absl::StrCat(prefix, "/", d.path()));
    written_.push_back(std::move(d));
  }
}

std::vector<formats::FileDigest> GoldenFileWriter::Inventory() const {
  std::vector<formats::FileDigest> v = written_;
  std::sort(v.begin(), v.end(), [](const formats::FileDigest& a, const formats::FileDigest& b) {
    return a.path() < b.path();
  });
  return v;
}

absl::StatusOr<std::string> GoldenManifestText(const google::protobuf::Message& manifest) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  if (!printer.PrintToString(manifest, &text)) return absl::InternalError("cannot print manifest");
  return absl::StrCat("# proto-file: formats/golden_manifest.proto\n# proto-message: ",
                      manifest.GetDescriptor()->full_name(), "\n", text);
}

void GoldenHexFile::Add(int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v) & mask;
  absl::StrAppendFormat(&text, "%0*x\n", meta->hex_digits(), u);
}

GoldenHexFile NewGoldenHexFile(google::protobuf::RepeatedPtrField<formats::GoldenFile>* files,
                               const std::string& name, const std::string& description,
                               const std::vector<std::pair<std::string, int64_t>>& dims, int bits,
                               bool is_signed) {
  formats::GoldenFile* f = files->Add();
  f->set_name(name);
  f->set_description(description);
  std::string order;
  int64_t values = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    f->add_shape(dims[k].second);
    f->add_dims(dims[k].first);
    values *= dims[k].second;
    order = k == 0 ? dims[k].first
                   : absl::StrCat("(", order, ") * ", dims[k].second, " + ", dims[k].first);
  }
  f->set_order(absl::StrCat("line = ", order));
  f->set_bits(bits);
  f->set_signed_(is_signed);
  f->set_hex_digits((bits + 3) / 4);
  f->set_values(values);
  GoldenHexFile h;
  h.meta = f;
  h.mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  return h;
}

void RangeBits(const OutputRange& range, int* bits, bool* is_signed) {
  *is_signed = range.lo < 0;
  int b = 0;
  while (b < 63 && (int64_t{1} << b) - 1 < range.hi) ++b;
  *bits = *is_signed ? b + 1 : b;
}

absl::Status WriteGoldenLayer(const GoldenLayerInput& in, const std::string& out_dir,
                              formats::GoldenManifest* m, GoldenLayerOutput* output) {
  if (in.hardware == nullptr || in.matrix == nullptr || in.x == nullptr || in.batch < 1 ||
      !in.requantization || m == nullptr) {
    return absl::InvalidArgumentError("WriteGoldenLayer: hardware, matrix, x, batch >= 1, "
                                      "requantization and manifest are required");
  }
  const HardwareParams& hw = *in.hardware;
  const ProgrammedMatrix& matrix = *in.matrix;
  const int64_t R = matrix.rows(), N = matrix.outputs(), B = in.batch;
  const int32_t P = hw.cells_per_weight, J = hw.num_slices;
  const int64_t NC = N * P;  // layer-matrix columns: output * P + cell
  const int64_t T = matrix.row_tiles(), U = matrix.column_tiles();
  const int32_t* x = in.x;

  // Programmed codes in layer-matrix coordinates (§3.5).
  std::vector<int16_t> gpos(R * NC), gneg(R * NC);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t u = 0; u < U; ++u) {
      const ProgrammedTile& tile = matrix.tile(t, u);
      for (int32_t r = 0; r < tile.rows_used; ++r) {
        for (int32_t c = 0; c < tile.columns_used; ++c) {
          const int64_t gi = (tile.first_row + r) * NC + tile.first_output * P + c;
          gpos[gi] = tile.Code(ArraySide::kPositive, r, c);
          gneg[gi] = tile.Code(ArraySide::kNegative, r, c);
        }
      }
    }
  }

  // Bit planes (§4.2) and column sums (§5.1): S[t][b][j][a][c].
  const int32_t xmin = InputMin(hw, in.signed_inputs), xmax = InputMax(hw, in.signed_inputs);
  for (int64_t k = 0; k < B * R; ++k) {
    if (x[k] < xmin || x[k] > xmax) {
      return absl::InvalidArgumentError(absl::StrCat("input ", k, " = ", x[k], " outside [", xmin,
                                                     ", ", xmax, "] (spec 4.1)"));
    }
  }
  std::vector<int32_t> digits(B * J * R);
  for (int64_t b = 0; b < B; ++b)
    for (int32_t j = 0; j < J; ++j)
      for (int64_t r = 0; r < R; ++r)
        digits[(b * J + j) * R + r] = InputSlice(hw, x[b * R + r], j, in.signed_inputs);
  const int32_t rows_per_tile = hw.array_rows;
  std::vector<int64_t> sums(T * B * J * 2 * NC, 0);
  int64_t max_abs_sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t r0 = t * rows_per_tile, r1 = std::min<int64_t>(R, r0 + rows_per_tile);
    for (int64_t b = 0; b < B; ++b)
      for (int32_t j = 0; j < J; ++j) {
        const int32_t* d = digits.data() + (b * J + j) * R;
        for (int a = 0; a < 2; ++a) {
          const std::vector<int16_t>& g = a == 0 ? gpos : gneg;
          int64_t* s = sums.data() + (((t * B + b) * J + j) * 2 + a) * NC;
          // Row-outer order so the loop streams the code rows; the sums
          // are exact integers, so the order cannot change them.
          for (int64_t r = r0; r < r1; ++r) {
            const int64_t dr = d[r];
            if (dr == 0) continue;
            const int16_t* gr = g.data() + r * NC;
            for (int64_t c = 0; c < NC; ++c) s[c] += dr * gr[c];
          }
          for (int64_t c = 0; c < NC; ++c) max_abs_sum = std::max(max_abs_sum, std::abs(s[c]));
        }
      }
  }
  if (max_abs_sum > INT32_MAX) return absl::InternalError("column sum exceeds int32");

  // §5.3: the layer's ADC shift.
  int32_t adc_shift = 0;
  if (!hw.lossless_adc()) {
    if (in.adc_shift >= 0) {
      adc_shift = in.adc_shift;
    } else {
      adc_shift = hw.adc_shift_policy == formats::ADC_SHIFT_FIXED
                      ? hw.adc_shift
                      : AdcShiftForColumnSum(hw, max_abs_sum);
    }
  }
  MvmOptions mvm;
  mvm.adc_shift = adc_shift;
  mvm.signed_inputs = in.signed_inputs;

  AdcStats adc_stats;
  std::vector<int32_t> adc(sums.size());
  for (size_t k = 0; k < sums.size(); ++k)
    adc[k] = AdcConvert(hw, static_cast<int32_t>(sums[k]), adc_shift, &adc_stats);

  // §6.1 tile outputs and §6.3 accumulation: y[t][b][n], acc[t][b][n].
  std::vector<int64_t> ytile(T * B * N), acc(T * B * N);
  int64_t acc_sats = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 0; n < N; ++n) {
        int64_t s = 0;
        for (int a = 0; a < 2; ++a)
          for (int32_t i = 0; i < P; ++i)
            for (int32_t j = 0; j < J; ++j) {
              const int64_t code = adc[(((t * B + b) * J + j) * 2 + a) * NC + n * P + i];
              const int64_t term = code * (int64_t{1} << (hw.cell_bits * i + hw.dac_bits * j));
              s += a == 0 ? term : -term;
            }
        bool sat = false;
        const int64_t y = SaturateToSignedBits(s, hw.accumulator_bits, &sat);
        acc_sats += sat;
        ytile[(t * B + b) * N + n] = y;
        const int64_t prev = t == 0 ? 0 : acc[((t - 1) * B + b) * N + n];
        sat = false;
        acc[(t * B + b) * N + n] = SaturatingAddSignedBits(prev, y, hw.accumulator_bits, &sat);
        acc_sats += sat;
      }

  // Cross-checks against the emulator's reference path.
  for (int64_t t = 0; t < T; ++t)
    for (int64_t u = 0; u < U; ++u) {
      const ProgrammedTile& tile = matrix.tile(t, u);
      std::vector<int64_t> y(B * tile.outputs_used);
      if (absl::Status s = CrossbarMvmReference(hw, tile, mvm, x + tile.first_row, R, B, y.data(),
                                                tile.outputs_used, nullptr);
          !s.ok())
        return s;
      for (int64_t b = 0; b < B; ++b)
        for (int32_t n = 0; n < tile.outputs_used; ++n)
          if (absl::Status s = Check(y[b * tile.outputs_used + n] ==
                                         ytile[(t * B + b) * N + tile.first_output + n],
                                     absl::StrCat("tile output t=", t, " u=", u, " b=", b, " n=", n));
              !s.ok())
            return s;
    }
  std::vector<int64_t> final_acc(acc.begin() + (T - 1) * B * N, acc.end());
  {
    std::vector<int64_t> y(B * N);
    MvmStats stats;
    if (absl::Status s = MatrixMvm(hw, matrix, mvm, x, R, B, y.data(), N, MvmPath::kReference, &stats);
        !s.ok())
      return s;
    for (int64_t k = 0; k < B * N; ++k)
      if (absl::Status s = Check(y[k] == final_acc[k], absl::StrCat("acc ", k)); !s.ok()) return s;
    if (absl::Status s = Check(stats.accumulator_saturations == acc_sats &&
                                   stats.adc.saturated_high == adc_stats.saturated_high &&
                                   stats.adc.saturated_low == adc_stats.saturated_low,
                               "counters");
        !s.ok())
      return s;
  }

  // §7.2-§7.3.
  const std::vector<Requantization> rq = in.requantization(final_acc);
  if (static_cast<int64_t>(rq.size()) != N) {
    return absl::InvalidArgumentError(
        absl::StrCat("requantization: ", rq.size(), " entries for ", N, " outputs"));
  }
  const int32_t pre_shift = rq[0].pre_shift;
  const OutputRange out_range = rq[0].range;
  for (const Requantization& q : rq) {
    if (q.pre_shift != pre_shift || q.range.lo != out_range.lo || q.range.hi != out_range.hi) {
      return absl::InvalidArgumentError(
          "requantization: pre_shift and output range must be the same for every output (spec 7.2)");
    }
  }
  int out_bits = 0;
  bool out_signed = false;
  RangeBits(out_range, &out_bits, &out_signed);
  std::vector<int64_t> req_t(B * N), out(B * N);
  int64_t rq_sats = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t a = final_acc[b * N + n];
      const Requantization& q = rq[n];
      bool sat = false;
      const int64_t t = SaturateToSignedBits(
          SaturatingAddSignedBits(RoundHalfUpShift(a, q.pre_shift), q.bias, 64, &sat), 32, &sat);
      req_t[b * N + n] = t;
      out[b * N + n] = Requantize(a, q, &rq_sats);
      const int64_t y2 = Clamp(RoundHalfUpShift(t * q.multiplier, q.shift), q.range.lo, q.range.hi);
      if (absl::Status s = Check(y2 == out[b * N + n], "requantize"); !s.ok()) return s;
    }

  // Files.
  *m->mutable_hardware() = hw.ToConfig();
  m->set_rows(R);
  m->set_outputs(N);
  m->set_batch(B);
  m->set_row_tiles(T);
  m->set_column_tiles(U);
  m->set_outputs_per_tile(hw.outputs_per_tile);
  m->set_cells_per_weight(P);
  m->set_num_slices(J);
  m->set_signed_inputs(in.signed_inputs);
  m->set_adc_shift(adc_shift);
  m->set_pre_shift(pre_shift);
  m->set_out_lo(out_range.lo);
  m->set_out_hi(out_range.hi);
  m->set_adc_saturated_high(adc_stats.saturated_high);
  m->set_adc_saturated_low(adc_stats.saturated_low);
  m->set_accumulator_saturations(acc_sats);
  m->set_requant_saturations(rq_sats);
  m->set_adc_codes(in.write_adc_codes);
  m->clear_files();

  auto* files_meta = m->mutable_files();
  const int W = hw.accumulator_bits;
  const bool adc_signed = hw.lossless_adc() || hw.adc_range == formats::ADC_BIPOLAR;
  const int adc_w = hw.lossless_adc() ? 32 : hw.adc_bits;
  std::vector<GoldenHexFile> files;
  if (in.weight_codes != nullptr) {
    GoldenHexFile f = NewGoldenHexFile(files_meta, "weights.hex",
                                       "signed weight codes (spec 2.1) of layer-matrix row r, output n",
                                       {{"r", R}, {"n", N}}, hw.weight_bits + 1, true);
    for (int64_t k = 0; k < R * N; ++k) f.Add(in.weight_codes[k]);
    files.push_back(std::move(f));
  }
  for (int a = 0; a < 2; ++a) {
    GoldenHexFile f = NewGoldenHexFile(
        files_meta, a == 0 ? "gpos.hex" : "gneg.hex",
        absl::StrCat(a == 0 ? "positive" : "negative",
                     " array conductance codes (spec 3.5); column c = n * P + i; row tile "
                     "t = r / R, column tile u = n / O"),
        {{"r", R}, {"c", NC}}, hw.conductance_code_bits, true);
    for (int16_t v : a == 0 ? gpos : gneg) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    GoldenHexFile f = NewGoldenHexFile(files_meta, "x.hex",
                                       "input activations (spec 4.1); row tile t gets rows t*R ..",
                                       {{"b", B}, {"r", R}}, hw.activation_bits, in.signed_inputs);
    for (int64_t k = 0; k < B * R; ++k) f.Add(x[k]);
    files.push_back(std::move(f));
  }
  {
    GoldenHexFile f = NewGoldenHexFile(files_meta, "xbits.hex",
                                       "input slice digits d_j (spec 4.2), j = 0 least significant",
                                       {{"b", B}, {"j", J}, {"r", R}},
                                       hw.dac_bits + (in.signed_inputs ? 1 : 0), in.signed_inputs);
    for (int32_t v : digits) f.Add(v);
    files.push_back(std::move(f));
  }
  if (in.write_adc_codes) {
    GoldenHexFile f = NewGoldenHexFile(
        files_meta, "adc.hex",
        "ADC codes (spec 5.2) of row tile t, input b, slice j, array a (0 = positive, 1 = "
        "negative), column c = n * P + i",
        {{"t", T}, {"b", B}, {"j", J}, {"a", 2}, {"c", NC}}, adc_w, adc_signed);
    for (int32_t v : adc) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    GoldenHexFile f = NewGoldenHexFile(files_meta, "tile_y.hex", "tile outputs y_tile (spec 6.1), Sat_W",
                                       {{"t", T}, {"b", B}, {"n", N}}, W, true);
    for (int64_t v : ytile) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    GoldenHexFile f = NewGoldenHexFile(
        files_meta, "acc.hex",
        "accumulator after row tile t, acc_{t+1} (spec 6.3); t = T-1 is the layer output",
        {{"t", T}, {"b", B}, {"n", N}}, W, true);
    for (int64_t v : acc) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    GoldenHexFile fb = NewGoldenHexFile(files_meta, "bias.hex",
                                        "bias_n (spec 7.2), units of 2^p accumulator LSBs", {{"n", N}},
                                        32, true);
    GoldenHexFile fm = NewGoldenHexFile(files_meta, "mult.hex", "multiplier m_n (spec 7.2)", {{"n", N}},
                                        32, true);
    GoldenHexFile fs = NewGoldenHexFile(files_meta, "shift.hex", "shift s_n (spec 7.2), 0..62",
                                        {{"n", N}}, 8, false);
    for (const Requantization& q : rq) {
      fb.Add(q.bias);
      fm.Add(q.multiplier);
      fs.Add(q.shift);
    }
    files.push_back(std::move(fb));
    files.push_back(std::move(fm));
    files.push_back(std::move(fs));
  }
  {
    GoldenHexFile f = NewGoldenHexFile(files_meta, "req_t.hex",
                                       "t = Sat_32(Sat_64(RoundHalfUpShift(acc, p) + bias_n)) (spec 7.2)",
                                       {{"b", B}, {"n", N}}, 32, true);
    for (int64_t v : req_t) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    GoldenHexFile f = NewGoldenHexFile(
        files_meta, "out.hex",
        out_range.lo == 0
            ? "requantized ReLU output, Clamp(RoundHalfUpShift(t * m_n, s_n), lo, hi) (spec 7.2, spec 7.3)"
            : "requantized output, Clamp(RoundHalfUpShift(t * m_n, s_n), lo, hi) (spec 7.2, spec 7.3)",
        {{"b", B}, {"n", N}}, out_bits, out_signed);
    for (int64_t v : out) f.Add(v);
    files.push_back(std::move(f));
  }

  GoldenFileWriter writer(out_dir);
  for (const GoldenHexFile& f : files) {
    if (absl::Status s = writer.Write(f.meta->name(), f.text); !s.ok()) return s;
  }
  // Verilog header with the set's parameters (tests/rtl/golden_tb.v).
  std::string vh = absl::StrCat(
      "// Generated by ", m->generator(), "; see manifest.textproto.\n",
      absl::StrFormat("`define GV_T %d\n`define GV_B %d\n`define GV_N %d\n`define GV_P %d\n`define GV_J %d\n",
                      T, B, N, P, J),
      absl::StrFormat("`define GV_K %d\n`define GV_D %d\n`define GV_W %d\n`define GV_ADC_W %d\n",
                      hw.cell_bits, hw.dac_bits, W, adc_w),
      absl::StrFormat("`define GV_ADC_SIGNED %d\n`define GV_PRE_SHIFT %d\n`define GV_OUT_BITS %d\n",
                      adc_signed ? 1 : 0, pre_shift, out_bits),
      absl::StrFormat("`define GV_OUT_SIGNED %d\n", out_signed ? 1 : 0));
  if (absl::Status s = writer.Write("golden_params.vh", vh); !s.ok()) return s;
  m->set_format_version(kGoldenFormatVersion);
  m->clear_inventory();
  for (formats::FileDigest& d : writer.Inventory()) *m->add_inventory() = std::move(d);
  absl::StatusOr<std::string> text = GoldenManifestText(*m);
  if (!text.ok()) return text.status();
  if (absl::Status s = writer.Write("manifest.textproto", *text); !s.ok()) return s;
  if (output != nullptr) {
    output->outputs = std::move(out);
    output->files = writer.Inventory();
  }
  return absl::OkStatus();
}

}  // namespace nftcim::emulator
