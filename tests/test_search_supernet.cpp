// One-shot supernet: full-size shapes and keys, slicing (a step on a member changes only its
// slice), batch-norm recalibration, checkpoints and resume, determinism, the search evaluator.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/hw/profile.hpp"
#include "hwnas/search/evaluator.hpp"
#include "hwnas/search/supernet.hpp"

namespace exec = hwnas::exec;
namespace graph = hwnas::graph;
namespace hw = hwnas::hw;
namespace search = hwnas::search;
namespace space = hwnas::space;
using hwnas::read_file;
using hwnas::write_file_atomic;

namespace {

// 8x8x1 input; stem width 4|8; stage1 chooses conv (kernel 3|5) or an inverted residual
// (expand 2|4, kernel 3|5), depth 1-2, width 8|12; pool, linear.
const std::string kSpace = read_file(HWNAS_TEST_DATA "/supernet/tiny_space.json");

space::Space tiny_space() { return space::Space::parse(kSpace, "tiny.json"); }

// Genes (in file order, keys of each object alphabetical): stem.out, stage1.block,
// stage1.out, stage1.repeat, stage1.conv.kernel, stage1.inverted_residual.expand,
// stage1.inverted_residual.kernel. Checked in the first test.
space::Genome genome(double stem, double block, double out, double repeat, double ck, double expand, double ik) {
  return {stem, block, out, repeat, ck, expand, ik};
}

// n images of 10 classes: a fixed random pattern per class plus noise, shifted by +3 so that
// batch-norm statistics left at their initial values (mean 0, variance 1) are far off.
exec::Dataset pattern_data(std::int64_t n, std::uint64_t seed = 1) {
  exec::Dataset d;
  d.name = "patterns";
  d.channels = 1, d.height = 8, d.width = 8, d.classes = 10;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> proto(10 * 64);
  for (auto& v : proto) v = normal(rng);
  for (int part = 0; part < 2; ++part) {
    auto& images = part ? d.test_images : d.train_images;
    auto& labels = part ? d.test_labels : d.train_labels;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto c = static_cast<std::uint8_t>(rng() % 10);
      labels.push_back(c);
      for (int k = 0; k < 64; ++k) images.push_back(3.0f + proto[c * 64 + k] + 0.5f * normal(rng));
    }
  }
  return d;
}

std::string temp_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("hwnas_test_supernet_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

std::vector<std::vector<float>> values(const search::Supernet& s) {
  std::vector<std::vector<float>> v;
  for (const auto& t : s.tensors()) v.push_back(t.value);
  return v;
}

}  // namespace

TEST_CASE("supernet: full-size tensors, keys per block option, largest and smallest members", "[supernet]") {
  const space::Space sp = tiny_space();
  REQUIRE(sp.genes().size() == 7);
  CHECK(sp.genes()[1].name == "stage1.block");
  CHECK(sp.genes()[1].block == "stage1");
  CHECK(sp.genes()[0].block.empty());
  CHECK(sp.genes()[4].name == "stage1.conv.kernel");
  CHECK(sp.genes()[5].name == "stage1.inverted_residual.expand");
  const search::Supernet s(sp);
  auto shape = [&](const std::string& key) {
    const int i = s.find(key);
    REQUIRE(i >= 0);
    return s.tensors()[static_cast<std::size_t>(i)].shape;
  };
  CHECK(shape("stem.conv.weight") == graph::Shape{8, 1, 3, 3});
  CHECK(shape("stem.bn.weight") == graph::Shape{8});
  CHECK(shape("stage1[conv].0.conv.weight") == graph::Shape{12, 8, 5, 5});
  CHECK(shape("stage1[conv].1.conv.weight") == graph::Shape{12, 12, 5, 5});
  // the two options keep their own tensors
  CHECK(shape("stage1[inverted_residual].0.expand.conv.weight") == graph::Shape{32, 8, 1, 1});
  CHECK(shape("stage1[inverted_residual].0.dw.conv.weight") == graph::Shape{32, 1, 5, 5});
  CHECK(shape("stage1[inverted_residual].1.project.conv.weight") == graph::Shape{12, 48, 1, 1});
  CHECK(shape("classifier.weight") == graph::Shape{10, 12});
  CHECK(s.find("stage1.0.conv.weight") < 0);
  // by MACs: two 5x5 convs at width 12 (96,000 MACs) beat the widest inverted residuals (72,960);
  // one inverted residual at the smallest widths (4,224) beats one 3x3 conv (4,608)
  CHECK(s.largest() == genome(1, 0, 1, 2, 1, 0, 0));
  CHECK(s.smallest() == genome(0, 1, 0, 1, 0, 0, 0));
  // no buffers: running statistics belong to each member
  for (const auto& t : s.tensors()) CHECK(t.param != "running_mean");
}

