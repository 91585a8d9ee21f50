#include "emulator/golden_verify.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "formats/golden_manifest.pb.h"
#include "util/atomic_file.h"
#include "rng/fnv1a.h"
#include "util/digest.h"
#include "util/proto_io.h"

namespace nftcim::emulator {
namespace {

constexpr char kManifest[] = "manifest.textproto";
constexpr char kSums[] = "SHA256SUMS";

// A relative, '/'-separated path that stays inside the set.
bool IsSetPath(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  for (absl::string_view part : absl::StrSplit(p, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

std::string JoinPath(const std::string& dir, const std::string& rel) {
  if (dir.empty()) return rel;
  return rel.empty() ? dir : absl::StrCat(dir, "/", rel);
}

// What the header line written by GoldenManifestText says the manifest is.
std::string ProtoMessageOf(const std::string& text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "#")) break;
    constexpr absl::string_view kKey = "# proto-message: ";
    if (absl::StartsWith(line, kKey)) return std::string(line.substr(kKey.size()));
  }
  return "";
}

class Verifier {
 public:
  Verifier(std::string dir, GoldenVerifyReport* report) : dir_(std::move(dir)), r_(*report) {}

  void Problem(const std::string& text) { r_.problems.push_back(text); }

  std::optional<std::string> Read(const std::string& rel) {
    absl::StatusOr<std::string> bytes = ReadFileToString(JoinPath(dir_, rel));
    if (!bytes.ok()) {
      Problem(absl::StrCat(rel, ": cannot be read: ", bytes.status().message()));
      return std::nullopt;
    }
    return *std::move(bytes);
  }

  // Each entry: a set path, in sorted order, once, with its size and digest.
  void CheckInventory(const google::protobuf::RepeatedPtrField<formats::FileDigest>& inventory,
                      const std::string& prefix, const std::string& manifest) {
    std::string previous;
    for (const formats::FileDigest& d : inventory) {
      const std::string rel = prefix.empty() ? d.path() : absl::StrCat(prefix, "/", d.path());
      if (!IsSetPath(d.path()) || d.path() == kManifest) {
        Problem(absl::StrCat(manifest, ": inventory path '", d.path(),
                             "' is not a relative path of a file inside the set"));
        continue;
      }
      if (d.path() <= previous) {
        Problem(absl::StrCat(manifest, ": inventory path '", d.path(), "' is ",
                             d.path() == previous ? "listed twice" : "out of sorted order"));
      }
      previous = d.path();
      listed_.insert(rel);
      std::optional<std::string> bytes = Read(rel);
      if (!bytes) continue;
      ++r_.files;
      r_.bytes += static_cast<int64_t>(bytes->size());
      if (static_cast<int64_t>(bytes->size()) != d.bytes()) {
        Problem(absl::StrFormat("%s: %d bytes, the manifest says %d", rel, bytes->size(), d.bytes()));
      } else if (const std::string sha = Sha256Hex(*bytes); sha != d.sha256()) {
        Problem(absl::StrCat(rel, ": SHA-256 ", sha, ", the manifest says ", d.sha256(),
                             " (same size: the contents changed)"));
      }
    }
  }

