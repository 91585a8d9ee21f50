#include "firmware_model/golden_network.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "device_model/nonideal.h"
#include "emulator/golden_layer.h"
#include "firmware_model/programmed_model.h"
#include "firmware_model/sequencer.h"
#include "util/atomic_file.h"

namespace nftcim::firmware {
namespace {

const char* KindName(LayerKind k) {
  switch (k) {
    case LayerKind::kConv: return "conv";
    case LayerKind::kLinear: return "linear";
    case LayerKind::kMaxPool: return "maxpool";
    case LayerKind::kAvgPool: return "avgpool";
    case LayerKind::kFlatten: return "flatten";
    case LayerKind::kResidualAdd: return "residual_add";
  }
  return "unknown";
}

// "layer07_features.conv4" -> a file-system-safe folder name.
std::string LayerDirectory(int index, const std::string& name) {
  std::string safe;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    safe.push_back(ok ? c : '_');
  }
  return absl::StrFormat("layer%02d_%s", index, safe);
}

void SetShape(const TensorShape& s, google::protobuf::RepeatedField<int32_t>* out) {
  out->Add(s.height);
  out->Add(s.width);
  out->Add(s.channels);
}

absl::Status Mismatch(const Layer& l, int index, int64_t k, int64_t golden, int64_t sequencer) {
  return absl::InternalError(absl::StrCat(
      "golden vectors self-check failed: layer ", index, " '", l.name, "' output ", k,
      ": recomputed ", golden, ", sequencer ", sequencer));
}

}  // namespace

