// Transformer block options used by the zoo: post-norm layers (BERT/RoBERTa/Longformer) and
// Longformer's separate projections for global attention.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/profile.hpp"

using namespace hwnas;

namespace {

// 16 tokens of width 32 through one transformer layer given as JSON fields.
std::string arch(const std::string& type, const std::string& fields) {
  return R"({"format": "hwnas.arch/1", "name": "t", "input": {"tokens": 16}, "layers": [
    {"name": "embed", "type": "embedding", "vocab": 100, "dim": 32},
    {"name": "enc", "type": ")" + type + R"(", "heads": 2, "ffn": 64)" + fields + "}]}";
}

graph::Graph build(const std::string& text) { return graph::parse_architecture(text, "t.json"); }

std::int64_t attention_macs(const graph::Graph& g) {
  const auto r = cost::analyze(g, hw::load_profile("h100"), hw::Dtype::fp32);
  std::int64_t macs = 0;
  for (const auto& c : r.layers)
    if (g.node(c.node).op == graph::Op::attention) macs += c.macs;
  return macs;
}

std::string input_of(const graph::Graph& g, const std::string& node) {
  const int i = g.find(node);
  REQUIRE(i >= 0);
  return g.node(g.node(i).inputs.at(0)).name;
}

}  // namespace

TEST_CASE("post_norm normalises after each residual add", "[graph][transformer]") {
  const auto pre = build(arch("transformer_encoder", ""));
  const auto post = build(arch("transformer_encoder", R"(, "post_norm": true)"));
  CHECK(input_of(pre, "enc.norm1") == "embed");
  CHECK(input_of(pre, "enc.attn.q") == "enc.norm1");
  CHECK(input_of(post, "enc.attn.q") == "embed");
  CHECK(input_of(post, "enc.norm1") == "enc.add1");
  CHECK(input_of(post, "enc.ffn.fc1") == "enc.norm1");
  CHECK(input_of(post, "enc.norm2") == "enc.add2");
  CHECK(post.outputs() == std::vector<int>{post.find("enc.norm2")});
  // the same tensors, in another order
  const auto& h = hw::load_profile("h100");
  CHECK(cost::analyze(pre, h, hw::Dtype::fp32).totals.params == cost::analyze(post, h, hw::Dtype::fp32).totals.params);
}

TEST_CASE("global projections split Longformer attention into global and windowed rows", "[graph][transformer]") {
  const std::string window = R"(, "pattern": "local_window", "window": 4, "global_tokens": 2)";
  const auto shared = build(arch("transformer_encoder", window));
  const auto split = build(arch("transformer_encoder", window + R"(, "global_projections": true)"));
  CHECK(split.node(split.find("enc.attn.q_global")).shape == graph::Shape{1, 2, 32});
  CHECK(split.node(split.find("enc.attn.k_global")).shape == graph::Shape{1, 16, 32});
  CHECK(split.node(split.find("enc.attn.global")).shape == graph::Shape{1, 2, 32});
  CHECK(split.node(split.find("enc.attn.core")).shape == graph::Shape{1, 14, 32});
  CHECK(split.node(split.find("enc.attn.merge")).shape == graph::Shape{1, 16, 32});

  const auto& h = hw::load_profile("h100");
  // three more 32x32 projections with bias
  CHECK(cost::analyze(split, h, hw::Dtype::fp32).totals.params -
            cost::analyze(shared, h, hw::Dtype::fp32).totals.params == 3 * (32 * 32 + 32));
  // global rows: 2 queries x 16 keys; windowed rows (positions 2..15, 2 keys each side) by hand:
  // 5 + 6 + 10 x 7 + 6 + 5 = 92 pairs, the two global keys included; per pair 2 heads x 16 x 2 MACs
  CHECK(attention_macs(split) == (2 * 16 + 92) * 2 * 16 * 2);
  CHECK(attention_macs(shared) == attention_macs(split));
}

TEST_CASE("attention queries sit at the last key positions", "[cost][attention]") {
  graph::Attrs a;
  a.pattern = graph::AttnPattern::local_window;
  a.window = 4;
  a.global_tokens = 2;
  CHECK(cost::attention_pairs(a, 14, 16) == 92);
  CHECK(cost::attention_pairs(a, 16, 16) == 2 * 16 + 92);
  a = {};
  a.pattern = graph::AttnPattern::causal;
  CHECK(cost::attention_pairs(a, 2, 5) == 4 + 5);
  a.past_tokens = 3;  // decode: the cache fixes the positions
  CHECK(cost::attention_pairs(a, 2, 5) == 4 + 5);
}

TEST_CASE("global projections reject what they cannot model", "[graph][transformer]") {
  CHECK_THROWS_WITH(build(arch("decoder_layer", R"(, "pattern": "local_window", "window": 4, "global_tokens": 2, "global_projections": true)")),
                    Catch::Contains("t.json: layers[1] ('enc').global_projections: applies to transformer_encoder layers"));
  CHECK_THROWS_WITH(build(arch("transformer_encoder", R"(, "pattern": "local_window", "window": 4, "global_projections": true)")),
                    Catch::Contains("global_projections: needs global_tokens >= 1 and pattern local_window or dilated_window"));
  CHECK_THROWS_WITH(build(arch("transformer_encoder", R"(, "global_tokens": 2, "global_projections": true)")),
                    Catch::Contains("needs global_tokens >= 1 and pattern local_window"));
  CHECK_THROWS_WITH(build(arch("transformer_encoder", R"(, "pattern": "local_window", "window": 4, "global_tokens": 16, "global_projections": true)")),
                    Catch::Contains("node 'enc.attn': global projections need 1 <= global_tokens < tokens, got 16 global of 16 tokens"));
  CHECK_THROWS_WITH(build(arch("transformer_encoder", R"(, "post_norm": 1)")),
                    Catch::Contains("enc').post_norm: must be true or false, got 1"));
}
