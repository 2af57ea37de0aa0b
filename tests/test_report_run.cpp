// The run report: small run directories written here, read back by write_run_report; the front,
// hypervolume, files, SVG and HTML content, and malformed input with asserted messages.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/report/run_report.hpp"

using namespace hwnas;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// A fresh, empty directory under the system temporary directory.
std::string fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("hwnas_test_report_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

void write(const std::string& dir, const std::string& file, const std::string& text) {
  std::ofstream(fs::path(dir) / file) << text;
}

const char* const kRun2 = R"({"format": "hwnas.run/1", "space": "search_spaces/tiny_space.json", "space_size": 1200,
 "strategy": "nsga2", "seed": 7, "budget": 8, "evaluator": "cost", "profiles": ["raspberry_pi_4"],
 "dtype": "fp32", "batch": 1,
 "objectives": [{"metric": "accuracy", "sense": "max"}, {"metric": "latency_ms@raspberry_pi_4", "sense": "min"}],
 "constraints": [{"text": "latency_ms<=40", "metric": "latency_ms@raspberry_pi_4", "op": "<=", "bound": 40}],
 "reference_point": [0.0, 50.0]})";

std::string cand(int id, const char* status, double acc, double lat, const char* reason = "") {
  return R"({"id": )" + std::to_string(id) + R"(, "generation": )" + std::to_string(id / 4) + R"(, "genome": [)" +
         std::to_string(id % 3) + R"(, 1], "genome_named": {"stage1.depth": )" + std::to_string(id % 3) +
         R"(, "stage1.kernel": 5}, "name": "cand)" + std::to_string(id) + R"(", "status": ")" + status +
         R"(", "reason": ")" + reason + R"(", "metrics": {"params": )" + std::to_string(1000 * (id + 1)) +
         R"(, "accuracy": )" + std::to_string(acc) + R"(, "latency_ms@raspberry_pi_4": )" + std::to_string(lat) +
         R"(}, "eval_s": 0.5})" + "\n";
}

// Front: cand0 (0.5, 10), cand1 (0.8, 30), cand3 (0.9, 38); cand2 dominated by cand1; cand4
// infeasible (better than all); cand5, cand6 invalid; cand7 duplicates cand1.
std::string run2_candidates() {
  return cand(0, "ok", 0.5, 10) + cand(1, "ok", 0.8, 30) + cand(2, "ok", 0.7, 35) + cand(3, "ok", 0.9, 38) +
         cand(4, "infeasible", 0.95, 45, "latency_ms@raspberry_pi_4 = 45 > 40") +
         R"({"id": 5, "generation": 1, "genome": [9, 9], "name": "cand5", "status": "invalid", "reason": "stage2: kernel 7 > resolution 4", "metrics": {}})"
         "\n\n" +
         R"({"id": 6, "generation": 1, "genome": [8, 8], "name": "cand6", "status": "invalid", "reason": "stage2: kernel 7 > resolution 4", "metrics": {}})"
         "\n" +
         cand(7, "ok", 0.8, 30);
}

std::string make_run2(const std::string& name) {
  const std::string d = fresh_dir(name);
  write(d, "run.json", kRun2);
  write(d, "candidates.jsonl", run2_candidates());
  return d;
}

std::string read(const std::string& dir, const std::string& file) { return read_file((fs::path(dir) / file).string()); }

}  // namespace

