// NAS-Bench-201 networks: the skeleton and per-edge counts of the benchmark's README, the
// CIFAR-10 parameter counts of 725 architectures, the cell's wiring, bad codes, and the space
// file agreeing with the builder.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/graph/nasbench201.hpp"

using namespace hwnas;
using namespace hwnas::graph;
using json = nlohmann::json;

namespace {

// ../shared/reference/nasbench201/README.md, CIFAR-10
constexpr std::int64_t kSkeletonMacs = 7'783'040, kSkeletonParams = 73'306;
constexpr std::int64_t kConv3Macs = 35'389'440, kConv3Params = 243'040;
constexpr std::int64_t kConv1Macs = 3'932'160, kConv1Params = 28'000;

const hw::Profile& profile() {
  static const hw::Profile p = hw::load_profile("h100");
  return p;
}

cost::Totals totals(const std::string& code, std::int64_t batch = 1) {
  const Graph g = load_architecture("nasbench201:" + code, {.batch = batch});
  return cost::analyze(g, profile(), hw::Dtype::fp32).totals;
}

std::string error_of(const std::string& name) {
  try {
    load_architecture(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("NAS-Bench-201: the skeleton alone has the README's counts") {
  // no conv edge: only the skeleton has MACs and parameters, whatever else the cell holds
  for (const char* code : {"000000", "111111", "444444", "014104"}) {
    INFO(code);
    const auto t = totals(code);
    CHECK(t.macs == kSkeletonMacs);
    CHECK(t.params == kSkeletonParams);
  }
  const Graph g = load_architecture("nasbench201:111111");
  CHECK(g.name == "nasbench201:111111");
  CHECK(g.node(0).shape == Shape{1, 3, 32, 32});
  const auto out = g.outputs();
  REQUIRE(out.size() == 1);
  CHECK(g.node(out[0]).name == "head.classifier");
  CHECK(g.node(out[0]).shape == Shape{1, 10});
  CHECK(g.node(g.find("stage1.cell4.node3.add2")).shape == Shape{1, 16, 32, 32});
  CHECK(g.node(g.find("reduce1.add")).shape == Shape{1, 32, 16, 16});
  CHECK(g.node(g.find("stage3.cell0.node2.add1")).shape == Shape{1, 64, 8, 8});
}

TEST_CASE("NAS-Bench-201: each edge adds the README's increment, wherever it sits") {
  for (std::size_t e = 0; e < nasbench201::kEdges.size(); ++e) {
    for (char op : {'0', '2', '3', '4'}) {
      std::string code = "111111";  // every other edge `none`: a conv may read a node of zeros, and still counts
      code[e] = op;
      INFO(code);
      const auto t = totals(code);
      const std::int64_t macs = op == '2' ? kConv3Macs : op == '3' ? kConv1Macs : 0;
      const std::int64_t params = op == '2' ? kConv3Params : op == '3' ? kConv1Params : 0;
      CHECK(t.macs == kSkeletonMacs + macs);
      CHECK(t.params == kSkeletonParams + params);
    }
  }
}

TEST_CASE("NAS-Bench-201: CIFAR-10 parameter counts of the 725 architectures in accuracy.json") {
  std::ifstream f(HWNAS_TEST_DATA "/nasbench201/cifar10_mparams.txt");
  REQUIRE(f);
  std::string line;
  int count = 0;
  std::int64_t lo = INT64_MAX, hi = 0;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string code;
    double mparams = 0;
    ls >> code >> mparams;
    REQUIRE(ls);
    INFO(code);
    const auto t = totals(code);
    CHECK(t.params == std::llround(mparams * 1e6));
    // the README's MAC formula, exact for every architecture
    std::int64_t conv3 = 0, conv1 = 0;
    for (char c : code) conv3 += c == '2', conv1 += c == '3';
    CHECK(t.macs == kSkeletonMacs + conv3 * kConv3Macs + conv1 * kConv1Macs);
    lo = std::min(lo, t.macs);
    hi = std::max(hi, t.macs);
    ++count;
  }
  CHECK(count == 725);
  CHECK(lo >= kSkeletonMacs);
  CHECK(hi <= kSkeletonMacs + 6 * kConv3Macs);
}

TEST_CASE("NAS-Bench-201: MACs span 7.78 M to 220.12 M and scale with the batch") {
  CHECK(totals("000000").macs == 7'783'040);
  CHECK(totals("222222").macs == 220'119'680);
  CHECK(totals("222222").params == kSkeletonParams + 6 * kConv3Params);
  CHECK(totals("223022", 4).macs == 4 * totals("223022").macs);
}

TEST_CASE("NAS-Bench-201: the cell's wiring follows the digit order") {
  // 223022: node1 = conv3x3(n0); node2 = conv3x3(n0) + conv1x1(n1); node3 = skip(n0) + conv3x3(n1) + conv3x3(n2)
  const Graph g = load_architecture("nasbench201:223022");
  const std::string c = "stage2.cell3.";
  auto at = [&](const std::string& name) -> const Node& {
    const int i = g.find(c + name);
    INFO(c + name);
    REQUIRE(i >= 0);
    return g.node(i);
  };
  auto name_of = [&](int i) { return g.node(i).name; };
  const std::string n0 = "stage2.cell2.node3.add2";
  CHECK(at("edge_0_1.conv").attrs.kh == 3);
  CHECK(name_of(at("edge_0_1.relu").inputs[0]) == n0);
  CHECK(at("edge_1_2.conv").attrs.kh == 1);
  CHECK(name_of(at("edge_1_2.relu").inputs[0]) == c + "edge_0_1.bn");  // node1 is its single edge
  CHECK(name_of(at("node2.add1").inputs[0]) == c + "edge_0_2.bn");
  CHECK(name_of(at("node2.add1").inputs[1]) == c + "edge_1_2.bn");
  CHECK(g.find(c + "edge_0_3.skip") < 0);  // skip is the node itself
  CHECK(name_of(at("node3.add1").inputs[0]) == n0);
  CHECK(name_of(at("node3.add1").inputs[1]) == c + "edge_1_3.bn");
  CHECK(name_of(at("node3.add2").inputs[1]) == c + "edge_2_3.bn");
  CHECK(name_of(at("edge_2_3.relu").inputs[0]) == c + "node2.add1");
  CHECK(at("edge_2_3.conv").attrs.bias == false);
  // the relu feeds the conv, the BN follows it (ReLUConvBN)
  CHECK(name_of(at("edge_2_3.conv").inputs[0]) == c + "edge_2_3.relu");
  CHECK(name_of(at("edge_2_3.bn").inputs[0]) == c + "edge_2_3.conv");

  const json a = json::parse(nasbench201::architecture_json("223022"));
  CHECK(a.at("description").get<std::string>().find(
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|") !=
        std::string::npos);
}

TEST_CASE("NAS-Bench-201: `none` is a zero op that runs and is costed by its bytes") {
  const Graph g = load_architecture("nasbench201:101141");
  const int z = g.find("stage1.cell0.edge_0_1.zero");
  REQUIRE(z >= 0);
  const Node& n = g.node(z);
  CHECK(n.op == Op::zero);
  CHECK(n.shape == Shape{1, 16, 32, 32});
  CHECK(op_class(g, n) == OpClass::elementwise);
  const auto r = cost::analyze(g, profile(), hw::Dtype::fp32);
  const auto& c = r.layers[static_cast<std::size_t>(z)];
  CHECK(c.macs == 0);
  CHECK(c.params == 0);
  CHECK(c.other_flops == 16 * 32 * 32);      // x * 0
  CHECK(c.bytes == 2 * 16 * 32 * 32 * 4);    // reads x, writes zeros
  CHECK(c.latency_s > 0);
  // an avg-pool edge: 3x3 window, stride 1, padding 1
  const int pi = g.find("stage3.cell4.edge_1_3.pool");
  REQUIRE(pi >= 0);
  const Node& p = g.node(pi);
  CHECK(p.op == Op::avg_pool);
  CHECK(p.shape == Shape{1, 64, 8, 8});
}

TEST_CASE("NAS-Bench-201: bad codes name the code") {
  for (const char* bad : {"22302", "2230222", "223025", "22a022", ""}) {
    const std::string msg = error_of(std::string("nasbench201:") + bad);
    INFO(msg);
    CHECK_THAT(msg, Catch::Matchers::StartsWith(std::string("nasbench201:") + bad + ": a NAS-Bench-201 code is 6 digits 0-4"));
    CHECK_THAT(msg, Catch::Matchers::EndsWith(std::string("got '") + bad + "'"));
  }
}

TEST_CASE("NAS-Bench-201: search_spaces/nasbench201.json agrees with the builder") {
  const json s = json::parse(read(HWNAS_TEST_DATA "/../../search_spaces/nasbench201.json"));
  CHECK(s.at("size") == 15625);
  const json& edges = s.at("cell").at("edges");
  REQUIRE(edges.size() == nasbench201::kEdges.size());
  for (std::size_t e = 0; e < edges.size(); ++e) {
    CHECK(edges[e].at("digit") == e);
    CHECK(edges[e].at("from") == nasbench201::kEdges[e].first);
    CHECK(edges[e].at("to") == nasbench201::kEdges[e].second);
  }
  const json& ops = s.at("ops");
  REQUIRE(ops.size() == nasbench201::kOps.size());
  for (std::size_t k = 0; k < ops.size(); ++k) {
    INFO(nasbench201::kOps[k]);
    CHECK(ops[k].at("value") == k);
    CHECK(ops[k].at("name") == nasbench201::kOps[k]);
    // the layers the builder writes for this op on edge 0->1 of the first cell, in order
    const json a = json::parse(nasbench201::architecture_json(std::string(6, static_cast<char>('0' + k))));
    std::vector<json> built;
    for (const json& l : a.at("layers"))
      if (l.at("name").get<std::string>().rfind("stage1.cell0.edge_0_1.", 0) == 0) built.push_back(l);
    const json& described = ops[k].at("layers");
    REQUIRE(built.size() == described.size());
    for (std::size_t i = 0; i < built.size(); ++i)
      for (const auto& [key, value] : described[i].items()) {
        INFO(key);
        REQUIRE(built[i].contains(key));
        CHECK(built[i].at(key) == value);
      }
  }
  const json& counts = s.at("counts_cifar10");
  CHECK(counts.at("skeleton").at("macs") == kSkeletonMacs);
  CHECK(counts.at("skeleton").at("params") == kSkeletonParams);
  CHECK(counts.at("per_edge_over_15_cells").at("nor_conv_3x3").at("macs") == kConv3Macs);
  CHECK(counts.at("per_edge_over_15_cells").at("nor_conv_1x1").at("params") == kConv1Params);
  CHECK(counts.at("macs_range")[1] == totals("222222").macs);
}
