// The search engine: NSGA-II on ZDT benchmark problems against their analytic fronts, constraint
// handling, the evaluation cache, determinism across thread counts, and resume after a kill.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/search/search.hpp"

using namespace hwnas;
using Catch::Matchers::Contains;

namespace {

const std::string kSpaces = std::string(HWNAS_TEST_DATA) + "/../../search_spaces/";

search::Config zdt_config(std::int64_t budget, std::uint64_t seed) {
  search::Config c;
  c.space = "zdt1";
  c.budget = budget;
  c.seed = seed;
  c.objectives = {{"f1", false}, {"f2", false}};
  c.reference_point = {1.1, 1.1};
  return c;
}

search::CostEvaluator mobilenet_evaluator() {
  return search::CostEvaluator(space::Space::load(kSpaces + "mobilenet_v2_space.json"), {}, {hw::load_profile("h100")},
                               hw::Dtype::fp32);
}

search::Config mobilenet_config(const std::string& strategy, std::int64_t budget) {
  search::Config c;
  c.space = "mobilenet_v2_space.json";
  c.strategy = strategy;
  c.budget = budget;
  c.population = 20;
  c.sample = 5;
  c.seed = 7;
  c.profiles = {"h100"};
  c.objectives = {{"params", false}, {"latency_ms@h100", false}};
  c.constraints = {search::parse_constraint("peak_memory_mb<=3")};
  c.constraints[0].metric = "peak_memory_mb";
  return c;
}

// The same candidates in the same order: genomes, statuses and metrics.
void same_candidates(const search::Result& a, const search::Result& b) {
  REQUIRE(a.candidates.size() == b.candidates.size());
  for (std::size_t i = 0; i < a.candidates.size(); ++i) {
    INFO("candidate " << i);
    CHECK(a.candidates[i].genome == b.candidates[i].genome);
    CHECK(a.candidates[i].generation == b.candidates[i].generation);
    CHECK(a.candidates[i].status == b.candidates[i].status);
    CHECK(a.candidates[i].metrics == b.candidates[i].metrics);
  }
  CHECK(a.front == b.front);
  CHECK(a.hypervolume == b.hypervolume);
}

// candidates.jsonl without the timings, which differ between runs.
std::string without_timings(const std::string& path) {
  std::istringstream in(read_file(path));
  std::string out, line;
  while (std::getline(in, line)) out += line.substr(0, line.find(",\"eval_s\"")) + "\n";
  return out;
}

std::string fresh_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("hwnas_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

}  // namespace

TEST_CASE("search: ZDT analytic fronts", "[search]") {
  CHECK(search::Zdt(1).front_hypervolume(1.1, 1.1) == Approx(1.21 - 1.0 / 3 - 0.0).margin(1e-4));
  CHECK(search::Zdt(1).front_hypervolume(1.1, 1.1) == Approx(0.8767).margin(1e-4));
  CHECK(search::Zdt(2).front_hypervolume(1.1, 1.1) == Approx(1.21 - 2.0 / 3).margin(1e-4));
  const auto x = search::Zdt(1).evaluate(space::Genome(30, 0.0));
  CHECK(x == std::vector<double>{0.0, 1.0});
  CHECK_THROWS_WITH(search::Zdt(1).evaluate(space::Genome(30, 2.0)), Contains("zdt1: gene 0 'x1'"));
}

TEST_CASE("search: NSGA-II converges near the ZDT1 front", "[search]") {
  const search::Zdt zdt(1);
  const auto r = search::run(zdt_config(5000, 1), zdt);
  CHECK(r.finished);
  CHECK(r.candidates.size() == 5000);
  const double truth = zdt.front_hypervolume(1.1, 1.1);
  CHECK(r.hypervolume > 0.85 * truth);
  CHECK(r.hypervolume < truth);
  // every front member lies close to the analytic front f2 = 1 - sqrt(f1)
  REQUIRE(r.front.size() >= 30);
  for (int id : r.front) {
    const auto& m = r.candidates[static_cast<std::size_t>(id)].metrics;
    CHECK(m[1] - (1 - std::sqrt(m[0])) < 0.2);
  }
  // random search with the same budget is far worse
  auto c = zdt_config(5000, 1);
  c.strategy = "random";
  CHECK(search::run(c, zdt).hypervolume < 0.5 * r.hypervolume);
}

TEST_CASE("search: constraints keep infeasible candidates with the reason", "[search]") {
  const search::Zdt zdt(1);
  auto c = zdt_config(1500, 3);
  c.constraints = {search::parse_constraint("f1>=0.5")};
  const auto r = search::run(c, zdt);
  std::size_t infeasible = 0;
  for (const auto& cand : r.candidates) {
    if (cand.status != search::Status::infeasible) continue;
    ++infeasible;
    CHECK(cand.metrics[0] < 0.5);
    CHECK(cand.violation == Approx((0.5 - cand.metrics[0]) / 0.5));
    CHECK_THAT(cand.reason, Contains("f1 = ") && Contains(" < 0.5"));
  }
  CHECK(infeasible > 0);
  REQUIRE(!r.front.empty());
  for (int id : r.front) {
    CHECK(r.candidates[static_cast<std::size_t>(id)].status == search::Status::ok);
    CHECK(r.candidates[static_cast<std::size_t>(id)].metrics[0] >= 0.5);
  }
  CHECK(search::parse_constraint("latency_ms <= 40").bound == 40);
  CHECK_THROWS_WITH(search::parse_constraint("latency_ms=40"), Contains("--constraint: must be <metric><op><number>"));
  CHECK_THROWS_WITH(search::parse_objective("latency"), "--objective: must be <metric>:min or <metric>:max, got 'latency'");
  CHECK(search::resolve_metric("latency", {"params", "latency_ms@h100"}, "x") == "latency_ms@h100");
  CHECK_THROWS_WITH(search::resolve_metric("acc", {"params"}, "--objective"), "--objective: unknown metric 'acc' (known: params)");
}

TEST_CASE("search: identical genomes are evaluated once", "[search]") {
  // 2 x 3 = 6 members: a budget of 100 evaluates each once and stops
  const auto s = space::Space::parse(R"({"format": "hwnas.space/1", "name": "six", "input": {"channels": 3, "resolution": 16},
    "layers": [{"type": "conv", "out": {"choice": "categorical", "values": [8, 16]}, "kernel": {"choice": "int", "min": 1, "max": 3}},
               {"type": "global_avg_pool"}]})",
                                     "six.json");
  const search::CostEvaluator ev(s, {}, {hw::load_profile("h100")}, hw::Dtype::fp32);
  for (const char* strategy : {"nsga2", "evolution", "random"}) {
    INFO(strategy);
    search::Config c;
    c.strategy = strategy;
    c.budget = 100;
    c.population = 4;
    c.sample = 2;
    c.objectives = {{"params", false}, {"macs", true}};
    const auto r = search::run(c, ev);
    CHECK(r.candidates.size() == 6);
    for (std::size_t i = 0; i < r.candidates.size(); ++i)
      for (std::size_t j = 0; j < i; ++j) CHECK(r.candidates[i].genome != r.candidates[j].genome);
  }
}

