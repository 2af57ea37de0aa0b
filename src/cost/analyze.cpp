#include <algorithm>
#include <array>
#include <cmath>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"

namespace hwnas::cost {
namespace {

using graph::Attrs;
using graph::AttnPattern;
using graph::Graph;
using graph::Node;
using graph::numel;
using graph::Op;
using graph::OpClass;

// Elementwise arithmetic per output element, for other_flops. Documented in README.
std::int64_t activation_flops(Op op) {
  switch (op) {
    case Op::relu: return 1;
    case Op::relu6: return 2;
    case Op::hardsigmoid: return 3;
    case Op::hardswish: return 4;
    case Op::sigmoid: return 4;
    case Op::silu: return 5;
    case Op::gelu: return 8;
    default: return 0;
  }
}
constexpr std::int64_t kSoftmaxFlops = 5;  // scale, max, exp, sum, divide

// Keys [lo, hi] that lie inside [0, keys).
std::int64_t clipped(std::int64_t lo, std::int64_t hi, std::int64_t keys) {
  lo = std::max<std::int64_t>(lo, 0);
  hi = std::min(hi, keys - 1);
  return hi >= lo ? hi - lo + 1 : 0;
}

// Positions of a dilated two-sided window around p (offsets d*j, |j| <= half) in [lo, hi].
std::int64_t dilated_in(std::int64_t p, std::int64_t half, std::int64_t d, std::int64_t lo, std::int64_t hi) {
  if (hi < lo) return 0;
  // j in [ceil((lo-p)/d), floor((hi-p)/d)] intersected with [-half, half]
  auto floordiv = [](std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const std::int64_t jlo = std::max(-half, -floordiv(p - lo, d));
  const std::int64_t jhi = std::min(half, floordiv(hi - p, d));
  return jhi >= jlo ? jhi - jlo + 1 : 0;
}

}  // namespace

std::string_view bound_name(Bound b) {
  static constexpr std::array<std::string_view, 6> names{"compute", "memory", "overhead", "fused", "folded", "none"};
  return names[static_cast<std::size_t>(b)];
}

std::int64_t attention_pairs(const Attrs& a, std::int64_t queries, std::int64_t keys) {
  // the queries are the last positions of the key sequence: after the cached tokens, or after
  // rows handled elsewhere (Longformer's global queries)
  const std::int64_t past = std::max(a.past_tokens, keys - queries);
  switch (a.pattern) {
    case AttnPattern::full:
      return queries * keys;
    case AttnPattern::causal: {
      // query i sits at position past+i and sees keys 0..past+i
      std::int64_t total = 0;
      const std::int64_t first = std::min(past + 1, keys), last = std::min(past + queries, keys);
      if (past + queries <= keys) return (first + last) * queries / 2;
      for (std::int64_t i = 0; i < queries; ++i) total += std::min(past + i + 1, keys);
      return total;
    }
    default:
      break;
  }
  const std::int64_t w = a.window, g = a.global_tokens, d = a.window_dilation;
  std::int64_t total = 0;
  for (std::int64_t i = 0; i < queries; ++i) {
    const std::int64_t p = past + i;
    if (a.pattern == AttnPattern::sliding_window) {
      const std::int64_t lo = std::max<std::int64_t>(0, p - w + 1);
      const std::int64_t in_window = clipped(lo, p, keys);
      const std::int64_t sinks = std::min({a.sink_tokens, p + 1, keys});
      total += in_window + std::min(sinks, lo);  // sink keys that fall before the window
      continue;
    }
    if (p < g) {  // a global query sees every key
      total += keys;
      continue;
    }
    const std::int64_t half = w / 2;
    std::int64_t local, local_globals;
    if (a.pattern == AttnPattern::local_window) {
      local = clipped(p - half, p + half, keys);
      local_globals = clipped(std::max(p - half, std::int64_t{0}), std::min(p + half, g - 1), keys);
    } else {
      local = dilated_in(p, half, d, 0, keys - 1);
      local_globals = dilated_in(p, half, d, 0, std::min(g, keys) - 1);
    }
    total += local + std::min(g, keys) - local_globals;  // every query also sees the global keys
  }
  return total;
}

void apply_roofline(NodeCost& c, const hw::Profile& prof, hw::Dtype dtype) {
  const std::size_t di = static_cast<std::size_t>(dtype);
  const auto& e = prof.eff(c.cls, dtype);
  c.compute_s = c.memory_s = c.overhead_s = c.latency_s = 0;
  switch (c.bound) {
    case Bound::folded:
    case Bound::none:
      return;
    case Bound::fused:  // adds its arithmetic to the conv's time
      c.compute_s = static_cast<double>(c.other_flops) / (prof.vector_flops_per_s[di] * e.compute);
      c.latency_s = c.compute_s;
      return;
    default:
      break;
  }
  double peak = prof.matrix_flops_per_s[di];
  if (dtype == hw::Dtype::fp32 &&
      std::find(prof.tf32_classes.begin(), prof.tf32_classes.end(), c.cls) != prof.tf32_classes.end())
    peak = prof.matrix_flops_per_s[static_cast<std::size_t>(hw::Dtype::tf32)];
  c.compute_s = (c.macs > 0 ? static_cast<double>(c.flops) / (peak * e.compute) : 0.0) +
                static_cast<double>(c.other_flops) / (prof.vector_flops_per_s[di] * e.compute);
  const bool onchip = prof.onchip_bytes > 0 && static_cast<double>(c.bytes) <= prof.onchip_bytes;
  const double bw = onchip ? prof.onchip_bandwidth_bytes_per_s : prof.memory_bandwidth_bytes_per_s;
  c.memory_s = static_cast<double>(c.bytes) / (bw * e.memory);
  // wave quantization: the tiles run in waves over the compute units; a last, partial wave
  // (or a grid smaller than the machine) leaves units idle, which slows the arithmetic
  c.utilisation = 1;
  if (prof.compute_units > 0 && e.tile_rows > 0 && e.tile_cols > 0 && c.out_rows > 0 && c.out_cols > 0) {
    const double tiles = std::ceil(static_cast<double>(c.out_rows) / e.tile_rows) *
                         std::ceil(static_cast<double>(c.out_cols) / e.tile_cols);
    c.utilisation = tiles / (std::ceil(tiles / prof.compute_units) * prof.compute_units);
    c.compute_s /= c.utilisation;
  }
  c.overhead_s = prof.overhead_s(c.cls, dtype);
  const double body = std::max(c.compute_s, c.memory_s);
  c.latency_s = body + c.overhead_s;
  c.bound = c.overhead_s > body ? Bound::overhead : c.compute_s >= c.memory_s ? Bound::compute : Bound::memory;
}

CostReport analyze(const Graph& g, const hw::Profile& prof, hw::Dtype dtype) {
  const std::size_t di = static_cast<std::size_t>(dtype);
  if (prof.matrix_flops_per_s[di] <= 0 || prof.vector_flops_per_s[di] <= 0)
    throw Error("profile '" + prof.name + "': no " + std::string(hw::dtype_name(dtype)) +
                " compute rate (matrix_flops_per_s / vector_flops_per_s." + std::string(hw::dtype_name(dtype)) + ")");
  const std::int64_t eb = hw::bytes_of(dtype);
  const int n = g.size();
  CostReport r;
  r.model = g.name;
  r.profile = prof.name;
  r.dtype = dtype;
  r.batch = n > 0 ? g.node(0).shape.at(0) : 1;
  r.layers.resize(static_cast<std::size_t>(n));

  // consumers, for fusion and liveness
  std::vector<int> consumers(static_cast<std::size_t>(n), 0), last_use(static_cast<std::size_t>(n), -1);
  std::vector<int> storage(static_cast<std::size_t>(n));  // views share their input's storage
  for (int i = 0; i < n; ++i) {
    const Node& nd = g.node(i);
    storage[i] = graph::is_view(nd.op) ? storage[nd.inputs[0]] : i;
    for (int in : nd.inputs) {
      ++consumers[in];
      last_use[storage[in]] = std::max(last_use[storage[in]], i);
    }
  }
  // Constant folding (profiles whose stack simplifies the model when converting it): x*0 is
  // dropped, so is an add of it (the other term passes through), and so are ops whose results
  // reach the outputs only through x*0 (dead code). Ops computing on such zeros still run,
  // unless the model's output does not depend on its input at all (x*0 is a constant, so is
  // an op listed in folds_constants whose inputs are all constants): then the whole model is
  // evaluated at conversion time.
  std::vector<char> folded_away;
  if (!prof.folds_constants.empty()) {
    folded_away.assign(static_cast<std::size_t>(n), 0);
    std::vector<char> constant(static_cast<std::size_t>(n), 0), zero(static_cast<std::size_t>(n), 0),
        live(static_cast<std::size_t>(n), 0);
    bool output_constant = true;
    for (int i = 0; i < n; ++i) {
      const Node& nd = g.node(i);
      bool all_const = !nd.inputs.empty(), all_zero = !nd.inputs.empty();
      for (int in : nd.inputs) {
        all_const = all_const && constant[in];
        all_zero = all_zero && zero[in];
      }
      const auto& fc = prof.folds_constants;
      const bool folds = std::find(fc.begin(), fc.end(), nd.op) != fc.end();
      constant[i] = nd.op == Op::zero || nd.op == Op::weight || (all_const && (folds || graph::is_view(nd.op)));
      zero[i] = nd.op == Op::zero || (nd.op == Op::add && all_zero);
      if (consumers[i] == 0) output_constant = output_constant && constant[i];
    }
    for (int i = n - 1; i >= 0; --i) {
      const Node& nd = g.node(i);
      if (consumers[i] == 0) live[i] = 1;
      if (live[i] && !zero[i])
        for (int in : nd.inputs) live[in] = 1;
      bool any_zero = false;
      for (int in : nd.inputs) any_zero = any_zero || zero[in];
      folded_away[i] = output_constant || zero[i] || !live[i] || (nd.op == Op::add && any_zero);
    }
  }
  auto out_bytes = [&](int i) {
    const Node& nd = g.node(i);
    if (graph::is_view(nd.op) || nd.op == Op::weight || nd.op == Op::constant) return std::int64_t{0};
    return numel(nd.shape) * eb;
  };

  std::vector<bool> fused(static_cast<std::size_t>(n), false);
  struct Memo { Attrs a; std::int64_t q = -1, k = -1, pairs = 0; } memo;

  Totals& t = r.totals;
  std::int64_t live = 0;
  for (int i = 0; i < n; ++i) {
    const Node& nd = g.node(i);
    NodeCost& c = r.layers[static_cast<std::size_t>(i)];
    c.node = i;
    c.cls = graph::op_class(g, nd);
    const graph::ParamCount pc = graph::param_count(g, nd);
    c.params = pc.params;
    c.buffers = pc.buffers;
    c.weight_bytes = (c.params + c.buffers) * eb;
    c.activation_bytes = out_bytes(i);
    const std::int64_t out = numel(nd.shape);
    c.out_cols = nd.shape.empty() ? 1 : nd.shape.size() == 4 ? nd.shape[1] : nd.shape.back();
    c.out_rows = c.out_cols > 0 ? out / c.out_cols : 0;
    auto in_shape = [&](int k) -> const graph::Shape& { return g.node(nd.inputs[k]).shape; };

    switch (nd.op) {
      case Op::conv2d: {
        const auto& a = nd.attrs;
        c.macs = out * (in_shape(0)[1] / a.groups) * a.kh * a.kw;
        if (a.bias) c.other_flops = out;
        break;
      }
      case Op::linear:
        c.macs = out * in_shape(0).back();
        if (nd.attrs.bias) c.other_flops = out;
        break;
      case Op::matmul:
        c.macs = out * in_shape(0).back();
        break;
      case Op::attention: {
        const auto& a = nd.attrs;
        const std::int64_t b = in_shape(0)[0], tq = in_shape(0)[1];
        const std::int64_t keys = a.past_tokens + in_shape(1)[1];
        if (memo.q != tq || memo.k != keys || memo.a.pattern != a.pattern || memo.a.window != a.window ||
            memo.a.window_dilation != a.window_dilation || memo.a.global_tokens != a.global_tokens ||
            memo.a.sink_tokens != a.sink_tokens || memo.a.past_tokens != a.past_tokens) {
          memo = {a, tq, keys, attention_pairs(a, tq, keys)};
        }
        const std::int64_t pairs = memo.pairs * a.heads * b;
        c.macs = 2 * pairs * a.head_dim;  // Q K^T and A V
        c.other_flops = kSoftmaxFlops * pairs;
        if (a.kv_cache) {
          // the cache after this step; sliding windows keep the last `window` (+ sinks)
          std::int64_t cached = keys;
          if (a.pattern == AttnPattern::sliding_window) cached = std::min(keys, a.window + a.sink_tokens);
          const std::int64_t per_token = a.kv_latent_dim > 0 ? a.kv_latent_dim
                                                             : 2 * static_cast<std::int64_t>(a.kv_heads) * a.head_dim;
          c.kv_cache_bytes = per_token * cached * b * eb;
          // decode reads what earlier steps cached
          const std::int64_t read = std::min(a.past_tokens, cached);
          c.bytes += per_token * read * b * eb;
        }
        break;
      }
      case Op::batch_norm: c.other_flops = 2 * out; break;
      case Op::layer_norm: c.other_flops = 5 * out; break;
      case Op::rms_norm: c.other_flops = 4 * out; break;
      case Op::softmax: c.other_flops = kSoftmaxFlops * out; break;
      case Op::relu: case Op::relu6: case Op::hardswish: case Op::hardsigmoid:
      case Op::sigmoid: case Op::silu: case Op::gelu:
        c.other_flops = activation_flops(nd.op) * out;
        break;
      case Op::add: case Op::mul: case Op::zero: c.other_flops = out; break;
      case Op::avg_pool: c.other_flops = out * (nd.attrs.kh * nd.attrs.kw + 1); break;
      case Op::max_pool: c.other_flops = out * nd.attrs.kh * nd.attrs.kw; break;
      case Op::global_avg_pool: c.other_flops = numel(in_shape(0)) + out; break;
      case Op::input: case Op::weight: case Op::constant: case Op::reshape: case Op::flatten: case Op::view:
      case Op::concat: case Op::transpose: case Op::unfold: case Op::fold: case Op::embedding: case Op::slice:
        break;  // data movement: costed by bytes alone
      case Op::count_:
        throw Error("node '" + nd.name + "': op without a cost formula");
    }
    c.flops = 2 * c.macs;

    // bytes moved and roofline
    const bool moves = !graph::is_view(nd.op) && nd.op != Op::input && nd.op != Op::weight && nd.op != Op::constant;
    if (moves) {
      if (nd.op == Op::embedding) {
        c.bytes += numel(in_shape(0)) * eb + 2 * c.activation_bytes;  // ids, gathered rows, output
      } else {
        for (int in : nd.inputs) c.bytes += numel(g.node(in).shape) * eb;
        c.bytes += c.activation_bytes + c.weight_bytes + pc.shared * eb;  // shared weights are read too
      }
    }
    // BN and activation folded into the conv before them, where the stack fuses
    if (prof.fuses_conv_bn_act && nd.inputs.size() == 1 &&
        (nd.op == Op::batch_norm || graph::is_activation(nd.op))) {
      const int src = nd.inputs[0];
      const Op sop = g.node(src).op;
      if (consumers[src] == 1 && (sop == Op::conv2d || (fused[src] && sop == Op::batch_norm)))
        fused[i] = true;
    }
    if (!folded_away.empty() && folded_away[i]) {
      c.bytes = 0;
      c.bound = moves ? Bound::folded : Bound::none;
    } else if (fused[i]) {
      c.bound = Bound::fused;
      c.bytes = 0;  // the conv writes the final tensor
    } else if (moves) {
      c.bound = Bound::compute;  // runs a kernel: the roofline decides what bounds it
    }
    apply_roofline(c, prof, dtype);
    c.intensity = c.bytes > 0 ? static_cast<double>(c.flops + c.other_flops) / static_cast<double>(c.bytes) : 0.0;

    // liveness: the output is allocated, then inputs read for the last time are freed
    live += c.activation_bytes;
    t.peak_memory_bytes = std::max(t.peak_memory_bytes, live);
    for (int in : nd.inputs) {
      const int s = storage[in];
      if (last_use[s] == i) {
        live -= out_bytes(s);
        last_use[s] = -2;  // freed once even when read twice
      }
    }

    t.params += c.params;
    t.buffers += c.buffers;
    t.macs += c.macs;
    t.flops += c.flops;
    t.other_flops += c.other_flops;
    t.weight_bytes += c.weight_bytes;
    t.activation_bytes += c.activation_bytes;
    t.kv_cache_bytes += c.kv_cache_bytes;
    t.latency_s += c.latency_s;
  }
  return r;
}

}  // namespace hwnas::cost
