// Calibration: measurement files (both formats, bad input), recovering known parameters
// from synthetic measurements, cross-validation, scores, and the fitted profile's JSON.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/calibrate.hpp"

using namespace hwnas;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

std::string data(const std::string& name) { return HWNAS_TEST_DATA "/calibration/" + name; }

void fails_with(const std::string& text, const std::string& message) {
  CHECK_THROWS_WITH(hw::parse_measurements(text, "m.json"), Equals(message));
}

// NAS-Bench-201 codes spread over the space (digits cycle with different strides).
std::vector<std::string> codes(int n, int offset) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string c;
    for (int e = 0; e < 6; ++e) c += static_cast<char>('0' + ((i + offset) * (e + 2) + e * e + (i + offset) / 5) % 5);
    out.push_back(c);
  }
  return out;
}

std::vector<hw::Measurement> synthetic(const hw::Profile& truth, const std::vector<std::string>& cs) {
  std::vector<hw::Measurement> out;
  for (const auto& c : cs) {
    hw::Measurement m;
    m.label = c;
    m.graph = graph::load_architecture("nasbench201:" + c);
    m.latency_s = hw::predict(truth, m);
    if (m.latency_s > 0) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

TEST_CASE("whole-model measurements name architectures as hwnas cost does") {
  const hw::MeasurementSet s = hw::parse_measurements(
      R"({"measurements": [{"arch": "nasbench201:223022", "latency_ms": 12.5},
                           {"arch": "resnet18", "latency_us": 2756.1, "batch": 64, "dtype": "float32"},
                           {"arch": "mobilenet_v2", "latency_ms": 1, "dtype": "fp16", "resolution": 160, "label": "mv2@160"}]})",
      "m.json");
  REQUIRE(s.items.size() == 3);
  CHECK(s.items[0].latency_s == Approx(12.5e-3));
  CHECK(s.items[0].label == "nasbench201:223022 b1 fp32");
  CHECK(s.items[1].graph.node(0).shape[0] == 64);
  CHECK(s.items[1].latency_s == Approx(2756.1e-6));
  CHECK(s.items[2].dtype == hw::Dtype::fp16);
  CHECK(s.items[2].label == "mv2@160");
  CHECK(s.items[2].graph.node(0).shape[2] == 160);
  // the same graph as hwnas cost builds: identical counts
  const hw::Profile p = hw::load_profile("raspberry_pi_4");
  CHECK(cost::analyze(s.items[0].graph, p, hw::Dtype::fp32).totals.macs ==
        cost::analyze(graph::load_architecture("nasbench201:223022"), p, hw::Dtype::fp32).totals.macs);
}

TEST_CASE("per-op measurements read h100_ops.json's format with the ops' own MAC counts") {
  const std::string text = read_file(data("h100_ops_trimmed.json"));
  const hw::MeasurementSet s = hw::parse_measurements(text, "h100_ops_trimmed.json");
  CHECK(s.skipped == 2);  // sdpa_window_mask entries carry only the eager time
  CHECK(s.items.size() == 84);
  const hw::Profile p = hw::load_profile("h100");
  // every entry that states its MACs (convolutions, linear) is rebuilt with exactly those
  const auto j = nlohmann::json::parse(text);
  std::size_t k = 0, checked = 0;
  for (const auto& e : j["ops"]) {
    if (!e.contains("us_graph")) continue;
    const hw::Measurement& m = s.items[k++];
    CHECK(m.latency_s == Approx(e["us_graph"].get<double>() * 1e-6));
    if (e.contains("macs")) {
      CHECK(cost::analyze(m.graph, p, m.dtype).totals.macs == e["macs"].get<std::int64_t>());
      ++checked;
    }
    if (e.contains("kv_bytes")) {  // decode attention reads its cache
      const auto r = cost::analyze(m.graph, p, m.dtype);
      CHECK(r.layers.back().kv_cache_bytes == e["kv_bytes"].get<std::int64_t>());
    }
  }
  CHECK(checked > 20);
}

