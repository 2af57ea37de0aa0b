#pragma once
// A search run directory read into typed objects (private to the report module).
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwnas/report/pareto.hpp"

namespace hwnas::report {

struct Objective {
  std::string metric;
  Sense sense = Sense::min;
};

struct Constraint {
  std::string text, metric, op;  // op: <=, <, >=, >
  double bound = 0;
};

struct Candidate {
  int line = 0;  // 1-based line in candidates.jsonl
  long long id = 0, generation = 0;
  std::string name, status, reason;  // status: ok, infeasible, invalid
  nlohmann::ordered_json genome, genome_named;
  std::map<std::string, double> metrics;
  double eval_s = 0;
};

// A zoo model evaluated for comparison (run.json "references"): drawn, never on the front.
struct Reference {
  std::string name;
  std::map<std::string, double> metrics;
};

struct Run {
  std::string dir;
  nlohmann::ordered_json config;  // run.json as written
  std::vector<Objective> objectives;
  std::vector<Constraint> constraints;
  std::vector<double> reference;
  std::vector<Reference> references;
  std::vector<Candidate> candidates;
};

// Reads <dir>/run.json and <dir>/candidates.jsonl; throws hwnas::Error naming the file, the line
// and the field.
Run read_run(const std::string& dir);

// Whether `value` meets the constraint.
bool satisfied(const Constraint& c, double value);

// The unit of a metric ("ms", "MiB", "" for counts and fractions), from its name before '@'.
std::string metric_unit(const std::string& metric);

}  // namespace hwnas::report
