// NAS-Bench-201 code -> architecture JSON, following the benchmark's own network definition
// (AutoDL-Projects, TinyNetwork with InferCell and ResNetBasicblock, C = 16, N = 5).
#include "hwnas/graph/nasbench201.hpp"

#include <nlohmann/json.hpp>
#include <vector>

#include "hwnas/error.hpp"

namespace hwnas::graph::nasbench201 {
namespace {

using json = nlohmann::ordered_json;

constexpr int kClasses = 10;     // CIFAR-10
constexpr int kResolution = 32;
constexpr int kCells = 5;        // per stage
constexpr int kStem = 16;        // channels of stage 1; stages 2 and 3 double them

class Writer {
 public:
  json layers = json::array();

  // Appends a layer reading `inputs` and returns its name.
  std::string add(const std::string& name, const std::string& type, std::vector<std::string> inputs,
                  json fields = json::object()) {
    json l = {{"name", name}, {"type", type}, {"inputs", std::move(inputs)}};
    for (auto& [k, v] : fields.items()) l[k] = v;
    layers.push_back(std::move(l));
    return name;
  }

  // ReLU -> conv (no bias) -> BN, as NAS-Bench-201's ReLUConvBN.
  std::string relu_conv_bn(const std::string& name, const std::string& x, int out, int kernel, int stride) {
    const std::string r = add(name + ".relu", "relu", {x});
    const std::string c = add(name + ".conv", "conv2d", {r},
                              {{"out", out}, {"kernel", kernel}, {"stride", stride}, {"padding", kernel / 2},
                               {"bias", false}});
    return add(name + ".bn", "batch_norm", {c});
  }

  // One edge op applied to `x`; skip_connect is an identity layer (no graph node).
  std::string edge(const std::string& name, char digit, const std::string& x, int channels) {
    switch (digit) {
      case '0': return add(name + ".skip", "identity", {x});
      case '1': return add(name + ".zero", "zero", {x});
      case '2': return relu_conv_bn(name, x, channels, 3, 1);
      case '3': return relu_conv_bn(name, x, channels, 1, 1);
      default:
        return add(name + ".pool", "avg_pool", {x}, {{"kernel", 3}, {"stride", 1}, {"padding", 1}});
    }
  }

  // The cell: node j is the sum of its incoming edges, node 3 the output.
  std::string cell(const std::string& name, std::string_view code, const std::string& x, int channels) {
    std::vector<std::string> node{x};
    for (int j = 1; j <= 3; ++j) {
      std::vector<std::string> terms;
      for (std::size_t e = 0; e < kEdges.size(); ++e) {
        const auto [from, to] = kEdges[e];
        if (to != j) continue;
        const std::string edge_name = name + ".edge_" + std::to_string(from) + "_" + std::to_string(to);
        terms.push_back(edge(edge_name, code[e], node[static_cast<std::size_t>(from)], channels));
      }
      std::string sum = terms[0];
      for (std::size_t t = 1; t < terms.size(); ++t)
        sum = add(name + ".node" + std::to_string(j) + ".add" + std::to_string(t), "add", {sum, terms[t]});
      node.push_back(sum);
    }
    return node.back();
  }

  // ResNet basic block with stride 2: ReLUConvBN/2 -> ReLUConvBN, shortcut avgpool 2x2 + conv1x1.
  std::string reduction(const std::string& name, const std::string& x, int out) {
    const std::string a = relu_conv_bn(name + ".conv_a", x, out, 3, 2);
    const std::string b = relu_conv_bn(name + ".conv_b", a, out, 3, 1);
    const std::string p = add(name + ".shortcut.pool", "avg_pool", {x}, {{"kernel", 2}, {"stride", 2}});
    const std::string s = add(name + ".shortcut.conv", "conv2d", {p}, {{"out", out}, {"kernel", 1}, {"bias", false}});
    return add(name + ".add", "add", {s, b});
  }
};

// The benchmark's own spelling: |op~from|+|op~from|op~from|+|op~from|op~from|op~from|
std::string genotype(std::string_view code) {
  std::string out;
  for (std::size_t e = 0; e < kEdges.size(); ++e) {
    if (e == 1 || e == 3) out += "+";
    out += '|';
    out += kOps[static_cast<std::size_t>(code[e] - '0')];
    out += '~';
    out += static_cast<char>('0' + kEdges[e].first);
    if (e == 0 || e == 2 || e == 5) out += "|";
  }
  return out;
}

}  // namespace

std::string architecture_json(std::string_view code) {
  bool ok = code.size() == kEdges.size();
  for (char c : code) ok = ok && c >= '0' && c <= '4';
  if (!ok)
    throw Error(std::string(kPrefix) + std::string(code) +
                ": a NAS-Bench-201 code is 6 digits 0-4, one op per edge (0->1, 0->2, 1->2, 0->3, 1->3, 2->3): "
                "0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3; got '" +
                std::string(code) + "'");
  Writer w;
  std::string x = w.add("stem.conv", "conv2d", {"input"}, {{"out", kStem}, {"kernel", 3}, {"bias", false}});
  x = w.add("stem.bn", "batch_norm", {x});
  for (int s = 1, channels = kStem; s <= 3; ++s, channels *= 2) {
    if (s > 1) x = w.reduction("reduce" + std::to_string(s - 1), x, channels);
    for (int c = 0; c < kCells; ++c)
      x = w.cell("stage" + std::to_string(s) + ".cell" + std::to_string(c), code, x, channels);
  }
  x = w.add("head.bn", "batch_norm", {x});
  x = w.add("head.relu", "relu", {x});
  x = w.add("head.pool", "global_avg_pool", {x});
  x = w.add("head.flatten", "flatten", {x});
  w.add("head.classifier", "linear", {x}, {{"out", kClasses}});

  const std::string name = std::string(kPrefix) + std::string(code);
  const json arch = {
      {"format", "hwnas.arch/1"},
      {"name", name},
      {"description", "NAS-Bench-201 cell " + genotype(code) + ", CIFAR-10 (32x32, 10 classes)"},
      {"source", "Dong & Yang, NAS-Bench-201, ICLR 2020; network as AutoDL-Projects' TinyNetwork (C=16, N=5)"},
      {"input", {{"channels", 3}, {"resolution", kResolution}}},
      {"layers", std::move(w.layers)},
  };
  return arch.dump(1);
}

}  // namespace hwnas::graph::nasbench201