TEST_CASE("malformed measurement files name the file, the entry, the field and the value") {
  fails_with("[1,", "m.json: invalid JSON: parse error at line 1, column 4: "
                    "syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
  fails_with(R"({"data": []})", "m.json: a measurement file is an array of measurements or an object with a "
                                "'measurements' or 'ops' array");
  fails_with(R"({"measurements": 3})", "m.json: measurements: must be an array of measurements, got 3");
  fails_with(R"([{"arch": "resnet18", "latency_ms": 1}, 7])", "m.json: measurements[1]: must be an object, got 7");
  fails_with(R"([{"arch": "resnet18"}])", "m.json: measurements[0]: missing field 'latency_ms' (or latency_us, us_graph)");
  fails_with(R"([{"arch": "resnet18", "latency_ms": -2}])", "m.json: measurements[0].latency_ms: must be a number > 0, got -2");
  fails_with(R"([{"arch": "resnet18", "latency_ms": "fast"}])",
             "m.json: measurements[0].latency_ms: must be a number > 0, got \"fast\"");
  fails_with(R"([{"arch": "resnet18", "latency_ms": 1, "batch": 0}])",
             "m.json: measurements[0].batch: must be an integer >= 1, got 0");
  fails_with(R"([{"arch": "resnet18", "latency_ms": 1, "dtype": "fp64"}])",
             "m.json: measurements[0].dtype: must be fp32, fp16, bf16 or int8 (or float32, float16, bfloat16), got \"fp64\"");
  fails_with(R"([{"latency_ms": 1}])", "m.json: measurements[0]: needs exactly one of 'arch' (whole model) or 'op' (one op)");
  fails_with(R"([{"arch": "nasbench201:9", "latency_ms": 1}])",
             "m.json: measurements[0].arch: nasbench201:9: a NAS-Bench-201 code is 6 digits 0-4, one op per edge "
             "(0->1, 0->2, 1->2, 0->3, 1->3, 2->3): 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, "
             "4 avg_pool_3x3; got '9'");
  CHECK_THROWS_WITH(hw::parse_measurements(R"([{"arch": "no_such_net", "latency_ms": 1}])", "m.json"),
                    Contains("m.json: measurements[0].arch: ") && Contains("no_such_net"));
  fails_with(R"({"ops": [{"op": "conv", "c_in": 3, "c_out": 8, "h": 8, "k": 3, "us_graph": 2},
                         {"op": "fft", "numel": 4, "us_graph": 1}]})",
             "m.json: ops[1].op: unknown op \"fft\" (conv, pointwise, depthwise, linear, sdpa, decode_attn, "
             "batchnorm_eval, max_pool, avg_pool, global_avg_pool, layernorm, softmax, add, mul or an activation)");
  fails_with(R"({"ops": [{"op": "conv", "c_in": 3, "h": 8, "k": 3, "us_graph": 2}]})",
             "m.json: ops[0]: missing field 'c_out'");
  fails_with(R"({"ops": [{"op": "linear", "m": 1, "k": 0, "n_out": 4, "latency_us": 2}]})",
             "m.json: ops[0].k: must be an integer >= 1, got 0");
  fails_with(R"({"ops": [{"op": "relu", "numel": 4, "us": 2}]})", "m.json: no measurements with a latency");
  CHECK_THROWS_WITH(hw::load_measurements("/nonexistent/m.json"), Contains("/nonexistent/m.json"));
}