  // Files under `prefix` (the whole set when empty) that no inventory lists.
  void CheckNoOtherFiles(const std::string& prefix) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path root = JoinPath(dir_, prefix);
    fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, ec);
    if (ec) {
      Problem(absl::StrCat(prefix.empty() ? "." : prefix, ": cannot list: ", ec.message()));
      return;
    }
    std::vector<std::string> extra;
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec)) continue;
      const std::string rel = JoinPath(prefix, it->path().lexically_relative(root).generic_string());
      if (rel == kManifest || listed_.count(rel) > 0) continue;
      extra.push_back(rel);
    }
    if (ec) Problem(absl::StrCat(prefix.empty() ? "." : prefix, ": cannot list: ", ec.message()));
    std::sort(extra.begin(), extra.end());
    for (const std::string& rel : extra) {
      Problem(absl::StrCat(rel, ": not in the manifest's inventory (a file from another export?)"));
    }
  }

  // A $readmemh file: `values` lines of exactly hex_digits lower-case hex
  // digits, each value within `bits` bits. `decoded` (optional) receives
  // the values, sign-extended when the file is signed.
  void CheckHex(const std::string& rel, const formats::GoldenFile& f,
                std::vector<int64_t>* decoded = nullptr) {
    if (!IsSetPath(rel)) {
      Problem(absl::StrCat("manifest: file name '", rel, "' is not a path inside the set"));
      return;
    }
    if (f.hex_digits() < 1 || f.hex_digits() > 16 || f.bits() < 1 || f.bits() > 64 ||
        f.hex_digits() != (f.bits() + 3) / 4 || f.values() < 0) {
      Problem(absl::StrFormat("%s: manifest entry has bits %d, hex_digits %d, values %d; expected "
                              "1..64 bits in ceil(bits / 4) digits and values >= 0",
                              rel, f.bits(), f.hex_digits(), f.values()));
      return;
    }
    if (listed_.count(rel) == 0 && has_inventory_) {
      Problem(absl::StrCat(rel, ": described by the manifest but not in its inventory"));
    }
    std::optional<std::string> text = Read(rel);
    if (!text) return;
    ++r_.hex_files;
    const size_t width = static_cast<size_t>(f.hex_digits());
    int64_t lines = 0;
    size_t pos = 0;
    bool reported = false;
    if (decoded != nullptr) decoded->clear();
    while (pos < text->size()) {
      const size_t end = text->find('\n', pos);
      const size_t len = (end == std::string::npos ? text->size() : end) - pos;
      const absl::string_view line(text->data() + pos, len);
      ++lines;
      if (!reported) {
        uint64_t v = 0;
        bool hex = len == width && end != std::string::npos;
        for (char c : line) {
          const bool digit = c >= '0' && c <= '9', letter = c >= 'a' && c <= 'f';
          hex = hex && (digit || letter);
          v = v << 4 | static_cast<uint64_t>(digit ? c - '0' : c - 'a' + 10);
        }
        if (!hex) {
          Problem(absl::StrFormat("%s: line %d is '%s'; expected %d lower-case hex digits and a "
                                  "newline", rel, lines, std::string(line.substr(0, 40)), width));
          reported = true;
        } else if (f.bits() < 64 && (v >> f.bits()) != 0) {
          Problem(absl::StrFormat("%s: line %d holds %s, more than %d bits", rel, lines,
                                  std::string(line), f.bits()));
          reported = true;
        } else if (decoded != nullptr) {
          if (f.signed_() && f.bits() < 64 && (v >> (f.bits() - 1)) != 0) v |= ~uint64_t{0} << f.bits();
          decoded->push_back(static_cast<int64_t>(v));
        }
      }
      if (end == std::string::npos) break;
      pos = end + 1;
    }
    r_.hex_lines += lines;
    if (lines != f.values()) {
      Problem(absl::StrFormat("%s: %d lines, the manifest says %d values", rel, lines, f.values()));
    }
  }

  void set_has_inventory(bool v) { has_inventory_ = v; }
  const std::set<std::string>& listed() const { return listed_; }

 private:
  std::string dir_;
  GoldenVerifyReport& r_;
  std::set<std::string> listed_;
  bool has_inventory_ = true;
};

// The inventory of a layer's own manifest must be the set's entries under
// its folder.
void CheckLayerInventory(const formats::GoldenManifest& lm, const std::string& folder,
                         const formats::GoldenNetworkManifest& m, Verifier& v) {
  std::map<std::string, const formats::FileDigest*> top;
  for (const formats::FileDigest& d : m.inventory()) top[d.path()] = &d;
  for (const formats::FileDigest& d : lm.inventory()) {
    const std::string rel = absl::StrCat(folder, "/", d.path());
    auto it = top.find(rel);
    if (it == top.end() || it->second->bytes() != d.bytes() || it->second->sha256() != d.sha256()) {
      v.Problem(absl::StrCat(folder, "/", kManifest, ": inventory entry ", d.path(),
                             " differs from the set manifest's entry for ", rel));
    }
  }
}

// ProgrammedModel::CodeChecksum recomputed from the layer-matrix codes:
// FNV-1a 64 over each tile's positive then negative codes (16-bit two's
// complement, low byte first), tiles row-tile-major, layers in order.
void AddTileCodes(const formats::GoldenManifest& lm, const std::vector<int64_t>& gpos,
                  const std::vector<int64_t>& gneg, rng::Fnv1a64* h) {
  const int64_t rows = lm.rows(), nc = lm.outputs() * lm.cells_per_weight();
  const int64_t tile_rows = lm.hardware().array_rows();
  const int64_t tile_cols = int64_t{lm.outputs_per_tile()} * lm.cells_per_weight();
  for (int64_t t = 0; t < lm.row_tiles(); ++t) {
    for (int64_t u = 0; u < lm.column_tiles(); ++u) {
      for (const std::vector<int64_t>* codes : {&gpos, &gneg}) {
        for (int64_t r = t * tile_rows; r < std::min(rows, (t + 1) * tile_rows); ++r) {
          for (int64_t c = u * tile_cols; c < std::min(nc, (u + 1) * tile_cols); ++c) {
            h->UpdateLittleEndian(static_cast<uint16_t>((*codes)[r * nc + c]), 2);
          }
        }
      }
    }
  }
}

