// Measurement files: whole-model latencies (an architecture as `hwnas cost` names it) and
// per-op latencies (an op's shape, as in h100_ops.json). Format in README.md, "Calibration".
#include <nlohmann/json.hpp>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/calibrate.hpp"

namespace hwnas::hw {
namespace {

using json = nlohmann::json;
using graph::Node;
using graph::Op;

std::string show(const json& v) {
  const std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Field access for one entry; every error names file, entry and field.
class Entry {
 public:
  Entry(const json& v, std::string source, std::string path) : v_(v), src_(std::move(source)), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(src_ + ": " + path_ + (key.empty() ? "" : "." + key) + ": " + what);
  }
  bool has(const char* key) const { return v_.contains(key); }
  const json& at(const char* key) const {
    if (!v_.contains(key)) throw Error(src_ + ": " + path_ + ": missing field '" + key + "'");
    return v_.at(key);
  }
  std::string str(const char* key) const {
    const json& x = at(key);
    if (!x.is_string()) fail(key, "must be a string, got " + show(x));
    return x.get<std::string>();
  }
  double positive(const char* key) const {
    const json& x = at(key);
    if (!x.is_number() || !(x.get<double>() > 0)) fail(key, "must be a number > 0, got " + show(x));
    return x.get<double>();
  }
  std::int64_t count(const char* key, std::int64_t fallback = -1, std::int64_t min = 1) const {
    if (!has(key)) {
      if (fallback >= 0) return fallback;
      at(key);  // throws "missing field"
    }
    const json& x = v_.at(key);
    if (!x.is_number_integer() || x.get<std::int64_t>() < min)
      fail(key, "must be an integer >= " + std::to_string(min) + ", got " + show(x));
    return x.get<std::int64_t>();
  }
  bool flag(const char* key) const {
    if (!has(key)) return false;
    const json& x = v_.at(key);
    if (!x.is_boolean()) fail(key, "must be true or false, got " + show(x));
    return x.get<bool>();
  }
  Dtype dtype() const {
    if (!has("dtype")) return Dtype::fp32;
    const std::string s = str("dtype");
    static const std::pair<const char*, Dtype> aliases[] = {
        {"float32", Dtype::fp32}, {"float16", Dtype::fp16}, {"bfloat16", Dtype::bf16}, {"int8", Dtype::int8}};
    for (const auto& [name, d] : aliases)
      if (s == name) return d;
    Dtype d;
    if (!dtype_from_name(s, d) || d == Dtype::tf32)
      fail("dtype", "must be fp32, fp16, bf16 or int8 (or float32, float16, bfloat16), got \"" + s + "\"");
    return d;
  }
  const json& value() const { return v_; }

 private:
  const json& v_;
  std::string src_, path_;
};

// Builds a small graph for one op from its shape fields.
class OpGraph {
 public:
  graph::Graph g;
  int input(const std::string& name, graph::Shape shape) {
    Node n;
    n.name = name;
    n.op = Op::input;
    n.attrs.shape = std::move(shape);
    return g.add(std::move(n));
  }
  int node(const std::string& name, Op op, std::vector<int> inputs, graph::Attrs a = {}) {
    Node n;
    n.name = name;
    n.op = op;
    n.attrs = std::move(a);
    n.inputs = std::move(inputs);
    return g.add(std::move(n));
  }
};

std::string dims(std::initializer_list<std::int64_t> d) {
  std::string s;
  for (auto x : d) {
    if (!s.empty()) s += 'x';
    s += std::to_string(x);
  }
  return s;
}

Measurement op_measurement(const Entry& e) {
  Measurement m;
  m.dtype = e.dtype();
  const std::string op = e.str("op");
  OpGraph b;
  b.g.name = op;
  if (op == "conv" || op == "pointwise" || op == "depthwise" || op == "conv2d") {
    const std::int64_t n = e.count("n", 1), cin = e.count("c_in"), cout = e.count("c_out"), h = e.count("h"),
                       w = e.count("w", h), k = e.count("k"), s = e.count("stride", 1);
    graph::Attrs a;
    a.out = cout;
    a.kh = a.kw = static_cast<int>(k);
    a.sh = a.sw = static_cast<int>(s);
    a.ph = a.pw = static_cast<int>(e.count("padding", k / 2, 0));
    a.groups = static_cast<int>(e.count("groups", 1));
    a.bias = e.flag("bias");
    b.node("op", Op::conv2d, {b.input("x", {n, cin, h, w})}, a);
    m.label = op + " " + dims({n, cin, h, w}) + "->" + std::to_string(cout) + " k" + std::to_string(k) + " s" +
              std::to_string(s) + " g" + std::to_string(a.groups);
  } else if (op == "linear") {
    const std::int64_t rows = e.count("m"), k = e.count("k"), out = e.count("n_out");
    graph::Attrs a;
    a.out = out;
    a.bias = e.flag("bias");
    b.node("op", Op::linear, {b.input("x", {rows, k})}, a);
    m.label = "linear ";
    m.label += dims({rows, k}) + "->" + std::to_string(out);
  } else if (op == "sdpa" || op == "decode_attn") {
    const bool decode = op == "decode_attn";
    const std::int64_t batch = e.count("b", 1), heads = e.count("heads"), d = e.count("d_head");
    const std::int64_t kvh = e.count("kv_heads", heads);
    const std::int64_t tokens = decode ? 1 : e.count("seq");
    graph::Attrs a;
    a.heads = static_cast<int>(heads);
    a.kv_heads = static_cast<int>(kvh);
    a.head_dim = static_cast<int>(d);
    a.pattern = e.flag("causal") ? graph::AttnPattern::causal : graph::AttnPattern::full;
    if (decode) {
      a.pattern = graph::AttnPattern::causal;
      a.kv_cache = true;
      a.past_tokens = e.count("ctx") - 1;
    }
    const int q = b.input("q", {batch, tokens, heads * d});
    const int k = b.input("k", {batch, tokens, kvh * d});
    const int v = b.input("v", {batch, tokens, kvh * d});
    b.node("op", Op::attention, {q, k, v}, a);
    m.label = op + " b" + std::to_string(batch) + " h" + std::to_string(heads) + "/" + std::to_string(kvh) + " " +
              (decode ? "ctx" + std::to_string(e.count("ctx")) : "seq" + std::to_string(tokens)) + " d" +
              std::to_string(d) + (a.pattern == graph::AttnPattern::causal && !decode ? " causal" : "");
  } else if (op == "batchnorm_eval" || op == "batch_norm") {
    const std::int64_t n = e.count("n", 1), c = e.count("c"), h = e.count("h"), w = e.count("w", h);
    b.node("op", Op::batch_norm, {b.input("x", {n, c, h, w})});
    m.label = "batch_norm ";
    m.label += dims({n, c, h, w});
  } else if (op == "max_pool" || op == "avg_pool" || op == "global_avg_pool") {
    const std::int64_t n = e.count("n", 1), c = e.count("c"), h = e.count("h"), w = e.count("w", h);
    graph::Attrs a;
    if (op != "global_avg_pool") {
      const std::int64_t k = e.count("k");
      a.kh = a.kw = static_cast<int>(k);
      a.sh = a.sw = static_cast<int>(e.count("stride", k));
      a.ph = a.pw = static_cast<int>(e.count("padding", 0, 0));
    }
    Op o;
    graph::op_from_name(op, o);
    b.node("op", o, {b.input("x", {n, c, h, w})}, a);
    m.label = op + " " + dims({n, c, h, w}) + (op == "global_avg_pool" ? "" : " k" + std::to_string(a.kh) + " s" + std::to_string(a.sh));
  } else if (op == "layernorm" || op == "layer_norm" || op == "softmax") {
    const std::int64_t rows = e.count("rows"), cols = e.count("cols");
    b.node("op", op == "softmax" ? Op::softmax : Op::layer_norm, {b.input("x", {rows, cols})});
    m.label = op + " " + dims({rows, cols});
  } else {
    Op o;
    if (!graph::op_from_name(op, o) || !(graph::is_activation(o) || o == Op::add || o == Op::mul))
      e.fail("op", "unknown op \"" + op +
                       "\" (conv, pointwise, depthwise, linear, sdpa, decode_attn, batchnorm_eval, max_pool, "
                       "avg_pool, global_avg_pool, layernorm, softmax, add, mul or an activation)");
    const std::int64_t numel = e.count("numel");
    const int x = b.input("x", {numel});
    if (o == Op::add || o == Op::mul) b.node("op", o, {x, b.input("y", {numel})});
    else b.node("op", o, {x});
    m.label = op + " " + std::to_string(numel);
  }
  m.graph = std::move(b.g);
  m.label += " " + std::string(dtype_name(m.dtype));
  return m;
}

Measurement model_measurement(const Entry& e) {
  Measurement m;
  m.dtype = e.dtype();
  graph::BuildOptions opt;
  opt.batch = e.count("batch", 1);
  opt.resolution = e.count("resolution", 0, 1);
  const std::string arch = e.str("arch");
  try {
    m.graph = graph::load_architecture(arch, opt);
  } catch (const Error& err) {
    e.fail("arch", err.what());
  }
  m.label = e.has("label") ? e.str("label") : arch + " b" + std::to_string(opt.batch) + " " + std::string(dtype_name(m.dtype));
  return m;
}

// The measured time of an entry in seconds, or < 0 when it has only an eager time.
double latency_of(const Entry& e) {
  if (e.has("latency_ms")) return e.positive("latency_ms") * 1e-3;
  if (e.has("latency_us")) return e.positive("latency_us") * 1e-6;
  if (e.has("us_graph")) return e.positive("us_graph") * 1e-6;
  if (e.has("us")) {
    e.positive("us");
    return -1;
  }
  e.fail("", "missing field 'latency_ms' (or latency_us, us_graph)");
}

}  // namespace

MeasurementSet parse_measurements(const std::string& text, const std::string& source) {
  const json root = parse_json(text, source);
  MeasurementSet set;
  set.source = source;
  auto read_list = [&](const json& list, const std::string& name) {
    if (!list.is_array()) throw Error(source + ": " + name + ": must be an array of measurements, got " + show(list));
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = name + "[" + std::to_string(i) + "]";
      if (!list[i].is_object()) throw Error(source + ": " + path + ": must be an object, got " + show(list[i]));
      const Entry e(list[i], source, path);
      if (e.has("arch") == e.has("op")) e.fail("", "needs exactly one of 'arch' (whole model) or 'op' (one op)");
      const double t = latency_of(e);
      if (t < 0) {
        ++set.skipped;
        continue;
      }
      Measurement m = e.has("arch") ? model_measurement(e) : op_measurement(e);
      m.latency_s = t;
      set.items.push_back(std::move(m));
    }
  };
  if (root.is_array()) {
    read_list(root, "measurements");
  } else if (root.is_object() && (root.contains("measurements") || root.contains("ops"))) {
    if (root.contains("measurements")) read_list(root.at("measurements"), "measurements");
    if (root.contains("ops")) read_list(root.at("ops"), "ops");
  } else {
    throw Error(source + ": a measurement file is an array of measurements or an object with a "
                         "'measurements' or 'ops' array");
  }
  if (set.items.empty()) throw Error(source + ": no measurements with a latency");
  return set;
}

MeasurementSet load_measurements(const std::string& path) { return parse_measurements(read_file(path), path); }

double predict(const Profile& p, const Measurement& m) { return cost::analyze(m.graph, p, m.dtype).totals.latency_s; }

double flops_of(const Profile& p, const Measurement& m) {
  // the counts do not depend on the profile; it only has to cost the dtype
  return static_cast<double>(cost::analyze(m.graph, p, m.dtype).totals.flops);
}

}  // namespace hwnas::hw
