#include "hwnas/cost/format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hwnas::cost {
namespace {

std::string fmt(const char* f, double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v, unit);
  return buf;
}

std::string block_of(const graph::Node& n) {
  return n.block_len > 0 ? n.name.substr(0, n.block_len) : n.name;
}

struct Row {
  std::string name, op, shape;
  std::int64_t params = 0, macs = 0, other = 0, bytes = 0;
  double latency = 0;
  std::map<Bound, double> bound_time;
  int nodes = 0;
};

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

}  // namespace

std::string human_count(double v) {
  const double a = std::fabs(v);
  if (a >= 1e12) return fmt("%.2f %s", v / 1e12, "T");
  if (a >= 1e9) return fmt("%.2f %s", v / 1e9, "G");
  if (a >= 1e6) return fmt("%.2f %s", v / 1e6, "M");
  if (a >= 1e3) return fmt("%.2f %s", v / 1e3, "K");
  return fmt("%.0f%s", v, "");
}

std::string human_bytes(double v) {
  const double a = std::fabs(v);
  if (a >= 1024.0 * 1024 * 1024) return fmt("%.2f %s", v / (1024.0 * 1024 * 1024), "GiB");
  if (a >= 1024.0 * 1024) return fmt("%.2f %s", v / (1024.0 * 1024), "MiB");
  if (a >= 1024.0) return fmt("%.1f %s", v / 1024.0, "KiB");
  return fmt("%.0f %s", v, "B");
}

std::string human_seconds(double s) {
  if (s >= 1.0) return fmt("%.3f %s", s, "s");
  if (s >= 1e-3) return fmt("%.3f %s", s * 1e3, "ms");
  if (s >= 1e-6) return fmt("%.2f %s", s * 1e6, "us");
  return fmt("%.1f %s", s * 1e9, "ns");
}

