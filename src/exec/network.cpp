#include "hwnas/exec/network.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "exec/kernels.hpp"
#include "hwnas/error.hpp"

extern "C" void openblas_set_num_threads(int);

namespace hwnas::exec {

using graph::Node;
using graph::Op;
using graph::Shape;
using kernels::i64;

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

graph::Graph with_batch(const graph::Graph& g, std::int64_t batch) {
  graph::Graph out;
  out.name = g.name;
  for (const Node& n : g.nodes()) {
    Node c = n;
    if (c.op == Op::input) c.attrs.shape.at(0) = batch;
    out.add(std::move(c));
  }
  return out;
}

namespace {

constexpr float kNormEps = 1e-5f;
constexpr float kBnMomentum = kBatchNormMomentum;
constexpr i64 kMaxChunks = 16;       // partitions of the batch (a function of the batch only)
constexpr i64 kElemChunk = 1 << 15;  // partition of elementwise work
// Samples per lane of a depth-first evaluation. Reference net B, batch 128, 2 threads, medians
// of 3 (4 December): 9.5k to 10.2k images/s for lanes of 1 to 8 against 7.4k node by node;
// A: about 22k either way.
constexpr i64 kLane = 4;

[[noreturn]] void unsupported(const Node& n, const std::string& why) {
  throw Error("node '" + n.name + "' (" + std::string(graph::op_name(n.op)) + "): the executor cannot run it: " + why);
}

// Set while a thread runs a lane of a depth-first forward pass: its kernels run serially.
thread_local bool t_serial = false;

template <class F>
void parallel(i64 n, F&& f) {
  if (n <= 0) return;
  if (n == 1 || t_serial) {
    for (i64 i = 0; i < n; ++i) f(i);
    return;
  }
  tbb::parallel_for(i64{0}, n, [&](i64 i) { f(i); });
}

// f(begin, end) over [0, n) in fixed chunks of kElemChunk
template <class F>
void parallel_elems(i64 n, F&& f) {
  parallel((n + kElemChunk - 1) / kElemChunk, [&](i64 c) { f(c * kElemChunk, std::min(n, (c + 1) * kElemChunk)); });
}

// Key j visible to the query at position p under the node's pattern (README "Attention
// fields"; the same rules as the cost model's pair counts).
bool visible(const graph::Attrs& a, i64 p, i64 j) {
  using graph::AttnPattern;
  switch (a.pattern) {
    case AttnPattern::full: return true;
    case AttnPattern::causal: return j <= p;
    case AttnPattern::sliding_window:
      return j <= p && (j > p - a.window || j < a.sink_tokens);
    case AttnPattern::local_window:
    case AttnPattern::dilated_window: {
      if (p < a.global_tokens || j < a.global_tokens) return true;
      const i64 half = a.window / 2, diff = j > p ? j - p : p - j;
      if (a.pattern == AttnPattern::local_window) return diff <= half;
      return diff % a.window_dilation == 0 && diff / a.window_dilation <= half;
    }
    default: return false;
  }
}

struct Plan {
  float* value = nullptr;
  float* grad = nullptr;
  bool owns_grad = false;
  Tensor *w = nullptr, *b = nullptr, *rm = nullptr, *rv = nullptr;
  std::vector<float> aux, aux2;    // saved statistics / attention probabilities
  std::vector<std::int32_t> argmax;
  // conv
  kernels::ConvGeom geom{};
  bool depthwise = false, pointwise = false;
  bool direct = false;        // forward through kernels::conv_direct (its weights in `packed`)
                              // or kernels::depthwise_direct
  std::vector<float> packed;
  // eval fusion: a conv writes into `fused_out` and applies `fused_act`; the fused batch
  // norm / activation nodes are skipped (`fused_away`)
  int fused_bn = -1;
  float* fused_out = nullptr;
  Op fused_act = Op::count_;
  bool fused_away = false;
  // batch norm + relu/relu6 (both modes): the norm writes the activation's output, clamped to
  // [lo, hi], and its backward reads the activation's gradient, masked where the output is
  // clamped; the activation node is skipped (`in_norm`)
  int act = -1;
  float lo = 0.0f, hi = 0.0f;
  bool in_norm = false;
  // training: a conv followed only by a batch norm sums each output plane while it is in cache
  // (`stats_for`: that norm, into its `plane_sums` [batch][channels][2])
  int stats_for = -1;
  std::vector<float> plane_sums;
  std::vector<float> fw, fb;
  // broadcast / data movement
  std::vector<kernels::Strided> moves;  // one per input (or one)
};

}  // namespace

struct Network::Impl {
  const graph::Graph& g;
  Params& p;
  std::vector<Plan> plan;
  std::vector<std::vector<float>> storage;
  std::vector<std::vector<float>> col, partial;  // per batch chunk
  i64 col_chunks = 1;  // the most chunks a conv splits its batch into
  int in_node = -1, out_node = -1;
  Passes passes;
  // The node whose gradient storage node i's gradient is (views share their input's; -1 for a
  // parameter's or none), and during backward whether that storage holds nothing of this pass
  // yet: its first writer overwrites it instead of accumulating into a zeroed buffer.
  std::vector<int> grad_owner;
  std::vector<char> unwritten;
  // Depth-first evaluation (forward_only, eval mode, per-sample graphs): the batch runs in
  // lanes of `lane` samples, each through every node in one thread, on that thread's own
  // Network for `lane_graph` (`lane` 0: node by node over the whole batch).
  i64 lane = 0;
  graph::Graph lane_graph;
  tbb::enumerable_thread_specific<std::unique_ptr<Impl>> lanes;

  Impl(const graph::Graph& graph, Params& params, Passes ps) : g(graph), p(params), passes(ps) {
    build();
  }

  const Shape& shape(int i) const { return g.node(i).shape; }
  // a batch of n samples splits into chunks(n) parts: a function of n only
  static i64 chunks_of(i64 n) { return std::min(n, kMaxChunks); }
  static i64 chunk_begin(i64 n, i64 c) { return c * n / chunks_of(n); }

  float* alloc(i64 n) {
    storage.emplace_back(static_cast<std::size_t>(std::max<i64>(n, 1)), 0.0f);
    return storage.back().data();
  }

  void build() {
    use_single_threaded_blas();
    const int n = g.size();
    plan.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n && in_node < 0; ++i)
      if (g.node(i).op == Op::input) in_node = i;
    const auto outs = g.outputs();
    if (outs.empty()) throw Error("graph '" + g.name + "': no output node");
    out_node = outs.back();
    std::vector<std::vector<int>> readers(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      for (int in : g.node(i).inputs) readers[in].push_back(i);
    std::vector<bool> needs(static_cast<std::size_t>(n), false);
    grad_owner.assign(static_cast<std::size_t>(n), -1);
    unwritten.assign(static_cast<std::size_t>(n), 0);
    i64 col_need = 1, partial_need = 1;
    col_chunks = 1;
    for (int i = 0; i < n; ++i) {
      const Node& nd = g.node(i);
      Plan& pl = plan[i];
      const i64 count = graph::numel(nd.shape);
      for (int in : nd.inputs) needs[i] = needs[i] || needs[in];
      pl.w = p.find(i, nd.op == Op::weight ? "value" : "weight");
      pl.b = p.find(i, "bias");
      pl.rm = p.find(i, "running_mean");
      pl.rv = p.find(i, "running_var");
      if (pl.w || pl.b || (passes == Passes::train_input_gradients && nd.op == Op::input)) needs[i] = true;
      if (nd.op == Op::zero || passes == Passes::forward_only) needs[i] = false;
      prepare(i, nd, col_need, partial_need);
      if (graph::is_view(nd.op)) {
        pl.value = plan[nd.inputs[0]].value;
        pl.grad = plan[nd.inputs[0]].grad;
        grad_owner[i] = grad_owner[nd.inputs[0]];
      } else if (nd.op == Op::weight) {
        pl.value = pl.w->value.data();
        pl.grad = pl.w->grad.data();
      } else if (passes != Passes::forward_only) {
        pl.value = alloc(count);
        if (needs[i]) {
          pl.grad = alloc(count);
          pl.owns_grad = true;
          grad_owner[i] = i;
        }
      }
    }
    if (passes == Passes::forward_only) share_values(readers);
    col.assign(static_cast<std::size_t>(col_chunks), std::vector<float>(static_cast<std::size_t>(col_need)));
    if (passes != Passes::forward_only)
      partial.assign(static_cast<std::size_t>(col_chunks), std::vector<float>(static_cast<std::size_t>(partial_need)));
    plan_fusion(readers);
    if (passes == Passes::forward_only && in_node >= 0 && per_sample()) {
      lane = kLane;
      if (shape(in_node)[0] > lane)
        lane_graph = with_batch(g, lane);
      else
        lane = 0;
    }
  }

