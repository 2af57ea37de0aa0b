// Executor: training end to end on small data (overfit, determinism, weight files) and the
// errors of bad input.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "hwnas/error.hpp"
#include "hwnas/exec/network.hpp"
#include "hwnas/exec/train.hpp"
#include "hwnas/files.hpp"
#include "hwnas/graph/arch.hpp"

using namespace hwnas;

namespace {

graph::Graph image_net(const std::string& layers, int channels = 1, int resolution = 8) {
  const std::string text = R"({"format": "hwnas.arch/1", "name": "t", "input": {"channels": )" + std::to_string(channels) +
                           R"(, "resolution": )" + std::to_string(resolution) + R"(}, "layers": [)" + layers + "]}";
  return graph::parse_architecture(text, "t.json");
}

const char* kSmall = R"({"name": "c1", "type": "conv", "out": 16, "kernel": 3},
  {"name": "c2", "type": "conv", "out": 16, "kernel": 3, "stride": 2, "groups": "depthwise", "act": "relu6"},
  {"name": "flat", "type": "flatten"}, {"name": "fc", "type": "linear", "out": 10})";

// n random 1 x r x r images with random labels; the test set is the training set
exec::Dataset noise_data(std::int64_t n, std::int64_t r = 8, std::uint64_t seed = 1) {
  exec::Dataset d;
  d.name = "random";
  d.channels = 1, d.height = r, d.width = r, d.classes = 10;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  d.train_images.resize(static_cast<std::size_t>(n * r * r));
  for (auto& v : d.train_images) v = normal(rng);
  for (std::int64_t i = 0; i < n; ++i) d.train_labels.push_back(static_cast<std::uint8_t>(rng() % 10));
  d.test_images = d.train_images;
  d.test_labels = d.train_labels;
  return d;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hwnas_test_exec_" + name)).string();
}

}  // namespace

TEST_CASE("exec train: a small net memorises 64 images (loss near zero)") {
  exec::TrainConfig cfg;
  cfg.epochs = 40, cfg.batch = 16, cfg.lr = 0.05, cfg.schedule = exec::Schedule::constant, cfg.measure_latency = false;
  const auto r = exec::train_and_evaluate(image_net(kSmall), cfg, noise_data(64));
  CHECK(r.epochs.front().train_loss > 1.5);
  CHECK(r.epochs.back().train_loss < 0.05);
  CHECK(r.accuracy == 1.0);
}

TEST_CASE("exec train: deterministic for a seed, for 1 and 2 threads, with augmentation") {
  const auto g = image_net(kSmall);
  const auto d = noise_data(96);
  exec::TrainConfig cfg;
  cfg.epochs = 2, cfg.batch = 32, cfg.augment = true, cfg.measure_latency = false, cfg.seed = 5;
  cfg.threads = 1;
  const auto a = exec::train_and_evaluate(g, cfg, d);
  cfg.threads = 2;
  const auto b = exec::train_and_evaluate(g, cfg, d);
  cfg.seed = 6;
  const auto c = exec::train_and_evaluate(g, cfg, d);
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    CHECK(a.epochs[e].train_loss == b.epochs[e].train_loss);
    CHECK(a.epochs[e].test_loss == b.epochs[e].test_loss);
  }
  CHECK(a.epochs.back().train_loss != c.epochs.back().train_loss);
}

TEST_CASE("exec train: saved weights evaluate to the same numbers without retraining") {
  const auto g = image_net(kSmall);
  const auto d = noise_data(64);
  const std::string path = temp_path("weights.bin");
  exec::TrainConfig cfg;
  cfg.epochs = 2, cfg.batch = 16, cfg.measure_latency = false, cfg.save = path;
  const auto trained = exec::train_and_evaluate(g, cfg, d);
  exec::TrainConfig eval;
  eval.epochs = 0, eval.batch = 16, eval.measure_latency = false, eval.load = path;
  const auto again = exec::train_and_evaluate(g, eval, d);
  CHECK(again.accuracy == trained.accuracy);
  CHECK(again.loss == trained.loss);
  // another architecture's weights are refused, naming the file and the tensor
  std::string narrow = kSmall;
  narrow.replace(narrow.find("\"out\": 16"), 9, "\"out\": 8");
  narrow.replace(narrow.find("\"out\": 16"), 9, "\"out\": 8");
  const auto other = image_net(narrow);
  const std::string mismatch = path + ": tensors[0] 'c1.conv.weight': shape [16,1,3,3] differs from the graph's [8,1,3,3]";
  CHECK_THROWS_WITH(exec::train_and_evaluate(other, eval, d), Catch::Equals(mismatch));
  exec::Params p(exec::with_batch(other, 16));
  write_file_atomic(path, "not a weight file");
  CHECK_THROWS_WITH(p.load(path), Catch::Contains(path + ": not a hwnas.weights/1 file"));
  std::filesystem::remove(path);
}