TEST_CASE("supernet: a member's tensors are slices: leading channels, the kernel's centre", "[supernet]") {
  search::Supernet s(tiny_space());
  for (auto& t : s.tensors())
    for (std::size_t i = 0; i < t.value.size(); ++i) t.value[i] = static_cast<float>(i);
  // stem 4 wide, one conv block 3x3 at width 8
  const auto m = s.member(genome(0, 0, 0, 1, 0, 0, 0), 2);
  const exec::Tensor* w = m->params->find(m->graph.find("stage1.0.conv"), "weight");
  REQUIRE(w != nullptr);
  REQUIRE(w->shape == graph::Shape{8, 4, 3, 3});
  // supernet [12, 8, 5, 5]: element (o, i, y, x) of the member is (o, i, y + 1, x + 1)
  for (int o : {0, 7})
    for (int i : {0, 3})
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
          CHECK(w->value[static_cast<std::size_t>(((o * 4 + i) * 3 + y) * 3 + x)] == static_cast<float>(((o * 8 + i) * 5 + y + 1) * 5 + x + 1));
  const exec::Tensor* fc = m->params->find(m->graph.find("classifier"), "weight");
  REQUIRE(fc->shape == graph::Shape{10, 8});
  CHECK(fc->value[8 + 7] == 12.0f + 7.0f);  // row 1, column 7 of [10, 12]
  // a tensor larger than the supernet's cannot come from the space, but a bad genome is an error
  CHECK_THROWS_WITH(s.member(genome(0, 2, 0, 1, 0, 0, 0), 2), Catch::Contains("stage1.block"));
}

TEST_CASE("supernet: a gradient step on a member changes exactly its slice", "[supernet]") {
  search::Supernet s(tiny_space());
  s.init(3);
  const auto before = values(s);
  const exec::Dataset d = pattern_data(16);
  // the inverted residual with expansion 2 and kernel 3, one block, narrow stem
  const auto m = s.member(genome(0, 1, 1, 1, 0, 0, 0), 16);
  exec::Network net(m->graph, *m->params);
  std::copy(d.train_images.begin(), d.train_images.end(), net.value(net.input()));
  net.forward(true);
  net.softmax_cross_entropy(d.train_labels.data());
  net.backward();
  s.accumulate(*m);
  const double lr = 0.1;
  s.sgd_step(lr, 0.9, 0.0);
  // what the member's own SGD (momentum buffer 0) gives: w - lr * g
  std::vector<std::vector<float>> expected;
  for (const auto& t : m->params->tensors()) {
    std::vector<float> v = t.value;
    for (std::size_t i = 0; i < t.grad.size(); ++i) v[i] -= static_cast<float>(lr) * (0.9f * 0.0f + t.grad[i]);
    expected.push_back(v);
  }
  const auto after_member = s.member(m->genome, 16);
  std::size_t changed = 0, slice_elems = 0;
  for (std::size_t i = 0; i < m->params->tensors().size(); ++i) {
    const auto& t = after_member->params->tensors()[i];
    if (t.buffer) continue;
    CHECK(t.value == expected[i]);
    slice_elems += t.value.size();
  }
  // outside the member's slices nothing moved; inside, the slice changed
  std::size_t elems = 0;
  for (std::size_t k = 0; k < s.tensors().size(); ++k)
    for (std::size_t i = 0; i < before[k].size(); ++i, ++elems) changed += s.tensors()[k].value[i] != before[k][i];
  CHECK(changed > slice_elems / 2);
  CHECK(changed <= slice_elems);
  CHECK(elems > 3 * slice_elems);
  // the conv option's tensors were not touched at all
  const auto& conv = s.tensors()[static_cast<std::size_t>(s.find("stage1[conv].0.conv.weight"))];
  CHECK(conv.value == before[static_cast<std::size_t>(s.find("stage1[conv].0.conv.weight"))]);
  for (float v : conv.momentum) CHECK(v == 0.0f);
}

