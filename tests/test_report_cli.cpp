// `hwnas report` and `hwnas scale` end to end: output, files, exit codes and messages.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("hwnas_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d.string();
}

}  // namespace

TEST_CASE("cli: report rebuilds a saved run and names bad lines", "[report][cli]") {
  const std::string d = temp_dir("report");
  fs::create_directories(d);
  std::ofstream(fs::path(d) / "run.json") << R"({"format": "hwnas.run/1",
    "objectives": [{"metric": "params", "sense": "min"}, {"metric": "latency_ms@h100", "sense": "min"}],
    "reference_point": [100, 10]})";  // front (10, 5) and (50, 2): 90*5 + 50*3 = 600
  std::ofstream(fs::path(d) / "candidates.jsonl")
      << R"({"id": 0, "status": "ok", "metrics": {"params": 10, "latency_ms@h100": 5}})" "\n"
      << R"({"id": 1, "status": "ok", "metrics": {"params": 50, "latency_ms@h100": 2}})" "\n"
      << R"({"id": 2, "status": "ok", "metrics": {"params": 60, "latency_ms@h100": 6}})" "\n";
  Run r = hwnas("report " + d);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains(d + ": 3 candidates, 3 feasible, 2 on the Pareto front, hypervolume 600"));
  CHECK_THAT(r.out, Contains("report: " + d + "/report.html"));
  for (const char* f : {"front.json", "front.csv", "front.svg", "report.html"}) CHECK(fs::exists(fs::path(d) / f));

  std::ofstream(fs::path(d) / "candidates.jsonl", std::ios::app) << R"({"id": 3, "status": "ok", "metrics": {"params": 1}})" "\n";
  r = hwnas("report " + d);
  CHECK(r.code == 1);
  CHECK(r.err == "hwnas: error: " + d +
                     "/candidates.jsonl: line 4: metrics.latency_ms@h100: missing (objective 2 of run.json) for a "
                     "candidate with status \"ok\"\n");
  r = hwnas("report " + d + "/nothing");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("run.json: not found (no directory"));
  r = hwnas("report");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("report: missing <run directory>"));
  fs::remove_all(d);
}

TEST_CASE("cli: scale prints the family and writes scale.json / scale.csv", "[scale][cli]") {
  const std::string d = temp_dir("scale");
  Run r = hwnas("scale efficientnet_b0 --profile h100 --alpha 1.2 --beta 1.1 --gamma 1.15 --phi 0..2 "
                "--latency-budget-ms 1.3 --out " + d);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("coefficients: given") && Contains("h100: phi 1, ") && Contains("wrote " + d + "/scale.json"));
  std::ifstream f(fs::path(d) / "scale.json");
  const auto j = nlohmann::json::parse(f);
  CHECK(j.at("family").size() == 3);
  CHECK(j.at("family")[2].at("resolution") == 296);
  CHECK(j.at("picks").at("h100") == 1);
  CHECK(fs::exists(fs::path(d) / "scale.csv"));
  r = hwnas("scale efficientnet_b0 --phi 0,2");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("coefficients: grid search, criterion latency"));
  fs::remove_all(d);

  auto fails = [](const std::string& args, const std::string& message) {
    const Run b = hwnas("scale " + args);
    CHECK(b.code == 1);
    CHECK(b.err == "hwnas: error: " + message + "\n");
  };
  fails("efficientnet_b0 --phi 3..1", "--phi: expected a range a..b or a list a,b,c of integers in 0..10, got '3..1'");
  fails("efficientnet_b0 --phi 0..x", "--phi: expected a range a..b or a list a,b,c of integers in 0..10, got '0..x'");
  fails("efficientnet_b0 --phi 12", "--phi: expected a range a..b or a list a,b,c of integers in 0..10, got '12'");
  fails("efficientnet_b0 --alpha 1.2", "--alpha, --beta, --gamma: give all three (or none, for the grid search)");
  fails("efficientnet_b0 --dtype fp8", "--dtype: must be fp32, fp16, bf16 or int8, got 'fp8'");
  fails("efficientnet_b0 --criterion speed", "--criterion: must be latency, latency@<profile> or params, got 'speed'");
  fails("", "scale: missing <model> (a zoo name or an architecture .json file)");
  const Run bad = hwnas("scale efficientnet_b0 --alpha x --beta 1 --gamma 1");
  CHECK(bad.code == 2);
}