TEST_CASE("calibration recovers known parameters from synthetic measurements") {
  // per-op measurements over a range of sizes, so that every fitted number binds somewhere:
  // small ops show the overheads, large ones the efficiencies, on-chip and DRAM sizes the two
  // bandwidths
  using graph::OpClass;
  hw::Profile truth = hw::load_profile("h100");
  truth.compute_units = 0;  // efficiencies and bandwidths only; wave quantization has its own test
  auto set = [&](OpClass c, double compute, double memory, double overhead) {
    for (auto& e : truth.efficiency[static_cast<std::size_t>(c)]) e = {compute, memory, overhead};
  };
  set(OpClass::conv, 0.6, 0.4, 5e-6);
  set(OpClass::elementwise, 0.5, 0.8, 1.5e-6);
  set(OpClass::activation, 0.5, 0.9, 1.2e-6);
  truth.onchip_bandwidth_bytes_per_s = 5e12;
  std::string ops;
  auto op = [&](const std::string& fields) { ops += (ops.empty() ? "" : ",") + ("{" + fields + ", \"dtype\": \"fp16\", \"us_graph\": 1}"); };
  for (int c : {16, 64, 256})
    for (int h : {8, 32, 112}) op(R"("op": "conv", "n": 8, "c_in": )" + std::to_string(c) + R"(, "c_out": )" + std::to_string(c) + R"(, "h": )" + std::to_string(h) + R"(, "k": 3)");
  for (long numel : {1L << 10, 1L << 14, 1L << 18, 1L << 22, 1L << 24, 1L << 26, 1L << 28}) {
    op(R"("op": "add", "numel": )" + std::to_string(numel));
    op(R"("op": "relu", "numel": )" + std::to_string(numel));
  }
  hw::MeasurementSet s = hw::parse_measurements("{\"ops\": [" + ops + "]}", "synthetic.json");
  for (auto& m : s.items) m.latency_s = hw::predict(truth, m);  // measured with the known numbers

  hw::Profile start = truth;  // the same device, wrong numbers
  for (auto& row : start.efficiency)
    for (auto& e : row) e = {0.2, 0.3, 2e-5};
  start.onchip_bandwidth_bytes_per_s = 1.5e13;
  const hw::FitResult f = hw::fit(start, s.items, {});
  CHECK(f.loss < 1e-5);  // pseudo-Huber: about 5 x log-error squared, so < 0.15 % off
  auto eff = [&](OpClass c) { return f.profile.eff(c, hw::Dtype::fp16); };
  CHECK(eff(OpClass::conv).compute == Approx(0.6).epsilon(0.02));
  CHECK(eff(OpClass::conv).overhead_s == Approx(5e-6).epsilon(0.02));
  CHECK(eff(OpClass::elementwise).memory == Approx(0.8).epsilon(0.02));
  CHECK(eff(OpClass::elementwise).overhead_s == Approx(1.5e-6).epsilon(0.02));
  CHECK(eff(OpClass::activation).memory == Approx(0.9).epsilon(0.02));
  CHECK(eff(OpClass::activation).overhead_s == Approx(1.2e-6).epsilon(0.02));
  CHECK(f.profile.onchip_bandwidth_bytes_per_s == Approx(5e12).epsilon(0.02));
  // deterministic: the same inputs give the same profile
  CHECK(hw::profile_to_json(hw::fit(start, s.items, {}).profile) == hw::profile_to_json(f.profile));
}

TEST_CASE("whole-model calibration predicts NAS-Bench-201 networks it was not fitted to") {
  hw::Profile truth = hw::load_profile("raspberry_pi_4");
  for (auto& e : truth.efficiency[static_cast<std::size_t>(graph::OpClass::pooling)]) e = {0.3, 0.05, 15e-6};
  for (auto& e : truth.efficiency[static_cast<std::size_t>(graph::OpClass::conv)]) e = {0.12, 0.5, 40e-6};
  const auto train = synthetic(truth, codes(25, 0));
  std::vector<hw::Measurement> test;
  for (const char* c : {"223022", "300000", "444444", "232323", "040404", "213402"}) {
    auto m = synthetic(truth, {c});
    test.insert(test.end(), std::make_move_iterator(m.begin()), std::make_move_iterator(m.end()));
  }
  hw::Profile start = truth;
  for (auto& row : start.efficiency)
    for (auto& e : row) e = {0.5, 0.7, 1e-4};
  const hw::FitResult f = hw::fit(start, train, {});
  CHECK(f.loss < 2e-4);  // < about 0.6 % off in log terms
  for (const auto& m : test) CHECK(hw::predict(f.profile, m) == Approx(m.latency_s).epsilon(0.03));
}