TEST_CASE("run report: front, hypervolume and the four files of a two-objective run") {
  const std::string d = make_run2("two");
  const report::RunSummary s = report::write_run_report(d);
  CHECK(s.candidates == 8);
  CHECK(s.feasible == 5);
  CHECK(s.front == 4);  // cand0, cand1, cand3 and cand7 (equal to cand1)
  // Against (accuracy 0, latency 50): strips 0.5*40 + 0.3*20 + 0.1*12 = 27.2.
  CHECK(s.hypervolume == Approx(27.2));

  const auto front = nlohmann::json::parse(read(d, "front.json"));
  CHECK(front.at("format") == "hwnas.front/1");
  CHECK(front.at("hypervolume").get<double>() == Approx(27.2));
  CHECK(front.at("counts").at("invalid") == 2);
  CHECK(front.at("counts").at("infeasible") == 1);
  std::vector<int> ids;
  for (const auto& e : front.at("front")) ids.push_back(e.at("id").get<int>());
  CHECK(ids == std::vector<int>{3, 1, 7, 0});  // best accuracy first
  CHECK(front.at("front")[0].at("metrics").at("params") == 4000);
  CHECK(front.at("front")[0].at("genome_named").at("stage1.kernel") == 5);

  const std::string csv = read(d, "front.csv");
  CHECK_THAT(csv, Contains("id,name,generation,accuracy,latency_ms@raspberry_pi_4,params,genome\n"));
  CHECK_THAT(csv, Contains("3,cand3,0,0.9,38,4000,stage1.depth=0 stage1.kernel=5\n"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);

  const std::string svg = read(d, "front.svg");
  CHECK_THAT(svg, Contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  // Front points are the large circles, dominated ones small, infeasible ones crosses.
  for (const char* id : {"cand0 (id 0)", "cand1 (id 1)", "cand3 (id 3)", "cand7 (id 7)"})
    CHECK_THAT(svg, Contains(std::string("r=\"4\"><title>") + id));
  CHECK_THAT(svg, Contains("r=\"2.6\"><title>cand2 (id 2)"));
  CHECK_THAT(svg, Contains("\"><title>cand4 (id 4), accuracy = 0.95, latency_ms@raspberry_pi_4 = 45; "
                           "latency_ms@raspberry_pi_4 = 45 &gt; 40</title></path>"));
  CHECK_THAT(svg, !Contains("cand5"));
  CHECK_THAT(svg, Contains("<polyline") && Contains("Pareto front (4)") && Contains("dominated (1)") &&
                      Contains("infeasible (1)") && Contains("2 invalid candidates not plotted"));
  CHECK_THAT(svg, Contains("latency_ms@raspberry_pi_4 (ms) \u2014 lower is better"));

  const std::string html = read(d, "report.html");
  CHECK_THAT(html, Contains("<!DOCTYPE html>") && Contains(svg.substr(svg.find("<svg"), 200)));
  CHECK_THAT(html, Contains("<tr><td>strategy</td><td>nsga2</td></tr>") && Contains("<tr><td>seed</td><td>7</td></tr>"));
  CHECK_THAT(html, Contains("<tr><td>profiles</td><td>raspberry_pi_4</td></tr>"));
  CHECK_THAT(html, Contains("<tr><td>constraints</td><td>latency_ms&lt;=40</td></tr>"));
  CHECK_THAT(html, Contains("<tr><td>invalid</td><td>2</td></tr>") && Contains("<tr><td>hypervolume</td><td>27.2</td></tr>"));
  CHECK_THAT(html, Contains("<tr><td>stage2: kernel 7 &gt; resolution 4</td><td>2</td></tr>"));
  CHECK_THAT(html, Contains("<tr><td>latency_ms&lt;=40</td><td>1</td></tr>"));
  CHECK_THAT(html, Contains("<td>cand3</td>") && Contains("stage1.depth=0 stage1.kernel=5"));
  CHECK_THAT(html, Contains("Pareto front (4 candidates)") && Contains("Hypervolume against evaluations"));
  // Rebuilding gives the same bytes, and no temporary files are left.
  report::write_run_report(d);
  CHECK(read(d, "report.html") == html);
  for (const auto& e : fs::directory_iterator(d)) CHECK(e.path().extension() != ".tmp");
}

TEST_CASE("run report: zoo reference models are labelled points, compared with the front, never on it") {
  const std::string d = fresh_dir("refs");
  std::string run = kRun2;
  run.insert(run.rfind('}'), R"(, "references": [
   {"name": "big_net", "metrics": {"accuracy": 0.85, "latency_ms@raspberry_pi_4": 60, "params": 5e6}},
   {"name": "small_net", "metrics": {"accuracy": 0.95, "latency_ms@raspberry_pi_4": 20}},
   {"name": "untrained", "metrics": {"latency_ms@raspberry_pi_4": 5}}])");
  write(d, "run.json", run);
  write(d, "candidates.jsonl", run2_candidates());
  const report::RunSummary s = report::write_run_report(d);
  CHECK(s.front == 4);
  CHECK(s.hypervolume == Approx(27.2));  // the references add nothing

  const auto front = nlohmann::json::parse(read(d, "front.json"));
  const auto& refs = front.at("references");
  REQUIRE(refs.size() == 3);
  CHECK(refs[0].at("name") == "big_net");
  CHECK(refs[0].at("feasible") == false);             // 60 ms > 40
  CHECK(refs[0].at("dominated_by_front") == true);    // cand3 (0.9, 38)
  CHECK(refs[1].at("feasible") == true);
  CHECK(refs[1].at("dominated_by_front") == false);
  CHECK(refs[2].at("dominated_by_front").is_null());  // no accuracy
  CHECK(front.at("front").size() == 4);

  const std::string svg = read(d, "front.svg");
  CHECK_THAT(svg, Contains("<title>big_net (zoo reference), accuracy = 0.85, latency_ms@raspberry_pi_4 = 60</title>"));
  CHECK_THAT(svg, Contains("\">big_net</text>") && Contains("\">small_net</text>"));
  CHECK_THAT(svg, !Contains(">untrained</text>"));
  CHECK_THAT(svg, Contains("zoo reference (2)") && Contains("references without every objective not plotted: untrained"));
  CHECK_THAT(svg, Contains("Pareto front (4)"));

  const std::string html = read(d, "report.html");
  CHECK_THAT(html, Contains("Zoo reference models"));
  CHECK_THAT(html, Contains("<tr><td>big_net</td><td class=\"n\">0.85</td><td class=\"n\">60</td><td>no</td><td>1 (ids 3)</td></tr>"));
  CHECK_THAT(html, Contains("<tr><td>small_net</td><td class=\"n\">0.95</td><td class=\"n\">20</td><td>yes</td><td>none</td></tr>"));
  CHECK_THAT(html, Contains("<tr><td>untrained</td><td class=\"n\">-</td><td class=\"n\">5</td><td>yes</td><td>-</td></tr>"));

  // malformed references name the field
  auto error_of = [&](const std::string& refs_json) {
    std::string r = kRun2;
    r.insert(r.rfind('}'), ", \"references\": " + refs_json);
    write(d, "run.json", r);
    try {
      report::write_run_report(d);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string rj = d + "/run.json: ";
  CHECK(error_of("{}") == rj + "references: must be an array, got {}");
  CHECK(error_of(R"([{"metrics": {}}])") == rj + "references[0].name: missing");
  CHECK(error_of(R"([{"name": "x", "metrics": {"params": "many"}}])") ==
        rj + "references[0].metrics.params: must be a number, got \"many\"");
}

TEST_CASE("run report: three objectives make a grid of pairwise plots; no feasible point, empty run") {
  std::string d = fresh_dir("three");
  write(d, "run.json", R"({"format": "hwnas.run/1", "objectives": [{"metric": "macs", "sense": "min"},
    {"metric": "params", "sense": "min"}, {"metric": "peak_memory_mb", "sense": "min"}],
    "reference_point": [1e9, 1e7, 100]})");
  write(d, "candidates.jsonl",
        R"({"id": 0, "status": "ok", "metrics": {"macs": 3e8, "params": 2e6, "peak_memory_mb": 50}}
{"id": 1, "status": "ok", "metrics": {"macs": 5e8, "params": 1e6, "peak_memory_mb": 80}}
{"id": 2, "status": "ok", "metrics": {"macs": 6e8, "params": 3e6, "peak_memory_mb": 90}}
)");
  report::RunSummary s = report::write_run_report(d);
  CHECK(s.front == 2);
  // (1e9-3e8)(1e7-2e6)(100-50) + (1e9-5e8)(1e7-1e6)(100-80) - overlap (1e9-5e8)(1e7-2e6)(100-80)
  CHECK(s.hypervolume == Approx(7e8 * 8e6 * 50 + 5e8 * 9e6 * 20 - 5e8 * 8e6 * 20));
  const std::string svg = read(d, "front.svg");
  std::size_t panels = 0;
  for (std::size_t p = 0; (p = svg.find("fill=\"none\" stroke=\"#333\"/>", p)) != std::string::npos; ++p) ++panels;
  CHECK(panels == 3);
  CHECK_THAT(svg, Contains("macs, min") && Contains("peak_memory_mb (MiB), min") && Contains(">350M<") && Contains(">1.5M<"));

  write(d, "candidates.jsonl", R"({"id": 0, "status": "infeasible", "metrics": {"macs": 3e8, "params": 2e6, "peak_memory_mb": 50}})");
  s = report::write_run_report(d);
  CHECK(s.front == 0);
  CHECK(s.hypervolume == 0);
  write(d, "candidates.jsonl", "");
  s = report::write_run_report(d);
  CHECK(s.candidates == 0);
  CHECK_THAT(read(d, "report.html"), Contains("Pareto front (0 candidates)"));
}

TEST_CASE("run report: missing and malformed run files name the file, line and field") {
  const std::string missing = (fs::temp_directory_path() / "hwnas_test_report_nowhere").string();
  fs::remove_all(missing);
  CHECK_THROWS_WITH(report::write_run_report(missing),
                    missing + "/run.json: not found (no directory '" + missing + "')");
  const std::string d = fresh_dir("bad");
  CHECK_THROWS_WITH(report::write_run_report(d),
                    d + "/run.json: not found ('" + d + "' is not a run directory written by hwnas search)");

  auto run_error = [&](const std::string& run_json) {
    write(d, "run.json", run_json);
    write(d, "candidates.jsonl", "");
    try {
      report::write_run_report(d);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string rj = d + "/run.json: ";
  CHECK_THAT(run_error("{\"format\": "), Catch::StartsWith(rj + "invalid JSON: parse error"));
  CHECK(run_error(R"({"format": "hwnas.run/2"})") == rj + "format: must be \"hwnas.run/1\", got \"hwnas.run/2\"");
  CHECK(run_error(R"({"format": "hwnas.run/1", "objectives": []})") == rj + "objectives: must be a non-empty array, got []");
  CHECK(run_error(R"({"format": "hwnas.run/1", "objectives": [{"metric": "params", "sense": "up"}]})") ==
        rj + "objectives[0].sense: must be min or max, got \"up\"");
  CHECK(run_error(R"({"format": "hwnas.run/1", "objectives": [{"sense": "min"}]})") == rj + "objectives[0].metric: missing");
  CHECK(run_error(R"({"format": "hwnas.run/1", "objectives": [{"metric": "params", "sense": "min"}]})") ==
        rj + "reference_point: missing");
  CHECK(run_error(R"({"format": "hwnas.run/1", "objectives": [{"metric": "params", "sense": "min"}], "reference_point": [1, 2]})") ==
        rj + "reference_point: must be an array of one number per objective (1), got [1,2]");
  CHECK(run_error(R"({"format": "hwnas.run/1", "objectives": [{"metric": "params", "sense": "min"}],
                     "constraints": [{"metric": "params", "op": "=<", "bound": 3}], "reference_point": [1]})") ==
        rj + "constraints[0].op: must be <=, <, >= or >, got \"=<\"");
  CHECK(run_error(R"({"format": "hwnas.run/1", "objectives": [{"metric": "params", "sense": "min"}],
                     "constraints": [{"metric": "params", "op": "<=", "bound": "3"}], "reference_point": [1]})") ==
        rj + "constraints[0].bound: must be a number, got \"3\"");

  write(d, "run.json", kRun2);
  fs::remove(fs::path(d) / "candidates.jsonl");
  CHECK_THROWS_WITH(report::write_run_report(d), d + "/candidates.jsonl: not found (the run has no evaluations file)");
  auto cand_error = [&](const std::string& lines) {
    write(d, "candidates.jsonl", lines);
    try {
      report::write_run_report(d);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string c3 = d + "/candidates.jsonl: line 3: ";
  const std::string two = cand(0, "ok", 0.5, 10) + cand(1, "ok", 0.6, 20);
  CHECK_THAT(cand_error(two + "{\"id\": 2, \"status\": \"ok\", \"metr"), Catch::StartsWith(c3 + "invalid JSON: parse error"));
  CHECK(cand_error(two + R"({"id": 2, "status": "done"})") == c3 + "status: must be ok, infeasible or invalid, got \"done\"");
  CHECK(cand_error(two + R"({"status": "ok"})") == c3 + "id: missing");
  CHECK(cand_error(two + R"({"id": "2", "status": "ok"})") == c3 + "id: must be an integer, got \"2\"");
  CHECK(cand_error(two + R"({"id": 2, "status": "ok", "metrics": {"accuracy": 0.5}})") ==
        c3 + "metrics.latency_ms@raspberry_pi_4: missing (objective 2 of run.json) for a candidate with status \"ok\"");
  CHECK(cand_error(two + R"({"id": 2, "status": "ok", "metrics": {"accuracy": "high"}})") ==
        c3 + "metrics.accuracy: must be a number, got \"high\"");
  CHECK(cand_error(two + R"({"id": 2, "status": "ok", "genome": 5})") == c3 + "genome: must be an array, got 5");
  CHECK(cand_error(two + "[1, 2]") == c3 + "must be a JSON object, got [1,2]");
  // An invalid candidate needs no metrics.
  CHECK(cand_error(two + R"({"id": 2, "status": "invalid", "reason": "bad"})") == "no error");
}
