#include "emulator/golden_tile.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "device_model/device_model.h"
#include "emulator/crossbar.h"
#include "emulator/crossbar_matrix.h"
#include "emulator/fixed_point.h"
#include "emulator/hardware_config.h"
#include "emulator/periphery.h"
#include "emulator/programming.h"
#include "google/protobuf/text_format.h"
#include "util/atomic_file.h"

namespace nftcim::emulator {
namespace {

// splitmix64: the generator of the weights, inputs and periphery constants.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (hi - lo < 2^32; the modulo bias is irrelevant).
  int64_t Uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

int BitLength(uint64_t v) {
  int n = 0;
  while (v != 0) {
    ++n;
    v >>= 1;
  }
  return n;
}

// One $readmemh file being built.
struct HexFile {
  formats::GoldenFile* meta;
  std::string text;
  uint64_t mask;

  void Add(int64_t v) {
    const uint64_t u = static_cast<uint64_t>(v) & mask;
    absl::StrAppendFormat(&text, "%0*x\n", meta->hex_digits(), u);
  }
};

HexFile NewFile(formats::GoldenManifest* m, const std::string& name, const std::string& description,
                std::vector<std::pair<std::string, int64_t>> dims, int bits, bool is_signed) {
  formats::GoldenFile* f = m->add_files();
  f->set_name(name);
  f->set_description(description);
  std::string order;
  std::string prefix;
  int64_t values = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    f->add_shape(dims[k].second);
    f->add_dims(dims[k].first);
    values *= dims[k].second;
    order = k == 0 ? dims[k].first : absl::StrCat("(", order, ") * ", dims[k].second, " + ", dims[k].first);
  }
  f->set_order(absl::StrCat("line = ", order));
  f->set_bits(bits);
  f->set_signed_(is_signed);
  f->set_hex_digits((bits + 3) / 4);
  f->set_values(values);
  return HexFile{f, "", bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1};
}

absl::Status Check(bool ok, const std::string& what) {
  return ok ? absl::OkStatus() : absl::InternalError(absl::StrCat("golden_tile self-check failed: ", what));
}

}  // namespace