  // True when each sample's outputs depend on that sample's input only (in eval mode): one
  // input, every other value's leading dimension the batch, no op that mixes or moves it, and
  // weight nodes broadcast over it.
  bool per_sample() const {
    const i64 b = shape(in_node)[0];
    for (int i = 0; i < g.size(); ++i) {
      const Node& nd = g.node(i);
      if (nd.op == Op::weight) continue;
      if ((nd.op == Op::input && i != in_node) || nd.shape.empty() || nd.shape[0] != b) return false;
      const int rank = static_cast<int>(nd.shape.size());
      const int axis = nd.attrs.axis < 0 ? nd.attrs.axis + rank : nd.attrs.axis;
      if (nd.op == Op::unfold || nd.op == Op::fold || (nd.op == Op::transpose && nd.attrs.perm.at(0) != 0) ||
          ((nd.op == Op::concat || nd.op == Op::slice) && axis == 0))
        return false;
      const bool broadcasts = nd.op == Op::add || nd.op == Op::mul || nd.op == Op::concat || nd.op == Op::matmul;
      for (int in : nd.inputs) {
        const Shape& s = shape(in);
        const bool lower = static_cast<int>(s.size()) < rank;
        if (g.node(in).op == Op::weight ? !lower && s[0] != 1 : broadcasts && lower) return false;
      }
    }
    return true;
  }

