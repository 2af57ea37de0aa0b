#pragma once
// EfficientNet-style compound scaling (Tan & Le 2019): a base image architecture grows by
// depth alpha^phi, width beta^phi and resolution gamma^phi with alpha * beta^2 * gamma^2 ~ 2, so
// each step of phi about doubles the MACs. alpha, beta, gamma come from a small grid search at
// phi = 1 scored by a criterion, or are given. Channels round with make_divisible(c * w, 8) and
// repeats with ceil(n * d), through the architecture format's width_mult / depth_mult
// (README "Compound scaling").
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hwnas/graph/graph.hpp"
#include "hwnas/hw/profile.hpp"

namespace hwnas::search {

struct ScalingCoefficients {
  double alpha = 1, beta = 1, gamma = 1;  // depth, width, resolution factor per step of phi
};

// One member of the family, costed on every profile of the request.
struct ScaledModel {
  int phi = 0;
  double depth_mult = 1, width_mult = 1;  // as written into the architecture (base's own times the factor)
  std::int64_t resolution = 0;
  std::int64_t params = 0, macs = 0;
  double peak_memory_mb = 0;       // MiB, at the request's dtype and batch
  std::vector<double> latency_ms;  // one per profile, roofline
};

// Scores a phi = 1 candidate of the grid search; higher is better. It gets the member's costs and
// its graph, so a criterion that trains the graph (accuracy from the executor) plugs in the same way.
struct Criterion {
  std::string name;         // as given on the command line
  std::string description;  // what the score means
  std::function<double(const ScaledModel&, const graph::Graph&)> score;
};

// "latency" (the first profile) or "latency@<profile>": the lowest roofline latency on that profile
// at the doubled MACs budget; "params": the most parameters at that budget (a capacity proxy).
// Throws hwnas::Error naming the known criteria.
Criterion make_criterion(const std::string& spec, const std::vector<std::string>& profiles);

struct ScaleRequest {
  std::string model;                  // zoo name or architecture .json file (an image model)
  std::vector<std::string> profiles;  // built-in names or .json files; at least one
  hw::Dtype dtype = hw::Dtype::fp32;
  std::int64_t batch = 1;
  std::vector<int> phis{0, 1, 2, 3, 4};
  std::optional<ScalingCoefficients> given;  // skips the grid search
  std::string criterion = "latency";
  double grid_step = 0.05;        // alpha and beta step; gamma = sqrt(2 / (alpha * beta^2))
  double flops_tolerance = 0.10;  // grid members whose MACs are within 2x(1 +- this) of the base
  std::optional<double> latency_budget_ms;
};

struct GridPoint {
  ScalingCoefficients c;
  ScaledModel member;  // phi = 1
  double macs_ratio = 0;
  bool eligible = false;  // MACs within the tolerance of 2x
  double score = 0;
};

struct ScaleResult {
  std::string model;
  std::vector<std::string> profiles;  // profile names, in request order
  hw::Dtype dtype = hw::Dtype::fp32;
  std::int64_t batch = 1;
  ScalingCoefficients c;
  std::string source;     // "given" or "grid search, criterion <name>: <description>"
  std::vector<GridPoint> grid;
  int grid_best = -1;     // index into grid
  std::vector<ScaledModel> family;
  std::optional<double> latency_budget_ms;
  std::vector<int> picks;  // per profile: index into family of the largest member within the budget, -1: none
};

ScaleResult compound_scale(const ScaleRequest& req);

std::string to_table(const ScaleResult& r);
std::string to_json(const ScaleResult& r);
std::string to_csv(const ScaleResult& r);

}  // namespace hwnas::search