TEST_CASE("supernet: batch-norm recalibration sets the batch statistics and beats stale ones", "[supernet]") {
  search::Supernet s(tiny_space());
  s.init(1);
  const exec::Dataset d = pattern_data(512);
  search::SupernetTraining t;
  t.config.epochs = 10, t.config.batch = 32, t.config.lr = 0.1, t.config.threads = 1;
  search::train_supernet(s, t, d, [](const search::SupernetTraining&) {});
  const space::Genome g = genome(1, 0, 1, 2, 1, 0, 0);

  // stale: the member's running statistics as initialised (mean 0, variance 1)
  auto accuracy = [&](exec::Network& net) {
    std::int64_t hits = 0;
    for (std::int64_t s0 = 0; s0 < d.test_count(); s0 += 32) {
      std::copy_n(d.test_images.begin() + s0 * 64, 32 * 64, net.value(net.input()));
      net.forward(false);
      std::int64_t c = 0;
      net.softmax_cross_entropy(d.test_labels.data() + s0, -1, &c);
      hits += c;
    }
    return static_cast<double>(hits) / static_cast<double>(d.test_count());
  };
  const auto m = s.member(g, 32);
  exec::Network net(m->graph, *m->params);
  const double stale = accuracy(net);

  // one batch: the running mean is that batch's per-channel mean of the batch norm's input
  search::recalibrate_batch_norm(net, *m->params, d.train_images.data(), d.train_count(), 1);
  const int bn = m->graph.find("stem.bn");
  const exec::Tensor* rm = m->params->find(bn, "running_mean");
  const exec::Tensor* rv = m->params->find(bn, "running_var");
  std::copy_n(d.train_images.begin(), 32 * 64, net.value(net.input()));
  net.forward(true);
  const float* x = net.value(m->graph.node(bn).inputs[0]);
  for (std::size_t c = 0; c < rm->value.size(); ++c) {
    double sum = 0, sq = 0;
    const std::size_t n = 32 * 64;
    for (std::size_t b = 0; b < 32; ++b)
      for (std::size_t k = 0; k < 64; ++k) sum += x[(b * rm->value.size() + c) * 64 + k];
    const double mean = sum / n;
    for (std::size_t b = 0; b < 32; ++b)
      for (std::size_t k = 0; k < 64; ++k) sq += std::pow(x[(b * rm->value.size() + c) * 64 + k] - mean, 2);
    CHECK(rm->value[c] == Approx(mean).margin(1e-4));
    CHECK(rv->value[c] == Approx(sq / (n - 1)).epsilon(1e-3));
  }
  search::recalibrate_batch_norm(net, *m->params, d.train_images.data(), d.train_count(), 10);
  const double fresh = accuracy(net);
  INFO("stale " << stale << ", recalibrated " << fresh);
  CHECK(fresh > 0.7);
  CHECK(fresh > stale + 0.3);
  // evaluate_inherited does the same
  const search::Inherited r = search::evaluate_inherited(s, g, d, {32, 10});
  CHECK(r.accuracy == Approx(fresh).margin(1e-9));
  CHECK_THROWS_WITH(search::evaluate_inherited(s, g, pattern_data(16), {32, 10}),
                    Catch::Contains("needs at least one batch of 32 images, got 16"));
}

TEST_CASE("supernet: deterministic for a seed and thread count, sandwich too; seeds differ", "[supernet]") {
  const exec::Dataset d = pattern_data(128);
  auto train = [&](std::uint64_t seed, int threads, bool sandwich) {
    search::Supernet s(tiny_space());
    s.init(seed);
    search::SupernetTraining t;
    t.config.epochs = 2, t.config.batch = 32, t.config.seed = seed, t.config.threads = threads, t.config.sandwich = sandwich;
    search::train_supernet(s, t, d, [](const search::SupernetTraining&) {});
    return values(s);
  };
  const auto a = train(5, 1, false);
  CHECK(a == train(5, 2, false));
  CHECK(a != train(6, 1, false));
  const auto b = train(5, 2, true);
  CHECK(b == train(5, 1, true));
  CHECK(b != a);
}

