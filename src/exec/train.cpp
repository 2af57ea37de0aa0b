#include "hwnas/exec/train.hpp"

#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "hwnas/error.hpp"
#include "hwnas/exec/network.hpp"

namespace hwnas::exec {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void check(const TrainConfig& c) {
  auto bad = [](const std::string& field, const std::string& what) { throw Error("train config: " + field + ": " + what); };
  if (c.epochs < 0) bad("epochs", "must be >= 0, got " + std::to_string(c.epochs));
  if (c.batch < 1) bad("batch", "must be >= 1, got " + std::to_string(c.batch));
  if (!(c.lr > 0)) bad("lr", "must be > 0, got " + std::to_string(c.lr));
  if (c.momentum < 0 || c.momentum >= 1) bad("momentum", "must be in [0, 1), got " + std::to_string(c.momentum));
  if (c.weight_decay < 0) bad("weight_decay", "must be >= 0, got " + std::to_string(c.weight_decay));
  if (c.threads < 1) bad("threads", "must be >= 1, got " + std::to_string(c.threads));
  if (c.step_epochs < 1) bad("step_epochs", "must be >= 1, got " + std::to_string(c.step_epochs));
}

double learning_rate(const TrainConfig& c, std::int64_t step, std::int64_t total, int epoch) {
  switch (c.schedule) {
    case Schedule::cosine: return 0.5 * c.lr * (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total)));
    case Schedule::step: return c.lr * std::pow(c.step_gamma, epoch / c.step_epochs);
    case Schedule::constant: break;
  }
  return c.lr;
}

// PyTorch's SGD: g += wd * w; buf = momentum * buf + g; w -= lr * buf
void sgd_step(Params& p, const TrainConfig& c, double lr) {
  const float m = static_cast<float>(c.momentum), wd = static_cast<float>(c.weight_decay), a = static_cast<float>(lr);
  for (auto& t : p.tensors()) {
    if (t.buffer) continue;
    float *w = t.value.data(), *g = t.grad.data(), *buf = t.momentum.data();
    for (std::size_t i = 0; i < t.value.size(); ++i) {
      const float gi = g[i] + wd * w[i];
      buf[i] = m * buf[i] + gi;
      w[i] -= a * buf[i];
      g[i] = 0.0f;
    }
  }
}

// Copies images idx[0..count) into the network input (zero rows past `count`), with random
// crop (zero padding 2) and horizontal flip when `augment`.
void fill_batch(const Dataset& d, const std::vector<float>& images, const std::vector<std::uint8_t>& labels,
                const std::int64_t* idx, std::int64_t count, std::int64_t batch, float* in, std::uint8_t* lab,
                bool augment, std::mt19937_64& rng) {
  const std::int64_t c = d.channels, h = d.height, w = d.width, sz = c * h * w;
  for (std::int64_t i = 0; i < batch; ++i) {
    float* dst = in + i * sz;
    if (i >= count) {
      std::fill_n(dst, sz, 0.0f);
      lab[i] = 0;
      continue;
    }
    const float* src = images.data() + idx[i] * sz;
    lab[i] = labels[static_cast<std::size_t>(idx[i])];
    if (!augment) {
      std::memcpy(dst, src, sizeof(float) * static_cast<std::size_t>(sz));
      continue;
    }
    const std::uint64_t r = rng();
    const int pad = 2, dy = static_cast<int>(r % 5) - pad, dx = static_cast<int>((r >> 8) % 5) - pad;
    const bool flip = (r >> 16) & 1;
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) {
          const std::int64_t sy = y + dy, sx0 = x + dx, sx = flip ? w - 1 - sx0 : sx0;
          dst[(ch * h + y) * w + x] = (sy < 0 || sy >= h || sx0 < 0 || sx0 >= w) ? 0.0f : src[(ch * h + sy) * w + sx];
        }
  }
}

struct Eval {
  double loss = 0, accuracy = 0, seconds = 0;
};

Eval evaluate(Network& net, const Dataset& d, std::int64_t batch) {
  Eval e;
  const std::int64_t n = d.test_count();
  std::vector<std::int64_t> idx(static_cast<std::size_t>(batch));
  std::vector<std::uint8_t> lab(static_cast<std::size_t>(batch));
  std::mt19937_64 unused(0);
  double loss = 0;
  std::int64_t hits = 0;
  for (std::int64_t s = 0; s < n; s += batch) {
    const std::int64_t count = std::min(batch, n - s);
    for (std::int64_t i = 0; i < count; ++i) idx[i] = s + i;
    fill_batch(d, d.test_images, d.test_labels, idx.data(), count, batch, net.value(net.input()), lab.data(), false, unused);
    const auto t0 = Clock::now();
    net.forward(false);
    e.seconds += since(t0);
    std::int64_t c = 0;
    loss += net.softmax_cross_entropy(lab.data(), count, &c) * static_cast<double>(count);
    hits += c;
  }
  e.loss = n ? loss / static_cast<double>(n) : 0;
  e.accuracy = n ? static_cast<double>(hits) / static_cast<double>(n) : 0;
  return e;
}

