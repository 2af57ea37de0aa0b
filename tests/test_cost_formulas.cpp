// Per-op counts against hand-computed values, attention patterns, KV cache, liveness.
#include <catch2/catch.hpp>
#include <string>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/graph/arch.hpp"

using namespace hwnas;
using namespace hwnas::graph;

namespace {

const hw::Profile& profile() {
  static const hw::Profile p = hw::load_profile("h100");
  return p;
}

cost::CostReport cost_of(const Graph& g, hw::Dtype d = hw::Dtype::fp32) { return cost::analyze(g, profile(), d); }

Graph image(const std::string& layers, int c = 3, int r = 32, std::int64_t batch = 1) {
  const std::string text = R"({"format": "hwnas.arch/1", "name": "t", "input": {"channels": )" + std::to_string(c) +
                           R"(, "resolution": )" + std::to_string(r) + R"(}, "layers": [)" + layers + "]}";
  return parse_architecture(text, "t.json", {.batch = batch});
}

const cost::NodeCost& at(const Graph& g, const cost::CostReport& r, const char* name) {
  const int i = g.find(name);
  REQUIRE(i >= 0);
  return r.layers[static_cast<std::size_t>(i)];
}

}  // namespace

TEST_CASE("convolution, depthwise, pointwise and linear counts") {
  const Graph g = image(R"(
    {"name": "conv", "type": "conv2d", "out": 16, "kernel": 3, "stride": 2, "bias": true},
    {"name": "dw", "type": "conv2d", "out": 16, "kernel": 5, "groups": "depthwise", "bias": false},
    {"name": "pw", "type": "conv2d", "out": 8, "kernel": 1, "bias": false},
    {"name": "bn", "type": "batch_norm"},
    {"name": "pool", "type": "global_avg_pool"},
    {"name": "flat", "type": "flatten"},
    {"name": "fc", "type": "linear", "out": 10})", 3, 32, 2);
  const auto r = cost_of(g);
  // conv: 2 x 16 x 16x16 outputs x 3 x 3x3 ; params 16*3*9 + 16
  CHECK(at(g, r, "conv").macs == 2LL * 16 * 16 * 16 * 3 * 9);
  CHECK(at(g, r, "conv").params == 16 * 3 * 9 + 16);
  CHECK(at(g, r, "conv").cls == OpClass::conv);
  CHECK(at(g, r, "dw").macs == 2LL * 16 * 16 * 16 * 25);
  CHECK(at(g, r, "dw").params == 16 * 25);
  CHECK(at(g, r, "dw").cls == OpClass::depthwise);
  CHECK(at(g, r, "pw").macs == 2LL * 8 * 16 * 16 * 16);
  CHECK(at(g, r, "pw").cls == OpClass::pointwise);
  CHECK(at(g, r, "bn").params == 16);
  CHECK(at(g, r, "bn").buffers == 16);
  CHECK(at(g, r, "bn").macs == 0);
  CHECK(at(g, r, "bn").other_flops == 2LL * 2 * 8 * 16 * 16);
  CHECK(at(g, r, "fc").macs == 2LL * 8 * 10);
  CHECK(at(g, r, "fc").params == 8 * 10 + 10);
  CHECK(r.totals.flops == 2 * r.totals.macs);
}

TEST_CASE("attention pairs follow the pattern") {
  Attrs a;
  SECTION("full and causal") {
    a.pattern = AttnPattern::full;
    CHECK(cost::attention_pairs(a, 10, 10) == 100);
    a.pattern = AttnPattern::causal;
    CHECK(cost::attention_pairs(a, 10, 10) == 55);
    a.past_tokens = 99;  // decode: one query against 100 keys
    CHECK(cost::attention_pairs(a, 1, 100) == 100);
  }
  SECTION("sliding window with sinks") {
    a.pattern = AttnPattern::sliding_window;
    a.window = 3;
    // positions 0..5 see 1,2,3,3,3,3 keys
    CHECK(cost::attention_pairs(a, 6, 6) == 15);
    a.sink_tokens = 1;  // positions 3,4,5 also see key 0
    CHECK(cost::attention_pairs(a, 6, 6) == 18);
  }
  SECTION("local window with global tokens") {
    a.pattern = AttnPattern::local_window;
    a.window = 2;  // one key each side
    // 6 tokens: ends see 2, the middle 4 see 3
    CHECK(cost::attention_pairs(a, 6, 6) == 16);
    a.global_tokens = 1;
    // row 0 sees all 6; rows 1..5: window (row 1 already includes key 0) plus key 0
    // row1: {0,1,2}=3; row2: {1,2,3}+0=4; row3: 4; row4: 4; row5: {4,5}+0=3
    CHECK(cost::attention_pairs(a, 6, 6) == 6 + 3 + 4 + 4 + 4 + 3);
  }
  SECTION("dilated window") {
    a.pattern = AttnPattern::dilated_window;
    a.window = 2;
    a.window_dilation = 2;  // keys p-2, p, p+2
    // 6 tokens: p=0:{0,2} p=1:{1,3} p=2:{0,2,4} p=3:{1,3,5} p=4:{2,4} p=5:{3,5}
    CHECK(cost::attention_pairs(a, 6, 6) == 2 + 2 + 3 + 3 + 2 + 2);
  }
}

