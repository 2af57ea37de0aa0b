// `hwnas calibrate --measure-local`: per-op micro-benchmarks of this machine's CPU executor.
// Each op is a one-op graph built by the measurement-file parser itself (so what is timed is
// exactly what calibration costs), run through exec::Network's eval-mode forward.
#include <tbb/task_arena.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "hwnas/error.hpp"
#include "hwnas/exec/network.hpp"
#include "hwnas/hw/calibrate.hpp"

namespace hwnas::hw {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The op shapes, per image: the channel widths and resolutions of small image nets such as
// the Fashion-MNIST zoo (28x28 and below), a few wider layers at 56x56, and the wide, tiny
// late layers of ImageNet nets run at 32x32 (512-1280 channels at 1x1 to 4x4).
json op_specs(std::int64_t n) {
  json ops = json::array();
  auto conv = [&](const char* op, std::int64_t cin, std::int64_t cout, std::int64_t h, int k, int s) {
    ops.push_back({{"op", op}, {"n", n}, {"c_in", cin}, {"c_out", cout}, {"h", h}, {"k", k}, {"stride", s},
                   {"groups", std::string(op) == "depthwise" ? cin : 1}});
  };
  for (auto [cin, cout, h, s] : {std::array<int, 4>{1, 16, 28, 1}, {1, 32, 28, 1}, {16, 32, 28, 1}, {32, 32, 28, 1},
                                 {32, 64, 28, 2}, {64, 64, 14, 1}, {64, 128, 14, 2}, {128, 128, 7, 1},
                                 {16, 16, 56, 1}, {256, 256, 2, 1}, {512, 512, 1, 1}, {256, 512, 2, 2}})
    conv("conv", cin, cout, h, 3, s);
  conv("conv", 3, 64, 32, 7, 2);
  for (auto [cin, cout, h] : {std::array<int, 3>{16, 96, 28}, {96, 24, 14}, {24, 144, 14}, {144, 24, 14},
                              {144, 32, 7}, {64, 128, 7}, {32, 128, 7}, {128, 256, 7}, {32, 64, 56},
                              {320, 1280, 1}, {1024, 1024, 1}, {96, 576, 2}})
    conv("pointwise", cin, cout, h, 1, 1);
  for (auto [c, h, k, s] : {std::array<int, 4>{64, 14, 3, 2}, {96, 28, 3, 2}, {144, 14, 3, 1}, {144, 14, 3, 2},
                            {192, 7, 3, 1}, {32, 28, 3, 1}, {96, 14, 5, 1}, {64, 56, 3, 1},
                            {512, 2, 3, 1}, {960, 1, 3, 1}})
    conv("depthwise", c, c, h, k, s);
  for (auto [k, out] : {std::array<int, 2>{128, 10}, {64, 10}, {256, 256}, {784, 256}, {1024, 1024}, {1280, 1000}})
    ops.push_back({{"op", "linear"}, {"m", n}, {"k", k}, {"n_out", out}});
  for (auto [k, out] : {std::array<int, 2>{48, 144}, {96, 48}})  // per token: 196 tokens an image
    ops.push_back({{"op", "linear"}, {"m", n * 196}, {"k", k}, {"n_out", out}});
  ops.push_back({{"op", "sdpa"}, {"b", n * 4}, {"heads", 4}, {"seq", 49}, {"d_head", 12}});
  for (auto [c, h] : {std::array<int, 2>{16, 28}, {64, 14}, {144, 7}, {32, 56}})
    ops.push_back({{"op", "batchnorm_eval"}, {"n", n}, {"c", c}, {"h", h}});
  for (std::int64_t per_image : {2048, 12544, 75264}) {  // 128x4x4, 16x28x28, 96x28x28
    for (const char* op : {"relu", "relu6", "add"}) ops.push_back({{"op", op}, {"numel", n * per_image}});
  }
  ops.push_back({{"op", "hardswish"}, {"numel", n * 12544}});
  for (auto [c, h, k] : {std::array<int, 3>{32, 28, 2}, {64, 14, 3}}) {
    ops.push_back({{"op", "max_pool"}, {"n", n}, {"c", c}, {"h", h}, {"k", k}, {"stride", 2}});
    ops.push_back({{"op", "avg_pool"}, {"n", n}, {"c", c}, {"h", h}, {"k", k}, {"stride", 2}});
  }
  for (auto [c, h] : {std::array<int, 2>{128, 7}, {32, 28}, {256, 4}})
    ops.push_back({{"op", "global_avg_pool"}, {"n", n}, {"c", c}, {"h", h}});
  for (auto [rows, cols] : {std::array<int, 2>{49, 64}, {16, 144}}) {
    ops.push_back({{"op", "layernorm"}, {"rows", n * rows}, {"cols", cols}});
    ops.push_back({{"op", "softmax"}, {"rows", n * rows}, {"cols", cols}});
  }
  for (json& o : ops) o["dtype"] = "fp32";
  return ops;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

// Median seconds of one eval-mode forward of the one-op graph, after warm-up runs.
double time_op(const graph::Graph& g, const LocalBenchOptions& opt) {
  exec::Params params(g);
  params.init(1);
  exec::Network net(g, params);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int i = 0; i < g.size(); ++i)
    if (g.node(i).op == graph::Op::input) {
      float* v = net.value(i);
      for (std::int64_t k = 0; k < graph::numel(g.node(i).shape); ++k) v[k] = normal(rng);
    }
  for (int i = 0; i < opt.warmup; ++i) net.forward(false);
  std::vector<double> t;
  for (int i = 0; i < opt.repeats; ++i) {
    const auto t0 = Clock::now();
    net.forward(false);
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return median(t);
}

}  // namespace

void check(const LocalBenchOptions& opt) {
  if (opt.threads < 1 || opt.threads > 1024)
    throw Error("calibrate: --threads must be between 1 and 1024, got " + std::to_string(opt.threads));
  if (opt.batch < 2 || opt.batch > 4096)
    throw Error("calibrate: --batch (the training batch measured next to batch 1) must be between 2 and 4096, got " +
                std::to_string(opt.batch));
  if (opt.repeats < 1 || opt.repeats > 10000)
    throw Error("calibrate: --repeats must be between 1 and 10000, got " + std::to_string(opt.repeats));
  if (opt.warmup < 0 || opt.warmup > 10000)
    throw Error("calibrate: --warmup must be between 0 and 10000, got " + std::to_string(opt.warmup));
}

std::string measure_local(const LocalBenchOptions& opt, const std::function<void(int, int)>& progress) {
  check(opt);
  json ops = json::array();
  for (std::int64_t n : {std::int64_t{1}, opt.batch})
    for (json& o : op_specs(n)) ops.push_back(std::move(o));
  // the parser builds each op's graph, exactly as calibration will cost it; the placeholder
  // time is replaced by the measured one below
  json placeholder = ops;
  for (json& o : placeholder) o["latency_us"] = 1.0;
  const MeasurementSet set = parse_measurements(placeholder.dump(), "measure-local");
  exec::use_single_threaded_blas();
  tbb::task_arena arena(opt.threads);
  const int total = static_cast<int>(set.items.size());
  for (int i = 0; i < total; ++i) {
    const graph::Graph& g = set.items[static_cast<std::size_t>(i)].graph;
    const double s = arena.execute([&] { return time_op(g, opt); });
    ops[static_cast<std::size_t>(i)]["latency_us"] = std::round(s * 1e8) / 1e2;
    if (progress) progress(i + 1, total);
  }
  json out = {{"source", "hwnas calibrate --measure-local: the CPU executor (exec::Network, eval-mode forward) on this "
                         "machine"},
              {"method", "each op alone as a one-op graph; median of " + std::to_string(opt.repeats) + " forwards after " +
                             std::to_string(opt.warmup) + " warm-up runs, " + std::to_string(opt.threads) +
                             " TBB threads, batch 1 and " + std::to_string(opt.batch)},
              {"ops", ops}};
  return out.dump(1) + "\n";
}

}  // namespace hwnas::hw
