#pragma once
// The layer graph: a DAG of primitive ops with inferred shapes. Every consumer (cost
// model, executor, search) reads this one type. Nodes are stored in a topological
// order: a node's inputs always come before it.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hwnas::graph {

using Shape = std::vector<std::int64_t>;

std::int64_t numel(const Shape& s);
std::string to_string(const Shape& s);

// Adding an op: extend this enum, its row in op_table (graph.cpp, checked by a
// static_assert), its shape rule (graph.cpp), its cost (cost/analyze.cpp), its kernel
// (exec) and its test.
enum class Op : std::uint8_t {
  input,            // graph input; attrs.shape holds the full shape (batch included)
  weight,           // a learned tensor used as data (class token, position embedding)
  conv2d,           // NCHW; kernel, stride, padding, dilation, groups, bias
  linear,           // y = x W^T + b over the last dimension
  matmul,           // batched [.., M, K] x [.., K, N] with broadcast batch dims
  attention,        // softmax(Q K^T / sqrt(d)) V; inputs q [B,Tq,Hq*D], k, v [B,Tk,Hkv*D]
  batch_norm,       // over dim 1
  layer_norm,       // over the last dimension
  rms_norm,         // over the last dimension
  relu, relu6, hardswish, hardsigmoid, sigmoid, silu, gelu,
  add, mul,         // elementwise with numpy broadcasting
  zero,             // x * 0: zeros of the input's shape, computed as the multiply (NAS-Bench-201's `none`)
  concat,           // along attrs.axis; size-1 dims broadcast (a class token over the batch)
  avg_pool, max_pool, global_avg_pool,
  reshape,          // attrs.shape, batch dimension excluded (it is kept)
  transpose,        // attrs.perm over all dimensions
  unfold,           // [B,C,H,W] -> [B*ph*pw, H*W/(ph*pw), C]  (MobileViT patches)
  fold,             // inverse of unfold; attrs.shape = {C,H,W}
  embedding,        // token ids [B,T] -> [B,T,dim]
  flatten,          // [B, ...] -> [B, prod(...)]
  slice,            // [start, end) of attrs.axis (negative counts from the end), every attrs.step-th
  softmax,          // over the last dimension
  constant,         // a fixed tensor that is not learned (ONNX constants); attrs.shape, no params
  view,             // reshape to attrs.shape given in full, batch included (ONNX Reshape that
                    // folds the batch, e.g. Swin's windows); `reshape` keeps the batch
  count_
};

enum class AttnPattern : std::uint8_t {
  full,            // every query sees every key
  causal,          // key position <= query position
  sliding_window,  // causal, the last `window` keys (plus `sink_tokens` first keys)
  local_window,    // two-sided window of `window` keys (window/2 each side), Longformer
  dilated_window,  // two-sided window with gaps of `window_dilation`
  count_
};

// The role of an op for the roofline: which efficiency of the profile applies.
enum class OpClass : std::uint8_t {
  conv, depthwise, pointwise, linear, matmul, attention, norm, activation,
  elementwise, pooling, data_movement, embedding, none, count_
};

std::string_view op_name(Op op);
std::string_view pattern_name(AttnPattern p);
std::string_view op_class_name(OpClass c);
// Lookups by name; return false when the name is unknown.
bool op_from_name(std::string_view name, Op& out);
bool pattern_from_name(std::string_view name, AttnPattern& out);
bool op_class_from_name(std::string_view name, OpClass& out);
// Ops that only reinterpret memory (no kernel, no bytes moved).
bool is_view(Op op);
bool is_activation(Op op);

struct Attrs {
  // conv2d / pooling / linear / embedding
  std::int64_t out = 0;  // out channels (conv2d), out features (linear), dim (embedding)
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  bool bias = false;
  bool ceil_mode = false;
  std::int64_t vocab = 0;
  // attention
  int heads = 0, kv_heads = 0, head_dim = 0;
  AttnPattern pattern = AttnPattern::full;
  std::int64_t window = 0;
  int window_dilation = 1;
  std::int64_t global_tokens = 0, sink_tokens = 0;
  std::int64_t past_tokens = 0;   // keys already in the KV cache (decode phase)
  bool kv_cache = false;          // this attention keeps a KV cache (decoders)
  std::int64_t kv_latent_dim = 0; // MLA: width of the cached latent per token (0: K and V)
  // concat / softmax / shape ops
  int axis = 1;
  std::int64_t start = 0, end = 0;  // slice
  std::int64_t step = 1;            // slice: every step-th element of [start, end) (>= 1)
  Shape shape;              // input, weight, reshape, fold
  std::vector<int> perm;    // transpose
  int patch_h = 0, patch_w = 0;  // unfold / fold
};

struct Node {
  std::string name;   // block path, e.g. "features.3.dw.conv"
  std::uint16_t block_len = 0;  // name[0, block_len) is the layer/block this node belongs to
  Op op = Op::input;
  Attrs attrs;
  std::vector<int> inputs;  // indices of earlier nodes
  Shape shape;              // output shape, inferred when the node is added
  // bit i: the i-th learned tensor (params_of order) is the same tensor as one counted at an
  // earlier node (weights shared in an imported file); it is not counted again
  std::uint8_t shared_params = 0;
};

// A learned tensor of a node, in PyTorch's naming and layout.
struct ParamSpec {
  std::string name;  // "weight", "bias", "running_mean", ...
  Shape shape;
  bool buffer = false;  // running statistics: state, not parameters
  bool shared = false;  // counted at an earlier node (Node::shared_params)
};

class Graph {
 public:
  std::string name;

  // Adds a node whose inputs are already in the graph, infers its shape and returns its
  // index. Throws hwnas::Error naming the node and the bad value on any inconsistency
  // (names are unique: the executor keys weights by them).
  int add(Node&& node);  // taken by reference: a node is a few hundred bytes, moved once into place

  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(int i) const { return nodes_.at(static_cast<std::size_t>(i)); }
  int size() const { return static_cast<int>(nodes_.size()); }
  // Nodes no other node reads.
  std::vector<int> outputs() const;
  // Index of the node with this name, or -1.
  int find(std::string_view name) const;

 private:
  std::vector<Node> nodes_;
  // Node names hashed by open addressing: a slot holds a name's 32-bit hash (high half) and its
  // node's index + 1 (low half; 0: empty). The size is a power of two, at least twice the node
  // count: no string copies, and names are compared only when their hashes agree.
  std::vector<std::uint64_t> slots_;
  std::size_t slot_of(std::string_view name, std::uint32_t hash) const;  // `name`'s slot, else an empty one
  void grow();
};

// Learned tensors of a node (empty for ops without parameters).
std::vector<ParamSpec> params_of(const Graph& g, const Node& n);
// Their element counts, without building the list (the cost model's hot path).
struct ParamCount {
  std::int64_t params = 0, buffers = 0;
  std::int64_t shared = 0;  // elements of shared tensors: read by the node, counted elsewhere
};
ParamCount param_count(const Graph& g, const Node& n);

// The roofline class of a node (conv2d splits into conv / depthwise / pointwise).
OpClass op_class(const Graph& g, const Node& n);

// Orders `count` items so that every edge (from, to) goes forward, using Boost.Graph.
// Throws hwnas::Error listing `names` of the items on a cycle when there is one.
std::vector<int> topological_order(int count, const std::vector<std::pair<int, int>>& edges,
                                   const std::vector<std::string>& names,
                                   const std::string& context);

}  // namespace hwnas::graph
