// Search spaces: gene lists, sizes, decoding genomes into graphs (names, shapes, depth, width and
// kernel choices), block and sequence choices, canonical genomes, and bad spaces and genomes.
#include <catch2/catch.hpp>
#include <string>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/space/space.hpp"

using namespace hwnas;
using Catch::Matchers::Contains;

namespace {

const std::string kSpaces = std::string(HWNAS_TEST_DATA) + "/../../search_spaces/";

std::vector<std::string> names(const space::Space& s) {
  std::vector<std::string> out;
  for (const auto& g : s.genes()) out.push_back(g.name);
  return out;
}

// A tiny space written inline; `layers` is the JSON text of the layer list.
space::Space tiny(const std::string& layers, const std::string& top = "") {
  return space::Space::parse(R"({"format": "hwnas.space/1", "name": "tiny", "input": {"channels": 3, "resolution": 32},)" +
                                 top + R"("layers": )" + layers + "}",
                             "tiny.json");
}

}  // namespace

TEST_CASE("space: the MobileNetV2 space's genes and size", "[space]") {
  const auto s = space::Space::load(kSpaces + "mobilenet_v2_space.json");
  const auto n = names(s);
  REQUIRE(n.size() == 20);
  CHECK(n.front() == "input.resolution");
  CHECK(n[1] == "stage2.expand");
  CHECK(n[2] == "stage2.kernel");
  CHECK(n[3] == "stage2.repeat");
  CHECK(n.back() == "width_mult");
  CHECK(s.genes()[3].kind == space::GeneKind::integer);
  CHECK(s.genes()[3].path == "layers[2].repeat");
  CHECK(s.genes()[2].labels == std::vector<std::string>{"3", "5", "7"});
  // resolution 3 x width 3 x stages 2-6 (4 depths x 3 kernels x 3 expansions) x stage 7 (2 x 3 x 3)
  CHECK(s.size() == 3.0 * 3 * 36 * 36 * 36 * 36 * 36 * 18);
  CHECK_FALSE(s.has_real_genes());
}

TEST_CASE("space: decoding applies resolution, width, depth, kernel and expansion choices", "[space]") {
  const auto s = space::Space::load(kSpaces + "mobilenet_v2_space.json");
  // 160 px; stage2: expand 6, kernel 5, depth 4; stages 3-6: expand 3, kernel 3, depth 1;
  // stage 7: depth 2; width 1.25 (categorical genes hold option indices, int genes values)
  space::Genome g(20, 0.0);
  g[1] = 2, g[2] = 1, g[3] = 4;
  for (int st = 0; st < 5; ++st) g[4 + 3 * st + 2] = 1;
  g[18] = 2;
  g[19] = 2;
  const graph::Graph gr = s.decode(g);
  CHECK(gr.name == "mobilenet_v2_space");
  CHECK(gr.node(0).shape == graph::Shape{1, 3, 160, 160});
  // width 1.25: the stem's 32 channels become 40, stage2's 24 become 32 (make_divisible by 8)
  CHECK(gr.node(gr.find("stem.conv")).shape[1] == 40);
  const int dw = gr.find("stage2.3.dw.conv");
  REQUIRE(dw >= 0);
  CHECK(gr.find("stage2.4.dw.conv") == -1);
  CHECK(gr.node(dw).attrs.kh == 5);
  CHECK(gr.node(dw).shape == graph::Shape{1, 32 * 6, 40, 40});  // expansion 6 of 32 channels
  CHECK(gr.find("stage3.0.dw.conv") >= 0);
  CHECK(gr.find("stage3.1.dw.conv") == -1);
  CHECK(gr.node(gr.find("stage3.0.dw.conv")).attrs.kh == 3);
  CHECK(gr.find("stage7.1.dw.conv") >= 0);
  CHECK(gr.find("stage7.2.dw.conv") == -1);
  CHECK(gr.node(gr.find("classifier")).shape == graph::Shape{1, 1000});
  const auto named = s.named(g);
  CHECK(named.front() == std::pair<std::string, std::string>{"input.resolution", "160"});
  CHECK(named.back() == std::pair<std::string, std::string>{"width_mult", "1.25"});
  // the architecture text decodes to the same graph through the ordinary parser
  const graph::Graph again = graph::parse_architecture(s.architecture_json(g), "member.json");
  CHECK(again.size() == gr.size());
  CHECK(again.node(again.size() - 1).shape == gr.node(gr.size() - 1).shape);
}

