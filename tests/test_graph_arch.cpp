// Architecture JSON -> graph: shapes, blocks, and bad input with the message asserted.
#include <catch2/catch.hpp>
#include <string>

#include "hwnas/error.hpp"
#include "hwnas/graph/arch.hpp"

using namespace hwnas;
using namespace hwnas::graph;

namespace {

std::string arch(const std::string& layers, const std::string& input = R"({"channels": 3, "resolution": 32})") {
  return R"({"format": "hwnas.arch/1", "name": "t", "input": )" + input + R"(, "layers": [)" + layers + "]}";
}

Graph build(const std::string& layers, BuildOptions opt = {}) { return parse_architecture(arch(layers), "t.json", opt); }

std::string error_of(const std::string& text, BuildOptions opt = {}) {
  try {
    parse_architecture(text, "net.json", opt);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("conv2d output shapes follow PyTorch for stride, padding, dilation and groups") {
  const Graph g = build(R"(
    {"name": "a", "type": "conv2d", "out": 8, "kernel": 3, "stride": 2},
    {"name": "b", "type": "conv2d", "out": 8, "kernel": 3, "dilation": 2},
    {"name": "c", "type": "conv2d", "out": 16, "kernel": [1, 5], "padding": [0, 0], "groups": 4},
    {"name": "d", "type": "conv2d", "out": 16, "kernel": 3, "groups": "depthwise", "padding": 0})");
  CHECK(g.node(g.find("a")).shape == Shape{1, 8, 16, 16});
  CHECK(g.node(g.find("b")).shape == Shape{1, 8, 16, 16});   // padding defaults to dilation*(k-1)/2
  CHECK(g.node(g.find("c")).shape == Shape{1, 16, 16, 12});
  CHECK(g.node(g.find("d")).shape == Shape{1, 16, 14, 10});
  CHECK(g.node(g.find("d")).attrs.groups == 16);
}

TEST_CASE("blocks expand into primitives named by their block path") {
  const Graph g = build(R"(
    {"name": "stem", "type": "conv", "out": 16, "stride": 2},
    {"name": "ir", "type": "inverted_residual", "out": 16, "expand": 4, "kernel": 5,
     "se": {"ratio": 0.25, "act": "relu", "gate": "hardsigmoid", "divisor": 8}, "repeat": 2})");
  for (const char* n : {"stem.conv", "stem.bn", "stem.act", "ir.0.expand.conv", "ir.0.dw.conv", "ir.0.se.fc1",
                        "ir.0.se.scale", "ir.0.project.bn", "ir.0.add", "ir.1.add"})
    CHECK(g.find(n) >= 0);
  const Node& dw = g.node(g.find("ir.1.dw.conv"));
  CHECK(dw.attrs.groups == 64);
  CHECK(dw.attrs.kh == 5);
  CHECK(g.node(g.find("ir.0.se.fc1")).attrs.out == 16);  // make_divisible(64/4, 8)
  CHECK(g.node(g.find("ir.1.add")).block_len == std::string("ir.1").size());
}

TEST_CASE("explicit inputs branch the graph and may refer forward") {
  const Graph g = build(R"(
    {"name": "sum", "type": "add", "inputs": ["left", "right"]},
    {"name": "left", "type": "conv2d", "out": 4, "inputs": ["input"]},
    {"name": "right", "type": "conv2d", "out": 4, "kernel": 1, "inputs": ["input"]})");
  // topological order: both branches come before the add, layers otherwise in file order
  CHECK(g.find("left") < g.find("sum"));
  CHECK(g.find("right") < g.find("sum"));
  CHECK(g.outputs() == std::vector<int>{g.find("sum")});
}

TEST_CASE("width and depth multipliers round like torchvision") {
  const std::string text = R"({"format": "hwnas.arch/1", "name": "s", "width_mult": 1.1, "depth_mult": 1.2,
    "input": {"channels": 3, "resolution": 32},
    "layers": [{"name": "a", "type": "conv", "out": 40}, {"name": "b", "type": "conv", "out": 24, "repeat": 3},
               {"name": "fc", "type": "linear", "out": 10, "inputs": ["a"]}]})";
  const Graph g = parse_architecture(text, "s.json");
  CHECK(g.node(g.find("a.conv")).attrs.out == 48);  // make_divisible(44, 8) = 48
  CHECK(g.find("b.3.conv") >= 0);                    // ceil(3 * 1.2) = 4 repeats
  CHECK(g.find("b.4.conv") < 0);
  CHECK(g.node(g.find("fc")).attrs.out == 10);      // linear layers keep their width
}

TEST_CASE("token models: prefill length and decode context") {
  const std::string text = R"({"format": "hwnas.arch/1", "name": "lm", "input": {"tokens": 16}, "layers": [
    {"type": "embedding", "vocab": 100, "dim": 64},
    {"name": "dec", "type": "decoder_layer", "heads": 4, "kv_heads": 2, "ffn": 128, "repeat": 2},
    {"type": "rms_norm"}, {"type": "linear", "out": 100, "bias": false}]})";
  const Graph p = parse_architecture(text, "lm.json", {.batch = 2, .seq_len = 32});
  CHECK(p.node(0).shape == Shape{2, 32});
  CHECK(p.node(p.find("dec.0.attn.k")).shape == Shape{2, 32, 32});
  BuildOptions d;
  d.phase = Phase::decode;
  d.context = 100;
  const Graph g = parse_architecture(text, "lm.json", d);
  CHECK(g.node(0).shape == Shape{1, 1});
  const Node& core = g.node(g.find("dec.1.attn.core"));
  CHECK(core.attrs.past_tokens == 99);
  CHECK(core.attrs.kv_cache);
  CHECK(core.attrs.pattern == AttnPattern::causal);
}