absl::Status WriteGoldenTile(const GoldenTileOptions& o, const std::string& out_dir,
                             formats::GoldenManifest* manifest_out) {
  if (absl::Status s = ValidateHardwareConfig(o.hardware); !s.ok()) return s;
  absl::StatusOr<HardwareParams> params_or = HardwareParams::FromConfig(o.hardware);
  if (!params_or.ok()) return params_or.status();
  const HardwareParams& hw = *params_or;
  if (o.rows < 1 || o.outputs < 1 || o.batch < 1 || o.rows > (1 << 20) || o.outputs > (1 << 16) ||
      o.batch > 4096) {
    return absl::InvalidArgumentError("rows, outputs, batch must be in 1..2^20, 1..2^16, 1..4096");
  }
  absl::StatusOr<device::DeviceModel> device =
      device::DeviceModel::Create(hw.weight_bits, hw.cell_bits, o.sigma, formats::GAUSSIAN);
  if (!device.ok()) return device.status();
  absl::StatusOr<CellStdCodes> std_codes = MakeCellStdCodes(hw, *device);
  if (!std_codes.ok()) return std_codes.status();

  const int64_t R = o.rows, N = o.outputs, B = o.batch;
  const int32_t P = hw.cells_per_weight, J = hw.num_slices;
  const int64_t NC = N * P;  // layer-matrix columns: output * P + cell

  // Weights and inputs: pure functions of the seed.
  Rng rng(o.seed ^ 0x676F6C64656E0001ull);
  std::vector<int16_t> w(R * N);
  for (int16_t& v : w) v = static_cast<int16_t>(rng.Uniform(-hw.max_magnitude, hw.max_magnitude));
  std::vector<int32_t> x(B * R);
  const int32_t xmin = InputMin(hw, o.signed_inputs), xmax = InputMax(hw, o.signed_inputs);
  for (int32_t& v : x) v = static_cast<int32_t>(rng.Uniform(xmin, xmax));

  ProgrammingStats pstats;
  absl::StatusOr<ProgrammedMatrix> matrix =
      ProgramMatrix(hw, *std_codes, WeightMatrixView{w.data(), R, N, N},
                    ProgrammingKey{o.seed, 0}, 1, &pstats);
  if (!matrix.ok()) return matrix.status();
  const int64_t T = matrix->row_tiles(), U = matrix->column_tiles();

  // Programmed codes in layer-matrix coordinates.
  std::vector<int16_t> gpos(R * NC), gneg(R * NC);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t u = 0; u < U; ++u) {
      const ProgrammedTile& tile = matrix->tile(t, u);
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
  std::vector<int32_t> digits(B * J * R);
  for (int64_t b = 0; b < B; ++b)
    for (int32_t j = 0; j < J; ++j)
      for (int64_t r = 0; r < R; ++r)
        digits[(b * J + j) * R + r] = InputSlice(hw, x[b * R + r], j, o.signed_inputs);
  const int32_t rows_per_tile = hw.array_rows;
  std::vector<int64_t> sums(T * B * J * 2 * NC, 0);
  int64_t max_abs_sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t r0 = t * rows_per_tile, r1 = std::min<int64_t>(R, r0 + rows_per_tile);
    for (int64_t b = 0; b < B; ++b)
      for (int32_t j = 0; j < J; ++j)
        for (int a = 0; a < 2; ++a) {
          const std::vector<int16_t>& g = a == 0 ? gpos : gneg;
          for (int64_t c = 0; c < NC; ++c) {
            int64_t s = 0;
            for (int64_t r = r0; r < r1; ++r) s += int64_t{digits[(b * J + j) * R + r]} * g[r * NC + c];
            sums[(((t * B + b) * J + j) * 2 + a) * NC + c] = s;
            max_abs_sum = std::max(max_abs_sum, std::abs(s));
          }
        }
  }
  if (max_abs_sum > INT32_MAX) return absl::InternalError("column sum exceeds int32");

  // §5.3: the layer's ADC shift.
  int32_t adc_shift = 0;
  if (!hw.lossless_adc()) {
    adc_shift = hw.adc_shift_policy == formats::ADC_SHIFT_FIXED
                    ? hw.adc_shift
                    : AdcShiftForColumnSum(hw, max_abs_sum);
  }
  MvmOptions mvm;
  mvm.adc_shift = adc_shift;
  mvm.signed_inputs = o.signed_inputs;

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
      const ProgrammedTile& tile = matrix->tile(t, u);
      std::vector<int64_t> y(B * tile.outputs_used);
      if (absl::Status s = CrossbarMvmReference(hw, tile, mvm, x.data() + tile.first_row, R, B,
                                                y.data(), tile.outputs_used, nullptr);
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
  {
    std::vector<int64_t> y(B * N);
    MvmStats stats;
    if (absl::Status s = MatrixMvm(hw, *matrix, mvm, x.data(), R, B, y.data(), N,
                                   MvmPath::kReference, &stats);
        !s.ok())
      return s;
    for (int64_t k = 0; k < B * N; ++k)
      if (absl::Status s = Check(y[k] == acc[(T - 1) * B * N + k], absl::StrCat("acc ", k)); !s.ok())
        return s;
    if (absl::Status s = Check(stats.accumulator_saturations == acc_sats &&
                                   stats.adc.saturated_high == adc_stats.saturated_high &&
                                   stats.adc.saturated_low == adc_stats.saturated_low,
                               "counters");
        !s.ok())
      return s;
  }

  // §7.2 constants, chosen from the seed and the data.
  uint64_t max_abs_acc = 1;
  for (int64_t k = (T - 1) * B * N; k < T * B * N; ++k)
    max_abs_acc = std::max<uint64_t>(max_abs_acc, static_cast<uint64_t>(std::llabs(acc[k])));
  int32_t pre_shift = 0;
  while ((max_abs_acc >> pre_shift) > (uint64_t{1} << 20)) ++pre_shift;
  const int64_t t_max = std::max<int64_t>(1, static_cast<int64_t>(max_abs_acc >> pre_shift));
  const OutputRange out_range = UnsignedRange(hw.activation_bits);
  std::vector<Requantization> rq(N);
  for (int64_t n = 0; n < N; ++n) {
    Requantization& q = rq[n];
    q.pre_shift = pre_shift;
    q.bias = static_cast<int32_t>(rng.Uniform(-t_max / 4, t_max / 4));
    const int64_t m = rng.Uniform(int64_t{1} << 30, (int64_t{1} << 31) - 1);
    q.multiplier = static_cast<int32_t>(n % 5 == 4 ? -m : m);
    // Largest |t| maps to about 2^(A+1): most outputs in range, some clamp.
    q.shift = std::max(0, BitLength(static_cast<uint64_t>(t_max) * static_cast<uint64_t>(m)) -
                              (hw.activation_bits + 1));
    q.range = out_range;
  }
  std::vector<int64_t> req_t(B * N), out(B * N);
  int64_t rq_sats = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t a = acc[((T - 1) * B + b) * N + n];
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
  formats::GoldenManifest m;
  m.set_generator("//emulator:golden_tile");
  m.set_command_line(o.command_line);
  m.set_seed(o.seed);
  m.set_sigma(o.sigma);
  *m.mutable_hardware() = hw.ToConfig();
  m.set_rows(R);
  m.set_outputs(N);
  m.set_batch(B);
  m.set_row_tiles(T);
  m.set_column_tiles(U);
  m.set_outputs_per_tile(hw.outputs_per_tile);
  m.set_cells_per_weight(P);
  m.set_num_slices(J);
  m.set_signed_inputs(o.signed_inputs);
  m.set_adc_shift(adc_shift);
  m.set_pre_shift(pre_shift);
  m.set_out_lo(out_range.lo);
  m.set_out_hi(out_range.hi);
  m.set_adc_saturated_high(adc_stats.saturated_high);
  m.set_adc_saturated_low(adc_stats.saturated_low);
  m.set_accumulator_saturations(acc_sats);
  m.set_requant_saturations(rq_sats);

  const int W = hw.accumulator_bits;
  const bool adc_signed = hw.lossless_adc() || hw.adc_range == formats::ADC_BIPOLAR;
  const int adc_w = hw.lossless_adc() ? 32 : hw.adc_bits;
  std::vector<HexFile> files;
  {
    HexFile f = NewFile(&m, "weights.hex", "signed weight codes (spec 2.1) of layer-matrix row r, output n",
                        {{"r", R}, {"n", N}}, hw.weight_bits + 1, true);
    for (int16_t v : w) f.Add(v);
    files.push_back(std::move(f));
  }
  for (int a = 0; a < 2; ++a) {
    HexFile f = NewFile(&m, a == 0 ? "gpos.hex" : "gneg.hex",
                        absl::StrCat(a == 0 ? "positive" : "negative",
                                     " array conductance codes (spec 3.5); column c = n * P + i; row tile "
                                     "t = r / R, column tile u = n / O"),
                        {{"r", R}, {"c", NC}}, hw.conductance_code_bits, true);
    for (int16_t v : a == 0 ? gpos : gneg) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    HexFile f = NewFile(&m, "x.hex", "input activations (spec 4.1); row tile t gets rows t*R ..",
                        {{"b", B}, {"r", R}}, hw.activation_bits, o.signed_inputs);
    for (int32_t v : x) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    HexFile f = NewFile(&m, "xbits.hex", "input slice digits d_j (spec 4.2), j = 0 least significant",
                        {{"b", B}, {"j", J}, {"r", R}}, hw.dac_bits + (o.signed_inputs ? 1 : 0),
                        o.signed_inputs);
    for (int32_t v : digits) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    HexFile f = NewFile(&m, "adc.hex",
                        "ADC codes (spec 5.2) of row tile t, input b, slice j, array a (0 = positive, 1 = "
                        "negative), column c = n * P + i",
                        {{"t", T}, {"b", B}, {"j", J}, {"a", 2}, {"c", NC}}, adc_w, adc_signed);
    for (int32_t v : adc) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    HexFile f = NewFile(&m, "tile_y.hex", "tile outputs y_tile (spec 6.1), Sat_W", {{"t", T}, {"b", B}, {"n", N}},
                        W, true);
    for (int64_t v : ytile) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    HexFile f = NewFile(&m, "acc.hex", "accumulator after row tile t, acc_{t+1} (spec 6.3); t = T-1 is the layer output",
                        {{"t", T}, {"b", B}, {"n", N}}, W, true);
    for (int64_t v : acc) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    HexFile fb = NewFile(&m, "bias.hex", "bias_n (spec 7.2), units of 2^p accumulator LSBs", {{"n", N}}, 32, true);
    HexFile fm = NewFile(&m, "mult.hex", "multiplier m_n (spec 7.2)", {{"n", N}}, 32, true);
    HexFile fs = NewFile(&m, "shift.hex", "shift s_n (spec 7.2), 0..62", {{"n", N}}, 8, false);
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
    HexFile f = NewFile(&m, "req_t.hex", "t = Sat_32(Sat_64(RoundHalfUpShift(acc, p) + bias_n)) (spec 7.2)",
                        {{"b", B}, {"n", N}}, 32, true);
    for (int64_t v : req_t) f.Add(v);
    files.push_back(std::move(f));
  }
  {
    HexFile f = NewFile(&m, "out.hex", "requantized ReLU output, Clamp(RoundHalfUpShift(t * m_n, s_n), lo, hi) (spec 7.2, spec 7.3)",
                        {{"b", B}, {"n", N}}, hw.activation_bits, false);
    for (int64_t v : out) f.Add(v);
    files.push_back(std::move(f));
  }

  for (const HexFile& f : files) {
    if (absl::Status s = WriteFileAtomically(absl::StrCat(out_dir, "/", f.meta->name()), f.text); !s.ok())
      return s;
  }
  // Verilog header with the set's parameters (tests/rtl/golden_tb.v).
  std::string vh = absl::StrCat(
      "// Generated by //emulator:golden_tile; see manifest.textproto.\n",
      absl::StrFormat("`define GV_T %d\n`define GV_B %d\n`define GV_N %d\n`define GV_P %d\n`define GV_J %d\n",
                      T, B, N, P, J),
      absl::StrFormat("`define GV_K %d\n`define GV_D %d\n`define GV_W %d\n`define GV_ADC_W %d\n",
                      hw.cell_bits, hw.dac_bits, W, adc_w),
      absl::StrFormat("`define GV_ADC_SIGNED %d\n`define GV_PRE_SHIFT %d\n`define GV_OUT_BITS %d\n",
                      adc_signed ? 1 : 0, pre_shift, hw.activation_bits));
  if (absl::Status s = WriteFileAtomically(absl::StrCat(out_dir, "/golden_params.vh"), vh); !s.ok())
    return s;
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  if (!printer.PrintToString(m, &text)) return absl::InternalError("cannot print manifest");
  text = absl::StrCat("# proto-file: formats/golden_manifest.proto\n# proto-message: nftcim.formats.GoldenManifest\n",
                      text);
  if (absl::Status s = WriteFileAtomically(absl::StrCat(out_dir, "/manifest.textproto"), text); !s.ok())
    return s;
  if (manifest_out != nullptr) *manifest_out = m;
  return absl::OkStatus();
}

}  // namespace nftcim::emulator
