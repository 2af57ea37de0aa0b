#include "run.hpp"

#include <filesystem>
#include <sstream>

#include "hwnas/error.hpp"
#include "hwnas/files.hpp"

namespace hwnas::report {
namespace {

using json = nlohmann::ordered_json;

std::string shown(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

[[noreturn]] void fail(const std::string& where, const std::string& field, const std::string& what) {
  throw Error(where + ": " + field + ": " + what);
}

const json& member(const json& obj, const char* key, const std::string& where, const std::string& path) {
  const auto it = obj.find(key);
  if (it == obj.end()) fail(where, path.empty() ? key : path + "." + key, "missing");
  return *it;
}

std::string string_at(const json& obj, const char* key, const std::string& where, const std::string& path = "") {
  const json& v = member(obj, key, where, path);
  if (!v.is_string()) fail(where, path.empty() ? key : path + "." + key, "must be a string, got " + shown(v));
  return v.get<std::string>();
}

double number_at(const json& v, const std::string& where, const std::string& field) {
  if (!v.is_number()) fail(where, field, "must be a number, got " + shown(v));
  return v.get<double>();
}

void read_config(Run& run, const std::string& path) {
  const json& c = run.config;
  if (!c.is_object()) throw Error(path + ": must be a JSON object, got " + shown(c));
  const std::string format = string_at(c, "format", path);
  if (format != "hwnas.run/1") fail(path, "format", "must be \"hwnas.run/1\", got \"" + format + "\"");
  const json& objs = member(c, "objectives", path, "");
  if (!objs.is_array() || objs.empty()) fail(path, "objectives", "must be a non-empty array, got " + shown(objs));
  for (std::size_t i = 0; i < objs.size(); ++i) {
    const std::string at = "objectives[" + std::to_string(i) + "]";
    if (!objs[i].is_object()) fail(path, at, "must be an object, got " + shown(objs[i]));
    Objective o;
    o.metric = string_at(objs[i], "metric", path, at);
    const std::string sense = string_at(objs[i], "sense", path, at);
    if (sense == "max") o.sense = Sense::max;
    else if (sense != "min") fail(path, at + ".sense", "must be min or max, got \"" + sense + "\"");
    run.objectives.push_back(o);
  }
  if (const auto it = c.find("constraints"); it != c.end()) {
    if (!it->is_array()) fail(path, "constraints", "must be an array, got " + shown(*it));
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string at = "constraints[" + std::to_string(i) + "]";
      const json& k = (*it)[i];
      if (!k.is_object()) fail(path, at, "must be an object, got " + shown(k));
      Constraint con;
      con.metric = string_at(k, "metric", path, at);
      con.op = string_at(k, "op", path, at);
      if (con.op != "<=" && con.op != "<" && con.op != ">=" && con.op != ">")
        fail(path, at + ".op", "must be <=, <, >= or >, got \"" + con.op + "\"");
      con.bound = number_at(member(k, "bound", path, at), path, at + ".bound");
      con.text = k.contains("text") && k["text"].is_string() ? k["text"].get<std::string>()
                                                              : con.metric + con.op + shown(k["bound"]);
      run.constraints.push_back(con);
    }
  }
  const json& ref = member(c, "reference_point", path, "");
  if (!ref.is_array() || ref.size() != run.objectives.size())
    fail(path, "reference_point",
         "must be an array of one number per objective (" + std::to_string(run.objectives.size()) + "), got " +
             shown(ref));
  for (std::size_t i = 0; i < ref.size(); ++i)
    run.reference.push_back(number_at(ref[i], path, "reference_point[" + std::to_string(i) + "]"));
  if (const auto it = c.find("references"); it != c.end()) {
    if (!it->is_array()) fail(path, "references", "must be an array, got " + shown(*it));
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string at = "references[" + std::to_string(i) + "]";
      const json& r = (*it)[i];
      if (!r.is_object()) fail(path, at, "must be an object, got " + shown(r));
      Reference z;
      z.name = string_at(r, "name", path, at);
      const json& m = member(r, "metrics", path, at);
      if (!m.is_object()) fail(path, at + ".metrics", "must be an object, got " + shown(m));
      for (const auto& [k, v] : m.items()) z.metrics[k] = number_at(v, path, at + ".metrics." + k);
      run.references.push_back(std::move(z));
    }
  }
}

Candidate read_candidate(const json& j, const Run& run, const std::string& where, int line) {
  if (!j.is_object()) throw Error(where + ": must be a JSON object, got " + shown(j));
  Candidate c;
  c.line = line;
  const json& id = member(j, "id", where, "");
  if (!id.is_number_integer()) fail(where, "id", "must be an integer, got " + shown(id));
  c.id = id.get<long long>();
  if (const auto it = j.find("generation"); it != j.end()) {
    if (!it->is_number_integer()) fail(where, "generation", "must be an integer, got " + shown(*it));
    c.generation = it->get<long long>();
  }
  c.status = string_at(j, "status", where);
  if (c.status != "ok" && c.status != "infeasible" && c.status != "invalid")
    fail(where, "status", "must be ok, infeasible or invalid, got \"" + c.status + "\"");
  if (j.contains("name")) c.name = string_at(j, "name", where);
  if (j.contains("reason")) c.reason = string_at(j, "reason", where);
  if (const auto it = j.find("genome"); it != j.end()) {
    if (!it->is_array()) fail(where, "genome", "must be an array, got " + shown(*it));
    c.genome = *it;
  }
  if (const auto it = j.find("genome_named"); it != j.end()) {
    if (!it->is_object()) fail(where, "genome_named", "must be an object, got " + shown(*it));
    c.genome_named = *it;
  }
  if (const auto it = j.find("eval_s"); it != j.end()) c.eval_s = number_at(*it, where, "eval_s");
  if (const auto it = j.find("metrics"); it != j.end()) {
    if (!it->is_object()) fail(where, "metrics", "must be an object, got " + shown(*it));
    for (const auto& [k, v] : it->items()) {
      if (v.is_null()) continue;  // a metric the evaluator could not produce
      c.metrics[k] = number_at(v, where, "metrics." + k);
    }
  }
  if (c.status != "invalid") {
    for (std::size_t i = 0; i < run.objectives.size(); ++i)
      if (!c.metrics.count(run.objectives[i].metric))
        fail(where, "metrics." + run.objectives[i].metric,
             "missing (objective " + std::to_string(i + 1) + " of run.json) for a candidate with status \"" +
                 c.status + "\"");
  }
  return c;
}

}  // namespace

