#pragma once
// The cost model: per-node counts, roofline latency, liveness peak memory and KV cache.
// Conventions (README "Counting conventions"): macs are multiply-accumulates of
// convolutions, linear layers, matmuls and attention (QK^T and AV); flops = 2 x macs;
// every other arithmetic op is counted in other_flops.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hwnas/graph/graph.hpp"
#include "hwnas/hw/profile.hpp"

namespace hwnas::cost {

// folded: evaluated at conversion time or dead (profiles with folds_constants), no runtime cost
enum class Bound : std::uint8_t { compute, memory, overhead, fused, folded, none };
std::string_view bound_name(Bound b);

struct NodeCost {
  int node = 0;  // index into the graph
  graph::OpClass cls = graph::OpClass::none;
  std::int64_t params = 0, buffers = 0;
  std::int64_t macs = 0, flops = 0, other_flops = 0;
  std::int64_t weight_bytes = 0;      // parameters and buffers read
  std::int64_t activation_bytes = 0;  // output tensor
  std::int64_t bytes = 0;             // moved: inputs + output + weights + KV cache read
  std::int64_t kv_cache_bytes = 0;    // cache held after this step
  double intensity = 0;               // (flops + other_flops) / bytes
  double compute_s = 0, memory_s = 0, overhead_s = 0, latency_s = 0;
  Bound bound = Bound::none;
  // The output seen as a matrix, for wave quantization: cols = the channel dim of an NCHW
  // tensor (dim 1) or the feature dim (last) otherwise, rows = the other elements.
  std::int64_t out_rows = 0, out_cols = 0;
  double utilisation = 1;  // share of the compute units its tiles keep busy (1 without tiling)
};

struct Totals {
  std::int64_t params = 0, buffers = 0, macs = 0, flops = 0, other_flops = 0;
  std::int64_t weight_bytes = 0, activation_bytes = 0, peak_memory_bytes = 0, kv_cache_bytes = 0;
  double latency_s = 0;
};

struct CostReport {
  std::string model, profile;
  std::int64_t batch = 1;
  hw::Dtype dtype = hw::Dtype::fp32;
  Totals totals;
  std::vector<NodeCost> layers;  // one per graph node, in graph order
};

// Costs every node of `g` on `profile` with tensors stored as `dtype`.
CostReport analyze(const graph::Graph& g, const hw::Profile& profile, hw::Dtype dtype);

// The roofline time of one node from its counts: sets compute_s, memory_s, overhead_s,
// latency_s and bound. On entry `bound` says what analyze decided from the graph: fused,
// folded and none keep their meaning, anything else is a kernel that runs. analyze calls it
// for every node; calibration re-applies it to cached counts while it varies the profile.
void apply_roofline(NodeCost& c, const hw::Profile& prof, hw::Dtype dtype);

// Attention score pairs (query, key) one head computes, following the node's pattern.
// The queries are the last positions of the key sequence (after the cached tokens in decode).
std::int64_t attention_pairs(const graph::Attrs& a, std::int64_t queries, std::int64_t keys);

}  // namespace hwnas::cost