std::string to_table(const graph::Graph& g, const CostReport& r, bool per_layer) {
  std::vector<Row> rows;
  for (const auto& c : r.layers) {
    const auto& n = g.node(c.node);
    if (n.op == graph::Op::input) continue;
    const std::string name = per_layer ? n.name : block_of(n);
    if (rows.empty() || rows.back().name != name) {
      rows.push_back({});
      rows.back().name = name;
    }
    Row& row = rows.back();
    row.op = row.nodes == 0 ? std::string(graph::op_name(n.op)) : "block(" + std::to_string(row.nodes + 1) + " ops)";
    row.shape = graph::to_string(n.shape);
    row.params += c.params;
    row.macs += c.macs;
    row.other += c.other_flops;
    row.bytes += c.bytes;
    row.latency += c.latency_s;
    row.bound_time[c.bound] += c.latency_s + (c.bound == Bound::none ? 0 : 1e-30);
    ++row.nodes;
  }
  const std::vector<std::string> head{"layer", "op", "output", "params", "MACs", "other FLOPs", "moved", "FLOP/B", "latency", "%", "bound"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    Bound bound = Bound::none;
    double best = -1;
    for (auto [b, t] : row.bound_time)
      if (t > best) best = t, bound = b;
    const double ai = row.bytes > 0 ? static_cast<double>(2 * row.macs + row.other) / static_cast<double>(row.bytes) : 0;
    cells.push_back({row.name, row.op, row.shape, row.params ? human_count(static_cast<double>(row.params)) : "-",
                     row.macs ? human_count(static_cast<double>(row.macs)) : "-",
                     row.other ? human_count(static_cast<double>(row.other)) : "-",
                     row.bytes ? human_bytes(static_cast<double>(row.bytes)) : "-",
                     row.bytes ? fmt("%.1f%s", ai, "") : "-", human_seconds(row.latency),
                     r.totals.latency_s > 0 ? fmt("%.1f%s", 100.0 * row.latency / r.totals.latency_s, "") : "-",
                     std::string(bound_name(bound))});
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
  for (const auto& c : cells)
    for (std::size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  width[0] = std::min<std::size_t>(width[0], 48);
  std::ostringstream o;
  auto line = [&](const std::vector<std::string>& c) {
    for (std::size_t i = 0; i < c.size(); ++i) {
      std::string s = c[i];
      if (s.size() > width[i]) s = "..." + s.substr(s.size() - width[i] + 3);
      const bool left = i < 3 || i == c.size() - 1;
      const std::string pad(width[i] - s.size(), ' ');
      o << (i ? "  " : "") << (left ? s + pad : pad + s);
    }
    o << "\n";
  };
  const auto& t = r.totals;
  o << r.model << " on " << r.profile << ", batch " << r.batch << ", " << hw::dtype_name(r.dtype)
    << ", input " << graph::to_string(g.node(0).shape) << "\n\n";
  line(head);
  std::size_t total_w = 0;
  for (auto w : width) total_w += w + 2;
  o << std::string(total_w - 2, '-') << "\n";
  for (const auto& c : cells) line(c);
  o << std::string(total_w - 2, '-') << "\n";
  o << "params       " << human_count(static_cast<double>(t.params)) << " (" << t.params << ")"
    << ", buffers " << human_count(static_cast<double>(t.buffers)) << "\n";
  o << "MACs         " << human_count(static_cast<double>(t.macs)) << "MAC (" << t.macs << "), FLOPs "
    << human_count(static_cast<double>(t.flops)) << ", other FLOPs " << human_count(static_cast<double>(t.other_flops)) << "\n";
  o << "weights      " << human_bytes(static_cast<double>(t.weight_bytes)) << ", activations "
    << human_bytes(static_cast<double>(t.activation_bytes)) << ", peak activation memory "
    << human_bytes(static_cast<double>(t.peak_memory_bytes)) << "\n";
  if (t.kv_cache_bytes > 0)
    o << "KV cache     " << human_bytes(static_cast<double>(t.kv_cache_bytes)) << " (" << t.kv_cache_bytes << " bytes)\n";
  o << "latency      " << human_seconds(t.latency_s) << " (roofline on " << r.profile << ")\n";
  return o.str();
}

std::string to_json(const graph::Graph& g, const CostReport& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["model"] = r.model;
  j["profile"] = r.profile;
  j["batch"] = r.batch;
  j["dtype"] = std::string(hw::dtype_name(r.dtype));
  j["input_shape"] = g.node(0).shape;
  const auto& t = r.totals;
  j["totals"] = {{"params", t.params},
                 {"buffers", t.buffers},
                 {"macs", t.macs},
                 {"flops", t.flops},
                 {"other_flops", t.other_flops},
                 {"weight_bytes", t.weight_bytes},
                 {"activation_bytes", t.activation_bytes},
                 {"peak_memory_bytes", t.peak_memory_bytes},
                 {"kv_cache_bytes", t.kv_cache_bytes},
                 {"latency_s", t.latency_s}};
  json layers = json::array();
  for (const auto& c : r.layers) {
    const auto& n = g.node(c.node);
    layers.push_back({{"name", n.name},
                      {"block", block_of(n)},
                      {"op", std::string(graph::op_name(n.op))},
                      {"class", std::string(graph::op_class_name(c.cls))},
                      {"output_shape", n.shape},
                      {"params", c.params},
                      {"buffers", c.buffers},
                      {"macs", c.macs},
                      {"flops", c.flops},
                      {"other_flops", c.other_flops},
                      {"weight_bytes", c.weight_bytes},
                      {"activation_bytes", c.activation_bytes},
                      {"bytes", c.bytes},
                      {"kv_cache_bytes", c.kv_cache_bytes},
                      {"intensity", c.intensity},
                      {"compute_s", c.compute_s},
                      {"memory_s", c.memory_s},
                      {"overhead_s", c.overhead_s},
                      {"latency_s", c.latency_s},
                      {"bound", std::string(bound_name(c.bound))}});
  }
  j["layers"] = std::move(layers);
  return j.dump(1) + "\n";
}

std::string to_csv(const graph::Graph& g, const CostReport& r) {
  std::ostringstream o;
  o << "name,block,op,class,output_shape,params,buffers,macs,flops,other_flops,weight_bytes,activation_bytes,"
       "bytes,kv_cache_bytes,intensity,latency_s,bound\n";
  for (const auto& c : r.layers) {
    const auto& n = g.node(c.node);
    o << csv_escape(n.name) << ',' << csv_escape(block_of(n)) << ',' << graph::op_name(n.op) << ','
      << graph::op_class_name(c.cls) << ',' << csv_escape(graph::to_string(n.shape)) << ',' << c.params << ','
      << c.buffers << ',' << c.macs << ',' << c.flops << ',' << c.other_flops << ',' << c.weight_bytes << ','
      << c.activation_bytes << ',' << c.bytes << ',' << c.kv_cache_bytes << ',' << c.intensity << ','
      << c.latency_s << ',' << bound_name(c.bound) << '\n';
  }
  return o.str();
}

}  // namespace hwnas::cost