bool satisfied(const Constraint& c, double value) {
  if (c.op == "<=") return value <= c.bound;
  if (c.op == "<") return value < c.bound;
  if (c.op == ">=") return value >= c.bound;
  return value > c.bound;
}

std::string metric_unit(const std::string& metric) {
  const std::string base = metric.substr(0, metric.find('@'));
  if (base.size() > 3 && base.compare(base.size() - 3, 3, "_ms") == 0) return "ms";
  if (base.size() > 2 && base.compare(base.size() - 2, 2, "_s") == 0) return "s";
  if (base.size() > 3 && base.compare(base.size() - 3, 3, "_mb") == 0) return "MiB";  // as the search writes them
  return "";
}

Run read_run(const std::string& dir) {
  namespace fs = std::filesystem;
  Run run;
  run.dir = dir;
  const std::string run_path = (fs::path(dir) / "run.json").string();
  if (!fs::exists(run_path))
    throw Error(run_path + ": not found (" +
                (fs::is_directory(dir) ? "'" + dir + "' is not a run directory written by hwnas search"
                                       : "no directory '" + dir + "'") +
                ")");
  run.config = parse_json(read_file(run_path), run_path);
  read_config(run, run_path);

  const std::string cand_path = (fs::path(dir) / "candidates.jsonl").string();
  if (!fs::exists(cand_path)) throw Error(cand_path + ": not found (the run has no evaluations file)");
  std::istringstream in(read_file(cand_path));
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = cand_path + ": line " + std::to_string(line);
    run.candidates.push_back(read_candidate(parse_json(text, where), run, where, line));
  }
  return run;
}

}  // namespace hwnas::report