double time_forward(Network& net, int min_runs, double min_seconds) {
  net.forward(false);  // warm-up
  std::vector<double> t;
  const auto start = Clock::now();
  while (static_cast<int>(t.size()) < min_runs || (since(start) < min_seconds && t.size() < 200)) {
    const auto t0 = Clock::now();
    net.forward(false);
    t.push_back(since(t0));
  }
  return median(t);
}

}  // namespace

TrainResult train_and_evaluate(const graph::Graph& graph0, const TrainConfig& cfg, const Dataset& data0) {
  check(cfg);
  const graph::Graph g = with_batch(graph0, cfg.batch);
  int in = -1;
  for (int i = 0; i < g.size() && in < 0; ++i)
    if (g.node(i).op == graph::Op::input) in = i;
  if (in < 0 || g.node(in).shape.size() != 4)
    throw Error("graph '" + g.name + "': the executor trains image models with one [batch, channels, height, width] input");
  const graph::Shape& is = g.node(in).shape;
  const Dataset data = adapt(data0, is[1], is[2], is[3]);
  const auto outs = g.outputs();
  if (outs.empty()) throw Error("graph '" + g.name + "': no output node");
  const graph::Shape& os = g.node(outs.back()).shape;
  if (os.size() != 2 || os[1] < data.classes)
    throw Error("graph '" + g.name + "': output '" + g.node(outs.back()).name + "' must be [batch, >= " +
                std::to_string(data.classes) + "] logits for " + data.name + ", got " + graph::to_string(os));
  if (cfg.epochs > 0 && data.train_count() < cfg.batch)
    throw Error("dataset '" + data.name + "': " + std::to_string(data.train_count()) + " training images, fewer than one batch of " +
                std::to_string(cfg.batch));

  TrainResult res;
  tbb::task_arena arena(cfg.threads);
  arena.execute([&] {
    Params p(g);
    p.init(cfg.seed);
    if (!cfg.load.empty()) p.load(cfg.load);
    res.params = p.count();
    Network net(g, p);
    Network eval_net(g, p, Passes::forward_only);  // evaluation and latency: no gradients, depth first
    std::mt19937_64 rng(cfg.seed ^ 0x9e3779b97f4a7c15ull);
    const std::int64_t n = data.train_count(), steps = n / cfg.batch, total = steps * cfg.epochs;
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::vector<std::uint8_t> lab(static_cast<std::size_t>(cfg.batch));
    std::vector<double> rates;
    Eval ev;
    for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
      for (std::int64_t i = 0; i < n; ++i) order[i] = i;
      for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % static_cast<std::uint64_t>(i + 1)]);
      EpochStats es;
      es.epoch = epoch + 1;
      double loss = 0;
      std::int64_t hits = 0;
      const auto t0 = Clock::now();
      auto last = t0;
      for (std::int64_t s = 0; s < steps; ++s) {
        fill_batch(data, data.train_images, data.train_labels, order.data() + s * cfg.batch, cfg.batch, cfg.batch,
                   net.value(net.input()), lab.data(), cfg.augment, rng);
        net.forward(true);
        std::int64_t c = 0;
        loss += net.softmax_cross_entropy(lab.data(), -1, &c);
        hits += c;
        net.backward();
        sgd_step(p, cfg, learning_rate(cfg, epoch * steps + s, total, epoch));
        if (cfg.progress && since(last) > 1.0) {
          last = Clock::now();
          std::ostringstream os;
          os.precision(4);
          os << "epoch " << epoch + 1 << "/" << cfg.epochs << " step " << s + 1 << "/" << steps << " loss " << loss / static_cast<double>(s + 1)
             << " " << static_cast<long>(static_cast<double>((s + 1) * cfg.batch) / since(t0)) << " img/s";
          cfg.progress(os.str());
        }
      }
      es.seconds = since(t0);
      es.train_loss = steps ? loss / static_cast<double>(steps) : 0;
      es.train_accuracy = steps ? static_cast<double>(hits) / static_cast<double>(steps * cfg.batch) : 0;
      es.train_images_per_s = es.seconds > 0 ? static_cast<double>(steps * cfg.batch) / es.seconds : 0;
      rates.push_back(es.train_images_per_s);
      ev = evaluate(eval_net, data, cfg.batch);
      es.test_loss = ev.loss;
      es.test_accuracy = ev.accuracy;
      res.epochs.push_back(es);
      if (cfg.progress) {
        std::ostringstream os;
        os.precision(4);
        os << "epoch " << es.epoch << "/" << cfg.epochs << " done: train loss " << es.train_loss << ", test accuracy "
           << es.test_accuracy << ", " << es.seconds << " s";
        cfg.progress(os.str());
      }
    }
    if (cfg.epochs == 0) ev = evaluate(eval_net, data, cfg.batch);
    res.accuracy = ev.accuracy;
    res.loss = ev.loss;
    res.train_images_per_s = median(rates);
    res.infer_images_per_s = ev.seconds > 0 ? static_cast<double>(data.test_count()) / ev.seconds : 0;
    if (cfg.measure_latency) {
      res.latency_batch_s = time_forward(eval_net, 5, 0.5);
      const graph::Graph g1 = with_batch(g, 1);
      Network one(g1, p, Passes::forward_only);
      res.latency_batch1_s = time_forward(one, 10, 0.3);
    }
    if (!cfg.save.empty()) p.save(cfg.save, g.name);
  });
  return res;
}

}  // namespace hwnas::exec
