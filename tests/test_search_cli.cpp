// `hwnas search` and `hwnas cost --genome` end to end: the run directory, its files, resume,
// and bad flags with their messages.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli_run.hpp"

using Catch::Matchers::Contains;

namespace {

const std::string kSpaces = std::string(HWNAS_TEST_DATA) + "/../../search_spaces/";

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("cli: search writes run.json and candidates.jsonl; cost --genome costs a line", "[search][cli]") {
  const auto dir = (std::filesystem::temp_directory_path() / ("hwnas_cli_search_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const std::string space = kSpaces + "mobilenet_v2_space.json";
  const Run r = hwnas("search " + space + " --objective params:min --objective latency:min --constraint 'peak_memory_mb<=3'"
                      " --budget 120 --population 20 --seed 3 --out " + dir);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("nsga2 finished") && Contains("120 candidates") && Contains("hypervolume"));
  CHECK_THAT(r.err, Contains("evaluations") && Contains("HV"));
  const auto run = nlohmann::json::parse(slurp(dir + "/run.json"));
  CHECK(run.at("format") == "hwnas.run/1");
  CHECK(run.at("objectives").at(1).at("metric") == "latency_ms@h100");
  CHECK(run.at("constraints").at(0).at("bound") == 3.0);
  CHECK(run.at("space_size").get<double>() > 1e9);
  CHECK(run.at("reference_point").size() == 2);
  std::istringstream lines(slurp(dir + "/candidates.jsonl"));
  std::string line, infeasible;
  int n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    CHECK(j.at("id") == n++);
    if (j.at("status") == "infeasible" && infeasible.empty()) infeasible = line;
  }
  CHECK(n == 120);
  REQUIRE(!infeasible.empty());
  const auto cand = nlohmann::json::parse(infeasible);
  CHECK_THAT(cand.at("reason").get<std::string>(), Contains("peak_memory_mb = ") && Contains(" > 3"));
  // the line's genome costs to the line's metrics
  const Run c = hwnas("cost " + space + " --format json --genome '" + infeasible + "'");
  REQUIRE(c.code == 0);
  const auto cost = nlohmann::json::parse(c.out);
  CHECK(cost.at("totals").at("params") == cand.at("metrics").at("params"));
  CHECK(cost.at("totals").at("macs") == cand.at("metrics").at("macs"));
  // a finished run resumes to the same summary; a second run into the directory is refused
  const Run again = hwnas("search --resume --out " + dir + " -q");
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Contains("120 candidates"));
  const Run twice = hwnas("search " + space + " --objective params:min --out " + dir);
  CHECK(twice.code == 1);
  CHECK_THAT(twice.err, Contains("already holds a run"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: search --reference costs zoo models on the run's profiles into run.json and the report", "[search][cli]") {
  const auto dir = (std::filesystem::temp_directory_path() / ("hwnas_cli_search_refs_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const std::string space = kSpaces + "mobilenet_v2_space.json";
  const std::string args = "search " + space + " --profile raspberry_pi_4 --objective params:min --objective latency:min"
                           " --budget 30 --population 10 --seed 2 -q --out ";
  // default: mobilenet_v2 and mobilenet_v3_large for a space of 3-channel images
  REQUIRE(hwnas(args + dir).code == 0);
  auto run = nlohmann::json::parse(slurp(dir + "/run.json"));
  REQUIRE(run.at("references").size() == 2);
  CHECK(run.at("references")[0].at("name") == "mobilenet_v2");
  CHECK(run.at("references")[1].at("name") == "mobilenet_v3_large");
  CHECK(run.at("references")[0].at("metrics").at("params") == 3504872);  // torchvision's count
  const Run cost = hwnas("cost mobilenet_v2 --profile raspberry_pi_4 --format json");
  REQUIRE(cost.code == 0);
  CHECK(run.at("references")[0].at("metrics").at("latency_ms@raspberry_pi_4").get<double>() ==
        Approx(nlohmann::json::parse(cost.out).at("totals").at("latency_s").get<double>() * 1e3));
  CHECK_THAT(slurp(dir + "/front.svg"), Contains(">mobilenet_v2</text>") && Contains(">mobilenet_v3_large</text>"));
  // hwnas report rebuilds them from run.json; --resume keeps them
  std::filesystem::remove(dir + "/front.svg");
  REQUIRE(hwnas("report " + dir).code == 0);
  CHECK_THAT(slurp(dir + "/front.svg"), Contains(">mobilenet_v3_large</text>"));
  REQUIRE(hwnas("search --resume --out " + dir + " -q").code == 0);
  CHECK(nlohmann::json::parse(slurp(dir + "/run.json")).at("references").size() == 2);
  std::filesystem::remove_all(dir);
  // given names (a zoo model and an architecture file), or none
  const std::string arch = std::string(HWNAS_TEST_DATA) + "/../../models/mobilenet_v3_small.json";
  REQUIRE(hwnas(args + dir + " --reference efficientnet_b0 --reference " + arch).code == 0);
  run = nlohmann::json::parse(slurp(dir + "/run.json"));
  REQUIRE(run.at("references").size() == 2);
  CHECK(run.at("references")[0].at("name") == "efficientnet_b0");
  CHECK(run.at("references")[1].at("name") == arch);
  std::filesystem::remove_all(dir);
  REQUIRE(hwnas(args + dir + " --reference none").code == 0);
  CHECK(nlohmann::json::parse(slurp(dir + "/run.json")).at("references").empty());
  std::filesystem::remove_all(dir);
  // no default for token models
  REQUIRE(hwnas("search " + kSpaces + "decoder_lm_space.json --objective params:min --budget 10 --population 5 -q --out " + dir).code == 0);
  CHECK(nlohmann::json::parse(slurp(dir + "/run.json")).at("references").empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: search and cost --genome reject bad flags with a message", "[search][cli]") {
  const std::string space = kSpaces + "mobilenet_v2_space.json";
  struct Case {
    std::string args;
    int code;
    std::string message;
  };
  const Case cases[] = {
      {"search " + space + " --objective accuracy:max --objective latency:min", 1,
       "--objective accuracy: accuracy needs --evaluator train or supernet"},
      {"search " + space, 1, "give at least one --objective"},
      {"search " + space + " --objective speed:min", 1, "--objective: unknown metric 'speed' (known: params, macs"},
      {"search " + space + " --objective params:min --constraint 'latency_ms=4'", 1, "--constraint: must be <metric><op><number>"},
      {"search " + space + " --objective params:min --strategy annealing", 1, "--strategy: must be nsga2, evolution or random"},
      {"search " + space + " --objective params:min --budget 0", 1, "--budget: must be >= 1, got 0"},
      {"search " + space + " --objective params:min --hv-reference 1,2", 1, "--hv-reference: needs one value per objective (1), got 2"},
      {"search " + space + " --objective params:min --reference mobilenet_v9", 1,
       "--reference 'mobilenet_v9': 'mobilenet_v9' is neither a file nor a zoo model (zoo: efficientnet_b0, "},
      {"search " + space + " --objective params:min --reference " + space, 1,
       "--reference '" + space + "': a search space with 20 genes, not one architecture"},
      {"search " + space + " --objective params:min --reference none --reference resnet18", 1,
       "--reference none: stands alone (no zoo reference points), not beside other names"},
      {"search zdt1 --reference resnet18", 1, "--reference: zoo models compare with the members of a search space, not with zdt1"},
      {"search " + space + " --objective params:min --evaluator magic", 1, "--evaluator: must be cost, train or supernet:DIR, got 'magic'"},
      {"search --resume", 1, "--resume: needs --out"},
      {"search", 1, "missing <space>"},
      {"cost " + space, 1, "(a search space: cost one member with --genome)"},
      {"cost " + space + " --genome 1,2", 1, "the genome has 2 genes, the space has 20"},
      {"cost " + space + " --genome 0,9,0,1,0,0,1,0,0,1,0,0,1,0,0,1,0,0,1,0", 1,
       "gene 1 'stage2.expand' (layers[2].expand): must be an option index 0..2, got 9"},
  };
  for (const auto& c : cases) {
    INFO("hwnas " << c.args);
    const Run r = hwnas(c.args);
    CHECK(r.code == c.code);
    CHECK_THAT(r.err, Contains(c.message));
  }
}


TEST_CASE("cli: supernet train, resume, and a one-shot search over it", "[search][cli][supernet]") {
  const auto dir = (std::filesystem::temp_directory_path() / ("hwnas_cli_supernet_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string space = HWNAS_TEST_DATA "/supernet/tiny_space.json";  // also test_search_supernet.cpp's
  const std::string out = dir + "/super";
  // 512 images of Fashion-MNIST resized to 8x8, 2 epochs of 8 steps
  Run r = hwnas("supernet train " + space + " --epochs 2 --batch 64 --subset 512 --test-subset 256 --threads 1 --out " + out);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("supernet trained: 2 epochs") != std::string::npos);
  CHECK(r.out.find("largest  member 1,0,1,2,1,0,0: inherited test accuracy") != std::string::npos);
  CHECK(r.err.find("supernet epoch 2/2 done") != std::string::npos);
  CHECK(std::filesystem::exists(out + "/supernet.ckpt"));
  r = hwnas("supernet train " + space + " --out " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("supernet.ckpt: exists; continue it with --resume") != std::string::npos);
  r = hwnas("supernet train --resume --epochs 3 --out " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("--resume: takes the configuration from " + out + "/supernet.ckpt; drop --epochs") != std::string::npos);
  r = hwnas("supernet train --resume --out " + out);  // already finished: nothing to train
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("supernet trained: 2 epochs") != std::string::npos);

  r = hwnas("search " + space + " --evaluator supernet:" + out + " --objective accuracy:max --objective macs:min --budget 12 "
            "--population 6 --test-subset 200 --quiet --out " + dir + "/run");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("12 candidates") != std::string::npos);
  const std::string lines = slurp(dir + "/run/candidates.jsonl");
  CHECK(lines.find("\"accuracy\"") != std::string::npos);
  r = hwnas("search " + space + " --evaluator supernet:" + out + " --objective accuracy:max --budget 4 --reference fmnist_a --quiet");
  CHECK(r.code == 1);
  CHECK(r.err.find("--reference: with --evaluator supernet only members of the space have weights") != std::string::npos);
  r = hwnas("search " + space + " --evaluator supernet:" + dir + " --objective accuracy:max --budget 4 --quiet");
  CHECK(r.code == 1);
  CHECK(r.err.find(dir + "/supernet.ckpt: cannot open file") != std::string::npos);
  r = hwnas("supernet tune " + space);
  CHECK(r.code == 1);
  CHECK(r.err.find("the subcommand must be train") != std::string::npos);
}