TEST_CASE("a calibrated profile round-trips through JSON") {
  const hw::MeasurementSet s = hw::load_measurements(data("raspberry_pi_4_nasbench201.json"));
  hw::FitOptions opt;
  opt.max_evaluations = 800;
  hw::FitResult f = hw::fit(hw::load_profile("raspberry_pi_4"), s.items, opt);
  f.profile.calibration = R"({"data": "x.json", "samples": 160})";
  const std::string text = hw::profile_to_json(f.profile);
  const hw::Profile back = hw::parse_profile(text, "back.json");
  CHECK(hw::profile_to_json(back) == text);
  CHECK(back.kernel_overhead_s == f.profile.kernel_overhead_s);
  CHECK(back.onchip_bandwidth_bytes_per_s == f.profile.onchip_bandwidth_bytes_per_s);
  CHECK(back.folds_constants == f.profile.folds_constants);
  CHECK(back.sources == f.profile.sources);
  for (std::size_t c = 0; c < hw::kClasses; ++c)
    for (std::size_t d = 0; d < hw::kDtypes; ++d) {
      CHECK(back.efficiency[c][d].compute == f.profile.efficiency[c][d].compute);
      CHECK(back.efficiency[c][d].memory == f.profile.efficiency[c][d].memory);
      CHECK(back.overhead_s(static_cast<graph::OpClass>(c), static_cast<hw::Dtype>(d)) ==
            f.profile.overhead_s(static_cast<graph::OpClass>(c), static_cast<hw::Dtype>(d)));
    }
  for (std::size_t i = 0; i < 10; ++i) CHECK(hw::predict(back, s.items[i]) == hw::predict(f.profile, s.items[i]));
}

TEST_CASE("cross-validation scores held-out predictions and is deterministic") {
  hw::MeasurementSet s = hw::load_measurements(data("pixel3_nasbench201.json"));
  s.items.resize(60);
  hw::FitOptions opt;
  opt.max_evaluations = 600;
  const hw::CrossValidation a = hw::cross_validate(hw::load_profile("pixel3"), s.items, opt, 3, 7);
  const hw::CrossValidation b = hw::cross_validate(hw::load_profile("pixel3"), s.items, opt, 3, 7);
  CHECK(a.heldout == b.heldout);
  CHECK(a.fold == b.fold);
  for (int f = 0; f < 3; ++f) CHECK(std::count(a.fold.begin(), a.fold.end(), f) == 20);
  CHECK(a.scores.n == 60);
  CHECK(a.scores.spearman > a.scores.flops_spearman);
  CHECK_THROWS_WITH(hw::cross_validate(hw::load_profile("pixel3"), s.items, opt, 1, 7),
                    "calibrate: --folds must be between 2 and the number of measurements (60), got 1");
}

TEST_CASE("scores: rank correlations and error shares on hand-made data") {
  const std::vector<double> m{1, 2, 3, 4}, p{1.05, 2.5, 2.9, 4.0}, f{4, 3, 2, 1};
  const hw::Scores s = hw::score(p, m, f);
  CHECK(s.spearman == Approx(1.0));
  CHECK(s.kendall == Approx(1.0));
  CHECK(s.flops_spearman == Approx(-1.0));
  CHECK(s.flops_kendall == Approx(-1.0));
  CHECK(s.median_abs_pct == Approx((3.333333 + 5.0) / 2).epsilon(1e-4));  // errors 5, 25, 3.33, 0 %
  CHECK(s.within_10pct == Approx(0.75));
  CHECK(hw::kendall({1, 2, 3}, {1, 3, 2}) == Approx(1.0 / 3));
  CHECK(hw::spearman({1, 1, 2}, {1, 2, 3}) == Approx(std::sqrt(0.75)));
}

TEST_CASE("the predicted-vs-measured scatter is an SVG with one point per measurement") {
  const std::string svg = hw::scatter_svg({1e-3, 2e-3, 5e-3}, {1.1e-3, 1.8e-3, 6e-3}, "a <title>");
  CHECK_THAT(svg, Contains("<svg") && Contains("a &lt;title&gt;") && Contains("</svg>"));
  std::size_t points = 0;
  for (std::size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) ++points;
  CHECK(points == 3);
}

namespace {

// A GPU-like profile with wave quantization on: 132 compute units, conv tiles 128 x 64.
hw::Profile wave_profile() {
  return hw::parse_profile(R"({
    "format": "hwnas.profile/1", "name": "wavy", "description": "synthetic", "version": "1", "kind": "gpu",
    "matrix_flops_per_s": {"fp16": 7e14}, "vector_flops_per_s": {"fp16": 1.3e14},
    "memory_bandwidth_bytes_per_s": 3e12, "memory_capacity_bytes": 8e10, "onchip_bytes": 0,
    "kernel_overhead_s": 2e-6, "compute_units": 132, "fuses_conv_bn_act": false,
    "efficiency": {"default": {"compute": 0.5, "memory": 0.7},
                   "conv": {"compute": 0.8, "memory": 0.6, "overhead_s": 4e-6, "tile_rows": 128, "tile_cols": 64}},
    "sources": {"matrix_flops_per_s": "t", "vector_flops_per_s": "t", "memory_bandwidth_bytes_per_s": "t",
                "memory_capacity_bytes": "t", "onchip_bytes": "t", "kernel_overhead_s": "t", "efficiency": "t",
                "compute_units": "t"}})",
                           "wavy.json");
}

}  // namespace

