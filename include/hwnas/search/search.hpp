#pragma once
// Search strategies over the genes of an Evaluator: NSGA-II (constraint domination), regularized
// (aging) evolution and random search. Seeded and deterministic for any thread count: a
// generation's genomes are drawn sequentially from the seed, evaluated in parallel (TBB), and
// recorded in candidate order. A run directory holds run.json, candidates.jsonl and
// checkpoint.json (README "Search (hwnas search)").
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hwnas/search/evaluator.hpp"
#include "hwnas/space/space.hpp"

namespace hwnas::search {

struct Objective {
  std::string metric;  // as the evaluator names it ("latency_ms@h100")
  bool maximize = false;
};

struct Constraint {
  std::string text;    // as given ("latency_ms<=40")
  std::string metric;  // resolved
  std::string op;      // "<=", "<", ">=", ">"
  double bound = 0;
};

// A zoo model or architecture file evaluated like the run's candidates (same evaluator, profiles,
// dtype and batch), for comparison: a labelled point in the report, not part of the search.
struct Reference {
  std::string name;  // as given: a zoo name or a file
  std::vector<std::pair<std::string, double>> metrics;  // the evaluator's metrics, in its order
};

// The configuration of a run, saved as run.json (format "hwnas.run/1").
struct Config {
  std::string space;  // the space file (or the problem's name)
  double space_size = 0;
  std::string strategy = "nsga2";  // nsga2 | evolution | random
  std::uint64_t seed = 1;
  std::int64_t budget = 200;       // distinct evaluations
  int population = 50;             // nsga2/evolution population, random: batch per generation
  int sample = 10;                 // evolution: tournament sample, also children per generation
  std::string evaluator = "cost";
  std::vector<std::string> profiles;
  std::string dtype = "fp32";
  std::int64_t batch = 1;
  // evaluator "train": epochs per candidate and Fashion-MNIST subsets (0: all images)
  int epochs = 1;
  std::int64_t train_subset = 10000, test_subset = 2000;
  std::vector<Objective> objectives;
  std::vector<Constraint> constraints;
  std::vector<double> reference_point;  // hypervolume reference; empty: set after generation 0
  std::vector<Reference> references;    // zoo models to compare with (evaluated before the run)
};

// The zoo models a space's members are compared with by default: mobilenet_v2 and
// mobilenet_v3_large when its members take 3-channel images, fmnist_a and fmnist_b when they take
// 28x28 single-channel images, none otherwise (token models, other inputs). Judged on the member
// whose genes are all at their lowest value.
std::vector<std::string> default_references(const space::Space& s);

std::string to_json(const Config& c);
Config config_from_json(const std::string& text, const std::string& source);

// "accuracy:max", "latency:min" -> objective, metric not yet resolved.
Objective parse_objective(const std::string& text);
// "latency_ms<=40" -> constraint, metric not yet resolved.
Constraint parse_constraint(const std::string& text);
// A metric name as the user wrote it -> the evaluator's name: exact, "latency" for "latency_ms",
// and "<metric>" for "<metric>@<first profile>". Throws naming the known metrics.
std::string resolve_metric(const std::string& name, const std::vector<std::string>& known, const std::string& what);

enum class Status : std::uint8_t { ok, infeasible, invalid };
std::string_view status_name(Status s);

struct Candidate {
  int id = 0;          // order of first evaluation
  int generation = 0;
  space::Genome genome;  // canonical
  Status status = Status::ok;
  std::string reason;            // infeasible: the violated constraints; invalid: the error
  std::vector<double> metrics;   // evaluator's metrics (empty when invalid)
  double eval_s = 0;
  std::vector<double> objectives;  // values of the run's objectives
  double violation = 0;            // total normalised constraint violation (invalid: huge)
};

struct RunOptions {
  std::string out_dir;   // empty: no files
  bool resume = false;   // continue the run in out_dir from its checkpoint and candidates
  int threads = 0;       // 0: all cores
  bool progress = false; // a progress line on stderr
  // Polled before each evaluation; true stops the run (as a kill would, without a checkpoint of
  // the unfinished generation). The CLI sets it on SIGINT/SIGTERM.
  std::function<bool()> stop;
};

struct Result {
  std::vector<Candidate> candidates;  // by id
  std::vector<int> front;             // ids of the feasible non-dominated candidates
  double hypervolume = 0;
  std::vector<double> reference_point;
  int generations = 0;
  bool finished = false;  // false when stopped early
  double seconds = 0;
};

// Runs the search `c` describes over `ev`. Objectives and constraints must name ev's metrics
// (see resolve_metric).
Result run(const Config& c, const Evaluator& ev, const RunOptions& opt = {});

}  // namespace hwnas::search