TEST_CASE("bad architectures name the file, the field and the value") {
  using Catch::Matchers::Contains;
  CHECK_THAT(error_of(arch(R"({"type": "conv2d", "out": 8, "stride": 0})")),
             Contains("net.json: layers[0] ('layers.0').stride: must be >= 1, got 0"));
  CHECK_THAT(error_of(arch(R"({"type": "conv2d", "out": -3})")),
             Contains("net.json: layers[0] ('layers.0').out: must be >= 1, got -3"));
  CHECK_THAT(error_of(arch(R"({"type": "frobnicate"})")),
             Contains("net.json: layers[0] ('layers.0').type: unknown layer type 'frobnicate'"));
  CHECK_THAT(error_of(arch(R"({"type": "conv2d"})")), Contains("net.json: layers[0] ('layers.0'): missing field 'out'"));
  CHECK_THAT(error_of(arch(R"({"type": "conv2d", "out": "eight"})")),
             Contains("layers[0] ('layers.0').out: must be an integer, got \"eight\""));
  CHECK_THAT(error_of(arch(R"({"type": "conv2d", "out": 8, "kernal": 3})")),
             Contains("layers[0] ('layers.0').kernal: unknown field"));
  CHECK_THAT(error_of(arch(R"({"name": "a", "type": "conv2d", "out": 8},
                              {"name": "b", "type": "conv2d", "out": 4, "inputs": ["input"]},
                              {"name": "c", "type": "add", "inputs": ["a", "b"]})")),
             Contains("node 'c' (add): shapes [1,8,32,32] and [1,4,32,32] do not broadcast"));
  CHECK_THAT(error_of(arch(R"({"name": "a", "type": "relu", "inputs": ["b"]},
                              {"name": "b", "type": "relu", "inputs": ["a"]})")),
             Contains("net.json: layers: the graph has a cycle through a, b"));
  CHECK_THAT(error_of(arch(R"({"type": "relu", "inputs": ["nowhere"]})")),
             Contains("layers[0].inputs: unknown layer 'nowhere'"));
  CHECK_THAT(error_of(arch(R"({"type": "conv2d", "out": 8, "kernel": 64, "padding": 0})")),
             Contains("does not fit input [1,3,32,32]"));
  CHECK_THAT(error_of(arch(R"({"type": "conv2d", "out": 8, "groups": 2})")),
             Contains("groups 2 must divide in_channels 3 and out_channels 8"));
  CHECK_THAT(error_of(R"({"format": "hwnas.arch/9", "name": "x", "input": {"channels": 1, "resolution": 8}, "layers": []})"),
             Contains("net.json: format: must be \"hwnas.arch/1\", got \"hwnas.arch/9\""));
  CHECK_THAT(error_of(R"({"format": "hwnas.arch/1", "name": "x", "layers": [)"), Contains("net.json: invalid JSON"));
  CHECK_THAT(error_of(arch(R"({"type": "relu"})"), {.batch = 0}), Contains("net.json: batch must be >= 1, got 0"));
  CHECK_THAT(error_of(arch(R"({"type": "embedding", "vocab": 10, "dim": 12},
                              {"type": "decoder_layer", "heads": 3, "kv_heads": 2})", R"({"tokens": 8})")),
             Contains("heads 3 must be a multiple of kv_heads 2"));
  CHECK_THAT(error_of(arch(R"({"type": "decoder_layer", "heads": 2})", R"({"tokens": 8})")),
             Contains("node 'layers.0' (transformer block): needs a [batch, tokens, dim] input, got [1,8]"));
}

TEST_CASE("unknown zoo names list the zoo") {
  try {
    load_architecture("mobilenet_v9");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains("'mobilenet_v9' is neither a file nor a zoo model (zoo: "));
    CHECK_THAT(e.what(), Catch::Matchers::Contains("mobilenet_v2"));
  }
}

TEST_CASE("the op table names every op and round-trips") {
  for (int i = 0; i < static_cast<int>(Op::count_); ++i) {
    const Op op = static_cast<Op>(i);
    Op back;
    REQUIRE(op_from_name(op_name(op), back));
    CHECK(back == op);
  }
}