TEST_CASE("space: an architecture is a space of one member", "[space]") {
  const auto s = space::Space::load("mobilenet_v2");
  CHECK(s.genes().empty());
  CHECK(s.size() == 1);
  const auto h100 = hw::load_profile("h100");
  const auto a = cost::analyze(s.decode({}), h100, hw::Dtype::fp32);
  const auto b = cost::analyze(graph::load_architecture("mobilenet_v2"), h100, hw::Dtype::fp32);
  CHECK(a.totals.params == b.totals.params);
  CHECK(a.totals.params == 3504872);
  CHECK(a.totals.macs == b.totals.macs);
}

TEST_CASE("space: block choices with nested choices and sequence options", "[space]") {
  const auto s = tiny(R"([
    {"name": "stem", "type": "conv", "out": 8, "stride": 2},
    {"name": "body", "choice": "block", "inputs": ["stem"], "options": [
       {"type": "conv", "out": 16, "kernel": {"choice": "categorical", "values": [3, 5]}},
       {"type": "dw_separable", "out": 16},
       {"label": "attention", "layers": [
          {"name": "tokens", "type": "reshape", "shape": [8, -1]},
          {"name": "seq", "type": "transpose", "perm": [0, 2, 1]},
          {"name": "attn", "type": "transformer_encoder", "heads": 2, "pattern": "local_window",
           "window": {"choice": "int", "min": 4, "max": 6}},
          {"name": "back", "type": "transpose", "perm": [0, 2, 1]},
          {"name": "map", "type": "reshape", "shape": [8, 16, 16]}]}]},
    {"name": "pool", "type": "global_avg_pool", "inputs": ["body"]}])");
  CHECK(names(s) == std::vector<std::string>{"body.block", "body.conv.kernel", "body.attention.attn.window"});
  CHECK(s.size() == 2 + 1 + 3);
  const auto conv = s.decode({0, 1, 4});
  CHECK(conv.node(conv.find("body.conv")).attrs.kh == 5);
  CHECK(conv.node(conv.find("body.conv")).shape == graph::Shape{1, 16, 16, 16});
  const auto attn = s.decode({2, 0, 6});
  const int a = attn.find("body.attn.attn.core");  // the encoder's attention op
  REQUIRE(a >= 0);
  CHECK(attn.node(a).attrs.window == 6);
  CHECK(attn.find("body") >= 0);  // the last layer of the sequence carries the block's name
  CHECK(attn.node(attn.find("pool")).shape == graph::Shape{1, 8, 1, 1});
  // genes of options not chosen do not tell members apart
  CHECK(s.canonical({1, 1, 6}) == space::Genome{1, 0, 4});
  CHECK(s.canonical({0, 1, 6}) == space::Genome{0, 1, 4});
  const auto named = s.named({2, 1, 5});
  REQUIRE(named.size() == 2);
  CHECK(named[0].second == "\"attention\"");
  CHECK(named[1] == std::pair<std::string, std::string>{"body.attention.attn.window", "5"});
}

TEST_CASE("space: shipped spaces decode their first members", "[space]") {
  for (const char* f : {"mobilenet_v2_space.json", "hybrid_space.json", "fmnist_space.json", "decoder_lm_space.json"}) {
    INFO(f);
    const auto s = space::Space::load(kSpaces + f);
    CHECK(s.size() > 100);
    space::Genome g;
    for (const auto& e : s.genes()) g.push_back(e.kind == space::GeneKind::categorical ? e.hi : e.lo);
    CHECK(s.decode(s.canonical(g)).size() > 5);
  }
  const auto f = space::Space::load(kSpaces + "fmnist_space.json");
  space::Genome g(f.genes().size(), 0.0);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = f.genes()[i].lo;
  CHECK(f.decode(g).node(0).shape == graph::Shape{1, 1, 28, 28});
}

TEST_CASE("space: decoded members are the graphs of their architecture text", "[space]") {
  // decode() picks members built at parse time (or instantiates the larger layer entries);
  // architecture_json() always instantiates the whole tree: both must give the same graph
  const auto h100 = hw::load_profile("h100");
  std::uint64_t x = 7;
  for (const char* f : {"mobilenet_v2_space.json", "hybrid_space.json", "fmnist_space.json", "decoder_lm_space.json"}) {
    INFO(f);
    const auto s = space::Space::load(kSpaces + f);
    for (int m = 0; m < 20; ++m) {
      space::Genome g;  // every gene random, those of options not chosen too
      for (const auto& e : s.genes()) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        g.push_back(e.lo + static_cast<double>((x >> 33) % static_cast<std::uint64_t>(e.hi - e.lo + 1)));
      }
      INFO(space::genome_text(g));
      const graph::Graph a = s.decode(g);
      const graph::Graph b = graph::parse_architecture(s.architecture_json(g), s.source());
      REQUIRE(a.size() == b.size());
      for (int i = 0; i < a.size(); ++i) {
        CHECK(a.node(i).name == b.node(i).name);
        CHECK(a.node(i).op == b.node(i).op);
        CHECK(a.node(i).inputs == b.node(i).inputs);
        CHECK(a.node(i).shape == b.node(i).shape);
      }
      const auto ca = cost::analyze(a, h100, hw::Dtype::fp32), cb = cost::analyze(b, h100, hw::Dtype::fp32);
      CHECK(ca.totals.params == cb.totals.params);
      CHECK(ca.totals.macs == cb.totals.macs);
      CHECK(ca.totals.latency_s == cb.totals.latency_s);
    }
  }
}

