// Architecture JSON -> graph::Graph. Layers are sequential unless they name `inputs`;
// blocks expand into primitive ops whose names keep the block path.
#include "hwnas/graph/arch.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "builtin_data.hpp"
#include "graph/arch_json.hpp"
#include "graph/blocks.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/graph/nasbench201.hpp"
#include "hwnas/graph/onnx.hpp"

namespace hwnas::graph {
namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "hwnas.arch/1";

std::string show(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// A JSON object together with where it sits; the location text is only built for errors.
struct Obj {
  const json& j;
  const std::string* file;
  int index = -1;             // layers[index], or -1 at the top level
  const std::string* name = nullptr;  // the layer's name
  const char* sub = nullptr;  // a nested object ("se", "input")

  std::string path() const {
    std::string w;
    if (index >= 0) {
      w = "layers[" + std::to_string(index) + "]";
      if (name) w += " ('" + *name + "')";
    }
    if (sub) w += (w.empty() ? "" : ".") + std::string(sub);
    return w;
  }
  std::string where() const {
    const std::string p = path();
    return p.empty() ? *file : *file + ": " + p;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    const std::string p = path();
    throw Error(*file + ": " + (p.empty() ? key : p + "." + key) + ": " + what);
  }
  // The field's value, or null when it is missing or JSON null (one lookup).
  const json* get(const char* key) const {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(std::string_view(key));  // one strlen, not one per comparison
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  bool has(const char* key) const { return get(key) != nullptr; }

  std::int64_t integer(const char* key, std::int64_t min, std::optional<std::int64_t> def = {}) const {
    const json* p = get(key);
    if (!p) {
      if (def) return *def;
      throw Error(where() + ": missing field '" + key + "'");
    }
    const json& v = *p;
    if (!v.is_number_integer()) fail(key, "must be an integer, got " + show(v));
    const auto x = v.get<std::int64_t>();
    if (x < min) fail(key, "must be >= " + std::to_string(min) + ", got " + std::to_string(x));
    return x;
  }
  double number(const char* key, double min, double def) const {
    const json* p = get(key);
    if (!p) return def;
    const json& v = *p;
    if (!v.is_number()) fail(key, "must be a number, got " + show(v));
    const double x = v.get<double>();
    if (!(x >= min)) fail(key, "must be >= " + std::to_string(min) + ", got " + show(v));
    return x;
  }
  bool boolean(const char* key, bool def) const {
    const json* p = get(key);
    if (!p) return def;
    const json& v = *p;
    if (!v.is_boolean()) fail(key, "must be true or false, got " + show(v));
    return v.get<bool>();
  }
  std::string string(const char* key, std::optional<std::string> def = {}) const {
    const json* p = get(key);
    if (!p) {
      if (def) return *def;
      throw Error(where() + ": missing field '" + key + "'");
    }
    const json& v = *p;
    if (!v.is_string()) fail(key, "must be a string, got " + show(v));
    return v.get<std::string>();
  }
  // An int or a pair [h, w].
  std::pair<int, int> pair(const char* key, int min, std::pair<int, int> def) const {
    const json* p = get(key);
    if (!p) return def;
    const json& v = *p;
    auto one = [&](const json& e) {
      if (!e.is_number_integer()) fail(key, "must be an integer or [h, w], got " + show(v));
      const auto x = e.get<std::int64_t>();
      if (x < min) fail(key, "must be >= " + std::to_string(min) + ", got " + show(v));
      return static_cast<int>(x);
    };
    if (v.is_array()) {
      if (v.size() != 2) fail(key, "must be an integer or [h, w], got " + show(v));
      return {one(v[0]), one(v[1])};
    }
    const int x = one(v);
    return {x, x};
  }
  std::vector<std::int64_t> ints(const char* key) const {
    const json* p = get(key);
    if (!p) throw Error(where() + ": missing field '" + key + "'");
    const json& v = *p;
    if (!v.is_array()) fail(key, "must be an array of integers, got " + show(v));
    std::vector<std::int64_t> out;
    for (const auto& e : v) {
      if (!e.is_number_integer()) fail(key, "must be an array of integers, got " + show(v));
      out.push_back(e.get<std::int64_t>());
    }
    return out;
  }
  Obj child(const char* key) const {
    const json& v = j.at(key);
    if (!v.is_object()) fail(key, "must be an object, got " + show(v));
    return {v, file, index, name, key};
  }
  // Rejects fields outside `keys` and `extra` (typos must not pass silently).
  void allow(std::initializer_list<std::string_view> keys, std::initializer_list<std::string_view> extra = {}) const {
    for (const auto& [k, v] : j.items()) {
      if (std::find(keys.begin(), keys.end(), k) != keys.end() || std::find(extra.begin(), extra.end(), k) != extra.end())
        continue;
      std::string all;
      for (auto list : {keys, extra})
        for (auto a : list) all += (all.empty() ? "" : ", ") + std::string(a);
      fail(k, "unknown field (allowed: " + all + ")");
    }
  }
};

Op activation(const Obj& o, const char* key, const std::string& def) {
  std::string name = o.string(key, def);
  if (name == "swish") name = "silu";
  if (name == "none") return Op::count_;
  Op op;
  if (!op_from_name(name, op) || !is_activation(op))
    o.fail(key, "unknown activation '" + name +
                    "' (relu, relu6, hardswish, hardsigmoid, sigmoid, silu, gelu, none)");
  return op;
}

// Model-wide scaling (EfficientNet-style): width on channel counts, depth on repeats.
struct Scaling {
  double width = 1.0, depth = 1.0;
  int divisor = 8;
  std::int64_t channels(std::int64_t c) const {
    return width == 1.0 ? c : make_divisible(static_cast<double>(c) * width, divisor);
  }
};

class ArchBuilder {
 public:
  ArchBuilder(const json& root, const std::vector<const json*>& layers, std::string source, const BuildOptions& opt)
      : root_(root), layers_(layers), src_(std::move(source)), opt_(opt), b_(g_) {}

  Graph build() {
    const Obj top{root_, &src_};
    if (!root_.is_object()) throw Error(src_ + ": an architecture must be a JSON object, got " + show(root_));
    top.allow({"format", "name", "description", "input", "width_mult", "depth_mult", "channel_divisor",
               "layers", "source", "notes"});
    const std::string format = top.string("format");
    if (format != kFormat)
      top.fail("format", "must be \"" + std::string(kFormat) + "\", got \"" + format + "\"" +
                             (format == "hwnas.space/1" ? " (a search space: cost one member with --genome)" : ""));
    g_.name = top.string("name");
    scale_.width = top.number("width_mult", 1e-3, 1.0);
    scale_.depth = top.number("depth_mult", 1e-3, 1.0);
    scale_.divisor = static_cast<int>(top.integer("channel_divisor", 1, 8));
    if (opt_.batch < 1) throw Error(src_ + ": batch must be >= 1, got " + std::to_string(opt_.batch));
    make_input(top);
    if (layers_.empty()) throw Error(src_ + ": layers: must be a non-empty array");
    build_layers();
    return std::move(g_);
  }

 private:
  const json& root_;
  const std::vector<const json*>& layers_;
  std::string src_;
  BuildOptions opt_;
  Graph g_;
  Blocks b_;
  Scaling scale_;
  int input_node_ = -1;

  void make_input(const Obj& top) {
    if (!top.has("input")) throw Error(src_ + ": missing field 'input'");
    const Obj in = top.child("input");
    in.allow({"channels", "resolution", "tokens"});
    Node n;
    n.name = "input";
    n.op = Op::input;
    if (in.has("tokens")) {
      std::int64_t t = in.integer("tokens", 1);
      if (opt_.phase == Phase::decode) {
        if (opt_.context < 1)
          throw Error(src_ + ": the decode phase needs a context >= 1, got " + std::to_string(opt_.context));
        b_.past_tokens = opt_.context - 1;
        t = 1;
      } else if (opt_.seq_len > 0) {
        t = opt_.seq_len;
      }
      n.attrs.shape = {opt_.batch, t};
    } else {
      const std::int64_t c = in.integer("channels", 1);
      std::int64_t r = in.integer("resolution", 1);
      if (opt_.resolution > 0) r = opt_.resolution;
      if (opt_.phase == Phase::decode)
        throw Error(src_ + ": the decode phase applies to token models; '" + g_.name + "' takes images");
      n.attrs.shape = {opt_.batch, c, r, r};
    }
    input_node_ = g_.add(std::move(n));
  }

  void build_layers() {
    const int count = static_cast<int>(layers_.size());
    // names and dependencies first, so that `inputs` may refer forward and a cycle is
    // reported rather than silently broken
    std::vector<std::string> names(count);
    std::map<std::string, int> index;
    for (int i = 0; i < count; ++i) {
      const json& l = *layers_[i];
      Obj o{l, &src_, i};
      if (!l.is_object()) throw Error(o.where() + ": must be an object, got " + show(l));
      names[i] = o.string("name", "layers." + std::to_string(i));
      if (names[i] == "input" || !index.emplace(names[i], i).second)
        o.fail("name", "duplicate layer name '" + names[i] + "'");
    }
    std::vector<std::pair<int, int>> edges;
    std::vector<std::vector<int>> inputs(count);  // layer indices, -1: the graph input
    for (int i = 0; i < count; ++i) {
      const Obj o{*layers_[i], &src_, i};
      if (o.has("inputs")) {
        const json& v = layers_[i]->at("inputs");
        if (!v.is_array() || v.empty()) o.fail("inputs", "must be a non-empty array of layer names, got " + show(v));
        for (const auto& e : v) {
          if (!e.is_string()) o.fail("inputs", "must be an array of layer names, got " + show(v));
          const auto& name = e.get_ref<const std::string&>();
          if (name == "input") {
            inputs[i].push_back(-1);
            continue;
          }
          auto it = index.find(name);
          if (it == index.end()) o.fail("inputs", "unknown layer '" + name + "'");
          edges.emplace_back(it->second, i);
          inputs[i].push_back(it->second);
        }
      } else {
        if (i > 0) edges.emplace_back(i - 1, i);
        inputs[i].push_back(i - 1);
      }
    }
    // edges that all go forward (layers that read only earlier ones) keep the file's order
    // (topological_order's result then) without the cycle check
    const bool forward = std::all_of(edges.begin(), edges.end(), [](auto e) { return e.first < e.second; });
    std::vector<int> order(static_cast<std::size_t>(count));
    if (forward) std::iota(order.begin(), order.end(), 0);
    else order = topological_order(count, edges, names, src_ + ": layers");
    std::vector<int> output(count);  // each layer's output node
    for (int i : order) {
      const Obj o{*layers_[i], &src_, i, &names[i]};
      std::vector<int> in;
      for (const int l : inputs[i]) in.push_back(l < 0 ? input_node_ : output[l]);
      output[i] = layer(o, names[i], in);
    }
  }

  int single(const Obj& o, const std::vector<int>& in) {
    if (in.size() != 1) o.fail("inputs", "this layer takes one input, got " + std::to_string(in.size()));
    return in[0];
  }

  std::int64_t channels_in(int x) const { return g_.node(x).shape.size() == 4 ? g_.node(x).shape[1] : g_.node(x).shape.back(); }

  std::int64_t out_channels(const Obj& o, const char* key, std::optional<std::int64_t> def = {}) {
    const std::int64_t c = o.integer(key, 1, def);
    return o.boolean("scale", true) ? scale_.channels(c) : c;
  }

  SqueezeExcite se(const Obj& o) {
    SqueezeExcite s;
    if (!o.has("se")) return s;
    const Obj e = o.child("se");
    e.allow({"ratio", "base", "divisor", "act", "gate"});
    s.enabled = true;
    s.ratio = e.number("ratio", 1e-6, 0.25);
    const std::string base = e.string("base", "expanded");
    if (base != "input" && base != "expanded") e.fail("base", "must be \"input\" or \"expanded\", got \"" + base + "\"");
    s.of_input = base == "input";
    s.divisor = static_cast<int>(e.integer("divisor", 1, 1));
    s.act = activation(e, "act", "relu");
    s.gate = activation(e, "gate", "sigmoid");
    return s;
  }

  AttentionSpec attention(const Obj& o, std::int64_t dim) {
    AttentionSpec a;
    a.heads = static_cast<int>(o.integer("heads", 1));
    a.kv_heads = static_cast<int>(o.integer("kv_heads", 1, a.heads));
    a.head_dim = static_cast<int>(o.integer("head_dim", 1, dim / a.heads));
    const std::string p = o.string("pattern", "full");
    if (!pattern_from_name(p, a.pattern))
      o.fail("pattern", "unknown pattern '" + p + "' (full, causal, sliding_window, local_window, dilated_window)");
    a.window = o.integer("window", 1, 0);
    a.window_dilation = static_cast<int>(o.integer("window_dilation", 1, 1));
    a.global_tokens = o.integer("global_tokens", 0, 0);
    a.sink_tokens = o.integer("sink_tokens", 0, 0);
    a.kv_latent_dim = o.integer("kv_latent_dim", 1, 0);
    a.bias = o.boolean("bias", true);
    return a;
  }

  int layer(const Obj& o, const std::string& name, const std::vector<int>& in) {
    const std::string type = o.string("type");
    const std::int64_t repeat_raw = o.integer("repeat", 1, 1);
    const std::int64_t repeat = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(static_cast<double>(repeat_raw) * scale_.depth - 1e-9)));
    if (repeat_raw > 1 || o.has("repeat")) {
      // a stack: the first repeat takes the stride, the rest keep the resolution
      int x = single(o, in);
      for (std::int64_t r = 0; r < repeat; ++r) x = one(o, type, name + "." + std::to_string(r), {x}, r == 0);
      return x;
    }
    return one(o, type, name, in, true);
  }

  int one(const Obj& o, std::string_view type, const std::string& name, const std::vector<int>& in, bool first) {
    auto allow = [&](std::initializer_list<std::string_view> extra) {
      o.allow({"type", "name", "inputs", "repeat", "scale"}, extra);
    };
    const auto stride = first ? o.pair("stride", 1, {1, 1}) : std::pair<int, int>{1, 1};
    b_.prefix = name;
    b_.block = name;

    Op op;
    if (type == "conv2d" || type == "conv") {
      allow({"out", "kernel", "stride", "padding", "dilation", "groups", "bias", "norm", "act"});
      const int x = single(o, in);
      ConvSpec c;
      c.out = o.has("groups") && o.j.at("groups") == "depthwise" ? channels_in(x) : out_channels(o, "out");
      std::tie(c.kh, c.kw) = o.pair("kernel", 1, {3, 3});
      std::tie(c.sh, c.sw) = stride;
      std::tie(c.dh, c.dw) = o.pair("dilation", 1, {1, 1});
      std::tie(c.ph, c.pw) = o.pair("padding", 0, {(c.kh - 1) / 2 * c.dh, (c.kw - 1) / 2 * c.dw});
      if (o.has("groups")) {
        const json& gv = o.j.at("groups");
        if (gv == "depthwise") c.groups = static_cast<int>(channels_in(x));
        else c.groups = static_cast<int>(o.integer("groups", 1));
      }
      const bool block = type == "conv";
      const std::string norm = o.string("norm", block ? "batch_norm" : "none");
      if (norm != "batch_norm" && norm != "none") o.fail("norm", "must be \"batch_norm\" or \"none\", got \"" + norm + "\"");
      c.bias = o.boolean("bias", norm == "none");
      c.norm = norm == "batch_norm";
      c.act = activation(o, "act", block ? "relu" : "none");
      return b_.conv(x, c, "");
    }
    if (type == "linear") {
      allow({"out", "bias", "act"});
      const int x = single(o, in);
      const int y = b_.linear(x, o.integer("out", 1), o.boolean("bias", true), "");
      const Op act = activation(o, "act", "none");
      return act == Op::count_ ? y : b_.unary(act, y, "act");
    }
    if (type == "dropout" || type == "identity") {
      allow({"p"});
      return single(o, in);
    }
    if (type == "global_avg_pool" || type == "flatten" || type == "softmax" ||
        type == "batch_norm" || type == "layer_norm" || type == "rms_norm" || type == "zero" ||
        is_activation_name(type)) {
      allow({});
      op_from_name(type == "swish" ? "silu" : type, op);
      return b_.unary(op, single(o, in), "");
    }
    if (type == "avg_pool" || type == "max_pool") {
      allow({"kernel", "stride", "padding", "ceil_mode"});
      op_from_name(type, op);
      Attrs a;
      std::tie(a.kh, a.kw) = o.pair("kernel", 1, {2, 2});
      std::tie(a.sh, a.sw) = first ? o.pair("stride", 1, {a.kh, a.kw}) : std::pair<int, int>{1, 1};
      std::tie(a.ph, a.pw) = o.pair("padding", 0, {0, 0});
      a.ceil_mode = o.boolean("ceil_mode", false);
      return b_.node(op, {single(o, in)}, a, "");
    }
    if (type == "add" || type == "mul" || type == "concat") {
      allow({"axis"});
      op_from_name(type, op);
      if (op != Op::concat && in.size() != 2) o.fail("inputs", std::string(type) + " takes two inputs, got " + std::to_string(in.size()));
      if (op == Op::concat && in.size() < 2) o.fail("inputs", "concat takes two or more inputs");
      Attrs a;
      a.axis = static_cast<int>(o.integer("axis", -64, 1));
      return b_.node(op, in, a, "");
    }
    if (type == "reshape") {
      allow({"shape"});
      Attrs a;
      a.shape = o.ints("shape");
      return b_.node(Op::reshape, {single(o, in)}, a, "");
    }
    if (type == "transpose") {
      allow({"perm"});
      Attrs a;
      for (auto p : o.ints("perm")) a.perm.push_back(static_cast<int>(p));
      return b_.node(Op::transpose, {single(o, in)}, a, "");
    }
    if (type == "slice") {
      allow({"axis", "start", "end"});
      Attrs a;
      a.axis = static_cast<int>(o.integer("axis", -64));
      a.start = o.integer("start", INT64_MIN, 0);
      a.end = o.integer("end", INT64_MIN);
      return b_.node(Op::slice, {single(o, in)}, a, "");
    }
    if (type == "embedding") {
      allow({"vocab", "dim"});
      Attrs a;
      a.vocab = o.integer("vocab", 1);
      a.out = o.integer("dim", 1);
      return b_.node(Op::embedding, {single(o, in)}, a, "");
    }
    if (type == "matmul") {
      allow({});
      if (in.size() != 2) o.fail("inputs", "matmul takes two inputs, got " + std::to_string(in.size()));
      return b_.node(Op::matmul, in, {}, "");
    }
    if (type == "attention") {
      allow({"heads", "kv_heads", "head_dim", "pattern", "window", "window_dilation", "global_tokens",
             "sink_tokens", "kv_latent_dim", "kv_cache"});
      if (in.size() != 3) o.fail("inputs", "attention takes [query, key, value], got " + std::to_string(in.size()) + " inputs");
      const AttentionSpec s = attention(o, g_.node(in[0]).shape.back());
      Attrs a = b_.attention_attrs(s, o.boolean("kv_cache", false));
      return b_.node(Op::attention, in, a, "");
    }
    if (type == "squeeze_excite") {
      allow({"se"});
      const int x = single(o, in);
      SqueezeExcite s = se(o);
      s.enabled = true;
      return b_.squeeze_excite(x, s, channels_in(x), channels_in(x), "");
    }
    if (type == "dw_separable") {
      allow({"out", "kernel", "stride", "act"});
      const int x = single(o, in);
      const auto k = o.pair("kernel", 1, {3, 3});
      return b_.dw_separable(x, out_channels(o, "out"), k.first, stride.first, activation(o, "act", "relu"));
    }
    if (type == "inverted_residual") {
      allow({"out", "expand", "expanded", "expand_divisor", "kernel", "stride", "act", "se", "residual"});
      const int x = single(o, in);
      InvertedResidual r;
      r.out = out_channels(o, "out");
      const std::int64_t cin = channels_in(x);
      if (o.has("expanded")) {
        r.expanded = out_channels(o, "expanded");
      } else {
        const double t = o.number("expand", 1.0, 6.0);
        const int div = static_cast<int>(o.integer("expand_divisor", 1, 1));
        r.expanded = div > 1 ? make_divisible(static_cast<double>(cin) * t, div)
                             : static_cast<std::int64_t>(std::llround(static_cast<double>(cin) * t));
      }
      r.kernel = o.pair("kernel", 1, {3, 3}).first;
      r.stride = stride.first;
      r.act = activation(o, "act", "relu6");
      r.se = se(o);
      r.residual = o.boolean("residual", true);
      return b_.inverted_residual(x, r);
    }
    if (type == "residual_basic" || type == "residual_bottleneck") {
      allow({"out", "width", "stride", "act"});
      const int x = single(o, in);
      const std::int64_t out = out_channels(o, "out");
      const Op act = activation(o, "act", "relu");
      if (type == "residual_basic") return b_.residual_basic(x, out, stride.first, act);
      const std::int64_t width = o.has("width") ? out_channels(o, "width") : out / 4;
      return b_.residual_bottleneck(x, width, out, stride.first, act);
    }
    if (type == "mobilevit") {
      allow({"dim", "depth", "ffn", "heads", "patch", "kernel", "act", "out"});
      const int x = single(o, in);
      MobileVit m;
      m.dim = o.integer("dim", 1);
      m.depth = static_cast<int>(o.integer("depth", 1));
      m.ffn = o.integer("ffn", 1, 2 * m.dim);
      m.heads = static_cast<int>(o.integer("heads", 1, 4));
      m.patch = o.pair("patch", 1, {2, 2}).first;
      m.kernel = o.pair("kernel", 1, {3, 3}).first;
      m.act = activation(o, "act", "silu");
      m.out = o.has("out") ? out_channels(o, "out") : channels_in(x);
      return b_.mobilevit(x, m);
    }
    if (type == "patch_embed") {
      allow({"patch", "dim", "class_token", "position_embedding"});
      const int x = single(o, in);
      return b_.patch_embed(x, o.pair("patch", 1, {16, 16}).first, o.integer("dim", 1),
                            o.boolean("class_token", true), o.boolean("position_embedding", true));
    }
    if (type == "position_embedding") {
      allow({"max_tokens"});
      const int x = single(o, in);
      return b_.position_embedding(x, o.integer("max_tokens", 1));
    }
    if (type == "transformer_encoder" || type == "decoder_layer") {
      allow({"heads", "kv_heads", "head_dim", "pattern", "window", "window_dilation", "global_tokens",
             "sink_tokens", "kv_latent_dim", "bias", "ffn", "ffn_act", "norm", "post_norm", "global_projections"});
      const int x = single(o, in);
      const std::int64_t dim = g_.node(x).shape.back();
      Transformer t;
      t.attn = attention(o, dim);
      t.ffn = o.integer("ffn", 1, 4 * dim);
      const bool dec = type == "decoder_layer";
      const std::string ffn_act = o.string("ffn_act", dec ? "swiglu" : "gelu");
      t.swiglu = ffn_act == "swiglu";
      if (!t.swiglu) {
        t.ffn_act = activation(o, "ffn_act", "gelu");
        if (t.ffn_act == Op::count_) o.fail("ffn_act", "the feed-forward needs an activation");
      }
      const std::string norm = o.string("norm", dec ? "rms_norm" : "layer_norm");
      if (norm != "rms_norm" && norm != "layer_norm") o.fail("norm", "must be \"layer_norm\" or \"rms_norm\", got \"" + norm + "\"");
      t.norm = norm == "rms_norm" ? Op::rms_norm : Op::layer_norm;
      t.post_norm = o.boolean("post_norm", false);
      t.global_projections = o.boolean("global_projections", false);
      if (t.global_projections) {
        if (dec) o.fail("global_projections", "applies to transformer_encoder layers (a decoder's KV cache of global keys is not modelled)");
        if (t.attn.global_tokens < 1 ||
            (t.attn.pattern != AttnPattern::local_window && t.attn.pattern != AttnPattern::dilated_window))
          o.fail("global_projections", "needs global_tokens >= 1 and pattern local_window or dilated_window");
      }
      if (dec) {
        if (!o.has("pattern")) t.attn.pattern = AttnPattern::causal;
        if (!o.has("bias")) t.attn.bias = false;
      }
      t.kv_cache = dec;
      return b_.transformer(x, t);
    }
    o.fail("type", "unknown layer type '" + std::string(type) + "'");
  }
};

}  // namespace