TEST_CASE("supernet: a checkpoint round-trips, and resuming equals not stopping", "[supernet]") {
  const exec::Dataset d = pattern_data(128);
  const std::string dir = temp_dir("resume");
  const std::string ckpt = dir + "/supernet.ckpt";
  search::SupernetTraining cfg;
  cfg.space = "tiny.json";
  cfg.config.epochs = 3, cfg.config.batch = 32, cfg.config.seed = 4, cfg.config.threads = 1, cfg.config.weight_decay = 1e-4;

  search::Supernet whole(tiny_space());
  whole.init(4);
  search::SupernetTraining tw = cfg;
  search::train_supernet(whole, tw, d, [](const search::SupernetTraining&) {});

  search::Supernet part(tiny_space());
  part.init(4);
  search::SupernetTraining tp = cfg;
  int epochs_seen = 0;
  search::train_supernet(
      part, tp, d, [&](const search::SupernetTraining& s) { part.save(ckpt, search::to_json(s)), ++epochs_seen; }, {},
      [&] { return epochs_seen == 1; });  // stopped at the first step of epoch 2
  CHECK(tp.epochs_done == 1);

  search::Supernet resumed(tiny_space());
  search::SupernetTraining tr = search::supernet_training_from_json(search::Supernet::read_state(ckpt), ckpt);
  CHECK(tr.space == "tiny.json");
  CHECK(tr.epochs_done == 1);
  CHECK(search::to_json(tr.config) == search::to_json(cfg.config));
  CHECK(resumed.load(ckpt) == search::to_json(tr));
  CHECK(values(resumed) == values(part));
  for (std::size_t k = 0; k < part.tensors().size(); ++k) CHECK(resumed.tensors()[k].momentum == part.tensors()[k].momentum);
  search::train_supernet(resumed, tr, d, [](const search::SupernetTraining&) {});
  CHECK(tr.epochs_done == 3);
  CHECK(values(resumed) == values(whole));
  CHECK(tr.last_loss == tw.last_loss);

  // the checkpoint of another space, a truncated file
  const space::Space other = space::Space::parse(std::string(kSpace).replace(std::string(kSpace).find("[4, 8]"), 6, "[4, 6]"), "other.json");
  search::Supernet wrong(other);
  CHECK_THROWS_WITH(wrong.load(ckpt), Catch::Contains("supernet.ckpt: tensors[0] 'stem.conv.weight': shape [8,1,3,3] differs"));
  const std::string bytes = read_file(ckpt);
  write_file_atomic(dir + "/cut.ckpt", bytes.substr(0, bytes.size() - 100));
  CHECK_THROWS_WITH(resumed.load(dir + "/cut.ckpt"), Catch::Contains("cut.ckpt: tensors[") && Catch::Contains("truncated"));
  write_file_atomic(dir + "/bad.ckpt", "{\"format\": \"other\"}\n");
  CHECK_THROWS_WITH(resumed.load(dir + "/bad.ckpt"), Catch::Contains("bad.ckpt: format: expected \"hwnas.supernet/1\""));
}

TEST_CASE("supernet: the search evaluator gives cost metrics, accuracy and loss", "[supernet]") {
  const exec::Dataset d = pattern_data(256);
  const std::string dir = temp_dir("evaluator");
  search::Supernet s(tiny_space());
  s.init(2);
  search::SupernetTraining t;
  t.config.epochs = 2, t.config.batch = 32, t.config.threads = 1;
  search::train_supernet(s, t, d, [&](const search::SupernetTraining& st) { s.save(dir + "/supernet.ckpt", search::to_json(st)); });
  const search::SupernetEvaluator ev(tiny_space(), {}, {hw::load_profile("h100")}, hw::Dtype::fp32, dir, d, 32, 4);
  CHECK(ev.name() == "supernet");
  const auto& names = ev.metrics();
  REQUIRE(names.size() == 9);
  CHECK(names[7] == "accuracy");
  CHECK(names[8] == "loss");
  const space::Genome g = genome(1, 1, 1, 2, 0, 1, 0);
  const auto v = ev.evaluate(g);
  REQUIRE(v.size() == 9);
  CHECK(v[7] == search::evaluate_inherited(s, g, d, {32, 4}).accuracy);
  CHECK(v[8] > 0);
  CHECK(v[0] > 0);  // params
  CHECK_THROWS_WITH(search::SupernetEvaluator(tiny_space(), {}, {hw::load_profile("h100")}, hw::Dtype::fp32, dir + "/none", d),
                    Catch::Contains("none/supernet.ckpt"));
}
