// Compound scaling: the published EfficientNet coefficients against the zoo, the grid search's
// constraint and choice, latency budgets on two profiles, output files, and bad input.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/search/compound_scaling.hpp"

using namespace hwnas;
using namespace hwnas::search;
using Catch::Matchers::Contains;

namespace {

cost::Totals zoo_totals(const char* name) {
  return cost::analyze(graph::load_architecture(name), hw::load_profile("h100"), hw::Dtype::fp32).totals;
}

ScaleRequest published() {
  ScaleRequest q;
  q.model = "efficientnet_b0";
  q.profiles = {"h100"};
  q.phis = {0, 1, 2, 3, 4};
  q.given = ScalingCoefficients{1.2, 1.1, 1.15};
  return q;
}

// A second device for the tests: the H100 profile with 1/20 of its rates and bandwidths.
std::string slow_profile() {
  auto j = nlohmann::json::parse(read_file(std::string(HWNAS_TEST_DATA) + "/../../hardware_profiles/h100.json"));
  j["name"] = "slow_test_device";
  for (auto* key : {"matrix_flops_per_s", "vector_flops_per_s"})
    for (auto& [k, v] : j[key].items()) v = v.get<double>() / 20;
  j["memory_bandwidth_bytes_per_s"] = j["memory_bandwidth_bytes_per_s"].get<double>() / 20;
  j["onchip_bandwidth_bytes_per_s"] = j["onchip_bandwidth_bytes_per_s"].get<double>() / 20;
  const std::string path = (std::filesystem::temp_directory_path() / "hwnas_test_slow_profile.json").string();
  write_file_atomic(path, j.dump());
  return path;
}

}  // namespace

TEST_CASE("scaling: EfficientNet's published alpha, beta, gamma build the family the rule says") {
  const ScaleResult r = compound_scale(published());
  REQUIRE(r.family.size() == 5);
  CHECK(r.source == "given");
  CHECK(r.grid.empty());
  for (std::size_t k = 0; k < 5; ++k) {
    const ScaledModel& m = r.family[k];
    CHECK(m.phi == static_cast<int>(k));
    CHECK(m.depth_mult == Approx(std::pow(1.2, k)));
    CHECK(m.width_mult == Approx(std::pow(1.1, k)));
    CHECK(m.resolution == std::llround(224 * std::pow(1.15, k)));
  }
  CHECK(r.family[1].resolution == 258);
  CHECK(r.family[4].resolution == 392);
  // phi 0 is the base itself.
  const cost::Totals b0 = zoo_totals("efficientnet_b0");
  CHECK(r.family[0].params == b0.params);
  CHECK(r.family[0].macs == b0.macs);
  CHECK(r.family[0].latency_ms[0] == Approx(b0.latency_s * 1e3));
  // phi 1 has depth 1.2 and width 1.1: the channels and repeats of torchvision's B2 (which uses
  // exactly those multipliers), so the same parameters to the integer; only the resolution differs.
  CHECK(r.family[1].params == zoo_totals("efficientnet_b2").params);
  // MACs about double per phi (alpha * beta^2 * gamma^2 = 1.92; ceil on repeats adds to phi 1).
  for (std::size_t k = 1; k < 5; ++k) {
    const double ratio = static_cast<double>(r.family[k].macs) / static_cast<double>(r.family[k - 1].macs);
    CHECK(ratio > 1.7);
    CHECK(ratio < 2.7);
  }
  const double per_phi = std::pow(static_cast<double>(r.family[4].macs) / static_cast<double>(r.family[0].macs), 0.25);
  CHECK(per_phi == Approx(2.0).margin(0.1));
  for (std::size_t k = 1; k < 5; ++k) {
    CHECK(r.family[k].params > r.family[k - 1].params);
    CHECK(r.family[k].latency_ms[0] > r.family[k - 1].latency_ms[0]);
  }
  const std::string table = to_table(r);
  CHECK_THAT(table, Contains("alpha 1.2 (depth), beta 1.1 (width), gamma 1.15 (resolution); alpha*beta^2*gamma^2 = 1.920"));
  CHECK_THAT(table, Contains("MACs growth per phi (geometric mean, phi 0 to 4): x"));
}