bool TileGeometryIsConsistent(const formats::GoldenManifest& lm) {
  const int64_t tile_rows = lm.hardware().array_rows();
  const int64_t per_tile = lm.outputs_per_tile();
  return lm.rows() > 0 && lm.outputs() > 0 && lm.cells_per_weight() > 0 && tile_rows > 0 &&
         per_tile > 0 && lm.row_tiles() == (lm.rows() + tile_rows - 1) / tile_rows &&
         lm.column_tiles() == (lm.outputs() + per_tile - 1) / per_tile;
}

void CheckModel(const formats::GoldenNetworkManifest& m, const GoldenVerifyOptions& o,
                Verifier& v, GoldenVerifyReport& r) {
  std::string path = o.model_path;
  if (path.empty()) {
    if (m.model().empty()) {
      r.model = "not checked: the manifest names no model file; give --model";
      return;
    }
    path = m.model()[0] == '/' || o.working_dir == "." ? m.model() : JoinPath(o.working_dir, m.model());
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      r.model = absl::StrCat("not checked: the manifest's model '", m.model(),
                             "' is not here; give --model=FILE");
      return;
    }
  }
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) {
    v.Problem(absl::StrCat("model: ", bytes.status().message()));
    return;
  }
  const std::string fnv = Fnv1a64Hex(*bytes), sha = Sha256Hex(*bytes);
  bool same = true;
  if (fnv != m.model_fnv1a64()) {
    v.Problem(absl::StrCat(path, ": FNV-1a 64 ", fnv, ", the manifest's model_fnv1a64 is ",
                           m.model_fnv1a64(), ": not the model this set was generated from"));
    same = false;
  }
  if (sha != m.model_sha256()) {
    v.Problem(absl::StrCat(path, ": SHA-256 ", sha, ", the manifest's model_sha256 is ",
                           m.model_sha256().empty() ? "missing" : m.model_sha256()));
    same = false;
  }
  r.model = absl::StrCat(same ? "matches " : "DIFFERS: ", path, " (", bytes->size(), " bytes)");
}