TEST_CASE("attention macs count QK^T and AV per query head; GQA shrinks K/V only") {
  const std::string text = R"({"format": "hwnas.arch/1", "name": "lm", "input": {"tokens": 8}, "layers": [
    {"type": "embedding", "vocab": 50, "dim": 32},
    {"name": "dec", "type": "decoder_layer", "heads": 4, "kv_heads": 1, "ffn": 64}]})";
  const Graph g = parse_architecture(text, "lm.json");
  const auto r = cost_of(g);
  // causal 8 tokens: 36 pairs per head, 4 heads, head_dim 8, two matmuls
  CHECK(at(g, r, "dec.attn.core").macs == 36LL * 4 * 8 * 2);
  CHECK(at(g, r, "dec.attn.k").params == 32 * 8);   // one KV head of width 8, no bias
  CHECK(at(g, r, "dec.attn.q").params == 32 * 32);
  CHECK(at(g, r, "dec.ffn.gate").macs == 8LL * 32 * 64);
}

TEST_CASE("KV cache follows the DESIGN formula") {
  // Llama-2-7B-shaped attention: 32 layers x 32 KV heads x 128 -> 524,288 bytes per token in fp16
  const std::string llama = R"({"format": "hwnas.arch/1", "name": "l", "input": {"tokens": 16}, "layers": [
    {"type": "embedding", "vocab": 32000, "dim": 4096},
    {"type": "decoder_layer", "heads": 32, "kv_heads": 32, "ffn": 11008, "repeat": 32}]})";
  BuildOptions d;
  d.phase = Phase::decode;
  d.context = 1000;
  const auto r = cost_of(parse_architecture(llama, "l.json", d), hw::Dtype::fp16);
  CHECK(r.totals.kv_cache_bytes == 524288LL * 1000);
  // sliding window caps the cache at the window (plus sinks)
  const std::string windowed = R"({"format": "hwnas.arch/1", "name": "w", "input": {"tokens": 16}, "layers": [
    {"type": "embedding", "vocab": 100, "dim": 256},
    {"type": "decoder_layer", "heads": 4, "kv_heads": 2, "ffn": 512, "pattern": "sliding_window", "window": 64,
     "sink_tokens": 4, "repeat": 3}]})";
  const auto w = cost_of(parse_architecture(windowed, "w.json", d), hw::Dtype::bf16);
  CHECK(w.totals.kv_cache_bytes == 2LL * 3 * 2 * 64 * (64 + 4) * 2);
  // MLA caches one latent per token
  const std::string mla = R"({"format": "hwnas.arch/1", "name": "m", "input": {"tokens": 16}, "layers": [
    {"type": "embedding", "vocab": 100, "dim": 256},
    {"type": "decoder_layer", "heads": 4, "ffn": 512, "kv_latent_dim": 96, "repeat": 2}]})";
  const auto m = cost_of(parse_architecture(mla, "m.json", d), hw::Dtype::fp16);
  CHECK(m.totals.kv_cache_bytes == 2LL * 96 * 1000 * 2);
}

TEST_CASE("peak memory comes from liveness and stays within the activation total") {
  const Graph g = image(R"(
    {"name": "a", "type": "conv2d", "out": 8, "kernel": 1, "bias": false},
    {"name": "b", "type": "conv2d", "out": 8, "kernel": 1, "bias": false},
    {"name": "c", "type": "conv2d", "out": 8, "kernel": 1, "bias": false})", 8, 16);
  const auto r = cost_of(g);
  const std::int64_t t = 8 * 16 * 16 * 4;  // one fp32 tensor
  CHECK(r.totals.activation_bytes == 4 * t);  // input + three outputs
  CHECK(r.totals.peak_memory_bytes == 2 * t);  // a chain never holds more than two
  // a residual keeps the skip tensor alive
  const Graph res = image(R"(
    {"name": "a", "type": "conv2d", "out": 8, "kernel": 1, "bias": false},
    {"name": "b", "type": "conv2d", "out": 8, "kernel": 1, "bias": false},
    {"name": "s", "type": "add", "inputs": ["input", "b"]})", 8, 16);
  CHECK(cost_of(res).totals.peak_memory_bytes == 3 * t);
}

TEST_CASE("roofline: latency is max(compute, memory) plus overhead, with the bound named") {
  const Graph g = image(R"({"name": "conv", "type": "conv2d", "out": 256, "kernel": 3, "bias": false},
                           {"name": "bn", "type": "batch_norm"}, {"name": "act", "type": "relu"})", 256, 56, 32);
  const auto r = cost_of(g, hw::Dtype::fp16);
  const auto& c = at(g, r, "conv");
  CHECK(c.latency_s == Approx(std::max(c.compute_s, c.memory_s) + c.overhead_s));
  CHECK(c.bound == cost::Bound::compute);
  // PyTorch eager on the h100 runs BN and the activation as kernels; TFLite (raspberry_pi_4)
  // fuses them into the conv
  CHECK(at(g, r, "bn").bound != cost::Bound::fused);
  const auto f = cost::analyze(g, hw::load_profile("raspberry_pi_4"), hw::Dtype::fp16);
  CHECK(at(g, f, "bn").bound == cost::Bound::fused);
  CHECK(at(g, f, "act").bound == cost::Bound::fused);
  double sum = 0;
  for (const auto& l : r.layers) sum += l.latency_s;
  CHECK(r.totals.latency_s == Approx(sum));
}

TEST_CASE("MobileNetV2 matches torchvision exactly") {
  // shared/reference/torchvision_counts.json (torchvision 0.26)
  const auto r = cost_of(load_architecture("mobilenet_v2"));
  CHECK(r.totals.params == 3504872);
  CHECK(r.totals.macs == 300774272);
  CHECK(r.totals.flops == 601548544);
}

TEST_CASE("unknown profiles and dtypes without a rate are errors") {
  CHECK_THROWS_WITH(hw::load_profile("tpu_v9"), Catch::Matchers::Contains("unknown profile 'tpu_v9'"));
}
