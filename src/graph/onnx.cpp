// ONNX model -> graph::Graph. The protobuf is read with Debian's libonnx (onnx_proto); every
// shape is inferred here from the input shape, constant shape arithmetic is folded, and the
// operator patterns exporters decompose (LayerNorm, erf-GELU, SiLU, MatMul + bias) are folded
// back into the IR's ops. Each float initializer's elements are counted once, at the first node
// that uses it (exporters share identical tensors through Identity nodes).
#include "hwnas/graph/onnx.hpp"

#include <onnx/onnx_pb.h>  // ONNX_ML (set by the onnx_proto target) selects onnx-ml.pb.h

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "graph/onnx_tensor.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"

namespace hwnas::graph {
namespace {

using onnx_detail::Tensor;

// An error from Graph::add: its message already names the node.
struct IrError : Error {
  using Error::Error;
};

// What a tensor name of the file stands for: a node of the graph (a computed tensor) or a
// constant, which may be a float initializer (a learned tensor, counted as parameters).
struct Value {
  int node = -1;
  Tensor c;
  std::string init;  // the initializer behind a constant, after Identity aliases
  bool computed() const { return node >= 0; }
};

bool is_float_type(int t) {
  using T = onnx::TensorProto;
  return t == T::FLOAT || t == T::DOUBLE || t == T::FLOAT16 || t == T::BFLOAT16;
}

// A TensorProto's dims and values (values only where the file holds them).
Tensor read_tensor(const onnx::TensorProto& t) {
  using T = onnx::TensorProto;
  Tensor out;
  for (auto d : t.dims()) {
    if (d < 0) throw Error("tensor '" + t.name() + "' has a negative dimension " + std::to_string(d));
    out.dims.push_back(d);
  }
  const std::int64_t n = numel(out.dims);
  const int type = t.data_type();
  out.integer = !is_float_type(type);
  if (t.data_location() == T::EXTERNAL) {
    if (!out.integer) return out;  // costing needs only the dims of weights
    throw Error("tensor '" + t.name() + "' keeps its values in an external file, which is not supported");
  }
  auto take = [&](const auto& field) {
    if (field.size() == 0) return;
    if (field.size() != n)
      throw Error("tensor '" + t.name() + "' holds " + std::to_string(field.size()) + " values for dims " + to_string(out.dims));
    for (auto x : field) out.v.push_back(static_cast<double>(x));
  };
  if (!t.raw_data().empty()) {
    const std::string& raw = t.raw_data();
    auto from_raw = [&](auto zero) {
      using V = decltype(zero);
      if (raw.size() != static_cast<std::size_t>(n) * sizeof(V))
        throw Error("tensor '" + t.name() + "' holds " + std::to_string(raw.size()) + " bytes for dims " + to_string(out.dims));
      out.v.resize(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) {
        V x;
        std::memcpy(&x, raw.data() + i * static_cast<std::int64_t>(sizeof(V)), sizeof(V));
        out.v[static_cast<std::size_t>(i)] = static_cast<double>(x);
      }
    };
    switch (type) {
      case T::FLOAT: from_raw(float{}); break;
      case T::DOUBLE: from_raw(double{}); break;
      case T::INT64: from_raw(std::int64_t{}); break;
      case T::INT32: from_raw(std::int32_t{}); break;
      case T::INT8: from_raw(std::int8_t{}); break;
      case T::UINT8: case T::BOOL: from_raw(std::uint8_t{}); break;
      default:
        if (out.integer) throw Error("tensor '" + t.name() + "' has unsupported data type " + std::to_string(type));
        break;  // fp16/bf16 weights: dims suffice
    }
    return out;
  }
  take(t.float_data());
  take(t.double_data());
  take(t.int64_data());
  take(t.int32_data());
  return out;
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, std::string_view name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
std::int64_t attr_int(const onnx::NodeProto& n, std::string_view name, std::int64_t def) {
  const auto* a = find_attr(n, name);
  return a ? a->i() : def;
}
float attr_float(const onnx::NodeProto& n, std::string_view name, float def) {
  const auto* a = find_attr(n, name);
  return a ? a->f() : def;
}
std::string attr_string(const onnx::NodeProto& n, std::string_view name, const std::string& def) {
  const auto* a = find_attr(n, name);
  return a ? a->s() : def;
}
std::optional<std::vector<std::int64_t>> attr_ints(const onnx::NodeProto& n, std::string_view name) {
  const auto* a = find_attr(n, name);
  if (!a) return std::nullopt;
  return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
}

// torch.onnx names a node after its module path, one scope per level with the parent's name
// repeated: "/features/features.3/conv/conv.0/Conv" -> module "features.3.conv.0", op "Conv".
struct NodeName {
  std::vector<std::string> module;
  std::string op;
};
NodeName split_name(const std::string& onnx_name) {
  NodeName out;
  if (onnx_name.empty() || onnx_name[0] != '/') {
    out.op = onnx_name;
    return out;
  }
  std::vector<std::string> scopes;
  std::size_t p = 1;
  while (p <= onnx_name.size()) {
    const std::size_t q = std::min(onnx_name.find('/', p), onnx_name.size());
    if (q > p) scopes.push_back(onnx_name.substr(p, q - p));
    p = q + 1;
  }
  if (scopes.empty()) return out;
  out.op = scopes.back();
  scopes.pop_back();
  std::string prev;
  for (const auto& s : scopes) {
    // "features.3" after "features" adds "3"; "conv" after "features.3" adds "conv"
    const bool child = !prev.empty() && s.size() > prev.size() && s.compare(0, prev.size() + 1, prev + ".") == 0;
    const std::string rest = child ? s.substr(prev.size() + 1) : s;
    std::size_t a = 0;
    while (a <= rest.size()) {
      const std::size_t b = std::min(rest.find('.', a), rest.size());
      out.module.push_back(rest.substr(a, b - a));
      a = b + 1;
    }
    prev = s;
  }
  return out;
}

bool is_index(const std::string& s) {
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
  const auto u = s.rfind('_');  // "encoder_layer_3"
  return u != std::string::npos && u + 1 < s.size() &&
         std::all_of(s.begin() + static_cast<std::ptrdiff_t>(u) + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The block of a module path, for the report: up to the first index that has a named child
// ("layer1.0" of "layer1.0.conv1", "features.1.0" of "features.1.0.block.1.fc1"), else up to
// the first index ("features.0" of "features.0.0"), else the whole path.
std::size_t block_depth(const std::vector<std::string>& m) {
  std::size_t depth = 0;
  for (std::size_t i = 0; i + 1 < m.size() && depth == 0; ++i)
    if (is_index(m[i]) && !is_index(m[i + 1])) depth = i + 1;
  if (depth == 0)
    for (std::size_t i = 0; i < m.size() && depth == 0; ++i)
      if (is_index(m[i])) depth = i + 1;
  return depth == 0 ? m.size() : depth;
}

std::string join(const std::vector<std::string>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < parts.size(); ++i) out += (i ? "." : "") + parts[i];
  return out;
}

class Importer {
 public:
  Importer(const onnx::GraphProto& gp, std::string source, const BuildOptions& opt)
      : gp_(gp), source_(std::move(source)), opt_(opt) {}

  Graph run(const std::string& model_name) {
    g_.name = model_name;
    for (const auto& t : gp_.initializer()) {
      if (t.name().empty()) throw Error(source_ + ": an initializer has no name");
      Value v;
      try {
        v.c = read_tensor(t);
      } catch (const Error& e) {
        throw Error(source_ + ": initializer '" + t.name() + "': " + e.what());
      }
      if (!v.c.integer) v.init = t.name();
      values_[t.name()] = std::move(v);
    }
    add_inputs();
    for (int i = 0; i < gp_.node_size(); ++i) node_index_[&gp_.node(i)] = i;
    for (int i = 0; i < gp_.node_size(); ++i)
      for (const auto& in : gp_.node(i).input())
        if (!in.empty()) {
          auto& c = consumers_[in];
          if (c.empty() || c.back() != i) c.push_back(i);
        }
    for (const auto& o : gp_.output()) graph_outputs_.insert(o.name());
    done_.assign(static_cast<std::size_t>(gp_.node_size()), false);
    // Constants first: the patterns below look ahead at constants defined later in the file.
    for (int pass = 0; pass < 2; ++pass)
      for (int i = 0; i < gp_.node_size(); ++i) {
        const auto& nd = gp_.node(i);
        if (done_[static_cast<std::size_t>(i)] || (pass == 0 && nd.op_type() != "Constant")) continue;
        try {
          import_node(i);
        } catch (const IrError& e) {
          throw Error(source_ + ": " + e.what());
        } catch (const Error& e) {
          throw Error(source_ + ": node '" + nd.name() + "' (" + nd.op_type() + "): " + e.what());
        } catch (const std::out_of_range&) {
          throw Error(source_ + ": node '" + nd.name() + "' (" + nd.op_type() + "): malformed (an input or attribute is missing)");
        }
        done_[static_cast<std::size_t>(i)] = true;
      }
    for (const auto& o : gp_.output()) {
      const auto it = values_.find(o.name());
      if (it == values_.end())
        throw Error(source_ + ": graph output '" + o.name() + "' is not produced by any node (truncated file?)");
    }
    if (g_.outputs().empty()) throw Error(source_ + ": the model computes nothing from its input");
    return std::move(g_);
  }

 private:
  const onnx::GraphProto& gp_;
  std::string source_;
  const BuildOptions& opt_;
  Graph g_;
  std::unordered_map<std::string, Value> values_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::unordered_set<std::string> graph_outputs_;
  std::vector<bool> done_;
  std::unordered_set<std::string> counted_;                  // initializers already counted
  std::unordered_map<std::string, int> weight_nodes_, const_nodes_;
  std::unordered_map<const onnx::NodeProto*, int> node_index_;  // protobuf keeps nodes apart
  std::unordered_map<int, std::vector<std::int64_t>> extra_pads_;  // from a Pad before a window op

  // ---- inputs --------------------------------------------------------------------------
  void add_inputs() {
    bool first = true;
    for (const auto& in : gp_.input()) {
      if (values_.count(in.name())) continue;  // an initializer listed as an input
      if (!in.type().has_tensor_type())
        throw Error(source_ + ": input '" + in.name() + "' is not a tensor");
      Shape s;
      std::vector<std::string> symbolic(static_cast<std::size_t>(in.type().tensor_type().shape().dim_size()));
      for (int d = 0; d < in.type().tensor_type().shape().dim_size(); ++d) {
        const auto& dim = in.type().tensor_type().shape().dim(d);
        if (dim.has_dim_value() && dim.dim_value() > 0) {
          s.push_back(dim.dim_value());
        } else {
          s.push_back(-1);
          symbolic[static_cast<std::size_t>(d)] = dim.has_dim_param() ? dim.dim_param() : "?";
        }
      }
      if (first) {
        if (!opt_.input_shape.empty()) {
          s = opt_.input_shape;
        } else {
          if (!s.empty() && (opt_.batch != 1 || s[0] < 0)) s[0] = opt_.batch;
          if (s.size() == 4 && opt_.resolution > 0) s[2] = s[3] = opt_.resolution;
        }
      }
      for (std::size_t d = 0; d < s.size(); ++d)
        if (s[d] < 1)
          throw Error(source_ + ": input '" + in.name() + "' has the symbolic dimension '" + symbolic[d] + "' at axis " +
                      std::to_string(d) + "; give the shape with --input-shape (e.g. 1,3,224,224)");
      if (s.empty()) throw Error(source_ + ": input '" + in.name() + "' has no shape; give it with --input-shape");
      Node n;
      n.name = in.name();
      n.op = Op::input;
      n.attrs.shape = s;
      values_[in.name()].node = add(std::move(n));
      first = false;
    }
    if (first) throw Error(source_ + ": the model has no input");
  }

  // ---- helpers -------------------------------------------------------------------------
  int add(Node n) {
    if (n.name.empty()) n.name = "node";
    if (g_.find(n.name) >= 0) {
      int k = 2;
      while (g_.find(n.name + "_" + std::to_string(k)) >= 0) ++k;
      n.name += "_" + std::to_string(k);
    }
    try {
      return g_.add(std::move(n));
    } catch (const Error& e) {
      throw IrError(e.what());
    }
  }

  // A node named after the ONNX node (module path + op part), in the block of its module.
  Node make(const onnx::NodeProto& nd, Op op, const std::string& op_part = "") {
    Node n;
    n.op = op;
    const NodeName nn = split_name(nd.name());
    const std::string leaf = !op_part.empty() ? op_part : !nn.op.empty() ? nn.op : nd.op_type();
    const std::string mod = join(nn.module, nn.module.size());
    n.name = mod.empty() ? leaf : mod + "." + leaf;
    if (!nn.module.empty()) {
      const std::string block = join(nn.module, block_depth(nn.module));
      if (block.size() < n.name.size()) n.block_len = static_cast<std::uint16_t>(block.size());
    }
    return n;
  }

  const Value& value(const onnx::NodeProto& nd, int k) const {
    const std::string& name = nd.input(k);
    const auto it = values_.find(name);
    if (it == values_.end())
      throw Error("input '" + name + "' is not produced by an earlier node, an initializer or a graph input");
    return it->second;
  }
  bool has_input(const onnx::NodeProto& nd, int k) const { return k < nd.input_size() && !nd.input(k).empty(); }
  // (a reference into the graph: invalidated by the next add)
  const Shape& shape_of(const Value& v) const { return v.computed() ? g_.node(v.node).shape : v.c.dims; }
  void need_inputs(const onnx::NodeProto& nd, int lo, int hi) const {
    if (nd.input_size() < lo || nd.input_size() > hi)
      throw Error("takes " + std::to_string(lo) + (hi != lo ? ".." + std::to_string(hi) : "") + " inputs, got " +
                  std::to_string(nd.input_size()));
  }
  const Tensor& constant_input(const onnx::NodeProto& nd, int k, const char* what) const {
    const Value& v = value(nd, k);
    if (v.computed()) throw Error(std::string(what) + " (input " + std::to_string(k) + ") must be a constant, got a computed tensor");
    return v.c;
  }
  void set_output(const onnx::NodeProto& nd, int k, Value v) {
    if (k >= nd.output_size()) return;
    if (!nd.output(k).empty()) values_[nd.output(k)] = std::move(v);
  }
  void set_node(const onnx::NodeProto& nd, int k, int node) { set_output(nd, k, Value{node, {}, {}}); }

  // Claims an initializer's elements for the node that uses it; false when an earlier node did.
  bool claim(const Value& v) { return v.init.empty() || counted_.insert(v.init).second; }
  std::uint8_t shared_bit(const Value& v, int bit) { return claim(v) ? 0 : static_cast<std::uint8_t>(1u << bit); }

  // A value as a graph node: computed tensors as they are, float initializers as a weight node
  // (one per initializer), other constants as a constant node. A weight named like a module
  // path keeps its name ("encoder.pos_embedding"); other constants are named after the node
  // `user` that reads them first.
  int as_node(const Value& v, const std::string& name, const onnx::NodeProto& user) {
    if (v.computed()) return v.node;
    Shape s = v.c.dims.empty() ? Shape{1} : v.c.dims;
    for (auto& d : s)
      if (d == 0) throw Error("constant '" + name + "' is empty");
    const std::string& key = v.init.empty() ? name : v.init;
    auto& cache = v.init.empty() ? const_nodes_ : weight_nodes_;
    const auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    const bool module_path = !v.init.empty() && v.init.find_first_of(":/") == std::string::npos;
    const std::string leaf = split_name(user.name()).op;
    Node n = make(user, v.init.empty() ? Op::constant : Op::weight,
                  (leaf.empty() ? user.op_type() : leaf) + (v.init.empty() ? "_constant" : "_weight"));
    if (module_path) {
      std::vector<std::string> parts;
      std::size_t a = 0;
      while (a <= v.init.size()) {
        const std::size_t b = std::min(v.init.find('.', a), v.init.size());
        parts.push_back(v.init.substr(a, b - a));
        a = b + 1;
      }
      parts.pop_back();  // the tensor's own name
      n.name = v.init;
      n.block_len = parts.empty() ? 0 : static_cast<std::uint16_t>(join(parts, block_depth(parts)).size());
    }
    n.attrs.shape = s;
    if (!v.init.empty()) n.shared_params = shared_bit(v, 0);
    return cache[key] = add(std::move(n));
  }
  int input_node(const onnx::NodeProto& nd, int k) { return as_node(value(nd, k), nd.input(k), nd); }

  // The only node reading `name`, or -1 (also when a graph output).
  int sole_consumer(const std::string& name) const {
    if (graph_outputs_.count(name)) return -1;
    const auto it = consumers_.find(name);
    return it != consumers_.end() && it->second.size() == 1 ? it->second[0] : -1;
  }
  const onnx::NodeProto* sole_consumer_op(const std::string& name, std::string_view op) const {
    const int c = sole_consumer(name);
    if (c < 0 || done_[static_cast<std::size_t>(c)] || gp_.node(c).op_type() != op || gp_.node(c).domain() != "") return nullptr;
    return &gp_.node(c);
  }
  int index_of(const onnx::NodeProto* p) const { return node_index_.at(p); }
  // The input of binary node `b` that is not `name` (-1 when both are).
  int other_input(const onnx::NodeProto& b, const std::string& name) const {
    if (b.input_size() != 2) return -1;
    if (b.input(0) == name && b.input(1) != name) return 1;
    if (b.input(1) == name && b.input(0) != name) return 0;
    return -1;
  }
  // A constant scalar (one element with data) of the file.
  std::optional<double> scalar_at(const onnx::NodeProto& nd, int k) const {
    const auto it = values_.find(nd.input(k));
    if (it == values_.end() || it->second.computed() || !it->second.c.has_data() || it->second.c.v.size() != 1)
      return std::nullopt;
    return it->second.c.v[0];
  }
  // A float initializer holding one vector of `n` elements (all other dims 1).
  const Value* vector_init(const onnx::NodeProto& nd, int k, std::int64_t n) const {
    const auto it = values_.find(nd.input(k));
    if (it == values_.end() || it->second.computed() || it->second.init.empty()) return nullptr;
    const Shape& s = it->second.c.dims;
    if (s.empty() || s.back() != n || numel(s) != n) return nullptr;
    return &it->second;
  }

  // ---- folding of constants ----------------------------------------------------------------
  // Evaluates `nd` when all its inputs are constants with values; false when it cannot.
  bool fold(const onnx::NodeProto& nd) {
    const std::string& op = nd.op_type();
    std::vector<const Tensor*> in;
    for (int k = 0; k < nd.input_size(); ++k) {
      if (nd.input(k).empty()) {
        in.push_back(nullptr);
        continue;
      }
      const Value& v = value(nd, k);
      if (op == "Shape" || op == "Size") {  // needs only dims
        in.push_back(&v.c);
        continue;
      }
      // learned tensors stay tensors (a class token broadcast by Expand is still a parameter)
      if (v.computed() || !v.init.empty() || !v.c.has_data()) return false;
      in.push_back(&v.c);
    }
    auto out = [&](Tensor t) { set_output(nd, 0, Value{-1, std::move(t), {}}); };
    auto binary = [&](auto f, bool compare = false) {
      need_inputs(nd, 2, 2);
      const bool integer = compare || (in[0]->integer && in[1]->integer);
      out(onnx_detail::elementwise(*in[0], *in[1], integer, f));
    };
    if (op == "Shape") {
      const Value& v = value(nd, 0);
      const Shape& s = shape_of(v);
      const auto r = static_cast<std::int64_t>(s.size());
      auto clampi = [&](std::int64_t x) { return std::clamp(x < 0 ? x + r : x, std::int64_t{0}, r); };
      const std::int64_t lo = clampi(attr_int(nd, "start", 0)), hi = clampi(attr_int(nd, "end", r));
      out(onnx_detail::vector_of(std::vector<std::int64_t>(s.begin() + lo, s.begin() + std::max(lo, hi))));
      return true;
    }
    if (op == "Size") {
      out(onnx_detail::scalar(static_cast<double>(numel(shape_of(value(nd, 0)))), true));
      return true;
    }
    if (op == "Cast") {
      const bool integer = !is_float_type(static_cast<int>(attr_int(nd, "to", 1)));
      Tensor t = *in.at(0);
      if (integer)
        for (double& x : t.v) x = std::trunc(x);
      t.integer = integer;
      out(std::move(t));
    }
    else if (op == "Add") binary([](double a, double b) { return a + b; });
    else if (op == "Sub") binary([](double a, double b) { return a - b; });
    else if (op == "Mul") binary([](double a, double b) { return a * b; });
    else if (op == "Div") {
      need_inputs(nd, 2, 2);
      const bool integer = in[0]->integer && in[1]->integer;
      out(onnx_detail::elementwise(*in[0], *in[1], integer, [integer](double a, double b) {
        if (!integer) return a / b;
        if (b == 0) throw Error("integer division by zero");
        return std::trunc(a / b);
      }));
    }
    else if (op == "Pow") binary([](double a, double b) { return std::pow(a, b); });
    else if (op == "Min") binary([](double a, double b) { return std::min(a, b); });
    else if (op == "Max") binary([](double a, double b) { return std::max(a, b); });
    else if (op == "Mod") binary([](double a, double b) { return b == 0 ? throw Error("Mod by zero") : a - b * std::floor(a / b); });
    else if (op == "Equal") binary([](double a, double b) { return double(a == b); }, true);
    else if (op == "Less") binary([](double a, double b) { return double(a < b); }, true);
    else if (op == "Greater") binary([](double a, double b) { return double(a > b); }, true);
    else if (op == "And") binary([](double a, double b) { return double(a != 0 && b != 0); }, true);
    else if (op == "Or") binary([](double a, double b) { return double(a != 0 || b != 0); }, true);
    else if (op == "Not") out(onnx_detail::unary(*in.at(0), [](double a) { return double(a == 0); }));
    else if (op == "Neg") out(onnx_detail::unary(*in.at(0), [](double a) { return -a; }));
    else if (op == "Abs") out(onnx_detail::unary(*in.at(0), [](double a) { return std::fabs(a); }));
    else if (op == "Sqrt") out(onnx_detail::unary(*in.at(0), [](double a) { return std::sqrt(a); }));
    else if (op == "Floor") out(onnx_detail::unary(*in.at(0), [](double a) { return std::floor(a); }));
    else if (op == "Ceil") out(onnx_detail::unary(*in.at(0), [](double a) { return std::ceil(a); }));
    else if (op == "Where") { need_inputs(nd, 3, 3); out(onnx_detail::where(*in[0], *in[1], *in[2])); }
    else if (op == "Gather") { need_inputs(nd, 2, 2); out(onnx_detail::gather(*in[0], *in[1], static_cast<int>(attr_int(nd, "axis", 0)))); }
    else if (op == "Concat") {
      std::vector<const Tensor*> parts;
      for (const Tensor* t : in)
        if (t) parts.push_back(t);
      if (parts.empty()) throw Error("Concat needs inputs");
      out(onnx_detail::concat(parts, static_cast<int>(attr_int(nd, "axis", 0))));
    }
    else if (op == "Unsqueeze" || op == "Squeeze") out(onnx_detail::with_dims(*in.at(0), squeezed(nd, in[0]->dims)));
    else if (op == "Reshape") {
      need_inputs(nd, 2, 2);
      out(onnx_detail::with_dims(*in[0], onnx_detail::reshape_target(in[0]->dims, in[1]->ints("Reshape shape"), attr_int(nd, "allowzero", 0) != 0)));
    }
    else if (op == "Flatten") out(onnx_detail::with_dims(*in.at(0), flattened(nd, in[0]->dims)));
    else if (op == "Slice") {
      const auto s = slice_args(nd, in[0]->dims);
      out(onnx_detail::slice(*in[0], s.starts, s.ends, s.axes, s.steps));
    }
    else if (op == "ScatterND") {
      need_inputs(nd, 3, 3);
      if (attr_string(nd, "reduction", "none") != "none") throw Error("ScatterND with a reduction is not supported");
      out(onnx_detail::scatter_nd(*in[0], *in[1], *in[2]));
    }
    else if (op == "Transpose") out(onnx_detail::transpose(*in.at(0), perm_of(nd, in[0]->dims.size())));
    else if (op == "ConstantOfShape") {
      Shape dims;
      for (auto d : in.at(0)->ints("ConstantOfShape shape")) dims.push_back(d);
      Tensor fill = onnx_detail::scalar(0, false);
      if (const auto* a = find_attr(nd, "value")) {
        fill = read_tensor(a->t());
        if (!fill.has_data() || fill.v.size() != 1) throw Error("ConstantOfShape value must hold one element");
        fill.dims = {};
      }
      out(onnx_detail::expand(fill, dims));
    }
    else if (op == "Expand") {
      need_inputs(nd, 2, 2);
      Shape to;
      for (auto d : in[1]->ints("Expand shape")) to.push_back(d);
      out(onnx_detail::expand(*in[0], onnx_detail::broadcast_shapes(in[0]->dims, to)));
    }
    else if (op == "Range") {
      need_inputs(nd, 3, 3);
      for (const Tensor* t : in)
        if (t->v.size() != 1) throw Error("Range takes scalars");
      out(onnx_detail::range(in[0]->v[0], in[1]->v[0], in[2]->v[0], in[0]->integer));
    }
    else if (op == "ReduceProd" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin") {
      std::vector<std::int64_t> axes = attr_ints(nd, "axes").value_or(std::vector<std::int64_t>{});
      if (has_input(nd, 1)) axes = in[1]->ints("axes");
      const bool keep = attr_int(nd, "keepdims", 1) != 0;
      if (op == "ReduceProd") out(onnx_detail::reduce(*in[0], axes, keep, [](double a, double b) { return a * b; }, 1));
      else if (op == "ReduceSum") out(onnx_detail::reduce(*in[0], axes, keep, [](double a, double b) { return a + b; }, 0));
      else if (op == "ReduceMax") out(onnx_detail::reduce(*in[0], axes, keep, [](double a, double b) { return std::max(a, b); }, -HUGE_VAL));
      else out(onnx_detail::reduce(*in[0], axes, keep, [](double a, double b) { return std::min(a, b); }, HUGE_VAL));
    }
    else return false;
    return true;
  }

  // ---- shape rules shared by folding and computed tensors -----------------------------------
  Shape squeezed(const onnx::NodeProto& nd, const Shape& in) const {
    std::vector<std::int64_t> axes;
    bool given = false;
    if (has_input(nd, 1)) {
      axes = constant_input(nd, 1, "axes").ints("axes");
      given = true;
    } else if (auto a = attr_ints(nd, "axes")) {
      axes = *a;
      given = true;
    }
    if (nd.op_type() == "Unsqueeze") {
      if (!given) throw Error("Unsqueeze needs axes");
      const std::size_t rank = in.size() + axes.size();
      std::vector<bool> inserted(rank, false);
      for (auto a : axes) {
        const int ax = onnx_detail::norm_axis(a, rank);
        if (inserted[static_cast<std::size_t>(ax)]) throw Error("Unsqueeze axis repeated");
        inserted[static_cast<std::size_t>(ax)] = true;
      }
      Shape out;
      std::size_t k = 0;
      for (std::size_t d = 0; d < rank; ++d) out.push_back(inserted[d] ? 1 : in.at(k++));
      return out;
    }
    std::vector<bool> drop(in.size(), !given);
    if (!given)
      for (std::size_t d = 0; d < in.size(); ++d) drop[d] = in[d] == 1;
    for (auto a : axes) {
      const int ax = onnx_detail::norm_axis(a, in.size());
      if (in[static_cast<std::size_t>(ax)] != 1)
        throw Error("Squeeze axis " + std::to_string(a) + " of " + to_string(in) + " is not 1");
      drop[static_cast<std::size_t>(ax)] = true;
    }
    Shape out;
    for (std::size_t d = 0; d < in.size(); ++d)
      if (!drop[d]) out.push_back(in[d]);
    return out;
  }

  Shape flattened(const onnx::NodeProto& nd, const Shape& in) const {
    const int axis = onnx_detail::norm_axis(attr_int(nd, "axis", 1), in.size() + 1);
    return {numel(Shape(in.begin(), in.begin() + axis)), numel(Shape(in.begin() + axis, in.end()))};
  }

  std::vector<int> perm_of(const onnx::NodeProto& nd, std::size_t rank) const {
    std::vector<int> perm;
    if (auto p = attr_ints(nd, "perm")) {
      for (auto x : *p) perm.push_back(static_cast<int>(x));
    } else {
      for (std::size_t i = rank; i-- > 0;) perm.push_back(static_cast<int>(i));
    }
    return perm;
  }

  struct SliceArgs {
    std::vector<std::int64_t> starts, ends, axes, steps;
  };
  SliceArgs slice_args(const onnx::NodeProto& nd, const Shape& in) const {
    SliceArgs s;
    if (nd.input_size() >= 3) {  // opset 10+
      s.starts = constant_input(nd, 1, "starts").ints("starts");
      s.ends = constant_input(nd, 2, "ends").ints("ends");
      if (has_input(nd, 3)) s.axes = constant_input(nd, 3, "axes").ints("axes");
      if (has_input(nd, 4)) s.steps = constant_input(nd, 4, "steps").ints("steps");
    } else {
      s.starts = attr_ints(nd, "starts").value_or(std::vector<std::int64_t>{});
      s.ends = attr_ints(nd, "ends").value_or(std::vector<std::int64_t>{});
      s.axes = attr_ints(nd, "axes").value_or(std::vector<std::int64_t>{});
    }
    if (s.axes.empty())
      for (std::size_t i = 0; i < s.starts.size(); ++i) s.axes.push_back(static_cast<std::int64_t>(i));
    if (s.steps.empty()) s.steps.assign(s.starts.size(), 1);
    if (s.ends.size() != s.starts.size() || s.axes.size() != s.starts.size() || s.steps.size() != s.starts.size())
      throw Error("Slice starts, ends, axes and steps differ in length");
    for (auto a : s.axes) onnx_detail::norm_axis(a, in.size());
    return s;
  }

  // A computed tensor given the shape `to` (same elements): nothing, a reshape (batch kept) or
  // a view (batch changed).
  int reshaped(const onnx::NodeProto& nd, int x, const Shape& to, const std::string& op_part = "") {
    const Shape from = g_.node(x).shape;
    if (to == from) return x;
    if (numel(to) != numel(from)) throw Error("cannot reshape " + to_string(from) + " to " + to_string(to));
    Node n = make(nd, Op::view, op_part);
    if (!to.empty() && to[0] == from[0] && to.size() >= 2) {
      n.op = Op::reshape;
      n.attrs.shape.assign(to.begin() + 1, to.end());
    } else {
      n.attrs.shape = to.empty() ? Shape{1} : to;
    }
    n.inputs = {x};
    return add(std::move(n));
  }

  // [start, end) of one axis of a computed tensor, or the tensor itself when that is all of it.
  int sliced(const onnx::NodeProto& nd, int x, int axis, std::int64_t start, std::int64_t end, const std::string& op_part,
             std::int64_t step = 1) {
    const std::int64_t len = g_.node(x).shape[static_cast<std::size_t>(axis)];
    if (start == 0 && end >= len && step == 1) return x;
    Node n = make(nd, Op::slice, op_part);
    n.attrs.axis = axis;
    n.attrs.start = start;
    n.attrs.end = std::min(end, len);
    n.attrs.step = step;
    n.inputs = {x};
    return add(std::move(n));
  }

  // Conv / pooling padding: symmetric pads as the IR has them; auto_pad resolved.
  void spatial(const onnx::NodeProto& nd, const Shape& x, int kh, int kw, int sh, int sw, int dh, int dw, Attrs& a) {
    a.kh = kh, a.kw = kw, a.sh = sh, a.sw = sw, a.dh = dh, a.dw = dw;
    const std::string auto_pad = attr_string(nd, "auto_pad", "NOTSET");
    std::vector<std::int64_t> pads = attr_ints(nd, "pads").value_or(std::vector<std::int64_t>(4, 0));
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int k[2] = {kh, kw}, s[2] = {sh, sw}, d[2] = {dh, dw};
      pads.assign(4, 0);
      for (int i = 0; i < 2; ++i) {
        const std::int64_t in = x[static_cast<std::size_t>(2 + i)];
        const std::int64_t out = (in + s[i] - 1) / s[i];
        const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s[i] + static_cast<std::int64_t>(d[i]) * (k[i] - 1) + 1 - in);
        pads[static_cast<std::size_t>(i)] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pads[static_cast<std::size_t>(i + 2)] = total - pads[static_cast<std::size_t>(i)];
      }
    } else if (auto_pad == "VALID") {
      pads.assign(4, 0);
    } else if (auto_pad != "NOTSET") {
      throw Error("auto_pad '" + auto_pad + "' is not supported");
    }
    if (pads.size() != 4) throw Error("pads must have 4 entries for a 2-D window, got " + std::to_string(pads.size()));
    const auto extra = extra_pads_.find(node_index_.at(&nd));
    if (extra != extra_pads_.end())
      for (std::size_t k = 0; k < 4; ++k) pads[k] += extra->second[k];
    for (int i = 0; i < 2; ++i) {
      const auto b = pads[static_cast<std::size_t>(i)], e = pads[static_cast<std::size_t>(i + 2)];
      if (b != e) {
        // an odd total cannot be split evenly; an even one gives the same output size and count
        if ((b + e) % 2 != 0)
          throw Error("asymmetric padding " + std::to_string(b) + "/" + std::to_string(e) + " is not supported");
      }
      (i == 0 ? a.ph : a.pw) = static_cast<int>((b + e) / 2);
    }
  }

  std::vector<int> window(const onnx::NodeProto& nd, const char* name, int def) const {
    std::vector<int> v;
    if (auto a = attr_ints(nd, name))
      for (auto x : *a) v.push_back(static_cast<int>(x));
    if (v.empty()) v.assign(2, def);
    if (v.size() != 2) throw Error(std::string(name) + " must have 2 entries (2-D only), got " + std::to_string(v.size()));
    return v;
  }

  // ---- patterns folded back into one IR op --------------------------------------------------
  // LayerNorm as opset < 17 exports it: ReduceMean(x) -> Sub -> Pow 2 -> ReduceMean -> Add eps
  // -> Sqrt -> Div -> Mul weight -> Add bias.
  bool fold_layer_norm(int i) {
    const auto& r = gp_.node(i);
    const Value& xv = value(r, 0);
    if (!xv.computed()) return false;
    const Shape xs = shape_of(xv);
    auto last_axis_only = [&](const onnx::NodeProto& n) {
      std::vector<std::int64_t> axes = attr_ints(n, "axes").value_or(std::vector<std::int64_t>{});
      if (has_input(n, 1)) {
        const auto it = values_.find(n.input(1));
        if (it == values_.end() || it->second.computed() || !it->second.c.has_data()) return false;
        axes = it->second.c.ints("axes");
      }
      return axes.size() == 1 && (axes[0] == -1 || axes[0] == static_cast<std::int64_t>(xs.size()) - 1) &&
             attr_int(n, "keepdims", 1) == 1;
    };
    if (!last_axis_only(r)) return false;
    const auto* sub = sole_consumer_op(r.output(0), "Sub");
    if (!sub || sub->input(0) != r.input(0) || sub->input(1) != r.output(0)) return false;
    const auto it = consumers_.find(sub->output(0));
    if (it == consumers_.end() || it->second.size() != 2 || graph_outputs_.count(sub->output(0))) return false;
    const onnx::NodeProto *pow = nullptr, *div = nullptr;
    for (int c : it->second) {
      const auto& n = gp_.node(c);
      if (n.op_type() == "Pow" && n.input(0) == sub->output(0)) pow = &n;
      if (n.op_type() == "Div" && n.input(0) == sub->output(0)) div = &n;
    }
    if (!pow || !div || scalar_at(*pow, 1) != 2.0) return false;
    const auto* mean2 = sole_consumer_op(pow->output(0), "ReduceMean");
    if (!mean2 || !last_axis_only(*mean2)) return false;
    const auto* eps = sole_consumer_op(mean2->output(0), "Add");
    if (!eps || other_input(*eps, mean2->output(0)) < 0 || !scalar_at(*eps, other_input(*eps, mean2->output(0)))) return false;
    const auto* sqrt = sole_consumer_op(eps->output(0), "Sqrt");
    if (!sqrt || sole_consumer(sqrt->output(0)) != index_of(div) || div->input(1) != sqrt->output(0)) return false;
    const auto* mul = sole_consumer_op(div->output(0), "Mul");
    if (!mul || other_input(*mul, div->output(0)) < 0) return false;
    const auto* add_b = sole_consumer_op(mul->output(0), "Add");
    if (!add_b || other_input(*add_b, mul->output(0)) < 0) return false;
    const Value* w = vector_init(*mul, other_input(*mul, div->output(0)), xs.back());
    const Value* b = vector_init(*add_b, other_input(*add_b, mul->output(0)), xs.back());
    if (!w || !b) return false;
    Node n = make(r, Op::layer_norm, "layer_norm");
    n.inputs = {xv.node};
    n.shared_params = static_cast<std::uint8_t>(shared_bit(*w, 0) | shared_bit(*b, 1));
    const int id = add(std::move(n));
    for (const auto* p : {sub, pow, mean2, eps, sqrt, div, mul, add_b}) done_[static_cast<std::size_t>(index_of(p))] = true;
    set_node(*add_b, 0, id);
    return true;
  }

  // GELU as exported with erf: Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5.
  bool fold_gelu(int i) {
    const auto& d = gp_.node(i);
    const Value& xv = value(d, 0);
    const auto c = scalar_at(d, 1);
    if (!xv.computed() || !c || std::fabs(*c - std::sqrt(2.0)) > 1e-4) return false;
    const auto* erf = sole_consumer_op(d.output(0), "Erf");
    if (!erf) return false;
    const auto* add1 = sole_consumer_op(erf->output(0), "Add");
    if (!add1 || other_input(*add1, erf->output(0)) < 0 || scalar_at(*add1, other_input(*add1, erf->output(0))) != 1.0)
      return false;
    const auto* mulx = sole_consumer_op(add1->output(0), "Mul");
    if (!mulx || other_input(*mulx, add1->output(0)) < 0 || mulx->input(other_input(*mulx, add1->output(0))) != d.input(0))
      return false;
    const auto* half = sole_consumer_op(mulx->output(0), "Mul");
    if (!half || other_input(*half, mulx->output(0)) < 0 || scalar_at(*half, other_input(*half, mulx->output(0))) != 0.5)
      return false;
    Node n = make(d, Op::gelu, "gelu");
    n.inputs = {xv.node};
    const int id = add(std::move(n));
    for (const auto* p : {erf, add1, mulx, half}) done_[static_cast<std::size_t>(index_of(p))] = true;
    set_node(*half, 0, id);
    return true;
  }

  // SiLU: Mul(x, Sigmoid(x)).
  bool fold_silu(int i) {
    const auto& s = gp_.node(i);
    const Value& xv = value(s, 0);
    const auto* mul = sole_consumer_op(s.output(0), "Mul");
    if (!xv.computed() || !mul || other_input(*mul, s.output(0)) < 0 || mul->input(other_input(*mul, s.output(0))) != s.input(0))
      return false;
    Node n = make(*mul, Op::silu, "silu");
    n.inputs = {xv.node};
    const int id = add(std::move(n));
    done_[static_cast<std::size_t>(index_of(mul))] = true;
    set_node(*mul, 0, id);
    return true;
  }

  // ---- one node ------------------------------------------------------------------------------
  void import_node(int i) {
    const auto& nd = gp_.node(i);
    const std::string& op = nd.op_type();
    if (!nd.domain().empty() && nd.domain() != "ai.onnx")
      throw Error("operator domain '" + nd.domain() + "' is not supported");
    for (int k = 0; k < nd.input_size(); ++k)
      if (!nd.input(k).empty()) value(nd, k);  // every input must exist
    if (op == "Constant") {
      const auto* a = find_attr(nd, "value");
      if (!a || !a->has_t()) {
        if (const auto* f = find_attr(nd, "value_float")) return set_output(nd, 0, Value{-1, onnx_detail::scalar(f->f(), false), {}});
        if (const auto* n = find_attr(nd, "value_int")) return set_output(nd, 0, Value{-1, onnx_detail::scalar(static_cast<double>(n->i()), true), {}});
        if (const auto* n = find_attr(nd, "value_ints")) return set_output(nd, 0, Value{-1, onnx_detail::vector_of({n->ints().begin(), n->ints().end()}), {}});
        throw Error("Constant without a tensor value is not supported");
      }
      return set_output(nd, 0, Value{-1, read_tensor(a->t()), {}});
    }
    if (op == "Identity" || op == "Dropout") {
      need_inputs(nd, 1, 3);
      return set_output(nd, 0, value(nd, 0));
    }
    if (fold(nd)) return;
    computed(i);
  }

  void computed(int i) {
    const auto& nd = gp_.node(i);
    const std::string& op = nd.op_type();
    auto unary_op = [&](Op o) {
      need_inputs(nd, 1, 1);
      Node n = make(nd, o);
      n.inputs = {input_node(nd, 0)};
      set_node(nd, 0, add(std::move(n)));
    };
    auto binary_op = [&](Op o) {
      need_inputs(nd, 2, 2);
      Node n = make(nd, o);
      n.inputs = {input_node(nd, 0), input_node(nd, 1)};
      set_node(nd, 0, add(std::move(n)));
    };
    if (op == "Conv") return conv(nd);
    if (op == "Gemm") return gemm(nd);
    if (op == "MatMul") return matmul(nd);
    if (op == "Relu") return unary_op(Op::relu);
    if (op == "Sigmoid") {
      if (fold_silu(i)) return;
      return unary_op(Op::sigmoid);
    }
    if (op == "HardSwish") return unary_op(Op::hardswish);
    if (op == "HardSigmoid") {
      const float alpha = attr_float(nd, "alpha", 0.2f), beta = attr_float(nd, "beta", 0.5f);
      if (std::fabs(alpha - 1.0f / 6) > 1e-4f || std::fabs(beta - 0.5f) > 1e-4f)
        throw Error("HardSigmoid with alpha " + std::to_string(alpha) + ", beta " + std::to_string(beta) +
                    " is not supported (PyTorch's is alpha 1/6, beta 0.5)");
      return unary_op(Op::hardsigmoid);
    }
    if (op == "Gelu") {
      if (attr_string(nd, "approximate", "none") != "none") throw Error("tanh-approximated Gelu is not supported");
      return unary_op(Op::gelu);
    }
    if (op == "Clip") return clip(nd);
    if (op == "Add") return binary_op(Op::add);
    if (op == "Mul") return binary_op(Op::mul);
    if (op == "Sub" || op == "Div") {
      // x - c and x / c with a constant c are x + (-c) and x * (1/c)
      need_inputs(nd, 2, 2);
      if (value(nd, 0).computed() && !value(nd, 1).computed()) {
        if (op == "Div" && fold_gelu(i)) return;
        return binary_op(op == "Sub" ? Op::add : Op::mul);
      }
      throw Error(op + " of a computed tensor by a computed tensor (outside a LayerNorm pattern) is not supported");
    }
    if (op == "ReduceMean") return reduce_mean(i);
    if (op == "Softmax") {
      need_inputs(nd, 1, 1);
      const int x = input_node(nd, 0);
      const auto rank = g_.node(x).shape.size();
      if (onnx_detail::norm_axis(attr_int(nd, "axis", -1), rank) != static_cast<int>(rank) - 1)
        throw Error("Softmax over axis " + std::to_string(attr_int(nd, "axis", -1)) + " (not the last) is not supported");
      Node n = make(nd, Op::softmax);
      n.inputs = {x};
      return set_node(nd, 0, add(std::move(n)));
    }
    if (op == "GlobalAveragePool") return unary_op(Op::global_avg_pool);
    if (op == "AveragePool" || op == "MaxPool") return pool(nd);
    if (op == "BatchNormalization") return batch_norm(nd);
    if (op == "LayerNormalization") return layer_norm(nd);
    if (op == "Flatten") {
      need_inputs(nd, 1, 1);
      const int x = input_node(nd, 0);
      const Shape to = flattened(nd, g_.node(x).shape);
      if (attr_int(nd, "axis", 1) == 1 && g_.node(x).shape.size() > 2) {
        Node n = make(nd, Op::flatten);
        n.inputs = {x};
        return set_node(nd, 0, add(std::move(n)));
      }
      return set_node(nd, 0, reshaped(nd, x, to));
    }
    if (op == "Reshape") {
      need_inputs(nd, 2, 2);
      const int x = input_node(nd, 0);
      const Shape to = onnx_detail::reshape_target(g_.node(x).shape, constant_input(nd, 1, "shape").ints("shape"),
                                                   attr_int(nd, "allowzero", 0) != 0);
      return set_node(nd, 0, reshaped(nd, x, to));
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
      const int x = input_node(nd, 0);
      return set_node(nd, 0, reshaped(nd, x, squeezed(nd, g_.node(x).shape)));
    }
    if (op == "Transpose") {
      need_inputs(nd, 1, 1);
      const int x = input_node(nd, 0);
      Node n = make(nd, Op::transpose);
      n.attrs.perm = perm_of(nd, g_.node(x).shape.size());
      for (auto& p : n.attrs.perm) p = onnx_detail::norm_axis(p, n.attrs.perm.size());
      n.inputs = {x};
      return set_node(nd, 0, add(std::move(n)));
    }
    if (op == "Concat") {
      Node n = make(nd, Op::concat);
      for (int k = 0; k < nd.input_size(); ++k)
        if (has_input(nd, k)) n.inputs.push_back(input_node(nd, k));
      if (n.inputs.empty()) throw Error("Concat needs inputs");
      n.attrs.axis = onnx_detail::norm_axis(attr_int(nd, "axis", 0), g_.node(n.inputs[0]).shape.size());
      if (n.inputs.size() == 1) return set_node(nd, 0, n.inputs[0]);
      return set_node(nd, 0, add(std::move(n)));
    }
    if (op == "Slice") {
      const int x0 = input_node(nd, 0);
      const SliceArgs s = slice_args(nd, g_.node(x0).shape);
      int x = x0;
      for (std::size_t k = 0; k < s.starts.size(); ++k) {
        if (s.steps[k] < 1) throw Error("Slice with step " + std::to_string(s.steps[k]) + " is not supported");
        const int ax = onnx_detail::norm_axis(s.axes[k], g_.node(x).shape.size());
        const std::int64_t len = g_.node(x).shape[static_cast<std::size_t>(ax)];
        auto clampi = [&](std::int64_t v) { return std::clamp(v < 0 ? v + len : v, std::int64_t{0}, len); };
        const std::int64_t st = clampi(s.starts[k]), en = clampi(s.ends[k]);
        if (en <= st) throw Error("Slice of axis " + std::to_string(ax) + " is empty");
        x = sliced(nd, x, ax, st, en, s.starts.size() > 1 ? split_name(nd.name()).op + "_axis" + std::to_string(ax) : "", s.steps[k]);
      }
      return set_node(nd, 0, x);
    }
    if (op == "Split") return split(nd);
    if (op == "Pad") return pad(i);
    if (op == "Gather") return gather(nd);
    if (op == "Expand") return expand(i);
    if (op == "Cast") {
      need_inputs(nd, 1, 1);
      return set_node(nd, 0, input_node(nd, 0));  // the IR does not track dtypes
    }
    if (op == "Erf" || op == "Pow" || op == "Sqrt" || op == "Tanh" || op == "Exp")
      throw Error("operator " + op + " outside a LayerNorm or GELU pattern is not supported");
    throw Error("operator " + op + " is not supported");
  }

  void conv(const onnx::NodeProto& nd) {
    need_inputs(nd, 2, 3);
    const int x = input_node(nd, 0);
    const Value& w = value(nd, 1);
    if (w.computed()) throw Error("Conv with a computed weight is not supported");
    const Shape xs = g_.node(x).shape;
    const Shape& ws = w.c.dims;
    if (xs.size() != 4 || ws.size() != 4)
      throw Error("only 2-D convolutions are supported (input " + to_string(xs) + ", weight " + to_string(ws) + ")");
    const auto k = window(nd, "kernel_shape", 0), s = window(nd, "strides", 1), d = window(nd, "dilations", 1);
    Node n = make(nd, Op::conv2d);
    spatial(nd, xs, k[0] ? k[0] : static_cast<int>(ws[2]), k[1] ? k[1] : static_cast<int>(ws[3]), s[0], s[1], d[0], d[1], n.attrs);
    if (n.attrs.kh != ws[2] || n.attrs.kw != ws[3])
      throw Error("kernel_shape " + std::to_string(n.attrs.kh) + "x" + std::to_string(n.attrs.kw) + " differs from the weight " + to_string(ws));
    n.attrs.out = ws[0];
    n.attrs.groups = static_cast<int>(attr_int(nd, "group", 1));
    if (n.attrs.groups < 1 || xs[1] != ws[1] * n.attrs.groups)
      throw Error("weight " + to_string(ws) + " with group " + std::to_string(n.attrs.groups) + " does not fit input " + to_string(xs));
    n.inputs = {x};
    n.shared_params = shared_bit(w, 0);
    if (has_input(nd, 2)) {
      const Value& b = value(nd, 2);
      if (b.computed() || numel(b.c.dims) != ws[0]) throw Error("Conv bias must be a constant of " + std::to_string(ws[0]) + " elements");
      n.attrs.bias = true;
      n.shared_params |= shared_bit(b, 1);
    }
    set_node(nd, 0, add(std::move(n)));
  }

  // Linear layer from a weight [out, in] (or [in, out]) and an optional bias.
  int linear(const onnx::NodeProto& nd, int x, const Value& w, bool transposed, const Value* b, const std::string& op_part = "") {
    const Shape& ws = w.c.dims;
    const std::int64_t in = transposed ? ws[1] : ws[0], out = transposed ? ws[0] : ws[1];
    const Shape xs = g_.node(x).shape;
    if (xs.empty() || xs.back() != in)
      throw Error("input " + to_string(xs) + " does not fit weight " + to_string(ws));
    Node n = make(nd, Op::linear, op_part);
    n.attrs.out = out;
    n.inputs = {x};
    n.shared_params = shared_bit(w, 0);
    if (b) {
      n.attrs.bias = true;
      n.shared_params |= shared_bit(*b, 1);
    }
    return add(std::move(n));
  }

  void gemm(const onnx::NodeProto& nd) {
    need_inputs(nd, 2, 3);
    if (attr_int(nd, "transA", 0) != 0) throw Error("Gemm with transA = 1 is not supported");
    if (attr_float(nd, "alpha", 1) != 1.0f || (has_input(nd, 2) && attr_float(nd, "beta", 1) != 1.0f))
      throw Error("Gemm with alpha or beta other than 1 is not supported");
    const int x = input_node(nd, 0);
    if (g_.node(x).shape.size() != 2) throw Error("Gemm input must be 2-D, got " + to_string(g_.node(x).shape));
    const Value& w = value(nd, 1);
    const bool tb = attr_int(nd, "transB", 0) != 0;
    if (w.computed()) {
      if (has_input(nd, 2) || tb) throw Error("Gemm of two computed tensors with transB or a bias is not supported");
      Node n = make(nd, Op::matmul);
      n.inputs = {x, w.node};
      return set_node(nd, 0, add(std::move(n)));
    }
    if (w.c.dims.size() != 2) throw Error("Gemm weight must be 2-D, got " + to_string(w.c.dims));
    const Value* b = nullptr;
    if (has_input(nd, 2)) {
      b = &value(nd, 2);
      const std::int64_t out = tb ? w.c.dims[0] : w.c.dims[1];
      if (b->computed() || b->c.dims.empty() || numel(b->c.dims) != out || b->c.dims.back() != out)
        throw Error("Gemm bias must be a constant vector of " + std::to_string(out) + " elements, got " + to_string(shape_of(*b)));
    }
    set_node(nd, 0, linear(nd, x, w, tb, b));
  }

  void matmul(const onnx::NodeProto& nd) {
    need_inputs(nd, 2, 2);
    const Value& a = value(nd, 0);
    const Value& w = value(nd, 1);
    if (a.computed() && !w.computed() && !w.init.empty() && w.c.dims.size() == 2) {
      // x W: a linear layer; a following Add of a bias vector is its bias
      const std::int64_t out = w.c.dims[1];
      const auto* add_b = sole_consumer_op(nd.output(0), "Add");
      const Value* b = nullptr;
      if (add_b && other_input(*add_b, nd.output(0)) >= 0) b = vector_init(*add_b, other_input(*add_b, nd.output(0)), out);
      const int id = linear(nd, a.node, w, false, b);
      if (b) {
        done_[static_cast<std::size_t>(index_of(add_b))] = true;
        set_node(*add_b, 0, id);
      }
      return set_node(nd, 0, id);
    }
    const int x = input_node(nd, 0), y = input_node(nd, 1);
    if (g_.node(x).shape.size() < 2 || g_.node(y).shape.size() < 2)
      throw Error("MatMul of a 1-D tensor is not supported");
    Node n = make(nd, Op::matmul);
    n.inputs = {x, y};
    set_node(nd, 0, add(std::move(n)));
  }

  void clip(const onnx::NodeProto& nd) {
    need_inputs(nd, 1, 3);
    std::optional<double> lo, hi;
    if (nd.input_size() > 1 || !find_attr(nd, "min")) {
      for (int k = 1; k < 3; ++k)
        if (has_input(nd, k)) {
          const auto v = scalar_at(nd, k);
          if (!v) throw Error("Clip bounds must be constant scalars");
          (k == 1 ? lo : hi) = *v;
        }
    } else {
      lo = attr_float(nd, "min", -3.4e38f);
      hi = attr_float(nd, "max", 3.4e38f);
    }
    const bool zero_lo = lo && *lo == 0.0;
    const bool no_hi = !hi || *hi >= 3.4e38;
    Node n = make(nd, Op::relu);
    if (zero_lo && hi && *hi == 6.0) n.op = Op::relu6;
    else if (!(zero_lo && no_hi))
      throw Error("Clip to [" + (lo ? std::to_string(*lo) : "-inf") + ", " + (hi ? std::to_string(*hi) : "inf") +
                  "] is not supported (only [0, 6] as relu6 and [0, inf) as relu)");
    n.inputs = {input_node(nd, 0)};
    set_node(nd, 0, add(std::move(n)));
  }

  void pool(const onnx::NodeProto& nd) {
    need_inputs(nd, 1, 1);
    if (nd.output_size() > 1 && !nd.output(1).empty()) throw Error("MaxPool indices output is not supported");
    const int x = input_node(nd, 0);
    const Shape xs = g_.node(x).shape;
    if (xs.size() != 4) throw Error("only 2-D pooling is supported, input " + to_string(xs));
    const auto k = window(nd, "kernel_shape", 0), s = window(nd, "strides", 1), d = window(nd, "dilations", 1);
    if (d[0] != 1 || d[1] != 1) throw Error("pooling with dilation is not supported");
    if (k[0] < 1 || k[1] < 1) throw Error("kernel_shape must be given");
    Node n = make(nd, nd.op_type() == "MaxPool" ? Op::max_pool : Op::avg_pool);
    spatial(nd, xs, k[0], k[1], s[0], s[1], 1, 1, n.attrs);
    n.attrs.ceil_mode = attr_int(nd, "ceil_mode", 0) != 0;
    n.inputs = {x};
    set_node(nd, 0, add(std::move(n)));
  }

  void batch_norm(const onnx::NodeProto& nd) {
    need_inputs(nd, 5, 5);
    if (nd.output_size() > 1) throw Error("BatchNormalization in training mode is not supported");
    const int x = input_node(nd, 0);
    const Shape xs = g_.node(x).shape;
    if (xs.size() < 2) throw Error("BatchNormalization input must be [N,C,...], got " + to_string(xs));
    Node n = make(nd, Op::batch_norm);
    for (int k = 1; k < 5; ++k) {
      const Value& v = value(nd, k);
      if (v.computed() || numel(v.c.dims) != xs[1])
        throw Error("BatchNormalization input " + std::to_string(k) + " must be a constant of " + std::to_string(xs[1]) + " elements");
      n.shared_params |= shared_bit(v, k - 1);  // weight, bias, running_mean, running_var
    }
    n.inputs = {x};
    set_node(nd, 0, add(std::move(n)));
  }

  void layer_norm(const onnx::NodeProto& nd) {
    need_inputs(nd, 3, 3);
    const int x = input_node(nd, 0);
    const Shape xs = g_.node(x).shape;
    if (onnx_detail::norm_axis(attr_int(nd, "axis", -1), xs.size()) != static_cast<int>(xs.size()) - 1)
      throw Error("LayerNormalization over more than the last axis is not supported");
    Node n = make(nd, Op::layer_norm);
    for (int k = 1; k < 3; ++k) {
      const Value& v = value(nd, k);
      if (v.computed() || numel(v.c.dims) != xs.back())
        throw Error("LayerNormalization scale and bias must be constants of " + std::to_string(xs.back()) + " elements");
      n.shared_params |= shared_bit(v, k - 1);
    }
    n.inputs = {x};
    set_node(nd, 0, add(std::move(n)));
  }

  void reduce_mean(int i) {
    const auto& nd = gp_.node(i);
    if (fold_layer_norm(i)) return;
    const int x = input_node(nd, 0);
    const Shape xs = g_.node(x).shape;
    std::vector<std::int64_t> axes = attr_ints(nd, "axes").value_or(std::vector<std::int64_t>{});
    if (has_input(nd, 1)) axes = constant_input(nd, 1, "axes").ints("axes");
    std::vector<int> norm;
    for (auto a : axes) norm.push_back(onnx_detail::norm_axis(a, xs.size()));
    std::sort(norm.begin(), norm.end());
    if (xs.size() != 4 || norm != std::vector<int>{2, 3})
      throw Error("ReduceMean over axes " + to_string(Shape(axes.begin(), axes.end())) + " of " + to_string(xs) +
                  " is not supported (only the spatial mean of NCHW, and inside LayerNorm)");
    Node n = make(nd, Op::global_avg_pool);
    n.inputs = {x};
    int id = add(std::move(n));
    if (attr_int(nd, "keepdims", 1) == 0) id = reshaped(nd, id, {xs[0], xs[1]}, split_name(nd.name()).op + "_squeeze");
    set_node(nd, 0, id);
  }

  // Zero padding: nothing when all pads are 0; padding of H and W read only by a pooling or
  // convolution becomes that window's padding (same output and count); anything else is an error.
  void pad(int i) {
    const auto& nd = gp_.node(i);
    need_inputs(nd, 1, 4);
    if (attr_string(nd, "mode", "constant") != "constant") throw Error("Pad mode '" + attr_string(nd, "mode", "") + "' is not supported");
    const int x = input_node(nd, 0);
    const Shape xs = g_.node(x).shape;
    std::vector<std::int64_t> pads = has_input(nd, 1) ? constant_input(nd, 1, "pads").ints("pads")
                                                      : attr_ints(nd, "pads").value_or(std::vector<std::int64_t>{});
    if (has_input(nd, 3)) throw Error("Pad with axes is not supported");
    if (pads.size() != 2 * xs.size()) throw Error("Pad has " + std::to_string(pads.size()) + " pads for rank " + std::to_string(xs.size()));
    if (std::all_of(pads.begin(), pads.end(), [](std::int64_t p) { return p == 0; })) return set_node(nd, 0, x);
    const int c = sole_consumer(nd.output(0));
    const std::string user = c >= 0 ? gp_.node(c).op_type() : "";
    const bool spatial_only = xs.size() == 4 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 &&
                              std::all_of(pads.begin(), pads.end(), [](std::int64_t p) { return p >= 0; });
    if (!spatial_only || (user != "AveragePool" && user != "MaxPool" && user != "Conv"))
      throw Error("Pad " + to_string(Shape(pads.begin(), pads.end())) + " other than zero padding of H and W before a pooling or convolution is not supported");
    extra_pads_[c] = {pads[2], pads[3], pads[6], pads[7]};
    set_node(nd, 0, x);
  }

  void split(const onnx::NodeProto& nd) {
    need_inputs(nd, 1, 2);
    const int x = input_node(nd, 0);
    const Shape xs = g_.node(x).shape;
    const int axis = onnx_detail::norm_axis(attr_int(nd, "axis", 0), xs.size());
    std::vector<std::int64_t> sizes;
    if (has_input(nd, 1)) sizes = constant_input(nd, 1, "split").ints("split");
    else if (auto a = attr_ints(nd, "split")) sizes = *a;
    const std::int64_t len = xs[static_cast<std::size_t>(axis)];
    if (sizes.empty()) {
      const auto parts = static_cast<std::int64_t>(nd.output_size());
      if (parts < 1 || len % parts != 0) throw Error("cannot split " + std::to_string(len) + " into " + std::to_string(parts) + " equal parts");
      sizes.assign(static_cast<std::size_t>(parts), len / parts);
    }
    if (static_cast<int>(sizes.size()) != nd.output_size()) throw Error("split sizes do not match the outputs");
    std::int64_t start = 0;
    const std::string base = split_name(nd.name()).op;
    for (int k = 0; k < nd.output_size(); ++k) {
      const std::int64_t end = start + sizes[static_cast<std::size_t>(k)];
      if (sizes[static_cast<std::size_t>(k)] < 1 || end > len) throw Error("split sizes exceed the axis of " + to_string(xs));
      set_node(nd, k, sliced(nd, x, axis, start, end, base + "_" + std::to_string(k)));
      start = end;
    }
  }

  void gather(const onnx::NodeProto& nd) {
    need_inputs(nd, 2, 2);
    const Value& data = value(nd, 0);
    const Value& idx = value(nd, 1);
    const int axis = static_cast<int>(attr_int(nd, "axis", 0));
    if (!data.computed()) {
      // rows of a learned table (an embedding, Swin's relative position bias)
      if (data.init.empty() || data.c.dims.size() != 2 || onnx_detail::norm_axis(axis, 2) != 0)
        throw Error("Gather from a constant other than a 2-D float table along axis 0 is not supported");
      Node n = make(nd, Op::embedding);
      n.attrs.vocab = data.c.dims[0];
      n.attrs.out = data.c.dims[1];
      n.inputs = {as_node(idx, nd.input(1), nd)};
      n.shared_params = shared_bit(data, 0);
      return set_node(nd, 0, add(std::move(n)));
    }
    if (idx.computed()) throw Error("Gather with computed indices from a computed tensor is not supported");
    const Shape xs = g_.node(data.node).shape;
    const int ax = onnx_detail::norm_axis(axis, xs.size());
    const auto ids = idx.c.ints("indices");
    const std::int64_t len = xs[static_cast<std::size_t>(ax)];
    std::vector<std::int64_t> pos;
    for (auto v : ids) pos.push_back(v < 0 ? v + len : v);
    for (std::size_t k = 0; k < pos.size(); ++k)
      if (pos[k] < 0 || pos[k] >= len || (k > 0 && pos[k] != pos[k - 1] + 1))
        throw Error("Gather of indices that are not one contiguous ascending range is not supported");
    if (pos.empty()) throw Error("Gather with no indices");
    const int s = sliced(nd, data.node, ax, pos.front(), pos.back() + 1, "");
    Shape to(xs.begin(), xs.begin() + ax);
    to.insert(to.end(), idx.c.dims.begin(), idx.c.dims.end());
    to.insert(to.end(), xs.begin() + ax + 1, xs.end());
    set_node(nd, 0, reshaped(nd, s, to, split_name(nd.name()).op + "_reshape"));
  }

  // Expand of a computed tensor: the IR's ops broadcast, so an Expand read only by broadcasting
  // ops (elementwise, Concat) is the tensor itself.
  void expand(int i) {
    const auto& nd = gp_.node(i);
    need_inputs(nd, 2, 2);
    const int x = input_node(nd, 0);
    Shape to;
    for (auto d : constant_input(nd, 1, "shape").ints("shape")) to.push_back(d);
    const Shape out = onnx_detail::broadcast_shapes(g_.node(x).shape, to);
    if (out != g_.node(x).shape) {
      const auto it = consumers_.find(nd.output(0));
      const bool ok = it != consumers_.end() && !graph_outputs_.count(nd.output(0)) &&
                      std::all_of(it->second.begin(), it->second.end(), [&](int c) {
                        const std::string& t = gp_.node(c).op_type();
                        return t == "Add" || t == "Mul" || t == "Sub" || t == "Div" || t == "Concat";
                      });
      if (!ok) throw Error("Expand to " + to_string(out) + " read by an op that does not broadcast is not supported");
    }
    set_node(nd, 0, x);
  }
};

}  // namespace

Graph parse_onnx(const std::string& bytes, const std::string& source, const BuildOptions& opt) {
  if (bytes.empty()) throw Error(source + ": empty file, not an ONNX model");
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) || !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error(source + ": not an ONNX model (the protobuf does not parse: truncated or another format)");
  if (model.ir_version() <= 0 || !model.has_graph() || model.graph().node_size() == 0)
    throw Error(source + ": not an ONNX model (no ir_version or no graph nodes)");
  for (const auto& o : model.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() < 7)
      throw Error(source + ": opset " + std::to_string(o.version()) + " is too old (7 or later is supported)");
  std::string name = model.graph().name();
  const std::string stem = std::filesystem::path(source).stem().string();
  if (!stem.empty()) name = stem;
  return Importer(model.graph(), source, opt).run(name.empty() ? "onnx_model" : name);
}

Graph load_onnx(const std::string& path, const BuildOptions& opt) { return parse_onnx(read_file(path), path, opt); }

}  // namespace hwnas::graph