TEST_CASE("wave quantization: a grid smaller than the machine, or a partial last wave, slows the arithmetic") {
  const hw::Profile p = wave_profile();
  auto conv = [&](int n, int cin, int cout, int h) {
    const hw::MeasurementSet s = hw::parse_measurements(
        R"([{"op": "conv", "n": )" + std::to_string(n) + R"(, "c_in": )" + std::to_string(cin) + R"(, "c_out": )" +
            std::to_string(cout) + R"(, "h": )" + std::to_string(h) + R"(, "k": 3, "dtype": "fp16", "latency_us": 1}])",
        "m.json");
    return cost::analyze(s.items[0].graph, p, hw::Dtype::fp16).layers.back();
  };
  // 1 x 512 x 14 x 14 -> 512: rows 196 -> 2 tiles, cols 512 -> 8 tiles: 16 of 132 units busy
  const cost::NodeCost small = conv(1, 512, 512, 14);
  CHECK(small.out_rows == 196);
  CHECK(small.out_cols == 512);
  CHECK(small.utilisation == Approx(16.0 / 132));
  CHECK(small.compute_s == Approx(2.0 * small.macs / (7e14 * 0.8) * 132 / 16));
  // 132 x 128 rows x 64 cols exactly: one full wave; one more row tile starts a second wave
  CHECK(conv(66, 64, 128, 16).utilisation == Approx(1.0));  // rows 66*256 = 132 tiles of 128, cols 2 tiles
  CHECK(conv(67, 64, 128, 16).utilisation == Approx(268.0 / 396));  // 134 x 2 tiles in 3 waves
  // off without compute_units: the profile as before
  hw::Profile off = p;
  off.compute_units = 0;
  const hw::MeasurementSet s = hw::parse_measurements(
      R"([{"op": "conv", "n": 1, "c_in": 512, "c_out": 512, "h": 14, "k": 3, "dtype": "fp16", "latency_us": 1}])", "m.json");
  const cost::NodeCost plain = cost::analyze(s.items[0].graph, off, hw::Dtype::fp16).layers.back();
  CHECK(plain.utilisation == 1.0);
  CHECK(plain.compute_s == Approx(2.0 * plain.macs / (7e14 * 0.8)));
}

TEST_CASE("calibration recovers known wave-quantization tiles and overheads from synthetic measurements") {
  const hw::Profile truth = wave_profile();
  // convolutions from a few tiles to many waves, compute-bound (wide channels) and small
  std::string ops;
  for (int n : {1, 4, 32})
    for (int c : {96, 192, 320, 640})
      for (int h : {7, 13, 28}) {
        ops += ops.empty() ? "" : ",";
        ops += R"({"op": "conv", "n": )" + std::to_string(n) + R"(, "c_in": )" + std::to_string(c) + R"(, "c_out": )" +
               std::to_string(c) + R"(, "h": )" + std::to_string(h) + R"(, "k": 3, "dtype": "fp16", "us_graph": 1})";
      }
  hw::MeasurementSet s = hw::parse_measurements("[" + ops + "]", "synthetic.json");
  for (auto& m : s.items) m.latency_s = hw::predict(truth, m);
  hw::Profile start = truth;  // wrong efficiency, overhead and tiles
  for (auto& e : start.efficiency[static_cast<std::size_t>(graph::OpClass::conv)]) e = {0.3, 0.3, 2e-5, 16, 16};
  const hw::FitResult f = hw::fit(start, s.items, {});
  CHECK(f.loss < 1e-5);
  const hw::Efficiency& e = f.profile.eff(graph::OpClass::conv, hw::Dtype::fp16);
  CHECK(e.tile_rows == 128);
  CHECK(e.tile_cols == 64);
  CHECK(e.compute == Approx(0.8).epsilon(0.02));
  CHECK(e.overhead_s == Approx(4e-6).epsilon(0.02));
  CHECK(std::find(f.fitted.begin(), f.fitted.end(), "conv.tile_rows") != f.fitted.end());
  // a profile without compute_units gets no tile parameters
  hw::Profile plain = start;
  plain.compute_units = 0;
  const hw::FitResult g = hw::fit(plain, s.items, {});
  CHECK(std::find(g.fitted.begin(), g.fitted.end(), "conv.tile_rows") == g.fitted.end());
}

