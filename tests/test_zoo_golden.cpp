// The built-in model zoo: exact parameter and MAC counts against independent references,
// KV-cache sizes, and invariants every zoo model must satisfy.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>

#include "hwnas/cost/cost.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/profile.hpp"

using namespace hwnas;

namespace {

struct Golden {
  const char* model;
  std::int64_t params, macs;
};

// Counted in Python by experiments/zoo_check/check_zoo.py (recorded in its output.txt):
// params = sum of parameter numel; MACs = convolutions, linear layers and attention matmuls.
constexpr Golden kGolden[] = {
    // torchvision 0.14.1 and 0.26.0, at 224 unless noted (vit_b_16 and mobilenet_v2,
    // efficientnet_b0, resnet18 also agree with shared/reference/torchvision_counts.json)
    {"mobilenet_v2", 3'504'872, 300'774'272},
    {"mobilenet_v3_small", 2'542'856, 56'510'400},
    {"mobilenet_v3_large", 5'483'032, 216'589'760},
    {"efficientnet_b0", 5'288'548, 385'814'752},
    {"efficientnet_b1", 7'794'184, 686'802'832},     // 240x240
    {"efficientnet_b2", 9'109'994, 993'561'872},     // 260x260
    {"efficientnet_b3", 12'233'232, 1'827'141'392},  // 300x300
    {"resnet18", 11'689'512, 1'814'073'344},
    {"resnet50", 25'557'032, 4'089'184'256},
    {"vit_b_16", 86'567'656, 17'563'828'224},
    // MobileNetV1 1.0: Howard et al. 2017 Table 1 built in PyTorch (paper: 4.2 M, 569 M)
    {"mobilenet_v1", 4'231'976, 568'740'352},
    // timm 1.0.29 (MobileViT ported from apple/ml-cvnets), 256x256 (paper: 1.3 M, 2.3 M, 5.6 M)
    {"mobilevit_xxs", 1'272'024, 407'364'096},
    {"mobilevit_xs", 2'317'848, 1'025'911'808},
    {"mobilevit_s", 5'578'632, 2'000'831'488},
    // transformers 5.17.0 built from the HF config.json values; MACs = tokens x Linear weights +
    // 2 x heads x head_dim x causal (Mistral: 4096-window) score pairs per layer
    {"llama2_7b", 6'738'415'616, 29'262'149'058'560},         // 4096 tokens
    {"llama3_8b", 8'030'261'248, 70'275'328'638'976},         // 8192 tokens
    {"mistral_7b", 7'241'732'096, 64'845'953'105'920},        // 8192 tokens
    {"tinyllama_1_1b", 1'100'048'384, 2'307'563'454'464},     // 2048 tokens
};

// transformers 5.17.0 LongformerModel (with pooler) from allenai/longformer-base-4096's config;
// its MACs follow hwnas' own convention and have no independent reference.
constexpr std::int64_t kLongformerParams = 148'659'456;

cost::CostReport cost_of(const std::string& model, const graph::BuildOptions& opt = {},
                         hw::Dtype dtype = hw::Dtype::fp32) {
  static const hw::Profile h100 = hw::load_profile("h100");
  return cost::analyze(graph::load_architecture(model, opt), h100, dtype);
}

// KV cache bytes held after one decode step at `context`, in fp16.
std::int64_t kv_cache_at(const std::string& model, std::int64_t context) {
  graph::BuildOptions opt;
  opt.phase = graph::Phase::decode;
  opt.context = context;
  return cost_of(model, opt, hw::Dtype::fp16).totals.kv_cache_bytes;
}

}  // namespace

TEST_CASE("zoo models reproduce their references exactly", "[zoo]") {
  for (const auto& g : kGolden) {
    SECTION(g.model) {
      const auto r = cost_of(g.model);
      CHECK(r.totals.params == g.params);
      CHECK(r.totals.macs == g.macs);
      CHECK(r.totals.flops == 2 * g.macs);
    }
  }
  SECTION("longformer_base") { CHECK(cost_of("longformer_base").totals.params == kLongformerParams); }
}

TEST_CASE("zoo decoders cache the published KV bytes per token", "[zoo]") {
  // DESIGN.md / shared/reference: 2 x layers x kv_heads x head_dim x 2 bytes (fp16)
  CHECK(kv_cache_at("llama2_7b", 2) - kv_cache_at("llama2_7b", 1) == 524'288);  // 2*32*32*128*2
  CHECK(kv_cache_at("llama2_7b", 100) == 100 * 524'288);
  CHECK(kv_cache_at("tinyllama_1_1b", 2) - kv_cache_at("tinyllama_1_1b", 1) == 22'528);  // 2*22*4*64*2
  CHECK(kv_cache_at("llama3_8b", 2) - kv_cache_at("llama3_8b", 1) == 131'072);  // 2*32*8*128*2
  // Mistral's sliding window keeps the last 4096 tokens only
  CHECK(kv_cache_at("mistral_7b", 4096) == 4096 * 131'072);
  CHECK(kv_cache_at("mistral_7b", 6000) == 4096 * 131'072);
}

TEST_CASE("every zoo model satisfies the cost invariants", "[zoo]") {
  const auto zoo = graph::zoo();
  REQUIRE(zoo.size() >= 19);
  for (const auto& entry : zoo) {
    SECTION(entry.name) {
      CHECK_FALSE(entry.description.empty());
      const graph::Graph g = graph::load_architecture(entry.name);
      const auto r = cost_of(entry.name);
      REQUIRE(r.layers.size() == static_cast<std::size_t>(g.size()));
      cost::Totals sum;
      for (const auto& c : r.layers) {
        const auto& n = g.node(c.node);
        INFO("node " << n.name);
        for (std::int64_t v : {c.params, c.buffers, c.macs, c.flops, c.other_flops, c.weight_bytes,
                               c.activation_bytes, c.bytes, c.kv_cache_bytes})
          CHECK(v >= 0);
        for (double v : {c.intensity, c.compute_s, c.memory_s, c.overhead_s, c.latency_s}) CHECK(v >= 0.0);
        const bool matrix = n.op == graph::Op::conv2d || n.op == graph::Op::linear ||
                            n.op == graph::Op::matmul || n.op == graph::Op::attention;
        if (matrix) CHECK(c.macs > 0);
        else CHECK(c.macs == 0);
        CHECK(c.flops == 2 * c.macs);
        sum.params += c.params;
        sum.buffers += c.buffers;
        sum.macs += c.macs;
        sum.flops += c.flops;
        sum.other_flops += c.other_flops;
        sum.weight_bytes += c.weight_bytes;
        sum.activation_bytes += c.activation_bytes;
        sum.kv_cache_bytes += c.kv_cache_bytes;
        sum.latency_s += c.latency_s;
      }
      const auto& t = r.totals;
      CHECK(t.params == sum.params);
      CHECK(t.buffers == sum.buffers);
      CHECK(t.macs == sum.macs);
      CHECK(t.flops == sum.flops);
      CHECK(t.other_flops == sum.other_flops);
      CHECK(t.weight_bytes == sum.weight_bytes);
      CHECK(t.activation_bytes == sum.activation_bytes);
      CHECK(t.kv_cache_bytes == sum.kv_cache_bytes);
      CHECK(t.latency_s == Approx(sum.latency_s).epsilon(1e-12));
      CHECK(t.params > 0);
      CHECK(t.latency_s > 0);
      CHECK(t.peak_memory_bytes > 0);
      CHECK(t.peak_memory_bytes <= t.activation_bytes);
    }
  }
}