TEST_CASE("exec train: the reference nets and the small MobileViT build and take a training step") {
  for (const char* name : {"fmnist_a", "fmnist_b", "fmnist_mobilevit"}) {
    INFO(name);
    exec::TrainConfig cfg;
    cfg.epochs = 1, cfg.batch = 8, cfg.measure_latency = false;
    const auto r = exec::train_and_evaluate(graph::load_architecture(name), cfg, noise_data(16, 28));
    CHECK(r.epochs.size() == 1);
    CHECK(std::isfinite(r.loss));
  }
}

// Evaluation of a forward-only Network runs the conv nets depth first, in lanes of 4 samples
// (the last of a batch of 10 short), the MobileViT node by node.
TEST_CASE("exec: a forward-only Network computes what a training one does") {
  for (const char* name : {"fmnist_a", "fmnist_b", "fmnist_mobilevit"}) {
    INFO(name);
    const graph::Graph g = exec::with_batch(graph::load_architecture(name), 10);
    exec::Params pt(g), pf(g);
    pt.init(7);
    pf.init(7);
    exec::Network train(g, pt), fwd(g, pf, exec::Passes::forward_only);
    const exec::Dataset d = noise_data(10, 28);
    const std::int64_t out = graph::numel(g.node(train.output()).shape);
    for (const bool training : {true, false, true}) {
      std::copy(d.train_images.begin(), d.train_images.end(), train.value(train.input()));
      std::copy(d.train_images.begin(), d.train_images.end(), fwd.value(fwd.input()));
      train.forward(training);
      fwd.forward(training);
      // training passes are bit-identical; in evaluation the GEMM of the linear head may round
      // a sample differently by its row in a lane rather than in the whole batch
      const float* want = train.value(train.output());
      const float* got = fwd.value(fwd.output());
      if (training) CHECK(std::equal(want, want + out, got));
      for (std::int64_t k = 0; k < out; ++k) CHECK(std::fabs(got[k] - want[k]) <= 1e-5f * (1.0f + std::fabs(want[k])));
      for (std::size_t k = 0; k < pt.tensors().size(); ++k) CHECK(pt.tensors()[k].value == pf.tensors()[k].value);
    }
    CHECK(fwd.grad(fwd.output()) == nullptr);
    CHECK_THROWS_WITH(fwd.backward(), Catch::Contains("forward passes only"));
  }
}

TEST_CASE("exec train: bad input gets clear errors") {
  SECTION("missing dataset names the Debian package") {
    CHECK_THROWS_WITH(exec::load_fashion_mnist("/nonexistent/fmnist"),
                      Catch::Contains("/nonexistent/fmnist/train-images-idx3-ubyte.gz: missing") &&
                          Catch::Contains("install the Debian package 'dataset-fashion-mnist'"));
  }
  SECTION("a file that is not IDX") {
    const std::string dir = temp_path("idx");
    write_file_atomic(dir + "/train-images-idx3-ubyte.gz", "hello world, not idx");
    CHECK_THROWS_WITH(exec::load_fashion_mnist(dir), Catch::Contains("train-images-idx3-ubyte.gz: not an IDX file"));
    std::filesystem::remove_all(dir);
  }
  SECTION("an architecture the executor cannot train") {
    exec::TrainConfig cfg;
    CHECK_THROWS_WITH(exec::train_and_evaluate(graph::load_architecture("tinyllama_1_1b", {.seq_len = 8}), cfg, noise_data(8)),
                      Catch::Contains("the executor trains image models"));
    const auto no_logits = image_net(R"({"name": "c1", "type": "conv", "out": 4, "kernel": 3})");
    CHECK_THROWS_WITH(exec::train_and_evaluate(no_logits, cfg, noise_data(8)),
                      Catch::Contains("output 'c1.act' must be [batch, >= 10] logits"));
  }
  SECTION("bad training settings") {
    exec::TrainConfig cfg;
    cfg.batch = 0;
    CHECK_THROWS_WITH(exec::train_and_evaluate(image_net(kSmall), cfg, noise_data(8)),
                      Catch::Equals("train config: batch: must be >= 1, got 0"));
    cfg.batch = 32;
    CHECK_THROWS_WITH(exec::train_and_evaluate(image_net(kSmall), cfg, noise_data(8)),
                      Catch::Contains("8 training images, fewer than one batch of 32"));
  }
}
