// Hardware profiles: invariants that hold for every built-in profile, golden checks per
// profile, constant folding, and bad profile input.
#include <catch2/catch.hpp>
#include <algorithm>
#include <string>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/calibrate.hpp"
#include "hwnas/hw/profile.hpp"

using namespace hwnas;
using Catch::Matchers::Contains;

namespace {

// A dtype the profile can cost: fp32 where it has one, else its first rate.
hw::Dtype usable_dtype(const hw::Profile& p) {
  for (std::size_t d = 0; d < hw::kDtypes; ++d)
    if (p.matrix_flops_per_s[d] > 0 && p.vector_flops_per_s[d] > 0 && d != 1) return static_cast<hw::Dtype>(d);
  FAIL("profile " << p.name << " has no usable dtype");
  return hw::Dtype::fp32;
}

std::string data(const std::string& name) { return HWNAS_TEST_DATA "/calibration/" + name; }

}  // namespace

TEST_CASE("every built-in profile parses, carries sources and sane numbers") {
  const auto all = hw::builtin_profiles();
  std::vector<std::string> names;
  for (const auto& e : all) names.push_back(e.name);
  for (const char* want : {"h100", "raspberry_pi_4", "raspberry_pi_5", "pixel3", "edge_tpu", "local_cpu", "generic_cpu",
                           "generic_mobile_cpu", "generic_gpu", "generic_accelerator"})
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  for (const auto& e : all) {
    INFO(e.name);
    const hw::Profile p = hw::load_profile(e.name);
    CHECK(p.name == e.name);
    CHECK(!p.version.empty());
    CHECK(p.is_template == (e.name.rfind("generic_", 0) == 0));
    for (const auto& row : p.efficiency)
      for (const auto& x : row) {
        CHECK(x.compute > 0);
        CHECK(x.compute <= 1);
        CHECK(x.memory > 0);
        CHECK(x.memory <= 1);
      }
    for (std::size_t c = 0; c < hw::kClasses; ++c) CHECK(p.overhead_s(static_cast<graph::OpClass>(c), hw::Dtype::fp32) >= 0);
    CHECK(p.memory_bandwidth_bytes_per_s > 0);
    for (const auto& [field, src] : p.sources) CHECK(!src.empty());
    if (p.onchip_bytes > 0) CHECK(p.sources.count("onchip_bandwidth_bytes_per_s") == 1);
    // what the profile writes reads back to the same text
    CHECK(hw::profile_to_json(hw::parse_profile(hw::profile_to_json(p), "x.json")) == hw::profile_to_json(p));
  }
}

TEST_CASE("every profile costs every zoo model: latency positive and monotone in batch") {
  for (const auto& e : hw::builtin_profiles()) {
    const hw::Profile p = hw::load_profile(e.name);
    const hw::Dtype d = usable_dtype(p);
    for (const auto& z : graph::zoo()) {
      INFO(e.name << " " << z.name);
      const double t1 = cost::analyze(graph::load_architecture(z.name, {.batch = 1}), p, d).totals.latency_s;
      const double t4 = cost::analyze(graph::load_architecture(z.name, {.batch = 4}), p, d).totals.latency_s;
      CHECK(t1 > 0);
      CHECK(t4 >= t1);
    }
  }
}

