// The `hwnas` command as a user runs it: exit codes, error messages on stderr, and output
// formats that parse. Runs the built binary (HWNAS_CLI, set by tests/CMakeLists.txt).
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.hpp"

using Catch::Matchers::Contains;

TEST_CASE("cli: zoo and profiles list what is built in", "[cli]") {
  const Run zoo = hwnas("zoo");
  CHECK(zoo.code == 0);
  CHECK_THAT(zoo.out, Contains("mobilenet_v2") && Contains("llama3_8b") && Contains("longformer_base"));
  const Run prof = hwnas("profiles");
  CHECK(prof.code == 0);
  CHECK_THAT(prof.out, Contains("h100"));
}

TEST_CASE("cli: cost --format json is one object with integer totals", "[cli]") {
  const Run r = hwnas("cost mobilenet_v2 --profile h100 --batch 2 --dtype fp16 --format json");
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("model") == "mobilenet_v2");
  CHECK(j.at("batch") == 2);
  CHECK(j.at("dtype") == "fp16");
  CHECK(j.at("totals").at("params").is_number_integer());
  CHECK(j.at("totals").at("params") == 3504872);
  CHECK(j.at("totals").at("macs") == 2 * 300774272LL);
  CHECK(j.at("totals").at("latency_s").get<double>() > 0);
  REQUIRE(j.at("layers").is_array());
  CHECK(j.at("layers").size() > 100);
  for (const char* k : {"name", "op", "output_shape", "params", "macs", "flops", "bytes", "intensity", "latency_s", "bound"})
    CHECK(j.at("layers").at(0).contains(k));
}

TEST_CASE("cli: cost table and csv", "[cli]") {
  const Run t = hwnas("cost resnet18");
  CHECK(t.code == 0);
  CHECK_THAT(t.out, Contains("11.69 M") && Contains("1.81 GMAC"));
  const Run c = hwnas("cost resnet18 --format csv");
  CHECK(c.code == 0);
  CHECK(c.out.rfind("name,", 0) == 0);
  const Run d = hwnas("cost llama2_7b --phase decode --context 4096 --dtype fp16 --format json");
  REQUIRE(d.code == 0);
  CHECK(nlohmann::json::parse(d.out).at("totals").at("kv_cache_bytes") == 524288LL * 4096);
}

TEST_CASE("cli: bad input exits non-zero with a message naming the value", "[cli]") {
  struct Case {
    const char* args;
    int code;
    const char* message;
  };
  const Case cases[] = {
      {"", 2, "usage: hwnas <command>"},
      {"frobnicate", 2, "unknown command 'frobnicate'"},
      {"cost", 1, "missing <model>"},
      {"cost mobilenet_v9", 1, "'mobilenet_v9' is neither a file nor a zoo model"},
      {"cost mobilenet_v2 --profile tpu_v9", 1, "unknown profile 'tpu_v9'"},
      {"cost mobilenet_v2 --dtype fp64", 1, "--dtype: must be fp32, fp16, bf16 or int8, got 'fp64'"},
      {"cost mobilenet_v2 --batch 0", 1, "--batch: must be >= 1, got 0"},
      {"cost mobilenet_v2 --batch two", 2, "batch"},
      {"cost mobilenet_v2 --format xml", 1, "--format: must be table, json or csv, got 'xml'"},
      {"cost llama2_7b --phase decode", 1, "--context"},
      {"cost mobilenet_v2 --no-such-flag", 2, "no-such-flag"},
  };
  for (const auto& c : cases) {
    INFO("hwnas " << c.args);
    const Run r = hwnas(c.args);
    CHECK(r.code == c.code);
    CHECK_THAT(r.err, Contains(c.message));
    CHECK(r.out.empty());
  }
}

TEST_CASE("cli: train rejects bad flags and a missing dataset with clear messages", "[cli][exec]") {
  const Run batch = hwnas("train fmnist_a --batch 0");
  CHECK(batch.code == 1);
  CHECK_THAT(batch.err, Contains("--batch: must be >= 1, got 0"));
  const Run sched = hwnas("train fmnist_a --schedule linear");
  CHECK(sched.code == 1);
  CHECK_THAT(sched.err, Contains("--schedule: must be cosine, step or constant, got 'linear'"));
  const Run flag = hwnas("train fmnist_a --bogus");
  CHECK(flag.code == 2);
  CHECK_THAT(flag.err, Contains("bogus"));
  const Run data = hwnas("train fmnist_a --data-dir /nonexistent/fmnist");
  CHECK(data.code == 1);
  CHECK_THAT(data.err, Contains("/nonexistent/fmnist/train-images-idx3-ubyte.gz: missing") &&
                           Contains("install the Debian package 'dataset-fashion-mnist'"));
}

TEST_CASE("cli: calibrate --measure-local rejects bad flags with clear messages", "[cli]") {
  auto fails = [](const std::string& args, const std::string& message) {
    INFO(args);
    const Run r = hwnas("calibrate " + args);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains(message));
  };
  fails("local_cpu --measure-local /tmp/hwnas_ml.json --out /tmp/hwnas_ml_p.json --repeats 0",
        "calibrate: --repeats must be between 1 and 10000, got 0");
  fails("local_cpu --measure-local /tmp/hwnas_ml.json --out /tmp/hwnas_ml_p.json --threads 0",
        "calibrate: --threads must be between 1 and 1024, got 0");
  fails("local_cpu --measure-local /tmp/hwnas_ml.json --out /tmp/hwnas_ml_p.json --batch 1",
        "calibrate: --batch (the training batch measured next to batch 1) must be between 2 and 4096, got 1");
  fails("local_cpu --measure-local /tmp/hwnas_ml.json --out /tmp/hwnas_ml_p.json --warmup -1",
        "calibrate: --warmup must be between 0 and 10000, got -1");
  fails("local_cpu --measure-local /tmp/hwnas_ml.json -m ops.json --out /tmp/hwnas_ml_p.json",
        "calibrate: give --measurements or --measure-local, not both");
  fails("local_cpu --check m.json --repeats 5", "calibrate: --repeats needs --measure-local");
  fails("local_cpu --measure-local /tmp/hwnas_ml.json", "need --out, --report or --folds");
  fails("h100 --measure-local /tmp/hwnas_ml.json --out /tmp/hwnas_ml_p.json",
        "calibrate: --measure-local times this machine's CPU executor; profile 'h100' is of kind 'gpu', not 'cpu'");
  const Run junk = hwnas("calibrate local_cpu --measure-local /tmp/hwnas_ml.json --out /tmp/p.json --repeats many");
  CHECK(junk.code == 2);
  CHECK_THAT(junk.err, Contains("repeats"));
}