Graph build_architecture(const json& root, const std::vector<const json*>& layers, const std::string& source,
                         const BuildOptions& opt) {
  return ArchBuilder(root, layers, source, opt).build();
}

Graph parse_architecture(const std::string& text, const std::string& source, const BuildOptions& opt) {
  const json root = parse_json(text, source);
  std::vector<const json*> layers;
  if (root.is_object() && root.contains("layers") && root.at("layers").is_array())
    for (const json& l : root.at("layers")) layers.push_back(&l);
  return build_architecture(root, layers, source, opt);
}

Graph load_architecture(const std::string& name_or_path, const BuildOptions& opt) {
  if (name_or_path.rfind(nasbench201::kPrefix, 0) == 0)
    return parse_architecture(nasbench201::architecture_json(name_or_path.substr(nasbench201::kPrefix.size())),
                              name_or_path, opt);
  for (const auto& e : builtin::models())
    if (e.name == name_or_path) return parse_architecture(e.text, e.name + ".json", opt);
  if (std::filesystem::path(name_or_path).extension() == ".onnx") return load_onnx(name_or_path, opt);
  if (std::filesystem::exists(name_or_path))
    return parse_architecture(read_file(name_or_path), name_or_path, opt);
  zoo_text(name_or_path);  // throws naming the zoo
  return {};
}

std::vector<ZooEntry> zoo() {
  std::vector<ZooEntry> out;
  for (const auto& e : builtin::models()) {
    const json j = json::parse(e.text);
    out.push_back({e.name, j.value("description", "")});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

const std::string& zoo_text(const std::string& name) {
  for (const auto& e : builtin::models())
    if (e.name == name) return e.text;
  std::string known;
  for (const auto& z : zoo()) known += (known.empty() ? "" : ", ") + z.name;
  throw Error("'" + name + "' is neither a file nor a zoo model (zoo: " + known + ")");
}

}  // namespace hwnas::graph