absl::Status WriteGoldenNetwork(const CompiledModel& model, const device::DeviceModel& device,
                                const uint8_t* pixels, int n, const int32_t* labels,
                                const GoldenNetworkOptions& o, const std::string& out_dir,
                                formats::GoldenNetworkManifest* manifest_out) {
  if (n < 1 || n > 4096) {
    return absl::InvalidArgumentError(absl::StrCat("images must be in 1..4096, got ", n));
  }
  if (absl::Status s = MakeDirectories(out_dir); !s.ok()) return s;

  ProgramOptions po;
  po.seed = o.seed;
  po.num_threads = 1;
  po.prepare_fast_path = false;
  absl::StatusOr<ProgrammedModel> pm = ProgrammedModel::Program(model, device, po, nullptr);
  if (!pm.ok()) return pm.status();

  // One MVM call per layer: the hook then sees each layer's whole batch.
  int64_t max_positions = 1;
  for (const Layer& l : model.layers())
    if (l.uses_crossbar()) max_positions = std::max(max_positions, l.positions());
  Sequencer::Options so;
  so.max_batch = n;
  so.path = Path::kReference;
  so.max_mvm_entries = std::min<int64_t>(int64_t{1} << 24, n * max_positions);
  absl::StatusOr<Sequencer> seq = Sequencer::Create(model, so);
  if (!seq.ok()) return seq.status();
  std::map<int, std::vector<int32_t>> inputs;
  seq->set_mvm_input_hook([&](int layer, const int32_t* x, int64_t batch) {
    std::vector<int32_t>& v = inputs[layer];
    v.insert(v.end(), x, x + batch * model.layers()[layer].matrix_rows);
  });
  const int classes = model.num_classes();
  std::vector<int32_t> logits(static_cast<size_t>(n) * classes);
  InferenceStats stats;
  if (absl::Status s = seq->Run(*pm, pixels, n, logits.data(), &stats); !s.ok()) return s;

  const emulator::HardwareParams& hw = model.params();
  formats::GoldenNetworkManifest m;
  m.set_format_version(kGoldenNetworkFormatVersion);
  m.set_generator("//emulator:golden");
  m.set_command_line(o.command_line);
  m.set_model(o.model_path);
  m.set_model_fnv1a64(o.model_fnv1a64);
  m.set_model_sha256(o.model_sha256);
  m.set_model_format_version(model.proto().format_version());
  m.set_hardware_spec_version("docs/hardware-spec.md version 1");
  m.set_seed(o.seed);
  m.set_sigma(device.sigma());
  m.set_device(device::PresetName(device.preset()));
  *m.mutable_hardware() = hw.ToConfig();
  m.set_images(n);
  m.set_image_source(o.image_source);
  m.set_programming_checksum(absl::StrFormat("%016x", pm->CodeChecksum()));
  m.set_adc_codes(o.write_adc_codes);
  if (device.has_nonidealities()) {
    *m.mutable_device_model() = device.ToProto();
    formats::NonIdealityIntegers* ni = m.mutable_nonideal();
    ni->set_spec("docs/hardware-spec.md version 1 + §3.6-3.10");
    const device::StuckAtThresholds t = device::MakeStuckAtThresholds(device);
    ni->set_stuck_at_low_threshold(t.low);
    ni->set_stuck_at_high_threshold(t.high);
    absl::StatusOr<device::DriftConstants> d = device::MakeDriftConstants(device);
    if (!d.ok()) return d.status();
    ni->set_drift(d->active);
    ni->set_drift_mu_q16(d->mu_q16);
    ni->set_drift_sd_q16(d->sd_q16);
    ni->set_drift_lnt_q24(d->lnt_q24);
    for (int32_t index : model.crossbar_layers()) {
      ni->add_compensation_q16(pm->compensation_q16(index));
    }
    if (device.read_noise() > 0) {
      absl::StatusOr<int32_t> rq = device::ReadNoiseStdQ16(device, hw.conductance_frac_bits);
      if (!rq.ok()) return rq.status();
      ni->set_read_noise_std_q16(*rq);
      ni->set_read_noise_granularity(
          formats::ReadNoiseGranularity_Name(device.read_noise_granularity()));
    }
  }
  emulator::GoldenFileWriter writer(out_dir);

  std::vector<std::pair<std::string, std::string>> top_files;  // name, text
  {
    emulator::GoldenHexFile f = emulator::NewGoldenHexFile(
        m.mutable_files(), "pixels.hex", "raw uint8 pixels (spec 7.7 input), image-major NCHW",
        {{"image", n}, {"c", model.in_channels()}, {"y", model.input_size()}, {"x", model.input_size()}},
        8, false);
    for (int64_t k = 0; k < n * model.image_size(); ++k) f.Add(pixels[k]);
    top_files.emplace_back(f.meta->name(), std::move(f.text));
  }
  {
    emulator::GoldenHexFile f = emulator::NewGoldenHexFile(
        m.mutable_files(), "logits.hex", "int32 logits (spec 7.9) of the last layer",
        {{"image", n}, {"class", classes}}, 32, true);
    for (int32_t v : logits) f.Add(v);
    top_files.emplace_back(f.meta->name(), std::move(f.text));
  }
  {
    emulator::GoldenHexFile f = emulator::NewGoldenHexFile(
        m.mutable_files(), "predictions.hex",
        "predicted class: index of the largest logit, the first one on a tie", {{"image", n}}, 16,
        false);
    for (int i = 0; i < n; ++i) {
      const int32_t* l = logits.data() + static_cast<size_t>(i) * classes;
      f.Add(std::max_element(l, l + classes) - l);
    }
    top_files.emplace_back(f.meta->name(), std::move(f.text));
  }
  if (labels != nullptr) {
    emulator::GoldenHexFile f = emulator::NewGoldenHexFile(
        m.mutable_files(), "labels.hex", "dataset labels of the images (not computed by the chip)",
        {{"image", n}}, 16, false);
    for (int i = 0; i < n; ++i) f.Add(labels[i]);
    top_files.emplace_back(f.meta->name(), std::move(f.text));
  }
  for (const auto& [name, text] : top_files) {
    if (absl::Status s = writer.Write(name, text); !s.ok()) return s;
  }

  const std::vector<Layer>& layers = model.layers();
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    const Layer& l = layers[i];
    const std::string dir_name = LayerDirectory(i, l.name);
    const std::string dir = absl::StrCat(out_dir, "/", dir_name);
    if (absl::Status s = MakeDirectories(dir); !s.ok()) return s;
    formats::GoldenLayer* gl = m.add_layers();
    gl->set_index(i);
    gl->set_name(l.name);
    gl->set_kind(KindName(l.kind));
    gl->set_input(l.input);
    gl->set_input_b(l.input_b);
    SetShape(l.in_shape, gl->mutable_in_shape());
    SetShape(l.out_shape, gl->mutable_out_shape());
    gl->set_directory(dir_name);
    const int32_t* seq_out = seq->layer_output(i);
    const int64_t out_values = n * l.out_shape.size();
    if (l.uses_crossbar()) {
      const std::vector<int32_t>& x = inputs[i];
      const int64_t batch = n * l.positions();
      if (static_cast<int64_t>(x.size()) != batch * l.matrix_rows) {
        return absl::InternalError(absl::StrCat("layer ", i, " '", l.name, "': captured ", x.size(),
                                                " inputs, expected ", batch * l.matrix_rows));
      }
      emulator::GoldenLayerInput in;
      in.hardware = &hw;
      in.matrix = &pm->matrix(i);
      in.weight_codes = l.weight_codes.data();
      in.x = x.data();
      in.batch = batch;
      in.signed_inputs = l.signed_inputs;
      in.adc_shift = l.adc_shift;
      // §3.9: a drift-compensated instance's requantization.
      in.requantization = [&pm, i](const std::vector<int64_t>&) { return pm->requant(i); };
      in.write_adc_codes = o.write_adc_codes;
      formats::GoldenManifest lm;
      lm.set_generator("//emulator:golden");
      lm.set_command_line(o.command_line);
      lm.set_seed(o.seed);
      lm.set_sigma(device.sigma());
      lm.set_layer_index(i);
      lm.set_layer_name(l.name);
      lm.set_images(n);
      lm.set_positions(l.positions());
      emulator::GoldenLayerOutput out;
      if (absl::Status s = WriteGoldenLayer(in, dir, &lm, &out); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("layer ", i, " '", l.name, "': ", s.message()));
      }
      if (static_cast<int64_t>(out.outputs.size()) != out_values) {
        return absl::InternalError(absl::StrCat("layer ", i, ": ", out.outputs.size(),
                                                " outputs, expected ", out_values));
      }
      for (int64_t k = 0; k < out_values; ++k)
        if (out.outputs[k] != seq_out[k]) return Mismatch(l, i, k, out.outputs[k], seq_out[k]);
      writer.AddWritten(dir_name, out.files);
      for (const formats::GoldenFile& f : lm.files()) {
        if (f.name() == "out.hex") {
          *gl->mutable_output() = f;
          gl->mutable_output()->set_name(absl::StrCat(dir_name, "/out.hex"));
          gl->mutable_output()->set_description(
              absl::StrCat("layer output: ", f.description(),
                           l.kind == LayerKind::kConv ? "; b = image * positions + oy * width + ox, "
                                                        "n = channel (the HWC tensor)"
                                                      : ""));
        }
      }
    } else {
      int bits = 0;
      bool is_signed = false;
      emulator::RangeBits(l.out_range, &bits, &is_signed);
      google::protobuf::RepeatedPtrField<formats::GoldenFile> tmp;
      emulator::GoldenHexFile f = emulator::NewGoldenHexFile(
          &tmp, "output.hex",
          absl::StrCat(KindName(l.kind), " output (spec 7.4-7.6), image-major, then HWC"),
          {{"image", n}, {"y", l.out_shape.height}, {"x", l.out_shape.width}, {"c", l.out_shape.channels}},
          bits, is_signed);
      for (int64_t k = 0; k < out_values; ++k) f.Add(seq_out[k]);
      if (absl::Status s = writer.Write(absl::StrCat(dir_name, "/output.hex"), f.text); !s.ok())
        return s;
      *gl->mutable_output() = *f.meta;
      gl->mutable_output()->set_name(absl::StrCat(dir_name, "/output.hex"));
    }
  }
  // The last layer's output is the logits (§7.9).
  if (layers.back().out_shape.size() != classes) {
    return absl::InternalError("last layer is not the classifier");
  }
  for (int64_t k = 0; k < static_cast<int64_t>(logits.size()); ++k) {
    if (logits[k] != seq->layer_output(static_cast<int>(layers.size()) - 1)[k]) {
      return Mismatch(layers.back(), static_cast<int>(layers.size()) - 1, k, logits[k],
                      seq->layer_output(static_cast<int>(layers.size()) - 1)[k]);
    }
  }

  // SHA256SUMS: the inventory so far in sha256sum's format, so that the set
  // can be checked with coreutils alone (`sha256sum -c SHA256SUMS`).
  std::string sums;
  for (const formats::FileDigest& d : writer.Inventory()) {
    absl::StrAppend(&sums, d.sha256(), "  ", d.path(), "\n");
  }
  if (absl::Status s = writer.Write("SHA256SUMS", sums); !s.ok()) return s;
  int64_t total_bytes = 0;
  for (formats::FileDigest& d : writer.Inventory()) {
    total_bytes += d.bytes();
    *m.add_inventory() = std::move(d);
  }
  m.set_total_bytes(total_bytes);
  absl::StatusOr<std::string> text = emulator::GoldenManifestText(m);
  if (!text.ok()) return text.status();
  if (absl::Status s = WriteFileAtomically(absl::StrCat(out_dir, "/manifest.textproto"), *text);
      !s.ok())
    return s;
  if (manifest_out != nullptr) *manifest_out = m;
  return absl::OkStatus();
}

}  // namespace nftcim::firmware
