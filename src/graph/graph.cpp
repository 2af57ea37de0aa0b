#include "hwnas/graph/graph.hpp"

#include <algorithm>
#include <array>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>
#include <functional>
#include <queue>

#include "hwnas/error.hpp"

namespace hwnas::graph {
namespace {

struct OpInfo {
  Op op;
  std::string_view name;
  int min_inputs, max_inputs;
};

// One row per op, in enum order (checked below and by a test).
constexpr std::array<OpInfo, static_cast<std::size_t>(Op::count_)> op_table{{
    {Op::input, "input", 0, 0},
    {Op::weight, "weight", 0, 0},
    {Op::conv2d, "conv2d", 1, 1},
    {Op::linear, "linear", 1, 1},
    {Op::matmul, "matmul", 2, 2},
    {Op::attention, "attention", 3, 3},
    {Op::batch_norm, "batch_norm", 1, 1},
    {Op::layer_norm, "layer_norm", 1, 1},
    {Op::rms_norm, "rms_norm", 1, 1},
    {Op::relu, "relu", 1, 1},
    {Op::relu6, "relu6", 1, 1},
    {Op::hardswish, "hardswish", 1, 1},
    {Op::hardsigmoid, "hardsigmoid", 1, 1},
    {Op::sigmoid, "sigmoid", 1, 1},
    {Op::silu, "silu", 1, 1},
    {Op::gelu, "gelu", 1, 1},
    {Op::add, "add", 2, 2},
    {Op::mul, "mul", 2, 2},
    {Op::zero, "zero", 1, 1},
    {Op::concat, "concat", 1, 64},
    {Op::avg_pool, "avg_pool", 1, 1},
    {Op::max_pool, "max_pool", 1, 1},
    {Op::global_avg_pool, "global_avg_pool", 1, 1},
    {Op::reshape, "reshape", 1, 1},
    {Op::transpose, "transpose", 1, 1},
    {Op::unfold, "unfold", 1, 1},
    {Op::fold, "fold", 1, 1},
    {Op::embedding, "embedding", 1, 1},
    {Op::flatten, "flatten", 1, 1},
    {Op::slice, "slice", 1, 1},
    {Op::softmax, "softmax", 1, 1},
    {Op::constant, "constant", 0, 0},
    {Op::view, "view", 1, 1},
}};
static_assert(op_table.size() == static_cast<std::size_t>(Op::count_),
              "every Op needs a row in op_table");
constexpr bool table_in_order() {
  for (std::size_t i = 0; i < op_table.size(); ++i)
    if (static_cast<std::size_t>(op_table[i].op) != i) return false;
  return true;
}
static_assert(table_in_order(), "op_table rows must follow the Op enum order");

constexpr std::array<std::string_view, static_cast<std::size_t>(AttnPattern::count_)> pattern_names{
    "full", "causal", "sliding_window", "local_window", "dilated_window"};
constexpr std::array<std::string_view, static_cast<std::size_t>(OpClass::count_)> class_names{
    "conv",       "depthwise",   "pointwise",     "linear",    "matmul", "attention", "norm",
    "activation", "elementwise", "pooling",  "data_movement", "embedding", "none"};

const OpInfo& info(Op op) { return op_table[static_cast<std::size_t>(op)]; }

// FNV-1a over a node name (the name index of Graph)
std::uint32_t name_hash(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

[[noreturn]] void fail(const Node& n, const std::string& what) {
  throw Error("node '" + n.name + "' (" + std::string(op_name(n.op)) + "): " + what);
}

std::int64_t conv_out(std::int64_t in, int k, int s, int p, int d, bool ceil_mode) {
  const std::int64_t span = static_cast<std::int64_t>(d) * (k - 1) + 1;
  const std::int64_t num = in + 2 * p - span;
  if (num < 0) return 0;
  std::int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  // PyTorch: the last pooling window must start inside the input or left padding
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

Shape broadcast(const Node& n, const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const std::int64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1)
      fail(n, "shapes " + to_string(a) + " and " + to_string(b) + " do not broadcast");
    out[i] = std::max(x, y);
  }
  return out;
}

void need_rank(const Node& n, const Shape& s, std::size_t rank, const char* what) {
  if (s.size() != rank)
    fail(n, std::string("expects a rank-") + std::to_string(rank) + " " + what + " input, got " +
                to_string(s));
}

Shape infer(const std::vector<Node>& nodes, const Node& n) {
  const Attrs& a = n.attrs;
  auto in = [&](std::size_t i) -> const Shape& { return nodes[n.inputs[i]].shape; };
  switch (n.op) {
    case Op::input:
    case Op::weight:
    case Op::constant:
      if (a.shape.empty()) fail(n, "needs a shape");
      for (auto d : a.shape)
        if (d <= 0) fail(n, "dimensions must be >= 1, got " + to_string(a.shape));
      return a.shape;
    case Op::conv2d: {
      const Shape& x = in(0);
      need_rank(n, x, 4, "NCHW");
      if (a.out <= 0) fail(n, "out_channels must be >= 1, got " + std::to_string(a.out));
      if (a.kh < 1 || a.kw < 1) fail(n, "kernel must be >= 1, got " + std::to_string(std::min(a.kh, a.kw)));
      if (a.sh < 1 || a.sw < 1) fail(n, "stride must be >= 1, got " + std::to_string(std::min(a.sh, a.sw)));
      if (a.dh < 1 || a.dw < 1) fail(n, "dilation must be >= 1, got " + std::to_string(std::min(a.dh, a.dw)));
      if (a.ph < 0 || a.pw < 0) fail(n, "padding must be >= 0, got " + std::to_string(std::min(a.ph, a.pw)));
      if (a.groups < 1 || x[1] % a.groups != 0 || a.out % a.groups != 0)
        fail(n, "groups " + std::to_string(a.groups) + " must divide in_channels " +
                    std::to_string(x[1]) + " and out_channels " + std::to_string(a.out));
      const auto ho = conv_out(x[2], a.kh, a.sh, a.ph, a.dh, false);
      const auto wo = conv_out(x[3], a.kw, a.sw, a.pw, a.dw, false);
      if (ho < 1 || wo < 1)
        fail(n, "kernel " + std::to_string(a.kh) + "x" + std::to_string(a.kw) +
                    " does not fit input " + to_string(x));
      return {x[0], a.out, ho, wo};
    }
    case Op::linear: {
      Shape x = in(0);
      if (x.empty()) fail(n, "needs a non-scalar input");
      if (a.out <= 0) fail(n, "out_features must be >= 1, got " + std::to_string(a.out));
      x.back() = a.out;
      return x;
    }
    case Op::matmul: {
      const Shape &x = in(0), &y = in(1);
      if (x.size() < 2 || y.size() < 2) fail(n, "inputs must have rank >= 2");
      if (x.back() != y[y.size() - 2])
        fail(n, "inner dimensions differ: " + to_string(x) + " x " + to_string(y));
      Shape bx(x.begin(), x.end() - 2), by(y.begin(), y.end() - 2);
      Shape out = broadcast(n, bx, by);
      out.push_back(x[x.size() - 2]);
      out.push_back(y.back());
      return out;
    }
    case Op::attention: {
      const Shape &q = in(0), &k = in(1), &v = in(2);
      need_rank(n, q, 3, "[B,T,H*D] query");
      need_rank(n, k, 3, "[B,T,H*D] key");
      need_rank(n, v, 3, "[B,T,H*D] value");
      if (a.heads < 1 || a.kv_heads < 1 || a.head_dim < 1)
        fail(n, "heads, kv_heads and head_dim must be >= 1, got " + std::to_string(a.heads) + ", " +
                    std::to_string(a.kv_heads) + ", " + std::to_string(a.head_dim));
      if (a.heads % a.kv_heads != 0)
        fail(n, "heads " + std::to_string(a.heads) + " must be a multiple of kv_heads " +
                    std::to_string(a.kv_heads));
      if (q[2] != static_cast<std::int64_t>(a.heads) * a.head_dim)
        fail(n, "query width " + std::to_string(q[2]) + " != heads x head_dim = " +
                    std::to_string(a.heads * a.head_dim));
      const std::int64_t kvw = static_cast<std::int64_t>(a.kv_heads) * a.head_dim;
      if (k[2] != kvw || v[2] != kvw)
        fail(n, "key/value width must be kv_heads x head_dim = " + std::to_string(kvw) + ", got " +
                    to_string(k) + " and " + to_string(v));
      if (k[0] != q[0] || v[0] != q[0] || k[1] != v[1])
        fail(n, "query, key and value disagree: " + to_string(q) + ", " + to_string(k) + ", " +
                    to_string(v));
      const bool windowed = a.pattern == AttnPattern::sliding_window ||
                            a.pattern == AttnPattern::local_window ||
                            a.pattern == AttnPattern::dilated_window;
      if (windowed && a.window < 1) fail(n, "a windowed pattern needs window >= 1, got " + std::to_string(a.window));
      if (a.window_dilation < 1) fail(n, "window_dilation must be >= 1, got " + std::to_string(a.window_dilation));
      if (a.global_tokens < 0 || a.sink_tokens < 0 || a.past_tokens < 0)
        fail(n, "global_tokens, sink_tokens and past_tokens must be >= 0");
      return q;
    }
    case Op::batch_norm:
      if (in(0).size() < 2) fail(n, "needs a [N,C,...] input, got " + to_string(in(0)));
      return in(0);
    case Op::layer_norm:
    case Op::rms_norm:
    case Op::softmax:
      if (in(0).empty()) fail(n, "needs a non-scalar input");
      return in(0);
    case Op::relu: case Op::relu6: case Op::hardswish: case Op::hardsigmoid:
    case Op::sigmoid: case Op::silu: case Op::gelu:
    case Op::zero:
      return in(0);
    case Op::add:
    case Op::mul:
      return broadcast(n, in(0), in(1));
    case Op::concat: {
      Shape out = in(0);
      const int rank = static_cast<int>(out.size());
      const int axis = a.axis < 0 ? a.axis + rank : a.axis;
      if (axis < 0 || axis >= rank) fail(n, "axis " + std::to_string(a.axis) + " out of range for " + to_string(out));
      for (std::size_t i = 1; i < n.inputs.size(); ++i) {
        const Shape& s = in(i);
        if (static_cast<int>(s.size()) != rank) fail(n, "inputs differ in rank: " + to_string(out) + " and " + to_string(s));
        for (int d = 0; d < rank; ++d) {
          if (d == axis) continue;
          if (s[d] != out[d] && s[d] != 1 && out[d] != 1)
            fail(n, "inputs differ outside axis " + std::to_string(axis) + ": " + to_string(in(0)) + " and " + to_string(s));
          out[d] = std::max(out[d], s[d]);
        }
        out[axis] += s[axis];
      }
      return out;
    }
    case Op::avg_pool:
    case Op::max_pool: {
      const Shape& x = in(0);
      need_rank(n, x, 4, "NCHW");
      if (a.kh < 1 || a.kw < 1 || a.sh < 1 || a.sw < 1)
        fail(n, "kernel and stride must be >= 1, got kernel " + std::to_string(a.kh) + ", stride " + std::to_string(a.sh));
      const auto ho = conv_out(x[2], a.kh, a.sh, a.ph, 1, a.ceil_mode);
      const auto wo = conv_out(x[3], a.kw, a.sw, a.pw, 1, a.ceil_mode);
      if (ho < 1 || wo < 1) fail(n, "window does not fit input " + to_string(x));
      return {x[0], x[1], ho, wo};
    }
    case Op::global_avg_pool: {
      const Shape& x = in(0);
      need_rank(n, x, 4, "NCHW");
      return {x[0], x[1], 1, 1};
    }
    case Op::reshape: {
      const Shape& x = in(0);
      Shape out{x[0]};
      std::int64_t known = 1;
      int infer_at = -1;
      for (std::size_t i = 0; i < a.shape.size(); ++i) {
        if (a.shape[i] == -1) {
          if (infer_at >= 0) fail(n, "at most one -1 in shape " + to_string(a.shape));
          infer_at = static_cast<int>(i) + 1;
          out.push_back(1);
        } else if (a.shape[i] < 1) {
          fail(n, "shape entries must be >= 1 or -1, got " + to_string(a.shape));
        } else {
          known *= a.shape[i];
          out.push_back(a.shape[i]);
        }
      }
      const std::int64_t total = numel(x) / x[0];
      if (infer_at >= 0) {
        if (total % known != 0) fail(n, "cannot reshape " + to_string(x) + " to " + to_string(a.shape));
        out[infer_at] = total / known;
      }
      if (numel(out) != numel(x)) fail(n, "cannot reshape " + to_string(x) + " to " + to_string(a.shape));
      return out;
    }
    case Op::transpose: {
      const Shape& x = in(0);
      if (a.perm.size() != x.size()) fail(n, "perm has " + std::to_string(a.perm.size()) + " entries for rank " + std::to_string(x.size()));
      Shape out(x.size());
      std::vector<bool> used(x.size(), false);
      for (std::size_t i = 0; i < a.perm.size(); ++i) {
        const int p = a.perm[i];
        if (p < 0 || p >= static_cast<int>(x.size()) || used[p]) fail(n, "perm is not a permutation");
        used[p] = true;
        out[i] = x[p];
      }
      return out;
    }
    case Op::unfold: {
      const Shape& x = in(0);
      need_rank(n, x, 4, "NCHW");
      if (a.patch_h < 1 || a.patch_w < 1) fail(n, "patch size must be >= 1");
      if (x[2] % a.patch_h || x[3] % a.patch_w)
        fail(n, "input " + to_string(x) + " is not divisible into " + std::to_string(a.patch_h) + "x" + std::to_string(a.patch_w) + " patches");
      const std::int64_t p = static_cast<std::int64_t>(a.patch_h) * a.patch_w;
      return {x[0] * p, x[2] * x[3] / p, x[1]};
    }
    case Op::fold: {
      const Shape& x = in(0);
      need_rank(n, x, 3, "[B*P,N,C]");
      if (a.shape.size() != 3 || a.patch_h < 1 || a.patch_w < 1) fail(n, "needs shape {C,H,W} and a patch size");
      const std::int64_t p = static_cast<std::int64_t>(a.patch_h) * a.patch_w;
      const std::int64_t c = a.shape[0], h = a.shape[1], w = a.shape[2];
      if (x[0] % p || x[1] != h * w / p || x[2] != c)
        fail(n, "input " + to_string(x) + " does not fold into " + to_string(a.shape));
      return {x[0] / p, c, h, w};
    }
    case Op::view: {
      const Shape& x = in(0);
      for (auto d : a.shape)
        if (d < 1) fail(n, "shape entries must be >= 1, got " + to_string(a.shape));
      if (a.shape.empty() || numel(a.shape) != numel(x))
        fail(n, "cannot view " + to_string(x) + " as " + to_string(a.shape));
      return a.shape;
    }
    case Op::embedding: {
      Shape x = in(0);
      if (a.vocab < 1 || a.out < 1) fail(n, "vocab and dim must be >= 1");
      x.push_back(a.out);
      return x;
    }
    case Op::flatten: {
      const Shape& x = in(0);
      return {x[0], numel(x) / x[0]};
    }
    case Op::slice: {
      Shape x = in(0);
      const int rank = static_cast<int>(x.size());
      const int axis = a.axis < 0 ? a.axis + rank : a.axis;
      if (axis < 0 || axis >= rank) fail(n, "axis " + std::to_string(a.axis) + " out of range for " + to_string(x));
      const std::int64_t len = x[axis];
      auto clampi = [&](std::int64_t v) { return std::clamp(v < 0 ? v + len : v, std::int64_t{0}, len); };
      const std::int64_t s = clampi(a.start), e = clampi(a.end);
      if (e <= s) fail(n, "slice [" + std::to_string(a.start) + ", " + std::to_string(a.end) + ") of " + to_string(x) + " is empty");
      if (a.step < 1) fail(n, "step must be >= 1, got " + std::to_string(a.step));
      x[axis] = (e - s + a.step - 1) / a.step;
      return x;
    }
    case Op::count_:
      break;
  }
  fail(n, "unknown op");
}

}  // namespace

std::int64_t numel(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string to_string(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  out += ']';
  return out;
}

std::string_view op_name(Op op) { return info(op).name; }
std::string_view pattern_name(AttnPattern p) { return pattern_names[static_cast<std::size_t>(p)]; }
std::string_view op_class_name(OpClass c) { return class_names[static_cast<std::size_t>(c)]; }

bool op_from_name(std::string_view name, Op& out) {
  for (const auto& r : op_table)
    if (r.name == name) return out = r.op, true;
  return false;
}
bool pattern_from_name(std::string_view name, AttnPattern& out) {
  for (std::size_t i = 0; i < pattern_names.size(); ++i)
    if (pattern_names[i] == name) return out = static_cast<AttnPattern>(i), true;
  return false;
}
bool op_class_from_name(std::string_view name, OpClass& out) {
  for (std::size_t i = 0; i < class_names.size(); ++i)
    if (class_names[i] == name) return out = static_cast<OpClass>(i), true;
  return false;
}

bool is_view(Op op) { return op == Op::reshape || op == Op::flatten || op == Op::view; }

bool is_activation(Op op) {
  switch (op) {
    case Op::relu: case Op::relu6: case Op::hardswish: case Op::hardsigmoid:
    case Op::sigmoid: case Op::silu: case Op::gelu:
      return true;
    default:
      return false;
  }
}

int Graph::add(Node&& node) {
  const auto& r = info(node.op);
  const int nin = static_cast<int>(node.inputs.size());
  if (nin < r.min_inputs || nin > r.max_inputs)
    fail(node, "takes " + std::to_string(r.min_inputs) +
                   (r.max_inputs != r.min_inputs ? ".." + std::to_string(r.max_inputs) : "") +
                   " inputs, got " + std::to_string(nin));
  for (int i : node.inputs)
    if (i < 0 || i >= size()) fail(node, "input index " + std::to_string(i) + " is not an earlier node");
  if (node.name.empty()) fail(node, "needs a name");
  if (slots_.size() < 2 * (nodes_.size() + 1)) grow();
  const std::uint32_t hash = name_hash(node.name);
  const std::size_t slot = slot_of(node.name, hash);
  if (slots_[slot]) fail(node, "duplicate node name");
  node.shape = infer(nodes_, node);
  slots_[slot] = (std::uint64_t{hash} << 32) | static_cast<std::uint64_t>(size() + 1);
  nodes_.push_back(std::move(node));
  return size() - 1;
}

std::size_t Graph::slot_of(std::string_view name, std::uint32_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  for (; slots_[i]; i = (i + 1) & mask)
    if ((slots_[i] >> 32) == hash && nodes_[(slots_[i] & 0xffffffffu) - 1].name == name) break;
  return i;
}

void Graph::grow() {
  std::vector<std::uint64_t> old(std::max<std::size_t>(512, 2 * slots_.size()), 0);
  old.swap(slots_);
  nodes_.reserve(slots_.size() / 2);  // the nodes the table has room for: no reallocation before the next growth
  const std::size_t mask = slots_.size() - 1;
  for (const std::uint64_t e : old) {
    if (!e) continue;
    std::size_t i = (e >> 32) & mask;
    while (slots_[i]) i = (i + 1) & mask;
    slots_[i] = e;
  }
}

std::vector<int> Graph::outputs() const {
  std::vector<bool> used(nodes_.size(), false);
  for (const auto& n : nodes_)
    for (int i : n.inputs) used[i] = true;
  std::vector<int> out;
  for (int i = 0; i < size(); ++i)
    if (!used[i] && nodes_[i].op != Op::input && nodes_[i].op != Op::weight && nodes_[i].op != Op::constant)
      out.push_back(i);
  return out;
}

int Graph::find(std::string_view name) const {
  if (slots_.empty()) return -1;
  return static_cast<int>(slots_[slot_of(name, name_hash(name))] & 0xffffffffu) - 1;
}

namespace {

// Dimensions without a heap copy: up to four held inline (a braced list at the call), or a
// view of a Shape. Passed by reference only.
struct Dims {
  std::array<std::int64_t, 4> inline_dims{};
  const std::int64_t* data;
  std::size_t size;
  Dims(std::initializer_list<std::int64_t> l) : data(inline_dims.data()), size(l.size()) {
    std::copy(l.begin(), l.end(), inline_dims.begin());
  }
  Dims(const Shape& s) : data(s.data()), size(s.size()) {}
  Dims(const Dims&) = delete;
  Dims& operator=(const Dims&) = delete;
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::size_t i = 0; i < size; ++i) n *= data[i];
    return n;
  }
};

// The one definition of a node's learned tensors: calls f(name, dims, buffer, shared) for each.
template <class F>
void visit_params(const Graph& g, const Node& n, F&& report) {
  const Attrs& a = n.attrs;
  int index = 0;
  auto f = [&](const char* name, const Dims& d, bool buffer) {
    report(name, d, buffer, ((n.shared_params >> index++) & 1) != 0);
  };
  auto in = [&](int i) -> const Shape& { return g.node(n.inputs[i]).shape; };
  switch (n.op) {
    case Op::conv2d:
      f("weight", {a.out, in(0)[1] / a.groups, a.kh, a.kw}, false);
      if (a.bias) f("bias", {a.out}, false);
      break;
    case Op::linear:
      f("weight", {a.out, in(0).back()}, false);
      if (a.bias) f("bias", {a.out}, false);
      break;
    case Op::batch_norm:
      for (const char* name : {"weight", "bias"}) f(name, {in(0)[1]}, false);
      for (const char* name : {"running_mean", "running_var"}) f(name, {in(0)[1]}, true);
      break;
    case Op::layer_norm:
      for (const char* name : {"weight", "bias"}) f(name, {in(0).back()}, false);
      break;
    case Op::rms_norm:
      f("weight", {in(0).back()}, false);
      break;
    case Op::embedding:
      f("weight", {a.vocab, a.out}, false);
      break;
    case Op::weight:
      f("value", a.shape, false);
      break;
    default:
      break;
  }
}

}  // namespace

