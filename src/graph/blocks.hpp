#pragma once
// Block builders: each expands one block into primitive ops, naming them under the
// block's path ("stage3.1.dw"). Used by the architecture parser and the search space
// decoder; nothing downstream knows about blocks.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hwnas/graph/graph.hpp"

namespace hwnas::graph {

// torchvision's _make_divisible: round to a multiple of `divisor`, never more than 10% down.
std::int64_t make_divisible(double v, int divisor);
bool is_activation_name(std::string_view name);

constexpr Op kNoAct = Op::count_;  // "no activation"

struct ConvSpec {
  std::int64_t out = 0;
  int kh = 3, kw = 3, sh = 1, sw = 1, ph = 1, pw = 1, dh = 1, dw = 1, groups = 1;
  bool bias = false, norm = true;
  Op act = kNoAct;
};

struct SqueezeExcite {
  bool enabled = false;
  double ratio = 0.25;
  bool of_input = false;  // squeeze width from the block input (EfficientNet) or the expanded width (MobileNetV3)
  int divisor = 1;        // > 1: round the squeeze width with make_divisible
  Op act = Op::relu, gate = Op::sigmoid;
};

struct InvertedResidual {
  std::int64_t out = 0, expanded = 0;
  int kernel = 3, stride = 1;
  Op act = Op::relu6;
  SqueezeExcite se;
  bool residual = true;
};

struct AttentionSpec {
  int heads = 1, kv_heads = 1, head_dim = 1;
  AttnPattern pattern = AttnPattern::full;
  std::int64_t window = 0;
  int window_dilation = 1;
  std::int64_t global_tokens = 0, sink_tokens = 0, kv_latent_dim = 0;
  bool bias = true;
};

struct Transformer {
  AttentionSpec attn;
  std::int64_t ffn = 0;
  bool swiglu = false;
  Op ffn_act = Op::gelu;
  Op norm = Op::layer_norm;
  bool post_norm = false;           // normalise after each residual add (BERT/RoBERTa) instead of before
  bool global_projections = false;  // Longformer: the global queries attend to every token through
                                    // separate q/k/v projections; needs global_tokens and a window pattern
  bool kv_cache = false;
};

struct MobileVit {
  std::int64_t dim = 0, ffn = 0, out = 0;
  int depth = 1, heads = 4, patch = 2, kernel = 3;
  Op act = Op::silu;
};

class Blocks {
 public:
  explicit Blocks(Graph& g) : g_(g) {}

  std::string prefix;            // path of the node being built
  std::string block;             // the layer (block) path, for report subtotals
  std::int64_t past_tokens = 0;  // decode phase: tokens already in every KV cache

  int node(Op op, std::vector<int> inputs, Attrs a, std::string_view sub);
  int unary(Op op, int x, std::string_view sub) { return node(op, {x}, {}, sub); }
  // conv2d (+ batch_norm) (+ activation); one node named `sub` when bare, else sub.conv/.bn/.act
  int conv(int x, const ConvSpec& c, std::string_view sub);
  int linear(int x, std::int64_t out, bool bias, std::string_view sub);
  int squeeze_excite(int x, const SqueezeExcite& s, std::int64_t block_in, std::int64_t expanded,
                     std::string_view sub);
  int dw_separable(int x, std::int64_t out, int kernel, int stride, Op act);
  int inverted_residual(int x, const InvertedResidual& r);
  int residual_basic(int x, std::int64_t out, int stride, Op act);
  int residual_bottleneck(int x, std::int64_t width, std::int64_t out, int stride, Op act);
  int mobilevit(int x, const MobileVit& m);
  int patch_embed(int x, int patch, std::int64_t dim, bool class_token, bool position_embedding);
  int position_embedding(int x, std::int64_t max_tokens);
  Attrs attention_attrs(const AttentionSpec& s, bool kv_cache) const;
  int transformer(int x, const Transformer& t);

 private:
  Graph& g_;
  std::string path(std::string_view sub) const;
  std::int64_t channels(int x) const { return g_.node(x).shape[1]; }
};

}  // namespace hwnas::graph