TEST_CASE("scaling: the grid search keeps alpha*beta^2*gamma^2 = 2 and picks the best eligible point") {
  ScaleRequest q = published();
  q.given.reset();
  q.phis = {0, 1, 2};
  for (const char* crit : {"latency", "params"}) {
    q.criterion = crit;
    const ScaleResult r = compound_scale(q);
    REQUIRE(r.grid.size() > 20);
    REQUIRE(r.grid_best >= 0);
    const GridPoint& best = r.grid[static_cast<std::size_t>(r.grid_best)];
    CHECK(best.eligible);
    for (const GridPoint& g : r.grid) {
      CHECK(g.c.alpha >= 1);
      CHECK(g.c.beta >= 1);
      CHECK(g.c.gamma >= 1);
      CHECK(g.c.alpha * g.c.beta * g.c.beta * g.c.gamma * g.c.gamma == Approx(2).epsilon(1e-12));
      CHECK(g.eligible == (std::abs(g.macs_ratio - 2) <= 0.2));
      if (g.eligible) CHECK(g.score <= best.score);
    }
    if (std::string(crit) == "latency") CHECK(best.score == Approx(-best.member.latency_ms[0]));
    else CHECK(best.score == Approx(static_cast<double>(best.member.params)));
    CHECK(r.c.alpha == best.c.alpha);
    CHECK(r.family[1].macs == best.member.macs);
    CHECK_THAT(r.source, Contains(std::string("grid search, criterion ") + crit));
    // Deterministic.
    CHECK(to_json(compound_scale(q)) == to_json(r));
  }
}

TEST_CASE("scaling: a latency budget picks the largest member that fits each profile") {
  ScaleRequest q = published();
  q.profiles = {"h100", slow_profile()};
  const ScaleResult all = compound_scale(q);
  REQUIRE(all.profiles == std::vector<std::string>{"h100", "slow_test_device"});
  REQUIRE(all.family[2].latency_ms.size() == 2);
  CHECK(all.family[2].latency_ms[1] > all.family[2].latency_ms[0]);
  // A budget between phi 2 and phi 3 on the H100, below phi 0 on the slow device.
  q.latency_budget_ms = (all.family[2].latency_ms[0] + all.family[3].latency_ms[0]) / 2;
  REQUIRE(q.latency_budget_ms < all.family[0].latency_ms[1]);
  const ScaleResult r = compound_scale(q);
  CHECK(r.picks == std::vector<int>{2, -1});
  const std::string table = to_table(r);
  CHECK_THAT(table, Contains("h100: phi 2, ") && Contains("slow_test_device: no member fits"));
  const auto j = nlohmann::json::parse(to_json(r));
  CHECK(j.at("format") == "hwnas.scale/1");
  CHECK(j.at("picks").at("h100") == 2);
  CHECK(j.at("picks").at("slow_test_device").is_null());
  CHECK(j.at("family").size() == 5);
  CHECK(j.at("family")[1].at("params") == r.family[1].params);
  CHECK(j.at("coefficients").at("product").get<double>() == Approx(1.2 * 1.1 * 1.1 * 1.15 * 1.15));
  const std::string csv = to_csv(r);
  CHECK_THAT(csv, Catch::StartsWith("phi,depth_mult,width_mult,resolution,params,macs,peak_memory_mb,"
                                    "latency_ms@h100,latency_ms@slow_test_device\n"));
  CHECK_THAT(csv, Contains("\n1,1.2,1.1,258," + std::to_string(r.family[1].params) + ","));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 6);
}

TEST_CASE("scaling: bad requests are rejected with their reason") {
  auto error = [](ScaleRequest q) {
    try {
      compound_scale(q);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ScaleRequest q = published();
  q.given->beta = 0.9;
  CHECK(error(q) == "scale: beta: must be a finite number >= 1, got 0.900000");
  q = published();
  q.phis = {0, 11};
  CHECK(error(q) == "scale: phi: must be in 0..10, got 11");
  q = published();
  q.phis.clear();
  CHECK(error(q) == "scale: no phi values");
  q = published();
  q.model = "tinyllama_1_1b";
  CHECK(error(q) == "tinyllama_1_1b.json: input.resolution: missing; compound scaling needs an image model");
  q = published();
  q.model = "no_such_net";
  CHECK_THAT(error(q), Contains("no_such_net") && Contains("efficientnet_b0"));
  q = published();
  q.profiles.clear();
  CHECK(error(q) == "scale: at least one profile is needed");
  q = published();
  q.latency_budget_ms = 0;
  CHECK(error(q) == "scale: latency budget: must be > 0 ms, got 0.000000");
  q = published();
  q.given.reset();
  q.criterion = "accuracy@h100";
  CHECK(error(q) == "--criterion: must be latency, latency@<profile> or params, got 'accuracy@h100'");
  q.criterion = "latency@pi";
  CHECK(error(q) == "--criterion: latency@pi: profile 'pi' is not one of the --profile options");
  q.criterion = "latency";
  q.grid_step = 0;
  CHECK(error(q) == "scale: grid step: must be in 0.01..0.5, got 0.000000");
  q.grid_step = 0.05;
  q.flops_tolerance = 0.001;
  CHECK_THAT(error(q), Contains("scale: no grid point has MACs within 0.1% of 2x the base"));
}