TEST_CASE("search: results do not depend on the thread count", "[search]") {
  const auto ev = mobilenet_evaluator();
  for (const char* strategy : {"nsga2", "evolution", "random"}) {
    INFO(strategy);
    const auto c = mobilenet_config(strategy, 200);
    search::RunOptions one, two;
    one.threads = 1;
    two.threads = 2;
    const auto a = search::run(c, ev, one);
    const auto b = search::run(c, ev, two);
    same_candidates(a, b);
    std::size_t infeasible = 0;
    for (const auto& cand : a.candidates) infeasible += cand.status == search::Status::infeasible;
    CHECK(infeasible > 0);  // the memory bound binds
    CHECK(infeasible < a.candidates.size());
  }
}

TEST_CASE("search: a killed run resumes to the same result", "[search]") {
  const auto ev = mobilenet_evaluator();
  const auto c = mobilenet_config("nsga2", 300);
  search::RunOptions whole;
  whole.out_dir = fresh_dir("whole");
  whole.threads = 2;
  const auto full = search::run(c, ev, whole);
  CHECK(full.finished);

  // stop in the middle of a generation, as a kill would, and leave a torn line behind
  search::RunOptions part = whole;
  part.out_dir = fresh_dir("killed");
  std::atomic<int> polls{0};
  part.stop = [&] { return ++polls > 137; };
  const auto cut = search::run(c, ev, part);
  CHECK_FALSE(cut.finished);
  CHECK(cut.candidates.size() < 300);
  {
    std::ofstream f(part.out_dir + "/candidates.jsonl", std::ios::app);
    f << R"({"id": 999, "generation": 3, "gen)";
  }
  CHECK_THROWS_WITH(search::run(c, ev, part), Contains("already holds a run") && Contains("--resume"));

  search::RunOptions again = part;
  again.stop = nullptr;
  again.resume = true;
  again.threads = 1;
  const auto resumed = search::run(c, ev, again);
  CHECK(resumed.finished);
  same_candidates(full, resumed);
  CHECK(without_timings(whole.out_dir + "/candidates.jsonl") == without_timings(part.out_dir + "/candidates.jsonl"));
  const auto cfg = search::config_from_json(read_file(part.out_dir + "/run.json"), "run.json");
  CHECK(cfg.reference_point == full.reference_point);
  CHECK(cfg.budget == 300);
  // resuming a finished run changes nothing
  const auto done = search::run(c, ev, again);
  same_candidates(full, done);
  std::filesystem::remove_all(whole.out_dir);
  std::filesystem::remove_all(part.out_dir);
}

