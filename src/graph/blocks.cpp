#include "graph/blocks.hpp"

#include <algorithm>
#include <cmath>

#include "hwnas/error.hpp"

namespace hwnas::graph {
namespace {

// Extends the builder's prefix for the lifetime of the scope (in place: scopes nest, and each
// cuts the prefix back to its old length).
class Scope {
 public:
  Scope(Blocks& b, std::string_view sub) : b_(b), saved_(b.prefix.size()) {
    if (sub.empty()) return;
    if (!b_.prefix.empty()) b_.prefix += '.';
    b_.prefix += sub;
  }
  ~Scope() { b_.prefix.resize(saved_); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Blocks& b_;
  std::size_t saved_;
};

}  // namespace

std::int64_t make_divisible(double v, int divisor) {
  const auto d = static_cast<std::int64_t>(divisor);
  std::int64_t out = std::max(d, static_cast<std::int64_t>(v + static_cast<double>(d) / 2.0) / d * d);
  if (static_cast<double>(out) < 0.9 * v) out += d;
  return out;
}

bool is_activation_name(std::string_view name) {
  Op op;
  return name == "swish" || (op_from_name(name, op) && is_activation(op));
}

std::string Blocks::path(std::string_view sub) const {
  if (sub.empty()) return prefix;
  if (prefix.empty()) return std::string(sub);
  std::string p;
  p.reserve(prefix.size() + 1 + sub.size());
  p += prefix;
  p += '.';
  p += sub;
  return p;
}

int Blocks::node(Op op, std::vector<int> inputs, Attrs a, std::string_view sub) {
  Node n;
  n.name = path(sub);
  if (!block.empty() && n.name.compare(0, block.size(), block) == 0)
    n.block_len = static_cast<std::uint16_t>(block.size());
  n.op = op;
  n.attrs = std::move(a);
  n.inputs = std::move(inputs);
  return g_.add(std::move(n));
}

int Blocks::conv(int x, const ConvSpec& c, std::string_view sub) {
  Attrs a;
  a.out = c.out;
  a.kh = c.kh, a.kw = c.kw, a.sh = c.sh, a.sw = c.sw, a.ph = c.ph, a.pw = c.pw;
  a.dh = c.dh, a.dw = c.dw, a.groups = c.groups, a.bias = c.bias;
  if (!c.norm && c.act == kNoAct) return node(Op::conv2d, {x}, a, sub);
  Scope s(*this, sub);
  int y = node(Op::conv2d, {x}, a, "conv");
  if (c.norm) y = unary(Op::batch_norm, y, "bn");
  if (c.act != kNoAct) y = unary(c.act, y, "act");
  return y;
}

int Blocks::linear(int x, std::int64_t out, bool bias, std::string_view sub) {
  Attrs a;
  a.out = out;
  a.bias = bias;
  return node(Op::linear, {x}, a, sub);
}

namespace {
ConvSpec pointwise(std::int64_t out, Op act, bool norm = true, bool bias = false) {
  ConvSpec c;
  c.out = out, c.kh = c.kw = 1, c.ph = c.pw = 0, c.act = act, c.norm = norm, c.bias = bias;
  return c;
}
ConvSpec spatial(std::int64_t out, int k, int stride, int groups, Op act) {
  ConvSpec c;
  c.out = out, c.kh = c.kw = k, c.sh = c.sw = stride, c.ph = c.pw = (k - 1) / 2;
  c.groups = groups, c.act = act;
  return c;
}
}  // namespace

int Blocks::squeeze_excite(int x, const SqueezeExcite& s, std::int64_t block_in, std::int64_t expanded,
                           std::string_view sub) {
  Scope sc(*this, sub);
  const double base = static_cast<double>(s.of_input ? block_in : expanded);
  std::int64_t squeeze = static_cast<std::int64_t>(std::floor(base * s.ratio + 1e-9));
  squeeze = s.divisor > 1 ? make_divisible(static_cast<double>(squeeze), s.divisor)
                          : std::max<std::int64_t>(1, squeeze);
  const std::int64_t c = channels(x);
  int y = unary(Op::global_avg_pool, x, "pool");
  y = conv(y, pointwise(squeeze, kNoAct, false, true), "fc1");
  y = unary(s.act, y, "act");
  y = conv(y, pointwise(c, kNoAct, false, true), "fc2");
  y = unary(s.gate, y, "gate");
  return node(Op::mul, {x, y}, {}, "scale");
}

int Blocks::dw_separable(int x, std::int64_t out, int kernel, int stride, Op act) {
  const std::int64_t c = channels(x);
  const int y = conv(x, spatial(c, kernel, stride, static_cast<int>(c), act), "dw");
  return conv(y, pointwise(out, act), "pw");
}

int Blocks::inverted_residual(int x, const InvertedResidual& r) {
  const std::int64_t cin = channels(x);
  int y = x;
  if (r.expanded != cin) y = conv(y, pointwise(r.expanded, r.act), "expand");
  y = conv(y, spatial(r.expanded, r.kernel, r.stride, static_cast<int>(r.expanded), r.act), "dw");
  if (r.se.enabled) y = squeeze_excite(y, r.se, cin, r.expanded, "se");
  y = conv(y, pointwise(r.out, kNoAct), "project");
  if (r.residual && r.stride == 1 && cin == r.out) y = node(Op::add, {x, y}, {}, "add");
  return y;
}

int Blocks::residual_basic(int x, std::int64_t out, int stride, Op act) {
  int y = conv(x, spatial(out, 3, stride, 1, act), "conv1");
  y = conv(y, spatial(out, 3, 1, 1, kNoAct), "conv2");
  int skip = x;
  if (stride != 1 || channels(x) != out) {
    ConvSpec d = pointwise(out, kNoAct);
    d.sh = d.sw = stride;
    skip = conv(x, d, "downsample");
  }
  y = node(Op::add, {skip, y}, {}, "add");
  return unary(act, y, "act");
}

int Blocks::residual_bottleneck(int x, std::int64_t width, std::int64_t out, int stride, Op act) {
  int y = conv(x, pointwise(width, act), "conv1");
  y = conv(y, spatial(width, 3, stride, 1, act), "conv2");
  y = conv(y, pointwise(out, kNoAct), "conv3");
  int skip = x;
  if (stride != 1 || channels(x) != out) {
    ConvSpec d = pointwise(out, kNoAct);
    d.sh = d.sw = stride;
    skip = conv(x, d, "downsample");
  }
  y = node(Op::add, {skip, y}, {}, "add");
  return unary(act, y, "act");
}

int Blocks::mobilevit(int x, const MobileVit& m) {
  const Shape in = g_.node(x).shape;
  const std::int64_t c = in[1];
  int y = conv(x, spatial(c, m.kernel, 1, 1, m.act), "local.conv_kxk");
  y = conv(y, pointwise(m.dim, kNoAct, false, false), "local.conv_1x1");
  Attrs u;
  u.patch_h = u.patch_w = m.patch;
  y = node(Op::unfold, {y}, u, "unfold");
  Transformer t;
  t.attn.heads = m.heads;
  t.attn.kv_heads = m.heads;
  t.attn.head_dim = static_cast<int>(m.dim / m.heads);
  t.ffn = m.ffn;
  t.ffn_act = m.act;
  for (int i = 0; i < m.depth; ++i) {
    Scope s(*this, "transformer." + std::to_string(i));
    y = transformer(y, t);
  }
  y = unary(Op::layer_norm, y, "transformer.norm");
  Attrs f = u;
  f.shape = {m.dim, in[2], in[3]};
  y = node(Op::fold, {y}, f, "fold");
  y = conv(y, pointwise(m.out, m.act), "proj");
  Attrs cat;
  cat.axis = 1;
  y = node(Op::concat, {x, y}, cat, "concat");
  return conv(y, spatial(m.out, m.kernel, 1, 1, m.act), "fusion");
}

int Blocks::patch_embed(int x, int patch, std::int64_t dim, bool class_token, bool position_embedding) {
  ConvSpec c;
  c.out = dim, c.kh = c.kw = c.sh = c.sw = patch, c.ph = c.pw = 0, c.norm = false, c.bias = true;
  int y = conv(x, c, "conv_proj");
  Attrs r;
  r.shape = {dim, -1};
  y = node(Op::reshape, {y}, r, "reshape");
  Attrs t;
  t.perm = {0, 2, 1};
  y = node(Op::transpose, {y}, t, "transpose");
  if (class_token) {
    Attrs w;
    w.shape = {1, 1, dim};
    const int cls = node(Op::weight, {}, w, "class_token");
    Attrs cat;
    cat.axis = 1;
    y = node(Op::concat, {cls, y}, cat, "concat");
  }
  if (position_embedding) {
    Attrs w;
    w.shape = {1, g_.node(y).shape[1], dim};
    const int pos = node(Op::weight, {}, w, "pos_embedding");
    y = node(Op::add, {y, pos}, {}, "add_pos");
  }
  return y;
}

int Blocks::position_embedding(int x, std::int64_t max_tokens) {
  const Shape& s = g_.node(x).shape;
  const std::int64_t tokens = s[1] + past_tokens;
  if (tokens > max_tokens)
    throw Error("node '" + path("weight") + "': " + std::to_string(tokens) +
                " tokens exceed the learned positions (max_tokens " + std::to_string(max_tokens) + ")");
  Attrs w;
  w.shape = {1, max_tokens, s.back()};
  int pos = node(Op::weight, {}, w, "weight");
  Attrs sl;
  sl.axis = 1, sl.start = past_tokens, sl.end = tokens;
  pos = node(Op::slice, {pos}, sl, "slice");
  return node(Op::add, {x, pos}, {}, "add");
}

Attrs Blocks::attention_attrs(const AttentionSpec& s, bool kv_cache) const {
  Attrs a;
  a.heads = s.heads, a.kv_heads = s.kv_heads, a.head_dim = s.head_dim;
  a.pattern = s.pattern, a.window = s.window, a.window_dilation = s.window_dilation;
  a.global_tokens = s.global_tokens, a.sink_tokens = s.sink_tokens;
  a.kv_latent_dim = s.kv_latent_dim;
  a.kv_cache = kv_cache;
  a.past_tokens = kv_cache ? past_tokens : 0;
  return a;
}

int Blocks::transformer(int x, const Transformer& t) {
  if (g_.node(x).shape.size() != 3)
    throw Error("node '" + prefix + "' (transformer block): needs a [batch, tokens, dim] input, got " +
                to_string(g_.node(x).shape));
  const std::int64_t dim = g_.node(x).shape.back();
  const AttentionSpec& s = t.attn;
  const std::int64_t qw = static_cast<std::int64_t>(s.heads) * s.head_dim;
  const std::int64_t kvw = static_cast<std::int64_t>(s.kv_heads) * s.head_dim;
  int h = t.post_norm ? x : unary(t.norm, x, "norm1");
  const int q = linear(h, qw, s.bias, "attn.q");
  int k, v;
  if (s.kv_latent_dim > 0) {  // MLA: K and V are expanded from a cached latent
    const int latent = linear(h, s.kv_latent_dim, false, "attn.kv_down");
    k = linear(latent, kvw, false, "attn.k_up");
    v = linear(latent, kvw, false, "attn.v_up");
  } else {
    k = linear(h, kvw, s.bias, "attn.k");
    v = linear(h, kvw, s.bias, "attn.v");
  }
  int y;
  if (t.global_projections) {
    // the first global_tokens queries see every key through q/k/v_global; the other queries
    // (the last positions of the sequence) see their window plus the global keys
    const std::int64_t g = s.global_tokens, tokens = g_.node(q).shape[1];
    if (g < 1 || g >= tokens)
      throw Error("node '" + path("attn") + "': global projections need 1 <= global_tokens < tokens, got " +
                  std::to_string(g) + " global of " + std::to_string(tokens) + " tokens");
    Attrs head_rows, tail_rows, cat;
    head_rows.axis = tail_rows.axis = cat.axis = 1;
    head_rows.end = g;
    tail_rows.start = g, tail_rows.end = tokens;
    const int qg = linear(node(Op::slice, {h}, head_rows, "attn.global_rows"), qw, s.bias, "attn.q_global");
    const int kg = linear(h, kvw, s.bias, "attn.k_global");
    const int vg = linear(h, kvw, s.bias, "attn.v_global");
    AttentionSpec full = s;
    full.pattern = AttnPattern::full;
    full.window = full.global_tokens = 0;
    const int yg = node(Op::attention, {qg, kg, vg}, attention_attrs(full, false), "attn.global");
    const int ql = node(Op::slice, {q}, tail_rows, "attn.local_rows");
    const int yl = node(Op::attention, {ql, k, v}, attention_attrs(s, t.kv_cache), "attn.core");
    y = node(Op::concat, {yg, yl}, cat, "attn.merge");
  } else {
    y = node(Op::attention, {q, k, v}, attention_attrs(s, t.kv_cache), "attn.core");
  }
  y = linear(y, dim, s.bias, "attn.out");
  y = node(Op::add, {x, y}, {}, "add1");
  if (t.post_norm) y = unary(t.norm, y, "norm1");
  h = t.post_norm ? y : unary(t.norm, y, "norm2");
  int f;
  if (t.swiglu) {
    const int gate = linear(h, t.ffn, s.bias, "ffn.gate");
    const int up = linear(h, t.ffn, s.bias, "ffn.up");
    f = node(Op::mul, {unary(Op::silu, gate, "ffn.act"), up}, {}, "ffn.mul");
  } else {
    f = unary(t.ffn_act, linear(h, t.ffn, true, "ffn.fc1"), "ffn.act");
  }
  f = linear(f, dim, t.swiglu ? s.bias : true, t.swiglu ? "ffn.down" : "ffn.fc2");
  y = node(Op::add, {y, f}, {}, "add2");
  return t.post_norm ? unary(t.norm, y, "norm2") : y;
}

}  // namespace hwnas::graph
