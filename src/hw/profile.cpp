#include "hwnas/hw/profile.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "builtin_data.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"

namespace hwnas::hw {
namespace {

using json = nlohmann::json;
constexpr const char* kFormat = "hwnas.profile/1";
constexpr std::array<std::string_view, kDtypes> dtype_names{"fp32", "tf32", "bf16", "fp16", "int8"};
constexpr std::array<int, kDtypes> dtype_bytes{4, 4, 2, 2, 1};

std::string show(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

class Reader {
 public:
  Reader(const json& root, std::string source) : root_(root), src_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(src_ + ": " + path + ": " + what);
  }
  const json& need(const json& obj, const std::string& key, const std::string& path) const {
    if (!obj.contains(key)) throw Error(src_ + ": missing field '" + path + "'");
    return obj.at(key);
  }
  std::string string(const json& obj, const std::string& key, const std::string& path) const {
    const json& v = need(obj, key, path);
    if (!v.is_string()) fail(path, "must be a string, got " + show(v));
    return v.get<std::string>();
  }
  double positive(const json& v, const std::string& path, bool zero_ok = false) const {
    if (!v.is_number()) fail(path, "must be a number, got " + show(v));
    const double x = v.get<double>();
    if (!(x > 0) && !(zero_ok && x == 0)) fail(path, std::string("must be ") + (zero_ok ? ">= 0" : "> 0") + ", got " + show(v));
    return x;
  }
  double field(const json& obj, const std::string& key, bool zero_ok = false) const {
    const std::string& path = key;
    return positive(need(obj, key, path), path, zero_ok);
  }
  std::array<double, kDtypes> rates(const std::string& key) const {
    const json& v = need(root_, key, key);
    if (!v.is_object()) fail(key, "must be an object of dtype -> FLOP/s, got " + show(v));
    std::array<double, kDtypes> out{};
    for (const auto& [k, x] : v.items()) {
      Dtype d;
      if (!dtype_from_name(k, d)) fail(key + "." + k, "unknown dtype (fp32, tf32, bf16, fp16, int8)");
      out[static_cast<std::size_t>(d)] = positive(x, key + "." + k, true);
    }
    if (*std::max_element(out.begin(), out.end()) <= 0) fail(key, "needs at least one dtype with a rate > 0");
    return out;
  }

 private:
  const json& root_;
  std::string src_;
};

}  // namespace

std::string_view dtype_name(Dtype d) { return dtype_names[static_cast<std::size_t>(d)]; }
bool dtype_from_name(std::string_view name, Dtype& out) {
  for (std::size_t i = 0; i < kDtypes; ++i)
    if (dtype_names[i] == name) return out = static_cast<Dtype>(i), true;
  return false;
}
int bytes_of(Dtype d) { return dtype_bytes[static_cast<std::size_t>(d)]; }

Profile parse_profile(const std::string& text, const std::string& source) {
  const json root = parse_json(text, source);
  if (!root.is_object()) throw Error(source + ": a profile must be a JSON object");
  const Reader r(root, source);
  static const std::set<std::string> known{
      "format", "name", "description", "version", "kind", "matrix_flops_per_s", "vector_flops_per_s",
      "memory_bandwidth_bytes_per_s", "memory_capacity_bytes", "onchip_bytes", "onchip_bandwidth_bytes_per_s",
      "kernel_overhead_s", "compute_units", "fuses_conv_bn_act", "folds_constants", "template", "tf32_classes", "efficiency",
      "sources", "calibration", "notes"};
  for (const auto& [k, v] : root.items())
    if (!known.count(k)) r.fail(k, "unknown field");
  const std::string format = r.string(root, "format", "format");
  if (format != kFormat) r.fail("format", "must be \"" + std::string(kFormat) + "\", got \"" + format + "\"");

  Profile p;
  p.name = r.string(root, "name", "name");
  p.description = r.string(root, "description", "description");
  p.version = r.string(root, "version", "version");
  p.kind = r.string(root, "kind", "kind");
  p.matrix_flops_per_s = r.rates("matrix_flops_per_s");
  p.vector_flops_per_s = r.rates("vector_flops_per_s");
  p.memory_bandwidth_bytes_per_s = r.field(root, "memory_bandwidth_bytes_per_s");
  p.memory_capacity_bytes = r.field(root, "memory_capacity_bytes");
  p.onchip_bytes = r.field(root, "onchip_bytes", true);
  p.onchip_bandwidth_bytes_per_s =
      p.onchip_bytes > 0 ? r.field(root, "onchip_bandwidth_bytes_per_s") : 0;
  p.kernel_overhead_s = r.field(root, "kernel_overhead_s", true);
  if (root.contains("compute_units")) p.compute_units = r.field(root, "compute_units", true);
  const json& fuse = r.need(root, "fuses_conv_bn_act", "fuses_conv_bn_act");
  if (!fuse.is_boolean()) r.fail("fuses_conv_bn_act", "must be true or false, got " + show(fuse));
  p.fuses_conv_bn_act = fuse.get<bool>();
  auto flag = [&](const char* key) {
    if (!root.contains(key)) return false;
    const json& v = root.at(key);
    if (!v.is_boolean()) r.fail(key, "must be true or false, got " + show(v));
    return v.get<bool>();
  };
  auto classes = [&](const char* key) {
    std::vector<graph::OpClass> out;
    if (!root.contains(key)) return out;
    const json& v = root.at(key);
    if (!v.is_array()) r.fail(key, "must be an array of op classes, got " + show(v));
    for (std::size_t i = 0; i < v.size(); ++i) {
      graph::OpClass c;
      if (!v[i].is_string() || !graph::op_class_from_name(v[i].get<std::string>(), c))
        r.fail(std::string(key) + "[" + std::to_string(i) + "]", "unknown op class " + show(v[i]));
      out.push_back(c);
    }
    return out;
  };
  if (root.contains("folds_constants")) {
    const json& v = root.at("folds_constants");
    if (!v.is_array()) r.fail("folds_constants", "must be an array of op names, got " + show(v));
    for (std::size_t i = 0; i < v.size(); ++i) {
      graph::Op op;
      if (!v[i].is_string() || !graph::op_from_name(v[i].get<std::string>(), op))
        r.fail("folds_constants[" + std::to_string(i) + "]", "unknown op " + show(v[i]));
      p.folds_constants.push_back(op);
    }
  }
  p.is_template = flag("template");
  p.tf32_classes = classes("tf32_classes");

  // efficiency: {"default": {...}, "<class>": {...}, "<class>@<dtype>": {...}}
  const json& eff = r.need(root, "efficiency", "efficiency");
  if (!eff.is_object()) r.fail("efficiency", "must be an object, got " + show(eff));
  auto read_eff = [&](const json& v, const std::string& path, Efficiency base) {
    if (!v.is_object())
      r.fail(path, "must be an object {compute, memory, overhead_s, tile_rows, tile_cols}, got " + show(v));
    for (const auto& [k, x] : v.items()) {
      if (k == "overhead_s") {
        base.overhead_s = r.positive(x, path + "." + k, true);
        continue;
      }
      if (k == "tile_rows" || k == "tile_cols") {
        const double t = r.positive(x, path + "." + k, true);
        if (t > 0 && t < 1) r.fail(path + "." + k, "a tile is at least 1 element (or 0: no tiling), got " + show(x));
        (k == "tile_rows" ? base.tile_rows : base.tile_cols) = t;
        continue;
      }
      if (k != "compute" && k != "memory")
        r.fail(path + "." + k, "unknown field (compute, memory, overhead_s, tile_rows, tile_cols)");
      const double e = r.positive(x, path + "." + k);
      if (e > 1.0) r.fail(path + "." + k, "an efficiency is a share of the peak, at most 1, got " + show(x));
      (k == "compute" ? base.compute : base.memory) = e;
    }
    return base;
  };
  const Efficiency def = eff.contains("default") ? read_eff(eff.at("default"), "efficiency.default", {}) : Efficiency{};
  for (auto& row : p.efficiency) row.fill(def);
  // classes first, then class@dtype overrides
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [k, v] : eff.items()) {
      if (k == "default") continue;
      const auto at = k.find('@');
      if ((at != std::string::npos) != (pass == 1)) continue;
      graph::OpClass c;
      if (!graph::op_class_from_name(k.substr(0, at), c))
        r.fail("efficiency." + k, "unknown op class '" + k.substr(0, at) + "'");
      auto& row = p.efficiency[static_cast<std::size_t>(c)];
      if (pass == 0) {
        const Efficiency e = read_eff(v, "efficiency." + k, def);
        row.fill(e);
      } else {
        Dtype d;
        if (!dtype_from_name(k.substr(at + 1), d)) r.fail("efficiency." + k, "unknown dtype '" + k.substr(at + 1) + "'");
        row[static_cast<std::size_t>(d)] = read_eff(v, "efficiency." + k, row[static_cast<std::size_t>(d)]);
      }
    }
  }

  // every number carries its source
  const json& sources = r.need(root, "sources", "sources");
  if (!sources.is_object()) r.fail("sources", "must be an object of field -> source, got " + show(sources));
  for (const auto& [k, v] : sources.items()) {
    if (!v.is_string()) r.fail("sources." + k, "must be a string, got " + show(v));
    p.sources[k] = v.get<std::string>();
  }
  for (const char* k : {"matrix_flops_per_s", "vector_flops_per_s", "memory_bandwidth_bytes_per_s",
                        "memory_capacity_bytes", "onchip_bytes", "kernel_overhead_s", "efficiency"})
    if (!p.sources.count(k)) throw Error(source + ": sources: no source given for '" + std::string(k) + "'");
  if (p.onchip_bytes > 0 && !p.sources.count("onchip_bandwidth_bytes_per_s"))
    throw Error(source + ": sources: no source given for 'onchip_bandwidth_bytes_per_s'");
  if (p.compute_units > 0 && !p.sources.count("compute_units"))
    throw Error(source + ": sources: no source given for 'compute_units'");
  if (root.contains("calibration")) p.calibration = root.at("calibration").dump();
  if (root.contains("notes")) p.notes = root.at("notes").dump();
  return p;
}