void VerifyNetworkSet(const std::string& dir, const formats::GoldenNetworkManifest& m,
                      const GoldenVerifyOptions& o, GoldenVerifyReport& r) {
  Verifier v(dir, &r);
  if (m.format_version() < 2) {
    v.Problem(absl::StrCat(kManifest, ": format_version ", m.format_version(),
                           " has no inventory; regenerate the set with its command_line to verify it"));
    v.set_has_inventory(false);
  } else {
    v.CheckInventory(m.inventory(), "", kManifest);
    v.CheckNoOtherFiles("");
    int64_t sum = 0;
    std::string sums;
    bool has_sums = false;
    for (const formats::FileDigest& d : m.inventory()) {
      sum += d.bytes();
      if (d.path() == kSums) {
        has_sums = true;
      } else {
        absl::StrAppend(&sums, d.sha256(), "  ", d.path(), "\n");
      }
    }
    if (sum != m.total_bytes()) {
      v.Problem(absl::StrFormat("%s: total_bytes %d, the inventory sums to %d", kManifest,
                                m.total_bytes(), sum));
    }
    if (!has_sums) {
      v.Problem(absl::StrCat(kSums, ": missing from the inventory"));
    } else if (std::optional<std::string> text = v.Read(kSums); text && *text != sums) {
      v.Problem(absl::StrCat(kSums, ": differs from the manifest's inventory"));
    }
  }
  for (const formats::GoldenFile& f : m.files()) v.CheckHex(f.name(), f);

  rng::Fnv1a64 checksum;
  bool checksum_complete = true;
  int crossbar_layers = 0;
  for (const formats::GoldenLayer& l : m.layers()) {
    const std::string where = absl::StrCat(kManifest, ": layer ", l.index(), " '", l.name(), "'");
    if (!IsSetPath(l.directory()) || absl::StrContains(l.directory(), "/")) {
      v.Problem(absl::StrCat(where, ": directory '", l.directory(), "' is not a folder name"));
      checksum_complete = false;
      continue;
    }
    if (!absl::StartsWith(l.output().name(), absl::StrCat(l.directory(), "/"))) {
      v.Problem(absl::StrCat(where, ": output file '", l.output().name(), "' is not in its folder"));
    } else {
      v.CheckHex(l.output().name(), l.output());
    }
    if (l.kind() != "conv" && l.kind() != "linear") continue;
    ++crossbar_layers;
    const std::string lm_path = absl::StrCat(l.directory(), "/", kManifest);
    std::optional<std::string> text = v.Read(lm_path);
    formats::GoldenManifest lm;
    if (!text) {
      checksum_complete = false;
      continue;
    }
    if (absl::Status s = ParseTextProto(*text, JoinPath(dir, lm_path), &lm); !s.ok()) {
      v.Problem(std::string(s.message()));
      checksum_complete = false;
      continue;
    }
    if (lm.layer_index() != l.index() || lm.layer_name() != l.name()) {
      v.Problem(absl::StrCat(lm_path, ": describes layer ", lm.layer_index(), " '", lm.layer_name(),
                             "', the set manifest says ", l.index(), " '", l.name(), "'"));
    }
    if (m.format_version() >= 2) CheckLayerInventory(lm, l.directory(), m, v);
    std::vector<int64_t> gpos, gneg;
    for (const formats::GoldenFile& f : lm.files()) {
      const std::string rel = absl::StrCat(l.directory(), "/", f.name());
      if (f.name() == "gpos.hex") {
        v.CheckHex(rel, f, &gpos);
      } else if (f.name() == "gneg.hex") {
        v.CheckHex(rel, f, &gneg);
      } else {
        v.CheckHex(rel, f);
      }
    }
    const size_t codes = static_cast<size_t>(lm.rows() * lm.outputs() * lm.cells_per_weight());
    if (!TileGeometryIsConsistent(lm) || gpos.size() != codes || gneg.size() != codes) {
      checksum_complete = false;
      continue;
    }
    AddTileCodes(lm, gpos, gneg, &checksum);
  }
  if (crossbar_layers > 0 && checksum_complete) {
    r.programming_checksum_checked = true;
    const std::string recomputed = absl::StrFormat("%016x", checksum.value());
    if (recomputed != m.programming_checksum()) {
      v.Problem(absl::StrCat(kManifest, ": programming_checksum ", m.programming_checksum(),
                             ", recomputed from the layers' gpos.hex/gneg.hex: ", recomputed));
    }
  }
  CheckModel(m, o, v, r);
}

void VerifyTileSet(const std::string& dir, const formats::GoldenManifest& m,
                   GoldenVerifyReport& r) {
  Verifier v(dir, &r);
  if (m.format_version() < 2) {
    v.Problem(absl::StrCat(kManifest, ": no format_version 2 inventory; regenerate the set with its "
                                      "command_line to verify it"));
    v.set_has_inventory(false);
  } else {
    v.CheckInventory(m.inventory(), "", kManifest);
    v.CheckNoOtherFiles("");
  }
  for (const formats::GoldenFile& f : m.files()) v.CheckHex(f.name(), f);
  r.model = "not applicable (tile set)";
}

}  // namespace

absl::StatusOr<GoldenVerifyReport> VerifyGoldenSet(const std::string& dir,
                                                   const GoldenVerifyOptions& options) {
  const std::string path = JoinPath(dir, kManifest);
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  GoldenVerifyReport r;
  const std::string message = ProtoMessageOf(*text);
  if (message == "nftcim.formats.GoldenNetworkManifest") {
    formats::GoldenNetworkManifest m;
    if (absl::Status s = ParseTextProto(*text, path, &m); !s.ok()) return s;
    r.kind = "network set";
    VerifyNetworkSet(dir, m, options, r);
  } else if (message == "nftcim.formats.GoldenManifest") {
    formats::GoldenManifest m;
    if (absl::Status s = ParseTextProto(*text, path, &m); !s.ok()) return s;
    r.kind = "tile set";
    VerifyTileSet(dir, m, r);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the first lines must say '# proto-message: nftcim.formats.GoldenNetworkManifest' "
              "or '... GoldenManifest' (as //emulator:golden and //emulator:golden_tile write), got '",
        message, "'"));
  }
  return r;
}

}  // namespace nftcim::emulator