TEST_CASE("space: bad spaces name the file and the JSON path", "[space]") {
  CHECK_THROWS_WITH(tiny(R"([{"type": "conv", "out": {"choice": "maybe", "values": [1]}}])"),
                    "tiny.json: layers[0].out.choice: unknown choice kind 'maybe' (categorical, int, real, block)");
  CHECK_THROWS_WITH(tiny(R"([{"name": "c", "type": "conv", "out": {"choice": "categorical", "values": []}}])"),
                    "tiny.json: layers[0].out.values: must be a non-empty array, got []");
  CHECK_THROWS_WITH(tiny(R"([{"type": "conv", "out": 8, "kernel": {"choice": "int", "min": 5, "max": 3}}])"),
                    "tiny.json: layers[0].kernel.max: must be >= min (5), got 3");
  CHECK_THROWS_WITH(tiny(R"([{"type": "conv", "out": {"choice": "block", "options": [{"type": "relu"}]}}])"),
                    "tiny.json: layers[0].out: a block choice goes where a layer goes (an entry of \"layers\")");
  CHECK_THROWS_WITH(tiny(R"([{"type": "conv", "out": 8, "kernel": {"choice": "categorical", "values": [3], "step": 2}}])"),
                    "tiny.json: layers[0].kernel.step: unknown field of a choice (allowed: choice, values, gene)");
  CHECK_THROWS_WITH(tiny(R"([{"type": "conv", "out": {"choice": "int", "min": 1, "max": 2, "gene": "w"},
                              "kernel": {"choice": "int", "min": 1, "max": 3, "gene": "w"}}])"),
                    Contains("tiny.json: layers[0].out: duplicate gene name 'w'") || Contains("layers[0].kernel: duplicate gene name 'w'"));
  CHECK_THROWS_WITH(space::Space::parse(R"({"format": "hwnas.arch/9", "layers": []})", "x.json"),
                    Contains("x.json: format: must be \"hwnas.space/1\""));
  CHECK_THROWS_WITH(tiny(R"([{"name": "b", "choice": "block", "stride": 2, "options": [{"type": "relu"},
                              {"layers": [{"type": "relu"}]}]}])"),
                    "tiny.json: layers[0].options[1]: the block's field 'stride' does not apply to a sequence option (only name and inputs do)");
  // a member the builder rejects names the layer and field
  const auto s = tiny(R"([{"name": "c", "type": "conv", "out": 8, "kernel": {"choice": "categorical", "values": [3, 0]}}])");
  CHECK_THROWS_WITH(s.decode({1}), "tiny.json: layers[0] ('c').kernel: must be >= 1, got 0");
}

TEST_CASE("space: bad genomes name the gene and its path", "[space]") {
  const auto s = space::Space::load(kSpaces + "mobilenet_v2_space.json");
  const std::string src = kSpaces + "mobilenet_v2_space.json";
  space::Genome g(20, 0.0);
  g[3] = 1;
  for (int i = 6; i < 19; i += 3) g[i] = 1;
  CHECK_NOTHROW(s.decode(g));
  auto bad = g;
  bad[2] = 9;
  CHECK_THROWS_WITH(s.decode(bad), src + ": gene 2 'stage2.kernel' (layers[2].kernel): must be an option index 0..2, got 9");
  bad = g;
  bad[3] = 0;
  CHECK_THROWS_WITH(s.decode(bad), src + ": gene 3 'stage2.repeat' (layers[2].repeat): must be an integer in 1..4, got 0");
  bad[3] = 1.5;
  CHECK_THROWS_WITH(s.decode(bad), Contains("must be an integer in 1..4, got 1.5"));
  CHECK_THROWS_WITH(s.decode({1, 2}), Contains(src + ": the genome has 2 genes, the space has 20 (input.resolution, stage2.expand"));
  CHECK(space::parse_genome("3,1,0.75,2") == space::Genome{3, 1, 0.75, 2});
  CHECK(space::parse_genome(R"({"id": 4, "genome": [1, 2]})") == space::Genome{1, 2});
  CHECK_THROWS_WITH(space::parse_genome("3,x"), "genome '3,x': value 1 is not a number, got 'x'");
  CHECK(space::genome_text({3, 1, 0.75}) == "3,1,0.75");
}