std::string profile_to_json(const Profile& p) {
  json o = json::object();
  auto rates = [](const std::array<double, kDtypes>& a) {
    json r = json::object();
    for (std::size_t d = 0; d < kDtypes; ++d)
      if (a[d] > 0) r[std::string(dtype_names[d])] = a[d];
    return r;
  };
  auto eff_json = [](const Efficiency& e) {
    json j = {{"compute", e.compute}, {"memory", e.memory}};
    if (e.overhead_s >= 0) j["overhead_s"] = e.overhead_s;
    if (e.tile_rows > 0) j["tile_rows"] = e.tile_rows;
    if (e.tile_cols > 0) j["tile_cols"] = e.tile_cols;
    return j;
  };
  auto same = [](const Efficiency& a, const Efficiency& b) {
    return a.compute == b.compute && a.memory == b.memory && a.overhead_s == b.overhead_s &&
           a.tile_rows == b.tile_rows && a.tile_cols == b.tile_cols;
  };
  o["format"] = kFormat;
  o["name"] = p.name;
  o["description"] = p.description;
  o["version"] = p.version;
  o["kind"] = p.kind;
  if (p.is_template) o["template"] = true;
  o["matrix_flops_per_s"] = rates(p.matrix_flops_per_s);
  o["vector_flops_per_s"] = rates(p.vector_flops_per_s);
  o["memory_bandwidth_bytes_per_s"] = p.memory_bandwidth_bytes_per_s;
  o["memory_capacity_bytes"] = p.memory_capacity_bytes;
  o["onchip_bytes"] = p.onchip_bytes;
  if (p.onchip_bytes > 0) o["onchip_bandwidth_bytes_per_s"] = p.onchip_bandwidth_bytes_per_s;
  o["kernel_overhead_s"] = p.kernel_overhead_s;
  if (p.compute_units > 0) o["compute_units"] = p.compute_units;
  o["fuses_conv_bn_act"] = p.fuses_conv_bn_act;
  auto class_list = [](const std::vector<graph::OpClass>& v) {
    json t = json::array();
    for (graph::OpClass c : v) t.push_back(std::string(graph::op_class_name(c)));
    return t;
  };
  if (!p.folds_constants.empty()) {
    json f = json::array();
    for (graph::Op op : p.folds_constants) f.push_back(std::string(graph::op_name(op)));
    o["folds_constants"] = f;
  }
  if (!p.tf32_classes.empty()) o["tf32_classes"] = class_list(p.tf32_classes);
  // the class `none` (views) never runs a kernel; its row carries the default
  const Efficiency& def = p.efficiency[static_cast<std::size_t>(graph::OpClass::none)][0];
  json eff = {{"default", eff_json(def)}};
  for (std::size_t c = 0; c < kClasses; ++c) {
    const auto& row = p.efficiency[c];
    const std::string cls(graph::op_class_name(static_cast<graph::OpClass>(c)));
    bool uniform = true;
    for (const auto& e : row) uniform = uniform && same(e, row[0]);
    if (uniform) {
      if (!same(row[0], def)) eff[cls] = eff_json(row[0]);
      continue;
    }
    for (std::size_t d = 0; d < kDtypes; ++d)
      if (!same(row[d], def)) eff[cls + "@" + std::string(dtype_names[d])] = eff_json(row[d]);
  }
  o["efficiency"] = eff;
  json src = json::object();
  for (const auto& [k, v] : p.sources) src[k] = v;
  o["sources"] = src;
  if (!p.calibration.empty()) o["calibration"] = json::parse(p.calibration);
  if (!p.notes.empty()) o["notes"] = json::parse(p.notes);
  return o.dump(2) + "\n";
}

Profile load_profile(const std::string& name_or_path) {
  for (const auto& e : builtin::profiles())
    if (e.name == name_or_path) return parse_profile(e.text, e.name + ".json");
  if (std::filesystem::exists(name_or_path)) return parse_profile(read_file(name_or_path), name_or_path);
  std::string known;
  for (const auto& e : builtin::profiles()) known += (known.empty() ? "" : ", ") + e.name;
  throw Error("unknown profile '" + name_or_path + "' (neither a file nor built in: " + known + ")");
}

std::vector<ProfileEntry> builtin_profiles() {
  std::vector<ProfileEntry> out;
  for (const auto& e : builtin::profiles()) {
    const Profile p = parse_profile(e.text, e.name + ".json");
    out.push_back({e.name, p.description, p.kind});
  }
  return out;
}

}  // namespace hwnas::hw