TEST_CASE("calibrated profiles: golden checks against the measurements they came from") {
  for (const char* dev : {"raspberry_pi_4", "pixel3"}) {
    INFO(dev);
    const hw::Profile p = hw::load_profile(dev);
    CHECK_THAT(p.calibration, Contains("\"samples\":160") && Contains("cross_validation"));
    const hw::MeasurementSet s = hw::load_measurements(data(std::string(dev) + "_nasbench201.json"));
    std::vector<double> pred, meas, flops;
    for (const auto& m : s.items) {
      pred.push_back(hw::predict(p, m));
      meas.push_back(m.latency_s);
      flops.push_back(hw::flops_of(p, m));
    }
    const hw::Scores sc = hw::score(pred, meas, flops);
    CHECK(sc.spearman >= 0.94);
    CHECK(sc.median_abs_pct <= 10);
    CHECK(sc.spearman > sc.flops_spearman + 0.05);
  }
  // h100: fitted on per-op times only; its whole-model predictions keep the models' order
  const hw::Profile h = hw::load_profile("h100");
  CHECK_THAT(h.calibration, Contains("h100_ops.json"));
  const hw::MeasurementSet models = hw::load_measurements(data("h100_models.json"));
  std::vector<double> pred, meas;
  for (const auto& m : models.items) {
    pred.push_back(hw::predict(h, m));
    meas.push_back(m.latency_s);
  }
  CHECK(hw::spearman(pred, meas) > 0.95);
  CHECK(pred[1] == Approx(meas[1]).epsilon(0.25));  // mobilenet_v2 fp16 batch 64
}

TEST_CASE("constant folding changes latency, never counts") {
  const hw::Profile pi = hw::load_profile("raspberry_pi_4"), h = hw::load_profile("h100");
  for (const char* code : {"024111", "110130", "102134", "223022", "111111"}) {
    INFO(code);
    const graph::Graph g = graph::load_architecture(std::string("nasbench201:") + code);
    const auto a = cost::analyze(g, pi, hw::Dtype::fp32), b = cost::analyze(g, h, hw::Dtype::fp32);
    CHECK(a.totals.macs == b.totals.macs);
    CHECK(a.totals.params == b.totals.params);
    CHECK(a.totals.other_flops == b.totals.other_flops);
    CHECK(a.totals.peak_memory_bytes == b.totals.peak_memory_bytes);
  }
  // output independent of the input (every path goes through x*0): evaluated at conversion
  const graph::Graph dead = graph::load_architecture("nasbench201:024111");
  const auto r = cost::analyze(dead, pi, hw::Dtype::fp32);
  CHECK(r.totals.latency_s == 0);
  CHECK(r.layers[static_cast<std::size_t>(dead.find("stem.conv"))].bound == cost::Bound::folded);
  // x*0 and the add of it are dropped; an op that only feeds x*0 is dead
  const graph::Graph g = graph::load_architecture("nasbench201:324411");  // node 2 only feeds a none edge
  const auto c = cost::analyze(g, pi, hw::Dtype::fp32);
  auto bound = [&](const char* n) { return c.layers[static_cast<std::size_t>(g.find(n))].bound; };
  CHECK(bound("stage1.cell0.edge_2_3.zero") == cost::Bound::folded);
  CHECK(bound("stage1.cell0.edge_0_2.conv") == cost::Bound::folded);
  CHECK(bound("stage1.cell0.edge_0_3.pool") != cost::Bound::folded);
  CHECK(c.totals.latency_s > 0);
}

TEST_CASE("profile errors name the field and the value") {
  std::string text = hw::profile_to_json(hw::load_profile("raspberry_pi_4"));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const auto at = t.find(from);
    REQUIRE(at != std::string::npos);
    return t.replace(at, from.size(), to);
  };
  CHECK_THROWS_WITH(hw::parse_profile(with("\"folds_constants\": [", "\"folds_constants\": [\"warp\", "), "p.json"),
                    "p.json: folds_constants[0]: unknown op \"warp\"");
  const std::string eff = with("\"efficiency\": {", "\"efficiency\": {\"embedding\": {\"overhead_s\": -1}, ");
  CHECK_THROWS_WITH(hw::parse_profile(eff, "p.json"), "p.json: efficiency.embedding.overhead_s: must be >= 0, got -1");
  const hw::Profile tpu = hw::load_profile("edge_tpu");
  CHECK_THROWS_WITH(cost::analyze(graph::load_architecture("resnet18"), tpu, hw::Dtype::fp32),
                    Contains("no fp32 compute rate"));
  CHECK(cost::analyze(graph::load_architecture("resnet18"), tpu, hw::Dtype::int8).totals.latency_s > 0);
}