std::vector<ParamSpec> params_of(const Graph& g, const Node& n) {
  std::vector<ParamSpec> out;
  visit_params(g, n, [&](const char* name, const Dims& d, bool buffer, bool shared) {
    out.push_back({name, Shape(d.data, d.data + d.size), buffer, shared});
  });
  return out;
}

ParamCount param_count(const Graph& g, const Node& n) {
  ParamCount c;
  visit_params(g, n, [&](const char*, const Dims& d, bool buffer, bool shared) {
    (shared ? c.shared : buffer ? c.buffers : c.params) += d.numel();
  });
  return c;
}

OpClass op_class(const Graph& g, const Node& n) {
  switch (n.op) {
    case Op::conv2d: {
      const std::int64_t cin = g.node(n.inputs[0]).shape[1];
      if (n.attrs.groups > 1 && n.attrs.groups == cin) return OpClass::depthwise;
      if (n.attrs.kh == 1 && n.attrs.kw == 1 && n.attrs.groups == 1) return OpClass::pointwise;
      return OpClass::conv;
    }
    case Op::linear: return OpClass::linear;
    case Op::matmul: return OpClass::matmul;
    case Op::attention: return OpClass::attention;
    case Op::batch_norm: case Op::layer_norm: case Op::rms_norm: case Op::softmax:
      return OpClass::norm;
    case Op::relu: case Op::relu6: case Op::hardswish: case Op::hardsigmoid:
    case Op::sigmoid: case Op::silu: case Op::gelu:
      return OpClass::activation;
    case Op::add: case Op::mul: case Op::zero: return OpClass::elementwise;
    case Op::avg_pool: case Op::max_pool: case Op::global_avg_pool: return OpClass::pooling;
    case Op::concat: case Op::transpose: case Op::unfold: case Op::fold: case Op::slice:
      return OpClass::data_movement;
    case Op::embedding: return OpClass::embedding;
    case Op::input: case Op::weight: case Op::constant: case Op::reshape: case Op::flatten:
    case Op::view: case Op::count_:
      return OpClass::none;
  }
  return OpClass::none;
}