  // forward_only: the nodes' values live in one block, where two values share storage only
  // when no forward pass needs both at once. A value is in use from its writer (for a batch
  // norm or activation, from the conv or norm it may be fused into, which writes it) to its
  // last reader (through views); the input nodes' and the outputs' for the whole pass.
  void share_values(const std::vector<std::vector<int>>& readers) {
    const int n = g.size();
    std::vector<int> root(static_cast<std::size_t>(n), -1), first(root), last(root);
    for (int i = 0; i < n; ++i) {
      const Node& nd = g.node(i);
      if (nd.op == Op::weight) continue;
      root[i] = graph::is_view(nd.op) ? root[nd.inputs[0]] : i;
      if (root[i] != i) continue;
      int s = i;
      while ((g.node(s).op == Op::batch_norm || graph::is_activation(g.node(s).op)) && readers[g.node(s).inputs[0]].size() == 1)
        s = g.node(s).inputs[0];
      first[i] = nd.op == Op::input ? 0 : s;
      last[i] = nd.op == Op::input ? n : i;
    }
    for (int i = 0; i < n; ++i)
      for (int in : g.node(i).inputs)
        if (root[in] >= 0) last[root[in]] = std::max(last[root[in]], i);
    for (int o : g.outputs())
      if (root[o] >= 0) last[root[o]] = n;
    // largest first, each at the lowest offset (in 16-float steps) clear of the placed values
    // in use at the same time
    std::vector<int> order;
    for (int i = 0; i < n; ++i)
      if (root[i] == i) order.push_back(i);
    auto size = [&](int i) { return (std::max<i64>(graph::numel(shape(i)), 1) + 15) / 16 * 16; };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return size(a) > size(b); });
    std::vector<i64> offset(static_cast<std::size_t>(n), 0);
    std::vector<int> placed;
    i64 total = 0;
    for (int i : order) {
      std::vector<std::pair<i64, i64>> busy;
      for (int j : placed)
        if (first[j] <= last[i] && first[i] <= last[j]) busy.emplace_back(offset[j], offset[j] + size(j));
      std::sort(busy.begin(), busy.end());
      i64 at = 0;
      for (const auto& [b, e] : busy) {
        if (at + size(i) <= b) break;
        at = std::max(at, e);
      }
      offset[i] = at;
      total = std::max(total, at + size(i));
      placed.push_back(i);
    }
    float* base = alloc(total);
    for (int i = 0; i < n; ++i)
      if (root[i] >= 0) plan[i].value = base + offset[root[i]];
  }

  void plan_fusion(const std::vector<std::vector<int>>& readers) {
    for (int i = 0; i < g.size(); ++i) {
      if (g.node(i).op != Op::batch_norm || g.node(i).shape.size() != 4) continue;
      Plan& pl = plan[i];
      const int x = g.node(i).inputs[0];
      if (g.node(x).op == Op::conv2d && readers[x].size() == 1 && x != out_node) {
        plan[x].stats_for = i;
        pl.plane_sums.assign(static_cast<std::size_t>(2 * shape(i)[0] * shape(i)[1]), 0.0f);
      }
      if (readers[i].size() != 1 || i == out_node) continue;
      const Op a = g.node(readers[i][0]).op;
      if (a != Op::relu && a != Op::relu6) continue;
      pl.act = readers[i][0];
      pl.lo = 0.0f;
      pl.hi = a == Op::relu6 ? 6.0f : std::numeric_limits<float>::infinity();
      plan[pl.act].in_norm = true;
    }
    for (int i = 0; i < g.size(); ++i) {
      if (g.node(i).op != Op::conv2d || readers[i].size() != 1 || i == out_node) continue;
      const int bn = readers[i][0];
      if (g.node(bn).op != Op::batch_norm) continue;
      Plan& pl = plan[i];
      pl.fused_bn = bn;
      pl.fused_out = plan[bn].value;
      plan[bn].fused_away = true;
      const i64 cout = shape(i)[1];
      pl.fw.resize(pl.w->value.size());
      pl.fb.resize(static_cast<std::size_t>(cout));
      if (readers[bn].size() == 1 && bn != out_node && graph::is_activation(g.node(readers[bn][0]).op)) {
        const int act = readers[bn][0];
        pl.fused_act = g.node(act).op;
        pl.fused_out = plan[act].value;
        plan[act].fused_away = true;
      }
    }
  }

  // per-op checks and scratch sizes
  void prepare(int i, const Node& nd, i64& col_need, i64& partial_need) {
    Plan& pl = plan[i];
    const graph::Attrs& a = nd.attrs;
    auto in = [&](int k) -> const Shape& { return shape(nd.inputs[k]); };
    if (nd.shared_params) unsupported(nd, "weights shared with another node are not supported");
    switch (nd.op) {
      case Op::input:
      case Op::weight:
      case Op::reshape:
      case Op::flatten:
      case Op::view:
      case Op::zero:
      case Op::batch_norm:
      case Op::layer_norm:
      case Op::rms_norm:
      case Op::softmax:
      case Op::global_avg_pool:
      case Op::linear:
        break;
      case Op::relu: case Op::relu6: case Op::hardswish: case Op::hardsigmoid:
      case Op::sigmoid: case Op::silu: case Op::gelu:
        break;
      case Op::conv2d: {
        const Shape& x = in(0);
        auto& gm = pl.geom;
        gm.c = x[1] / a.groups, gm.h = x[2], gm.w = x[3];
        gm.kh = a.kh, gm.kw = a.kw, gm.sh = a.sh, gm.sw = a.sw, gm.ph = a.ph, gm.pw = a.pw, gm.dh = a.dh, gm.dw = a.dw;
        gm.ho = nd.shape[2], gm.wo = nd.shape[3];
        pl.depthwise = a.groups == x[1] && a.out == x[1];
        pl.pointwise = a.kh == 1 && a.kw == 1 && a.sh == 1 && a.sw == 1 && a.ph == 0 && a.pw == 0;
        col_chunks = std::max(col_chunks, chunks_of(nd.shape[0]));
        if (pl.depthwise) col_need = std::max(col_need, kernels::depthwise_scratch(gm));
        if (!pl.depthwise && !pl.pointwise) col_need = std::max(col_need, kernels::im2col_scratch(gm));
        // The direct kernels' forward (AVX-512): depthwise convs with width stride 1 or 2, and the
        // groups-1 ones whose outputs each sum enough taps to amortise the scatter (A's 1-channel
        // stem, 9 taps: 14.5 us per image direct against 10.5 through im2col).
        pl.direct = kernels::direct_conv_available() && (a.sw == 1 || a.sw == 2) &&
                    (pl.depthwise || (a.groups == 1 && !pl.pointwise && gm.c * a.kh * a.kw >= 32));
        if (pl.direct && pl.depthwise) col_need = std::max(col_need, kernels::depthwise_direct_scratch(gm));
        if (pl.direct && !pl.depthwise) {
          col_need = std::max(col_need, kernels::direct_conv_scratch(gm));
          pl.packed.resize(static_cast<std::size_t>(kernels::direct_weights_size(gm, a.out)));
        }
        partial_need = std::max<i64>(partial_need, static_cast<i64>(pl.w->value.size()) + a.out);
        break;
      }
      case Op::matmul:
        break;
      case Op::attention: {
        if (a.past_tokens > 0 || a.kv_cache) unsupported(nd, "attention with a KV cache (decode phase) is not supported");
        const i64 b = in(0)[0], tq = in(0)[1], tk = in(1)[1];
        pl.aux.assign(static_cast<std::size_t>(b * a.heads * tq * tk), 0.0f);
        pl.aux2.assign(static_cast<std::size_t>(b * tq * tk), 0.0f);
        break;
      }
      case Op::add:
      case Op::mul:
        for (int k = 0; k < 2; ++k) pl.moves.push_back(broadcast_to(in(k), nd.shape, 0));
        break;
      case Op::concat: {
        const int rank = static_cast<int>(nd.shape.size());
        const int axis = a.axis < 0 ? a.axis + rank : a.axis;
        const auto ost = kernels::contiguous_strides(nd.shape);
        i64 off = 0;
        for (std::size_t k = 0; k < nd.inputs.size(); ++k) {
          Shape part = nd.shape;
          part[axis] = in(static_cast<int>(k))[axis];
          kernels::Strided s = broadcast_to(in(static_cast<int>(k)), part, 0);
          s.dst = ost;
          s.src.insert(s.src.begin(), 0);  // base offsets kept in front
          s.dst.insert(s.dst.begin(), off * ost[axis]);
          pl.moves.push_back(std::move(s));
          off += part[axis];
        }
        break;
      }
      case Op::avg_pool:
        break;
      case Op::max_pool:
        pl.argmax.assign(static_cast<std::size_t>(graph::numel(nd.shape)), 0);
        break;
      case Op::transpose: {
        kernels::Strided s;
        s.shape = nd.shape;
        const auto ist = kernels::contiguous_strides(in(0));
        for (int d : a.perm) s.src.push_back(ist[d]);
        s.dst = kernels::contiguous_strides(nd.shape);
        pl.moves.push_back(std::move(s));
        break;
      }
      case Op::slice: {
        const int rank = static_cast<int>(nd.shape.size());
        const int axis = a.axis < 0 ? a.axis + rank : a.axis;
        const i64 len = in(0)[axis];
        const i64 start = std::clamp(a.start < 0 ? a.start + len : a.start, i64{0}, len);
        kernels::Strided s;
        s.shape = nd.shape;
        s.src = kernels::contiguous_strides(in(0));
        s.dst = kernels::contiguous_strides(nd.shape);
        const i64 base = start * s.src[axis];
        s.src[axis] *= a.step;  // every step-th element
        s.src.insert(s.src.begin(), base);
        s.dst.insert(s.dst.begin(), 0);
        pl.moves.push_back(std::move(s));
        break;
      }
      case Op::unfold:
      case Op::fold: {
        // image [B, C, H, W] seen as [B, C, Hn, ph, Wn, pw]; patches [B*ph*pw, Hn*Wn, C] as
        // [B, ph, pw, Hn, Wn, C]
        const Shape& img = nd.op == Op::unfold ? in(0) : nd.shape;
        const i64 b = img[0], c = img[1], h = img[2], w = img[3], ph = a.patch_h, pw = a.patch_w;
        kernels::Strided s;
        s.shape = {b, ph, pw, h / ph, w / pw, c};
        std::vector<i64> image = {c * h * w, w, 1, ph * w, pw, h * w};
        std::vector<i64> patches = kernels::contiguous_strides(s.shape);
        s.src = nd.op == Op::unfold ? image : patches;
        s.dst = nd.op == Op::unfold ? patches : image;
        s.src.insert(s.src.begin(), 0);
        s.dst.insert(s.dst.begin(), 0);
        pl.moves.push_back(std::move(s));
        break;
      }
      case Op::embedding:
        unsupported(nd, "token embeddings are not supported (the executor trains image models)");
      default:
        unsupported(nd, "no kernel for this op");
    }
    if (nd.op == Op::transpose || nd.op == Op::add || nd.op == Op::mul) {
      for (auto& s : pl.moves) {
        s.src.insert(s.src.begin(), 0);
        s.dst.insert(s.dst.begin(), 0);
      }
    }
  }

  // Strides reading `in` (numpy-broadcast) as a tensor of shape `out`; contiguous dst.
  static kernels::Strided broadcast_to(const Shape& in, const Shape& out, int) {
    kernels::Strided s;
    s.shape = out;
    const auto ist = kernels::contiguous_strides(in);
    s.src.assign(out.size(), 0);
    const std::size_t lead = out.size() - in.size();
    for (std::size_t d = 0; d < in.size(); ++d) s.src[lead + d] = in[d] == 1 ? 0 : ist[d];
    s.dst = kernels::contiguous_strides(out);
    return s;
  }

  // A move's strides carry the base offsets in front (src, dst).
  static kernels::Strided body(const kernels::Strided& s, i64& src_off, i64& dst_off) {
    kernels::Strided b;
    b.shape = s.shape;
    b.src.assign(s.src.begin() + 1, s.src.end());
    b.dst.assign(s.dst.begin() + 1, s.dst.end());
    src_off = s.src[0];
    dst_off = s.dst[0];
    return b;
  }

  static bool has_broadcast(const kernels::Strided& s) {
    return std::any_of(s.src.begin() + 1, s.src.end(), [](i64 v) { return v == 0; }) &&
           std::any_of(s.shape.begin(), s.shape.end(), [](i64 v) { return v > 1; });
  }

  void move(const kernels::Strided& s, const float* src, float* dst, bool accumulate, bool parallel_ok) {
    i64 so, dofs;
    const kernels::Strided b = body(s, so, dofs);
    const i64 rows = b.rows();
    if (!parallel_ok || rows < 64) {
      kernels::copy_rows(b, src + so, dst + dofs, accumulate, 0, rows);
      return;
    }
    const i64 per = 64;
    parallel((rows + per - 1) / per, [&](i64 c) {
      kernels::copy_rows(b, src + so, dst + dofs, accumulate, c * per, std::min(rows, (c + 1) * per));
    });
  }

  // ---------------------------------------------------------------- forward
  void forward(bool training) {
    if (!training && lane > 0) return forward_depth_first();
    for (int i = 0; i < g.size(); ++i) {
      const Node& nd = g.node(i);
      Plan& pl = plan[i];
      if ((!training && pl.fused_away) || pl.in_norm) continue;
      switch (nd.op) {
        case Op::input:
        case Op::weight:
        case Op::reshape:
        case Op::flatten:
        case Op::view:
          break;
        case Op::conv2d:
          conv_forward(i, training);
          break;
        case Op::linear:
          linear_forward(i);
          break;
        case Op::matmul:
          matmul(i, false);
          break;
        case Op::attention:
          attention_forward(i);
          break;
        case Op::batch_norm:
          bn_forward(i, training);
          break;
        case Op::layer_norm:
        case Op::rms_norm:
          norm_forward(i);
          break;
        case Op::softmax:
          softmax_forward(i);
          break;
        case Op::relu: case Op::relu6: case Op::hardswish: case Op::hardsigmoid:
        case Op::sigmoid: case Op::silu: case Op::gelu: {
          const float* x = plan[nd.inputs[0]].value;
          parallel_elems(graph::numel(nd.shape), [&](i64 b, i64 e) { kernels::activation(nd.op, x + b, pl.value + b, e - b); });
          break;
        }
        case Op::add:
        case Op::mul:
          binary_forward(i);
          break;
        case Op::zero:
          std::fill_n(pl.value, graph::numel(nd.shape), 0.0f);
          break;
        case Op::concat:
          for (std::size_t k = 0; k < nd.inputs.size(); ++k) move(pl.moves[k], plan[nd.inputs[k]].value, pl.value, false, true);
          break;
        case Op::transpose:
        case Op::slice:
        case Op::unfold:
        case Op::fold:
          move(pl.moves[0], plan[nd.inputs[0]].value, pl.value, false, true);
          break;
        case Op::avg_pool:
        case Op::max_pool:
        case Op::global_avg_pool:
          pool(i, false);
          break;
        default:
          unsupported(nd, "no kernel for this op");
      }
    }
  }

  // Each lane's samples through every node in one thread (its kernels serial), the values in
  // that thread's cache; the outputs gathered into this Network's. A short last lane runs
  // with stale samples behind its own, which no output row of its own depends on.
  void forward_depth_first() {
    const i64 b = shape(in_node)[0], in_per = graph::numel(shape(in_node)) / b;
    const auto outs = g.outputs();
    parallel((b + lane - 1) / lane, [&](i64 c) {
      std::unique_ptr<Impl>& l = lanes.local();
      if (!l) l = std::make_unique<Impl>(lane_graph, p, Passes::forward_only);
      const i64 s = c * lane, count = std::min(lane, b - s);
      std::copy_n(plan[in_node].value + s * in_per, count * in_per, l->plan[in_node].value);
      t_serial = true;
      l->forward(false);
      t_serial = false;
      for (int o : outs) {
        const i64 per = graph::numel(shape(o)) / b;
        std::copy_n(l->plan[o].value, count * per, plan[o].value + s * per);
      }
    });
  }

  // ---------------------------------------------------------------- backward
  // Before a node's backward writes input x's gradient: true when it is the first writer of
  // this pass and so may overwrite the buffer (every writer writes all of it).
  bool first_write(int x) {
    const int o = grad_owner[x];
    if (o < 0 || !unwritten[o]) return false;
    unwritten[o] = 0;
    return true;
  }

  // x's gradient for a writer that only accumulates: zeroed by its first writer.
  float* accumulate_grad(int x) {
    float* d = plan[x].grad;
    if (d && first_write(x)) parallel_elems(graph::numel(shape(grad_owner[x])), [&](i64 b, i64 e) { std::fill(d + b, d + e, 0.0f); });
    return d;
  }

  void backward() {
    // every node gradient but the output's (set by the loss or the caller) starts unwritten
    for (int i = 0; i < g.size(); ++i) unwritten[i] = plan[i].owns_grad && plan[i].act < 0;  // a fused norm's own is unused
    if (grad_owner[out_node] >= 0) unwritten[grad_owner[out_node]] = 0;
    for (int i = g.size() - 1; i >= 0; --i) {
      const Node& nd = g.node(i);
      Plan& pl = plan[i];
      if (!pl.grad || pl.in_norm) continue;
      const int out = pl.act >= 0 ? pl.act : i;  // a norm fused with its activation reads that one's gradient
      if (grad_owner[out] >= 0 && unwritten[grad_owner[out]]) continue;  // nothing reached it: a zero gradient
      switch (nd.op) {
        case Op::input:
        case Op::weight:
        case Op::reshape:
        case Op::flatten:
        case Op::view:
        case Op::zero:
          break;
        case Op::conv2d:
          conv_backward(i);
          break;
        case Op::linear:
          linear_backward(i);
          break;
        case Op::matmul:
          matmul(i, true);
          break;
        case Op::attention:
          attention_backward(i);
          break;
        case Op::batch_norm:
          bn_backward(i);
          break;
        case Op::layer_norm:
        case Op::rms_norm:
          norm_backward(i);
          break;
        case Op::softmax:
          softmax_backward(i);
          break;
        case Op::relu: case Op::relu6: case Op::hardswish: case Op::hardsigmoid:
        case Op::sigmoid: case Op::silu: case Op::gelu: {
          const Plan& x = plan[nd.inputs[0]];
          if (!x.grad) break;
          const bool overwrite = first_write(nd.inputs[0]);
          parallel_elems(graph::numel(nd.shape), [&](i64 b, i64 e) {
            kernels::activation_backward(nd.op, x.value + b, pl.grad + b, x.grad + b, e - b, overwrite);
          });
          break;
        }
        case Op::add:
        case Op::mul:
          binary_backward(i);
          break;
        case Op::concat:
          for (std::size_t k = 0; k < nd.inputs.size(); ++k)
            if (float* dx = accumulate_grad(nd.inputs[k])) move_back(pl.moves[k], pl.grad, dx);
          break;
        case Op::transpose:
        case Op::slice:
        case Op::unfold:
        case Op::fold:
          if (float* dx = accumulate_grad(nd.inputs[0])) move_back(pl.moves[0], pl.grad, dx);
          break;
        case Op::avg_pool:
        case Op::max_pool:
        case Op::global_avg_pool:
          if (plan[nd.inputs[0]].grad) pool(i, true);
          break;
        default:
          unsupported(nd, "no kernel for this op");
      }
    }
    for (int i = 0; i < g.size(); ++i)
      if (unwritten[i]) std::fill_n(plan[i].grad, graph::numel(shape(i)), 0.0f);
  }

  // dx (+)= the gradient of a forward move, read back through the same strides
  void move_back(const kernels::Strided& s, const float* dy, float* dx) {
    kernels::Strided r;
    r.shape = s.shape;
    r.src = s.dst;
    r.dst = s.src;
    move(r, dy, dx, true, !has_broadcast(s));
  }

  // ---------------------------------------------------------------- conv
  void fold_bn(int i) {
    Plan& pl = plan[i];
    const Plan& bn = plan[pl.fused_bn];
    const i64 cout = shape(i)[1];
    const i64 per = static_cast<i64>(pl.w->value.size()) / cout;
    for (i64 c = 0; c < cout; ++c) {
      const float s = bn.w->value[c] / std::sqrt(bn.rv->value[c] + kNormEps);
      for (i64 k = 0; k < per; ++k) pl.fw[c * per + k] = pl.w->value[c * per + k] * s;
      const float b0 = pl.b ? pl.b->value[c] : 0.0f;
      pl.fb[c] = (b0 - bn.rm->value[c]) * s + bn.b->value[c];
    }
  }

  // y = act(y + bias) in one pass (act count_: none)
  static void bias_act(float* y, i64 n, float bias, Op act) {
    if (act == Op::relu || act == Op::relu6 || act == Op::count_) {
      const float inf = std::numeric_limits<float>::infinity();
      kernels::affine(y, y, n, 1.0f, bias, act == Op::count_ ? -inf : 0.0f, act == Op::relu6 ? 6.0f : inf);
      return;
    }
    if (bias != 0.0f)
      for (i64 k = 0; k < n; ++k) y[k] += bias;
    kernels::activation(act, y, y, n);
  }

  void conv_forward(int i, bool training) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const bool fused = !training && pl.fused_bn >= 0;
    if (fused) fold_bn(i);
    const float* w = fused ? pl.fw.data() : pl.w->value.data();
    const float* bias = fused ? pl.fb.data() : (pl.b ? pl.b->value.data() : nullptr);
    float* y = fused ? pl.fused_out : pl.value;
    const Op act = fused ? pl.fused_act : Op::count_;
    const float* x = plan[nd.inputs[0]].value;
    const auto& gm = pl.geom;
    const i64 groups = nd.attrs.groups, cout = nd.attrs.out, cog = cout / groups;
    const i64 cin = shape(nd.inputs[0])[1], in_plane = gm.h * gm.w, out_plane = gm.ho * gm.wo;
    const i64 kdim = gm.c * gm.kh * gm.kw, nb = nd.shape[0];
    // the direct kernel adds the bias and applies relu / relu6 as a clamp
    const float inf = std::numeric_limits<float>::infinity();
    const bool clamps = act == Op::count_ || act == Op::relu || act == Op::relu6;
    const float lo = act == Op::relu || act == Op::relu6 ? 0.0f : -inf, hi = act == Op::relu6 ? 6.0f : inf;
    if (pl.direct && !pl.depthwise) kernels::pack_direct_weights(gm, cout, w, pl.packed.data());
    parallel(chunks_of(nb), [&](i64 c) {
      float* colbuf = col[c].data();
      for (i64 n = chunk_begin(nb, c); n < chunk_begin(nb, c + 1); ++n) {
        const float* xn = x + n * cin * in_plane;
        float* yn = y + n * cout * out_plane;
        if (pl.depthwise && pl.direct) {
          for (i64 ch = 0; ch < cout; ++ch)
            kernels::depthwise_direct(gm, xn + ch * in_plane, w + ch * gm.kh * gm.kw, bias ? bias[ch] : 0.0f, lo, hi,
                                      yn + ch * out_plane, colbuf);
        } else if (pl.depthwise) {
          for (i64 ch = 0; ch < cout; ++ch)
            kernels::depthwise_plane(gm, xn + ch * in_plane, w + ch * gm.kh * gm.kw, bias ? bias[ch] : 0.0f, yn + ch * out_plane, colbuf);
        } else if (pl.direct) {
          kernels::conv_direct(gm, cout, xn, pl.packed.data(), bias, lo, hi, yn, colbuf);
        } else {
          for (i64 gi = 0; gi < groups; ++gi) {
            const float* xg = xn + gi * gm.c * in_plane;
            const float* src = xg;
            if (!pl.pointwise) {
              kernels::im2col(gm, xg, colbuf);
              src = colbuf;
            }
            float* yg = yn + gi * cog * out_plane;
            kernels::gemm(false, false, cog, out_plane, kdim, 1.0f, w + gi * cog * kdim, kdim, src, out_plane, 0.0f, yg, out_plane);
          }
        }
        const bool add_bias = bias && !pl.depthwise && !pl.direct;  // those kernels add it
        if (add_bias || (act != Op::count_ && !(pl.direct && clamps)))
          for (i64 ch = 0; ch < cout; ++ch) bias_act(yn + ch * out_plane, out_plane, add_bias ? bias[ch] : 0.0f, act);
        if (training && pl.stats_for >= 0) {
          float* st = plan[pl.stats_for].plane_sums.data() + 2 * n * cout;
          for (i64 ch = 0; ch < cout; ++ch) kernels::sums(yn + ch * out_plane, out_plane, st[2 * ch], st[2 * ch + 1]);
        }
      }
    });
  }

  void conv_backward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const Plan& xp = plan[nd.inputs[0]];
    const auto& gm = pl.geom;
    const i64 groups = nd.attrs.groups, cout = nd.attrs.out, cog = cout / groups;
    const i64 cin = shape(nd.inputs[0])[1], in_plane = gm.h * gm.w, out_plane = gm.ho * gm.wo;
    const i64 kdim = gm.c * gm.kh * gm.kw;
    const i64 wsize = static_cast<i64>(pl.w->value.size());
    const float* w = pl.w->value.data();
    const i64 nb = nd.shape[0];
    const bool overwrite = xp.grad && first_write(nd.inputs[0]);
    parallel(chunks_of(nb), [&](i64 c) {
      float* colbuf = col[c].data();
      float* dw = partial[c].data();
      float* db = dw + wsize;
      std::fill_n(dw, wsize + (pl.b ? cout : 0), 0.0f);
      for (i64 n = chunk_begin(nb, c); n < chunk_begin(nb, c + 1); ++n) {
        const float* xn = xp.value + n * cin * in_plane;
        float* dxn = xp.grad ? xp.grad + n * cin * in_plane : nullptr;
        const float* dyn = pl.grad + n * cout * out_plane;
        if (pl.b)
          for (i64 o = 0; o < cout; ++o) db[o] += kernels::sum(dyn + o * out_plane, out_plane);
        if (pl.depthwise) {
          for (i64 ch = 0; ch < cout; ++ch)
            kernels::depthwise_plane_backward(gm, xn + ch * in_plane, w + ch * gm.kh * gm.kw, dyn + ch * out_plane,
                                              dxn ? dxn + ch * in_plane : nullptr, dw + ch * gm.kh * gm.kw, overwrite, colbuf);
          continue;
        }
        for (i64 gi = 0; gi < groups; ++gi) {
          const float* xg = xn + gi * gm.c * in_plane;
          const float* dyg = dyn + gi * cog * out_plane;
          const float* src = xg;
          if (!pl.pointwise) {
            kernels::im2col(gm, xg, colbuf);
            src = colbuf;
          }
          kernels::gemm(false, true, cog, kdim, out_plane, 1.0f, dyg, out_plane, src, out_plane, 1.0f, dw + gi * cog * kdim, kdim);
          if (!dxn) continue;
          float* dxg = dxn + gi * gm.c * in_plane;
          if (pl.pointwise) {
            kernels::gemm(true, false, kdim, out_plane, cog, 1.0f, w + gi * cog * kdim, kdim, dyg, out_plane, overwrite ? 0.0f : 1.0f,
                          dxg, out_plane);
          } else {
            kernels::gemm(true, false, kdim, out_plane, cog, 1.0f, w + gi * cog * kdim, kdim, dyg, out_plane, 0.0f, colbuf, out_plane);
            kernels::col2im(gm, colbuf, dxg, overwrite);
          }
        }
      }
    });
    reduce_partials(pl.w->grad.data(), 0, wsize, chunks_of(nb));
    if (pl.b) reduce_partials(pl.b->grad.data(), wsize, cout, chunks_of(nb));
  }

  // grad[e] += sum over chunks, in chunk order, of partial[c][offset + e]
  void reduce_partials(float* grad, i64 offset, i64 n, i64 chunks) {
    parallel_elems(n, [&](i64 b, i64 e) {
      for (i64 c = 0; c < chunks; ++c) {
        const float* src = partial[c].data() + offset;
        for (i64 k = b; k < e; ++k) grad[k] += src[k];
      }
    });
  }

  // ---------------------------------------------------------------- linear
  void linear_forward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const i64 out = nd.attrs.out, in = shape(nd.inputs[0]).back(), m = graph::numel(nd.shape) / out;
    const float* x = plan[nd.inputs[0]].value;
    const i64 per = std::max<i64>(16, (m + kMaxChunks - 1) / kMaxChunks);
    parallel((m + per - 1) / per, [&](i64 c) {
      const i64 r0 = c * per, r1 = std::min(m, r0 + per);
      float* y = pl.value + r0 * out;
      kernels::gemm(false, true, r1 - r0, out, in, 1.0f, x + r0 * in, in, pl.w->value.data(), in, 0.0f, y, out);
      if (pl.b)
        for (i64 r = 0; r < r1 - r0; ++r)
          for (i64 o = 0; o < out; ++o) y[r * out + o] += pl.b->value[o];
    });
  }

  void linear_backward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const Plan& xp = plan[nd.inputs[0]];
    const i64 out = nd.attrs.out, in = shape(nd.inputs[0]).back(), m = graph::numel(nd.shape) / out;
    const i64 per_o = std::max<i64>(8, (out + kMaxChunks - 1) / kMaxChunks);
    parallel((out + per_o - 1) / per_o, [&](i64 c) {
      const i64 o0 = c * per_o, o1 = std::min(out, o0 + per_o);
      kernels::gemm(true, false, o1 - o0, in, m, 1.0f, pl.grad + o0, out, xp.value, in, 1.0f, pl.w->grad.data() + o0 * in, in);
      if (pl.b)
        for (i64 o = o0; o < o1; ++o) {
          float s = 0.0f;
          for (i64 r = 0; r < m; ++r) s += pl.grad[r * out + o];
          pl.b->grad[o] += s;
        }
    });
    if (!xp.grad) return;
    const float beta = first_write(nd.inputs[0]) ? 0.0f : 1.0f;
    const i64 per = std::max<i64>(16, (m + kMaxChunks - 1) / kMaxChunks);
    parallel((m + per - 1) / per, [&](i64 c) {
      const i64 r0 = c * per, r1 = std::min(m, r0 + per);
      kernels::gemm(false, false, r1 - r0, in, out, 1.0f, pl.grad + r0 * out, out, pl.w->value.data(), in, beta, xp.grad + r0 * in, in);
    });
  }

  // ---------------------------------------------------------------- matmul
  void matmul(int i, bool backward) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const Shape &as = shape(nd.inputs[0]), &bs = shape(nd.inputs[1]);
    const Plan &ap = plan[nd.inputs[0]], &bp = plan[nd.inputs[1]];
    const i64 m = as[as.size() - 2], k = as.back(), n = bs.back();
    const Shape ob(nd.shape.begin(), nd.shape.end() - 2);
    const Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    const kernels::Strided sa = broadcast_to(ab, ob, 0), sb = broadcast_to(bb, ob, 0);
    const i64 batches = graph::numel(ob);
    auto offset = [&](const kernels::Strided& s, i64 r) {
      i64 off = 0;
      for (std::size_t d = ob.size(); d-- > 0;) {
        off += (r % ob[d]) * s.src[d];
        r /= ob[d];
      }
      return off;
    };
    if (!backward) {
      parallel(batches, [&](i64 r) {
        kernels::gemm(false, false, m, n, k, 1.0f, ap.value + offset(sa, r) * m * k, k, bp.value + offset(sb, r) * k * n, n,
                      0.0f, pl.value + r * m * n, n);
      });
      return;
    }
    accumulate_grad(nd.inputs[0]);
    accumulate_grad(nd.inputs[1]);
    // in batch order, so broadcast inputs accumulate deterministically
    for (i64 r = 0; r < batches; ++r) {
      const float* dc = pl.grad + r * m * n;
      const float* a = ap.value + offset(sa, r) * m * k;
      const float* b = bp.value + offset(sb, r) * k * n;
      if (ap.grad) kernels::gemm(false, true, m, k, n, 1.0f, dc, n, b, n, 1.0f, ap.grad + offset(sa, r) * m * k, k);
      if (bp.grad) kernels::gemm(true, false, k, n, m, 1.0f, a, k, dc, n, 1.0f, bp.grad + offset(sb, r) * k * n, n);
    }
  }

  // ---------------------------------------------------------------- attention
  void attention_forward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const auto& a = nd.attrs;
    const Shape &qs = shape(nd.inputs[0]), &ks = shape(nd.inputs[1]);
    const i64 bsz = qs[0], tq = qs[1], tk = ks[1], d = a.head_dim, qw = qs[2], kw = ks[2];
    const i64 group = a.heads / a.kv_heads, past = std::max<i64>(0, tk - tq);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    const float *q = plan[nd.inputs[0]].value, *k = plan[nd.inputs[1]].value, *v = plan[nd.inputs[2]].value;
    const bool masked = a.pattern != graph::AttnPattern::full;
    parallel(bsz * a.heads, [&](i64 bh) {
      const i64 b = bh / a.heads, h = bh % a.heads, kh = h / group;
      float* pr = pl.aux.data() + bh * tq * tk;
      kernels::gemm(false, true, tq, tk, d, scale, q + b * tq * qw + h * d, qw, k + b * tk * kw + kh * d, kw, 0.0f, pr, tk);
      for (i64 r = 0; r < tq; ++r) {
        float* row = pr + r * tk;
        if (masked)
          for (i64 j = 0; j < tk; ++j)
            if (!visible(a, past + r, j)) row[j] = -std::numeric_limits<float>::infinity();
        softmax_row(row, tk);
      }
      kernels::gemm(false, false, tq, d, tk, 1.0f, pr, tk, v + b * tk * kw + kh * d, kw, 0.0f, pl.value + b * tq * qw + h * d, qw);
    });
  }

  static void softmax_row(float* row, i64 n) {
    float mx = -std::numeric_limits<float>::infinity();
    for (i64 j = 0; j < n; ++j) mx = std::max(mx, row[j]);
    if (mx == -std::numeric_limits<float>::infinity()) {
      std::fill_n(row, n, 0.0f);
      return;
    }
    float s = 0.0f;
    for (i64 j = 0; j < n; ++j) {
      row[j] = std::exp(row[j] - mx);
      s += row[j];
    }
    const float inv = 1.0f / s;
    for (i64 j = 0; j < n; ++j) row[j] *= inv;
  }

  void attention_backward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const auto& a = nd.attrs;
    const Shape &qs = shape(nd.inputs[0]), &ks = shape(nd.inputs[1]);
    const i64 bsz = qs[0], tq = qs[1], tk = ks[1], d = a.head_dim, qw = qs[2], kw = ks[2];
    const i64 group = a.heads / a.kv_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    const Plan &qp = plan[nd.inputs[0]], &kp = plan[nd.inputs[1]], &vp = plan[nd.inputs[2]];
    for (int k = 0; k < 3; ++k) accumulate_grad(nd.inputs[k]);
    // heads of one sample run in order: heads sharing a key/value head accumulate in order
    parallel(bsz, [&](i64 b) {
      float* dp = pl.aux2.data() + b * tq * tk;
      for (i64 h = 0; h < a.heads; ++h) {
        const i64 kh = h / group;
        const float* pr = pl.aux.data() + (b * a.heads + h) * tq * tk;
        const float* dout = pl.grad + b * tq * qw + h * d;
        const float* qv = qp.value + b * tq * qw + h * d;
        const float* kv = kp.value + b * tk * kw + kh * d;
        const float* vv = vp.value + b * tk * kw + kh * d;
        kernels::gemm(false, true, tq, tk, d, 1.0f, dout, qw, vv, kw, 0.0f, dp, tk);
        if (vp.grad) kernels::gemm(true, false, tk, d, tq, 1.0f, pr, tk, dout, qw, 1.0f, vp.grad + b * tk * kw + kh * d, kw);
        for (i64 r = 0; r < tq; ++r) {
          float* drow = dp + r * tk;
          const float* prow = pr + r * tk;
          float dot = 0.0f;
          for (i64 j = 0; j < tk; ++j) dot += drow[j] * prow[j];
          for (i64 j = 0; j < tk; ++j) drow[j] = prow[j] * (drow[j] - dot);
        }
        if (qp.grad) kernels::gemm(false, false, tq, d, tk, scale, dp, tk, kv, kw, 1.0f, qp.grad + b * tq * qw + h * d, qw);
        if (kp.grad) kernels::gemm(true, false, tk, d, tq, scale, dp, tk, qv, qw, 1.0f, kp.grad + b * tk * kw + kh * d, kw);
      }
    });
  }

  // ---------------------------------------------------------------- batch norm
  void bn_forward(int i, bool training) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const Shape& s = nd.shape;
    const i64 n = s[0], c = s[1], inner = graph::numel(s) / (n * c);
    const float* x = plan[nd.inputs[0]].value;
    const bool summed = plan[nd.inputs[0]].stats_for == i;
    float* y = pl.act >= 0 ? plan[pl.act].value : pl.value;
    const float lo = pl.act >= 0 ? pl.lo : -std::numeric_limits<float>::infinity();
    const float hi = pl.act >= 0 ? pl.hi : std::numeric_limits<float>::infinity();
    if (pl.aux.empty()) pl.aux.assign(static_cast<std::size_t>(2 * c), 0.0f);
    parallel(c, [&](i64 ch) {
      float mean, invstd;
      if (training) {
        double sum = 0.0, sq = 0.0;
        for (i64 b = 0; b < n; ++b) {
          float s1, s2;
          if (summed) {
            s1 = pl.plane_sums[2 * (b * c + ch)], s2 = pl.plane_sums[2 * (b * c + ch) + 1];
          } else {
            kernels::sums(x + (b * c + ch) * inner, inner, s1, s2);
          }
          sum += s1;
          sq += s2;
        }
        const double cnt = static_cast<double>(n * inner);
        const double mu = sum / cnt, var = std::max(0.0, sq / cnt - mu * mu);
        mean = static_cast<float>(mu);
        invstd = static_cast<float>(1.0 / std::sqrt(var + kNormEps));
        pl.rm->value[ch] = (1.0f - kBnMomentum) * pl.rm->value[ch] + kBnMomentum * mean;
        const double unbiased = cnt > 1 ? var * cnt / (cnt - 1) : var;
        pl.rv->value[ch] = (1.0f - kBnMomentum) * pl.rv->value[ch] + kBnMomentum * static_cast<float>(unbiased);
      } else {
        mean = pl.rm->value[ch];
        invstd = 1.0f / std::sqrt(pl.rv->value[ch] + kNormEps);
      }
      pl.aux[2 * ch] = mean;
      pl.aux[2 * ch + 1] = invstd;
      const float sc = pl.w->value[ch] * invstd, sh = pl.b->value[ch] - mean * sc;
      for (i64 b = 0; b < n; ++b) kernels::affine(x + (b * c + ch) * inner, y + (b * c + ch) * inner, inner, sc, sh, lo, hi);
    });
  }

  void bn_backward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const Shape& s = nd.shape;
    const i64 n = s[0], c = s[1], inner = graph::numel(s) / (n * c);
    const Plan& xp = plan[nd.inputs[0]];
    const bool overwrite = xp.grad && first_write(nd.inputs[0]);
    // fused with its activation: that one's gradient, masked where its output was clamped
    const float* dy = pl.act >= 0 ? plan[pl.act].grad : pl.grad;
    const kernels::Mask mask{pl.act >= 0 ? plan[pl.act].value : nullptr, pl.lo, pl.hi};
    parallel(c, [&](i64 ch) {
      const float mean = pl.aux[2 * ch], invstd = pl.aux[2 * ch + 1];
      double sdy = 0.0, sdyx = 0.0;
      for (i64 b = 0; b < n; ++b) {
        float s1, s2;
        const i64 at = (b * c + ch) * inner;
        kernels::norm_grad_sums(xp.value + at, dy + at, inner, mean, mask.at(at), s1, s2);
        sdy += s1;
        sdyx += s2;
      }
      const float dgamma = static_cast<float>(sdyx) * invstd, dbeta = static_cast<float>(sdy);
      pl.w->grad[ch] += dgamma;
      pl.b->grad[ch] += dbeta;
      if (!xp.grad) return;
      const float cnt = static_cast<float>(n * inner);
      const float gam = pl.w->value[ch];
      const float k1 = gam * invstd, mdy = dbeta / cnt, mxh = dgamma / cnt;
      for (i64 b = 0; b < n; ++b) {
        const i64 at = (b * c + ch) * inner;
        kernels::norm_input_grad(xp.value + at, dy + at, mask.at(at), xp.grad + at, inner, mean, invstd, k1, mdy, mxh, overwrite);
      }
    });
  }

  // ---------------------------------------------------------------- layer / rms norm
  void norm_forward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const bool rms = nd.op == Op::rms_norm;
    const i64 dim = nd.shape.back(), rows = graph::numel(nd.shape) / dim;
    const float* x = plan[nd.inputs[0]].value;
    if (pl.aux.empty()) pl.aux.assign(static_cast<std::size_t>(2 * rows), 0.0f);
    const float eps = rms ? 1e-6f : kNormEps;
    parallel_rows(rows, dim, [&](i64 r) {
      const float* px = x + r * dim;
      float* py = pl.value + r * dim;
      float mean = 0.0f;
      if (!rms) {
        for (i64 k = 0; k < dim; ++k) mean += px[k];
        mean /= static_cast<float>(dim);
      }
      float var = 0.0f;
      for (i64 k = 0; k < dim; ++k) var += (px[k] - mean) * (px[k] - mean);
      const float invstd = 1.0f / std::sqrt(var / static_cast<float>(dim) + eps);
      pl.aux[2 * r] = mean;
      pl.aux[2 * r + 1] = invstd;
      for (i64 k = 0; k < dim; ++k) py[k] = (px[k] - mean) * invstd * pl.w->value[k] + (rms ? 0.0f : pl.b->value[k]);
    });
  }

  template <class F>
  void parallel_rows(i64 rows, i64 dim, F&& f) {
    const i64 per = std::max<i64>(1, kElemChunk / std::max<i64>(dim, 1));
    parallel((rows + per - 1) / per, [&](i64 c) {
      for (i64 r = c * per; r < std::min(rows, (c + 1) * per); ++r) f(r);
    });
  }

  void norm_backward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const bool rms = nd.op == Op::rms_norm;
    const i64 dim = nd.shape.back(), rows = graph::numel(nd.shape) / dim;
    const Plan& xp = plan[nd.inputs[0]];
    accumulate_grad(nd.inputs[0]);
    // parameter gradients: reduce over rows in row order, split over the features
    parallel_elems(dim, [&](i64 b, i64 e) {
      for (i64 r = 0; r < rows; ++r) {
        const float mean = pl.aux[2 * r], invstd = pl.aux[2 * r + 1];
        const float* px = xp.value + r * dim;
        const float* pd = pl.grad + r * dim;
        for (i64 k = b; k < e; ++k) {
          pl.w->grad[k] += pd[k] * (px[k] - mean) * invstd;
          if (!rms) pl.b->grad[k] += pd[k];
        }
      }
    });
    if (!xp.grad) return;
    parallel_rows(rows, dim, [&](i64 r) {
      const float mean = pl.aux[2 * r], invstd = pl.aux[2 * r + 1];
      const float* px = xp.value + r * dim;
      const float* pd = pl.grad + r * dim;
      float* dx = xp.grad + r * dim;
      float s1 = 0.0f, s2 = 0.0f;
      for (i64 k = 0; k < dim; ++k) {
        const float gx = pd[k] * pl.w->value[k];
        s1 += gx;
        s2 += gx * (px[k] - mean) * invstd;
      }
      const float inv_d = 1.0f / static_cast<float>(dim);
      for (i64 k = 0; k < dim; ++k) {
        const float xh = (px[k] - mean) * invstd, gx = pd[k] * pl.w->value[k];
        dx[k] += invstd * (gx - (rms ? 0.0f : s1 * inv_d) - xh * s2 * inv_d);
      }
    });
  }

  // ---------------------------------------------------------------- softmax
  void softmax_forward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const i64 dim = nd.shape.back(), rows = graph::numel(nd.shape) / dim;
    const float* x = plan[nd.inputs[0]].value;
    parallel_rows(rows, dim, [&](i64 r) {
      std::copy_n(x + r * dim, dim, pl.value + r * dim);
      softmax_row(pl.value + r * dim, dim);
    });
  }

  void softmax_backward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const Plan& xp = plan[nd.inputs[0]];
    if (!accumulate_grad(nd.inputs[0])) return;
    const i64 dim = nd.shape.back(), rows = graph::numel(nd.shape) / dim;
    parallel_rows(rows, dim, [&](i64 r) {
      const float* y = pl.value + r * dim;
      const float* dy = pl.grad + r * dim;
      float dot = 0.0f;
      for (i64 k = 0; k < dim; ++k) dot += dy[k] * y[k];
      for (i64 k = 0; k < dim; ++k) xp.grad[r * dim + k] += y[k] * (dy[k] - dot);
    });
  }

  // ---------------------------------------------------------------- add / mul
  void binary_forward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const float *a = plan[nd.inputs[0]].value, *b = plan[nd.inputs[1]].value;
    const i64 total = graph::numel(nd.shape);
    const bool mul = nd.op == Op::mul;
    const bool same = graph::numel(shape(nd.inputs[0])) == total && graph::numel(shape(nd.inputs[1])) == total;
    if (same) {
      parallel_elems(total, [&](i64 s, i64 e) {
        if (mul) for (i64 k = s; k < e; ++k) pl.value[k] = a[k] * b[k];
        else for (i64 k = s; k < e; ++k) pl.value[k] = a[k] + b[k];
      });
      return;
    }
    move(pl.moves[0], a, pl.value, false, true);
    // value = value (op) b, with b read through its broadcast strides
    i64 so, dofs;
    const kernels::Strided sb = body(pl.moves[1], so, dofs);
    const std::size_t rank = sb.shape.size();
    const i64 len = sb.shape[rank - 1], rows = sb.rows(), inner = sb.src[rank - 1];
    parallel((rows + 63) / 64, [&](i64 c) {
      for (i64 r = c * 64; r < std::min(rows, (c + 1) * 64); ++r) {
        const i64 off = row_offset(sb, r);
        float* y = pl.value + r * len;
        const float* pb = b + off;
        if (mul) for (i64 k = 0; k < len; ++k) y[k] *= pb[k * inner];
        else for (i64 k = 0; k < len; ++k) y[k] += pb[k * inner];
      }
    });
  }

  static i64 row_offset(const kernels::Strided& s, i64 r) {
    i64 off = 0;
    for (std::size_t d = s.shape.size() - 1; d-- > 0;) {
      off += (r % s.shape[d]) * s.src[d];
      r /= s.shape[d];
    }
    return off;
  }

  void binary_backward(int i) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const bool mul = nd.op == Op::mul;
    const i64 total = graph::numel(nd.shape);
    kernels::Strided s[2];
    for (int k = 0; k < 2; ++k) {
      i64 so, dofs;
      s[k] = body(pl.moves[k], so, dofs);
    }
    const std::size_t rank = nd.shape.size();
    const i64 len = nd.shape[rank - 1], rows = total / len;
    for (int k = 0; k < 2; ++k) {
      const Plan& xp = plan[nd.inputs[k]];
      if (!xp.grad) continue;
      const bool full = graph::numel(shape(nd.inputs[k])) == total;
      const bool overwrite = full && first_write(nd.inputs[k]);
      if (!full) accumulate_grad(nd.inputs[k]);
      const Plan& other = plan[nd.inputs[1 - k]];
      const i64 inner = s[k].src[rank - 1], oinner = s[1 - k].src[rank - 1];
      auto rows_fn = [&](i64 r0, i64 r1) {
        for (i64 r = r0; r < r1; ++r) {
          float* dx = xp.grad + row_offset(s[k], r);
          const float* dy = pl.grad + r * len;
          const float* ov = mul ? other.value + row_offset(s[1 - k], r) : nullptr;
          if (overwrite) {  // full: unit strides
            if (mul) for (i64 e = 0; e < len; ++e) dx[e] = dy[e] * ov[e * oinner];
            else std::copy_n(dy, len, dx);
          } else if (mul) {
            for (i64 e = 0; e < len; ++e) dx[e * inner] += dy[e] * ov[e * oinner];
          } else {
            for (i64 e = 0; e < len; ++e) dx[e * inner] += dy[e];
          }
        }
      };
      if (full) {
        parallel((rows + 63) / 64, [&](i64 c) { rows_fn(c * 64, std::min(rows, (c + 1) * 64)); });
      } else {
        rows_fn(0, rows);  // a broadcast input sums over rows: in row order
      }
    }
  }

  // ---------------------------------------------------------------- pooling
  void pool(int i, bool backward) {
    Plan& pl = plan[i];
    const Node& nd = g.node(i);
    const auto& a = nd.attrs;
    const Shape& xs = shape(nd.inputs[0]);
    const Plan& xp = plan[nd.inputs[0]];
    const i64 planes = xs[0] * xs[1], h = xs[2], w = xs[3], ho = nd.shape[2], wo = nd.shape[3];
    const bool global = nd.op == Op::global_avg_pool, maxp = nd.op == Op::max_pool;
    const bool overwrite = backward && global && first_write(nd.inputs[0]);
    if (backward && !global) accumulate_grad(nd.inputs[0]);
    parallel((planes + 15) / 16, [&](i64 c) {
      for (i64 pi = c * 16; pi < std::min(planes, (c + 1) * 16); ++pi) {
        const float* x = xp.value + pi * h * w;
        float* dx = backward ? xp.grad + pi * h * w : nullptr;
        if (global) {
          const float inv = 1.0f / static_cast<float>(h * w);
          if (backward) {
            const float d = pl.grad[pi] * inv;
            if (overwrite) std::fill_n(dx, h * w, d);
            else for (i64 k = 0; k < h * w; ++k) dx[k] += d;
          } else {
            float s = 0.0f;
            for (i64 k = 0; k < h * w; ++k) s += x[k];
            pl.value[pi] = s * inv;
          }
          continue;
        }
        for (i64 oy = 0; oy < ho; ++oy)
          for (i64 ox = 0; ox < wo; ++ox) {
            const i64 o = pi * ho * wo + oy * wo + ox;
            const i64 y0 = oy * a.sh - a.ph, x0 = ox * a.sw - a.pw;
            const i64 y1 = std::min(y0 + a.kh, h + a.ph), x1 = std::min(x0 + a.kw, w + a.pw);
            const i64 div = (y1 - y0) * (x1 - x0);  // PyTorch: count_include_pad
            const i64 ya = std::max<i64>(y0, 0), xa = std::max<i64>(x0, 0);
            const i64 yb = std::min(y1, h), xb = std::min(x1, w);
            if (maxp) {
              if (backward) {
                dx[pl.argmax[o]] += pl.grad[o];
                continue;
              }
              float best = -std::numeric_limits<float>::infinity();
              i64 at = ya * w + xa;
              for (i64 y = ya; y < yb; ++y)
                for (i64 xx = xa; xx < xb; ++xx)
                  if (x[y * w + xx] > best) best = x[y * w + xx], at = y * w + xx;
              pl.value[o] = best;
              pl.argmax[o] = static_cast<std::int32_t>(at);
            } else if (backward) {
              const float d = pl.grad[o] / static_cast<float>(div);
              for (i64 y = ya; y < yb; ++y)
                for (i64 xx = xa; xx < xb; ++xx) dx[y * w + xx] += d;
            } else {
              float s = 0.0f;
              for (i64 y = ya; y < yb; ++y)
                for (i64 xx = xa; xx < xb; ++xx) s += x[y * w + xx];
              pl.value[o] = s / static_cast<float>(div);
            }
          }
      }
    });
  }

  // ---------------------------------------------------------------- loss
  double cross_entropy(const std::uint8_t* labels, i64 rows, std::int64_t* correct) {
    const Shape& s = shape(out_node);
    if (s.size() != 2) throw Error("graph '" + g.name + "': the output must be [batch, classes] logits, got " + graph::to_string(s));
    const i64 b = rows < 0 ? s[0] : std::min(rows, s[0]), k = s[1];
    const float* x = plan[out_node].value;
    float* d = plan[out_node].grad;
    if (d) std::fill_n(d, s[0] * k, 0.0f);
    double loss = 0.0;
    i64 hits = 0;
    for (i64 r = 0; r < b; ++r) {
      const float* row = x + r * k;
      const i64 label = labels[r];
      if (label >= k) throw Error("graph '" + g.name + "': label " + std::to_string(label) + " >= " + std::to_string(k) + " outputs");
      float mx = row[0];
      i64 arg = 0;
      for (i64 j = 1; j < k; ++j)
        if (row[j] > mx) mx = row[j], arg = j;
      double sum = 0.0;
      for (i64 j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j] - mx));
      loss += std::log(sum) - static_cast<double>(row[label] - mx);
      hits += arg == label;
      if (d)
        for (i64 j = 0; j < k; ++j)
          d[r * k + j] = static_cast<float>(std::exp(static_cast<double>(row[j] - mx)) / sum - (j == label ? 1.0 : 0.0)) /
                         static_cast<float>(b);
    }
    if (correct) *correct = hits;
    return loss / static_cast<double>(b);
  }
};

Network::Network(const graph::Graph& g, Params& p, Passes passes) : impl_(std::make_unique<Impl>(g, p, passes)) {}
Network::~Network() = default;
const graph::Graph& Network::graph() const { return impl_->g; }
float* Network::value(int node) { return impl_->plan.at(static_cast<std::size_t>(node)).value; }
float* Network::grad(int node) { return impl_->plan.at(static_cast<std::size_t>(node)).grad; }
int Network::input() const { return impl_->in_node; }
int Network::output() const { return impl_->out_node; }
void Network::forward(bool training) { impl_->forward(training); }
double Network::softmax_cross_entropy(const std::uint8_t* labels, std::int64_t rows, std::int64_t* correct) {
  return impl_->cross_entropy(labels, rows, correct);
}
void Network::backward() {
  if (impl_->passes == Passes::forward_only) throw Error("graph '" + impl_->g.name + "': backward() on a Network planned for forward passes only");
  impl_->backward();
}

}  // namespace hwnas::exec
