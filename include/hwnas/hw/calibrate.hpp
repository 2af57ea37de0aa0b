#pragma once
// Calibration: fitting a profile's free numbers to measured latencies, and scoring how well
// a profile predicts measurements. Measurement files are documented in README.md
// ("Calibration"): whole-model entries name an architecture the way `hwnas cost` accepts it,
// per-op entries give an op's shape. Every prediction goes through cost::analyze, so
// calibrating and costing never disagree.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hwnas/graph/graph.hpp"
#include "hwnas/hw/profile.hpp"

namespace hwnas::hw {

struct Measurement {
  std::string label;  // "nasbench201:223022 b1 fp32", "conv 32x112x112->32 k3 s1 fp16"
  graph::Graph graph;
  Dtype dtype = Dtype::fp32;
  double latency_s = 0;
};

struct MeasurementSet {
  std::string source;  // the file
  std::vector<Measurement> items;
  int skipped = 0;     // per-op entries with only an eager time ("us"), see README
};

// Parses a measurement file's text; `source` names the file in errors
// ("pi4.json: measurements[3].latency_ms: must be a number > 0, got -1").
MeasurementSet parse_measurements(const std::string& text, const std::string& source);
MeasurementSet load_measurements(const std::string& path);

// The profile's latency for one measurement, in seconds.
double predict(const Profile& p, const Measurement& m);
// Plain FLOPs (2 x MACs) of one measurement, the baseline predictor.
double flops_of(const Profile& p, const Measurement& m);

struct Scores {
  int n = 0;
  double spearman = 0, kendall = 0;        // rank correlation of predicted with measured
  double median_abs_pct = 0;               // median |predicted - measured| / measured, in %
  double within_10pct = 0;                 // share of predictions within +-10 %
  double flops_spearman = 0, flops_kendall = 0;  // the same ranks from plain FLOPs
};
Scores score(const std::vector<double>& predicted, const std::vector<double>& measured,
             const std::vector<double>& flops);
double spearman(const std::vector<double>& a, const std::vector<double>& b);
double kendall(const std::vector<double>& a, const std::vector<double>& b);

struct FitOptions {
  // Also scale the ceilings (peak rates, DRAM bandwidth) within [1/8, 8] of the start: for a
  // generic template whose peaks are only rough (`hwnas calibrate --base`).
  bool fit_ceilings = false;
  int max_evaluations = 6000;
};

struct FitResult {
  Profile profile;
  double loss = 0;                   // mean |log(predicted / measured)| on the fitted data
  int evaluations = 0;
  std::vector<std::string> fitted;   // names of the fitted parameters
};

// Fits `start`'s free parameters to `items` (all of them, or those listed in `subset`).
// Deterministic: a bounded pattern search in log space, same inputs -> same profile.
FitResult fit(const Profile& start, const std::vector<Measurement>& items, const FitOptions& opt,
              const std::vector<int>& subset = {});

struct CrossValidation {
  int folds = 0;
  std::vector<double> heldout;  // per measurement: latency predicted by the fit that did not see it
  std::vector<int> fold;        // per measurement: its fold
  Scores scores;                // of `heldout` against the measurements
};
// k-fold cross-validation; folds come from a seeded shuffle of the measurements.
CrossValidation cross_validate(const Profile& start, const std::vector<Measurement>& items,
                               const FitOptions& opt, int folds, std::uint64_t seed);

// Per-op micro-benchmarks of this machine's CPU executor (`hwnas calibrate --measure-local`).
struct LocalBenchOptions {
  int threads = 2;            // TBB threads the executor runs on
  std::int64_t batch = 128;   // the training batch: every op is timed at batch 1 and at this
  int repeats = 15;           // timed forwards per op; the median is kept
  int warmup = 3;             // untimed forwards first
};
// Throws hwnas::Error naming the option and its bad value.
void check(const LocalBenchOptions& opt);
// Times a fixed set of op shapes (conv, pointwise, depthwise, linear, batch norm, activations,
// add, pooling, layer norm, softmax; fp32, batch 1 and opt.batch), each alone as a one-op
// graph through exec::Network's eval-mode forward, and returns a per-op measurement file
// (README "Calibration") that parse_measurements reads. `progress(done, total)` after each op.
std::string measure_local(const LocalBenchOptions& opt, const std::function<void(int, int)>& progress = {});

// A predicted-vs-measured scatter on log-log axes with the y = x line and a +-10 % band,
// as a standalone SVG document.
std::string scatter_svg(const std::vector<double>& measured_s, const std::vector<double>& predicted_s,
                        const std::string& title);

}  // namespace hwnas::hw