std::vector<int> topological_order(int count, const std::vector<std::pair<int, int>>& edges,
                                   const std::vector<std::string>& names,
                                   const std::string& context) {
  using G = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  G g(static_cast<std::size_t>(count));
  for (auto [from, to] : edges) boost::add_edge(from, to, g);
  // Boost.Graph finds the strongly connected components: any with more than one
  // member (or a self-loop) is a cycle, which we name in the error.
  std::vector<int> comp(static_cast<std::size_t>(count));
  const int ncomp = boost::strong_components(g, comp.data());
  if (ncomp != count || std::any_of(edges.begin(), edges.end(), [](auto e) { return e.first == e.second; })) {
    // report the members of one cycle
    std::vector<int> size(static_cast<std::size_t>(ncomp), 0);
    for (int c : comp) ++size[c];
    int bad = -1;
    for (auto [from, to] : edges)
      if (from == to) bad = comp[from];
    for (int i = 0; i < count && bad < 0; ++i)
      if (size[comp[i]] > 1) bad = comp[i];
    std::string members;
    for (int i = 0; i < count; ++i)
      if (comp[i] == bad) members += (members.empty() ? "" : ", ") + names[i];
    throw Error(context + ": the graph has a cycle through " + members);
  }
  // Kahn's algorithm, always taking the lowest ready index, keeps the given order
  // wherever the edges allow it (reports then list layers as the user wrote them).
  std::vector<int> indegree(static_cast<std::size_t>(count), 0);
  std::vector<std::vector<int>> out(static_cast<std::size_t>(count));
  for (auto [from, to] : edges) {
    out[from].push_back(to);
    ++indegree[to];
  }
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int i = 0; i < count; ++i)
    if (indegree[i] == 0) ready.push(i);
  std::vector<int> order;
  order.reserve(static_cast<std::size_t>(count));
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int j : out[i])
      if (--indegree[j] == 0) ready.push(j);
  }
  return order;
}

}  // namespace hwnas::graph
