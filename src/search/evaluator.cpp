#include "hwnas/search/evaluator.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/search/supernet.hpp"

namespace hwnas::search {

std::vector<std::pair<std::string, std::string>> Evaluator::named(const space::Genome& g) const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto& genes = this->genes();
  for (std::size_t i = 0; i < genes.size() && i < g.size(); ++i) out.emplace_back(genes[i].name, nlohmann::json(g[i]).dump());
  return out;
}

CostEvaluator::CostEvaluator(space::Space s, graph::BuildOptions opt, std::vector<hw::Profile> profiles, hw::Dtype dtype)
    : SpaceEvaluator(std::move(s), opt), profiles_(std::move(profiles)), dtype_(dtype) {
  if (profiles_.empty()) throw Error("the cost evaluator needs at least one hardware profile");
  metrics_ = {"params", "macs", "flops", "peak_memory_mb", "weight_mb", "kv_cache_mb"};
  for (const auto& p : profiles_) metrics_.push_back("latency_ms@" + p.name);
}

std::vector<double> CostEvaluator::evaluate_graph(const graph::Graph& g) const {
  constexpr double kMiB = 1024.0 * 1024.0;
  std::vector<double> v;
  v.reserve(metrics_.size());
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    const cost::CostReport r = cost::analyze(g, profiles_[i], dtype_);
    if (i == 0) {
      const cost::Totals& t = r.totals;
      v = {static_cast<double>(t.params), static_cast<double>(t.macs), static_cast<double>(t.flops),
           static_cast<double>(t.peak_memory_bytes) / kMiB, static_cast<double>(t.weight_bytes) / kMiB,
           static_cast<double>(t.kv_cache_bytes) / kMiB};
    }
    v.push_back(r.totals.latency_s * 1e3);
  }
  return v;
}

TrainEvaluator::TrainEvaluator(space::Space s, graph::BuildOptions opt, std::vector<hw::Profile> profiles,
                               hw::Dtype dtype, exec::TrainConfig cfg, exec::Dataset data)
    : CostEvaluator(std::move(s), opt, std::move(profiles), dtype), cfg_(std::move(cfg)), data_(std::move(data)) {
  metrics_ = CostEvaluator::metrics();
  metrics_.push_back("accuracy");
  metrics_.push_back("loss");
}

std::vector<double> TrainEvaluator::evaluate_graph(const graph::Graph& g) const {
  std::vector<double> v = CostEvaluator::evaluate_graph(g);
  const exec::TrainResult r = exec::train_and_evaluate(g, cfg_, data_);
  v.push_back(r.accuracy);
  v.push_back(r.loss);
  return v;
}

SupernetEvaluator::SupernetEvaluator(space::Space s, graph::BuildOptions opt, std::vector<hw::Profile> profiles,
                                     hw::Dtype dtype, const std::string& dir, exec::Dataset data, std::int64_t batch,
                                     int calib_batches)
    : CostEvaluator(s, opt, std::move(profiles), dtype), data_(std::move(data)), batch_(batch), calib_batches_(calib_batches) {
  auto net = std::make_shared<Supernet>(std::move(s));
  net->load(dir + "/supernet.ckpt");
  net_ = std::move(net);
  metrics_ = CostEvaluator::metrics();
  metrics_.push_back("accuracy");
  metrics_.push_back("loss");
}

std::vector<double> SupernetEvaluator::evaluate(const space::Genome& g) const {
  std::vector<double> v = CostEvaluator::evaluate(g);
  InheritedConfig cfg;
  cfg.batch = batch_;
  cfg.calib_batches = calib_batches_;
  const Inherited r = evaluate_inherited(*net_, g, data_, cfg);
  v.push_back(r.accuracy);
  v.push_back(r.loss);
  return v;
}

Zdt::Zdt(int which, int n) : which_(which) {
  if (which < 1 || which > 3) throw Error("zdt: the problem must be 1, 2 or 3, got " + std::to_string(which));
  if (n < 2) throw Error("zdt: needs at least 2 variables, got " + std::to_string(n));
  for (int i = 0; i < n; ++i) {
    space::Gene g;
    g.name = std::to_string(i + 1);
    g.name.insert(0, 1, 'x');
    g.path = g.name;
    g.kind = space::GeneKind::real;
    g.lo = 0;
    g.hi = 1;
    genes_.push_back(std::move(g));
  }
}

std::vector<double> Zdt::evaluate(const space::Genome& x) const {
  space::check_genome(genes_, x, name());
  const double f1 = x[0];
  double sum = 0;
  for (std::size_t i = 1; i < x.size(); ++i) sum += x[i];
  const double g = 1 + 9 * sum / static_cast<double>(x.size() - 1);
  return {f1, g * h(f1, g)};
}

double Zdt::h(double f1, double g) const {
  const double r = f1 / g;
  switch (which_) {
    case 1: return 1 - std::sqrt(r);
    case 2: return 1 - r * r;
    default: return 1 - std::sqrt(r) - r * std::sin(10 * std::numbers::pi * f1);
  }
}

double Zdt::front_hypervolume(double r1, double r2) const {
  // The front is g = 1: f2 = h(f1). The dominated area is the integral over x in [0, r1] of
  // r2 - (the lowest f2 of any front point with f1 <= x), clipped at 0.
  constexpr int kSteps = 1'000'000;
  const double dx = 1.0 / kSteps;
  double best = std::numeric_limits<double>::infinity(), area = 0;
  for (int i = 0; i <= kSteps; ++i) {
    const double f1 = i * dx;
    if (f1 > r1) break;
    best = std::min(best, h(f1, 1.0));
    area += std::max(0.0, r2 - best) * (std::min(f1 + dx, r1) - f1) * (i < kSteps ? 1 : 0);
  }
  if (r1 > 1) area += std::max(0.0, r2 - best) * (r1 - 1);
  return area;
}

}  // namespace hwnas::search