TEST_CASE("a profile with wave quantization round-trips through JSON, and bad tiles are errors") {
  const hw::Profile p = wave_profile();
  const std::string text = hw::profile_to_json(p);
  const hw::Profile back = hw::parse_profile(text, "back.json");
  CHECK(hw::profile_to_json(back) == text);
  CHECK(back.compute_units == 132);
  CHECK(back.eff(graph::OpClass::conv, hw::Dtype::fp16).tile_rows == 128);
  CHECK(back.eff(graph::OpClass::conv, hw::Dtype::fp16).tile_cols == 64);
  CHECK(back.eff(graph::OpClass::linear, hw::Dtype::fp16).tile_rows == 0);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const auto at = t.find(from);
    REQUIRE(at != std::string::npos);
    return t.replace(at, from.size(), to);
  };
  CHECK_THROWS_WITH(hw::parse_profile(with("\"tile_rows\": 128.0", "\"tile_rows\": 0.5"), "p.json"),
                    "p.json: efficiency.conv.tile_rows: a tile is at least 1 element (or 0: no tiling), got 0.5");
  CHECK_THROWS_WITH(hw::parse_profile(with("\"compute_units\": 132.0", "\"compute_units\": -4"), "p.json"),
                    "p.json: compute_units: must be >= 0, got -4");
  CHECK_THROWS_WITH(hw::parse_profile(with("\"compute_units\": \"t\",", ""), "p.json"),
                    "p.json: sources: no source given for 'compute_units'");
}

TEST_CASE("pooling entries in a per-op measurement file build the pooling op") {
  const hw::MeasurementSet s = hw::parse_measurements(
      R"([{"op": "max_pool", "n": 2, "c": 32, "h": 28, "k": 2, "latency_us": 5},
          {"op": "avg_pool", "n": 1, "c": 8, "h": 14, "w": 12, "k": 3, "stride": 2, "padding": 1, "latency_us": 2},
          {"op": "global_avg_pool", "n": 4, "c": 128, "h": 7, "latency_us": 3}])",
      "m.json");
  REQUIRE(s.items.size() == 3);
  CHECK(s.items[0].graph.node(1).op == graph::Op::max_pool);
  CHECK(s.items[0].graph.node(1).shape == graph::Shape{2, 32, 14, 14});
  CHECK(s.items[0].label == "max_pool 2x32x28x28 k2 s2 fp32");
  CHECK(s.items[1].graph.node(1).shape == graph::Shape{1, 8, 7, 6});
  CHECK(s.items[2].graph.node(1).op == graph::Op::global_avg_pool);
  CHECK(s.items[2].label == "global_avg_pool 4x128x7x7 fp32");
  fails_with(R"([{"op": "max_pool", "c": 8, "h": 8, "latency_us": 1}])", "m.json: measurements[0]: missing field 'k'");
}

TEST_CASE("measure_local times every op shape with the executor, in the per-op format calibration reads") {
  hw::LocalBenchOptions opt;
  opt.batch = 2;  // small, so that the test is quick
  opt.repeats = 1;
  opt.warmup = 0;
  opt.threads = 1;
  const std::string text = hw::measure_local(opt);
  const hw::MeasurementSet s = hw::parse_measurements(text, "local.json");
  const auto j = nlohmann::json::parse(text);
  REQUIRE(s.items.size() == j.at("ops").size());
  CHECK(s.items.size() % 2 == 0);  // every shape at batch 1 and at the batch
  const std::size_t half = s.items.size() / 2;
  for (std::size_t i = 0; i < half; ++i) {
    INFO(s.items[i].label);
    CHECK(s.items[i].latency_s > 0);
    CHECK(graph::numel(s.items[i + half].graph.node(0).shape) == 2 * graph::numel(s.items[i].graph.node(0).shape));
  }
  hw::LocalBenchOptions bad;
  bad.repeats = 0;
  CHECK_THROWS_WITH(hw::measure_local(bad), "calibrate: --repeats must be between 1 and 10000, got 0");
}