TEST_CASE("search: the train evaluator adds accuracy and loss from the executor", "[search]") {
  exec::TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch = 32;
  cfg.measure_latency = false;
  const search::TrainEvaluator ev(space::Space::load(kSpaces + "fmnist_space.json"), {}, {hw::load_profile("h100")},
                                  hw::Dtype::fp32, cfg, exec::load_fashion_mnist(exec::kFashionMnistDir, 256, 128));
  CHECK(ev.metrics().back() == "loss");
  search::Config c;
  c.evaluator = "train";
  c.budget = 2;
  c.population = 2;
  c.objectives = {{"accuracy", true}, {"params", false}};
  search::RunOptions two;
  two.threads = 2;
  const auto r = search::run(c, ev, two);
  REQUIRE(r.candidates.size() == 2);
  for (const auto& cand : r.candidates) {
    INFO(cand.reason);
    REQUIRE(cand.status == search::Status::ok);
    CHECK(cand.objectives[0] >= 0.0);  // a tiny proxy (8 steps): no accuracy level is asserted
    CHECK(cand.objectives[0] <= 1.0);
    CHECK(cand.metrics.back() > 0);   // the test loss
  }
  same_candidates(r, search::run(c, ev, two));  // seeded training: the same accuracies again
}

TEST_CASE("default zoo references follow the space's input: 3-channel images, 28x28 grey, none for tokens", "[search]") {
  using V = std::vector<std::string>;
  CHECK(search::default_references(space::Space::load(kSpaces + "mobilenet_v2_space.json")) == V{"mobilenet_v2", "mobilenet_v3_large"});
  CHECK(search::default_references(space::Space::load(kSpaces + "hybrid_space.json")) == V{"mobilenet_v2", "mobilenet_v3_large"});
  CHECK(search::default_references(space::Space::load(kSpaces + "fmnist_space.json")) == V{"fmnist_a", "fmnist_b"});
  CHECK(search::default_references(space::Space::load(kSpaces + "decoder_lm_space.json")).empty());
  CHECK(search::default_references(space::Space::load("llama2_7b")).empty());
}
