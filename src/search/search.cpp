// The search engine: strategies propose genomes sequentially from a seeded generator, a TBB
// arena evaluates the new ones in parallel, results are kept and written in candidate order.
#include "hwnas/search/search.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/report/pareto.hpp"
#include "search/rng.hpp"

namespace hwnas::search {

using json = nlohmann::json;
using space::Gene;
using space::GeneKind;
using space::Genome;

std::string_view status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::infeasible: return "infeasible";
    case Status::invalid: return "invalid";
  }
  return "?";
}

// ---- configuration --------------------------------------------------------------------------

Objective parse_objective(const std::string& text) {
  const auto colon = text.rfind(':');
  const std::string sense = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (colon == 0 || (sense != "min" && sense != "max"))
    throw Error("--objective: must be <metric>:min or <metric>:max, got '" + text + "'");
  return {text.substr(0, colon), sense == "max"};
}

Constraint parse_constraint(const std::string& text) {
  for (const char* op : {"<=", ">=", "<", ">"}) {
    const auto at = text.find(op);
    if (at == std::string::npos) continue;
    Constraint c;
    c.text = text;
    c.op = op;
    c.metric = text.substr(0, at);
    while (!c.metric.empty() && c.metric.back() == ' ') c.metric.pop_back();
    std::string rest = text.substr(at + std::strlen(op));
    while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
    const char* end = rest.data() + rest.size();
    const auto [p, ec] = std::from_chars(rest.data(), end, c.bound);
    if (c.metric.empty() || rest.empty() || ec != std::errc() || p != end || !std::isfinite(c.bound))
      throw Error("--constraint: must be <metric><op><number> with op <=, <, >= or >, got '" + text + "'");
    return c;
  }
  throw Error("--constraint: must be <metric><op><number> with op <=, <, >= or >, got '" + text + "'");
}

std::string resolve_metric(const std::string& name, const std::vector<std::string>& known, const std::string& what) {
  const std::string n = name == "latency" ? "latency_ms" : name;
  for (const auto& k : known)
    if (k == n) return k;
  for (const auto& k : known)
    if (k.rfind(n + "@", 0) == 0) return k;
  std::string all;
  for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
  throw Error(what + ": unknown metric '" + name + "' (known: " + all + ")");
}

std::string to_json(const Config& c) {
  json j;
  j["format"] = "hwnas.run/1";
  j["space"] = c.space;
  j["space_size"] = c.space_size;
  j["strategy"] = c.strategy;
  j["seed"] = c.seed;
  j["budget"] = c.budget;
  j["population"] = c.population;
  j["sample"] = c.sample;
  j["evaluator"] = c.evaluator;
  j["profiles"] = c.profiles;
  j["dtype"] = c.dtype;
  j["batch"] = c.batch;
  j["epochs"] = c.epochs;
  j["train_subset"] = c.train_subset;
  j["test_subset"] = c.test_subset;
  j["objectives"] = json::array();
  for (const auto& o : c.objectives) j["objectives"].push_back({{"metric", o.metric}, {"sense", o.maximize ? "max" : "min"}});
  j["constraints"] = json::array();
  for (const auto& k : c.constraints)
    j["constraints"].push_back({{"text", k.text}, {"metric", k.metric}, {"op", k.op}, {"bound", k.bound}});
  j["reference_point"] = c.reference_point.empty() ? json(nullptr) : json(c.reference_point);
  j["references"] = json::array();
  for (const auto& r : c.references) {
    json m = json::object();
    for (const auto& [k, v] : r.metrics) m[k] = v;
    j["references"].push_back({{"name", r.name}, {"metrics", m}});
  }
  return j.dump(2) + "\n";
}

Config config_from_json(const std::string& text, const std::string& source) {
  try {
    const json j = json::parse(text);
    if (j.value("format", "") != "hwnas.run/1") throw Error(source + ": format: must be \"hwnas.run/1\"");
    Config c;
    c.space = j.at("space").get<std::string>();
    c.space_size = j.at("space_size").get<double>();
    c.strategy = j.at("strategy").get<std::string>();
    c.seed = j.at("seed").get<std::uint64_t>();
    c.budget = j.at("budget").get<std::int64_t>();
    c.population = j.at("population").get<int>();
    c.sample = j.at("sample").get<int>();
    c.evaluator = j.at("evaluator").get<std::string>();
    c.profiles = j.at("profiles").get<std::vector<std::string>>();
    c.dtype = j.at("dtype").get<std::string>();
    c.batch = j.at("batch").get<std::int64_t>();
    c.epochs = j.value("epochs", c.epochs);
    c.train_subset = j.value("train_subset", c.train_subset);
    c.test_subset = j.value("test_subset", c.test_subset);
    for (const auto& o : j.at("objectives")) c.objectives.push_back({o.at("metric").get<std::string>(), o.at("sense") == "max"});
    for (const auto& k : j.at("constraints"))
      c.constraints.push_back({k.at("text").get<std::string>(), k.at("metric").get<std::string>(),
                               k.at("op").get<std::string>(), k.at("bound").get<double>()});
    if (!j.at("reference_point").is_null()) c.reference_point = j.at("reference_point").get<std::vector<double>>();
    if (j.contains("references"))
      for (const auto& r : j.at("references")) {
        Reference ref{r.at("name").get<std::string>(), {}};
        for (const auto& [k, v] : r.at("metrics").items()) ref.metrics.emplace_back(k, v.get<double>());
        c.references.push_back(std::move(ref));
      }
    return c;
  } catch (const json::exception& e) {
    throw Error(source + ": " + e.what());
  }
}

std::vector<std::string> default_references(const space::Space& s) {
  Genome lowest;
  for (const auto& g : s.genes()) lowest.push_back(g.kind == space::GeneKind::categorical ? 0 : g.lo);
  graph::Shape in;
  try {
    in = s.decode(lowest).node(0).shape;
  } catch (const Error&) {
    return {};
  }
  if (in.size() != 4) return {};
  if (in[1] == 3) return {"mobilenet_v2", "mobilenet_v3_large"};
  if (in[1] == 1 && in[2] == 28 && in[3] == 28) return {"fmnist_a", "fmnist_b"};
  return {};
}

namespace {

// ---- candidate lines ------------------------------------------------------------------------

void append_number(std::string& s, double v) {
  char buf[32];
  std::to_chars_result r;
  if (v == std::floor(v) && std::abs(v) < 9.0e15) r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  else r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

std::string quoted(const std::string& s) { return json(s).dump(); }

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string genome_key(const Genome& g) {
  std::string k(g.size() * sizeof(double), '\0');
  std::memcpy(k.data(), g.data(), k.size());
  return k;
}

class Engine {
 public:
  Engine(const Config& c, const Evaluator& ev, const RunOptions& opt)
      : c_(c), ev_(ev), opt_(opt), genes_(ev.genes()), rng_(c.seed) {
    if (c_.objectives.empty()) throw Error("a search needs at least one objective");
    if (c_.budget < 1) throw Error("--budget: must be >= 1, got " + std::to_string(c_.budget));
    if (c_.population < 2) throw Error("--population: must be >= 2, got " + std::to_string(c_.population));
    if (c_.sample < 1 || (c_.strategy == "evolution" && c_.sample > c_.population))
      throw Error("--sample: must be in 1..population, got " + std::to_string(c_.sample));
    if (c_.strategy != "nsga2" && c_.strategy != "evolution" && c_.strategy != "random")
      throw Error("--strategy: must be nsga2, evolution or random, got '" + c_.strategy + "'");
    const auto& m = ev_.metrics();
    auto index = [&](const std::string& name) {
      const auto it = std::find(m.begin(), m.end(), name);
      if (it == m.end()) resolve_metric(name, m, "metric");  // throws naming the known metrics
      return static_cast<int>(it - m.begin());
    };
    for (const auto& o : c_.objectives) {
      obj_index_.push_back(index(o.metric));
      senses_.push_back(o.maximize ? report::Sense::max : report::Sense::min);
    }
    for (const auto& k : c_.constraints) con_index_.push_back(index(k.metric));
    if (!c_.reference_point.empty() && c_.reference_point.size() != c_.objectives.size())
      throw Error("--hv-reference: needs one value per objective (" + std::to_string(c_.objectives.size()) + "), got " +
                  std::to_string(c_.reference_point.size()));
    for (const auto& name : m) metric_json_.push_back(quoted(name));
    for (const auto& g : genes_) gene_json_.push_back(quoted(g.name));
  }

  Result run() {
    const auto start = std::chrono::steady_clock::now();
    int threads = opt_.threads > 0 ? opt_.threads : tbb::task_arena::automatic;
    if (ev_.concurrency() > 0) threads = ev_.concurrency();
    tbb::task_arena arena(threads);
    arena_ = &arena;
    open_files();
    start_ = start;
    bool stopped = false;
    while (!stopped && static_cast<std::int64_t>(cands_.size()) < c_.budget && stale_ < kMaxStale) {
      const std::size_t before = cands_.size();
      stopped = !generation();
      if (stopped) break;
      stale_ = cands_.size() == before ? stale_ + 1 : 0;
      if (generation_ == 0 && c_.reference_point.empty()) set_reference();
      ++generation_;
      checkpoint(false);
      progress(false);
    }
    if (!stopped) checkpoint(true);
    if (file_) std::fclose(file_);
    file_ = nullptr;
    Result r;
    r.finished = !stopped;
    r.generations = generation_;
    r.reference_point = c_.reference_point;
    const auto pts = points();
    r.front = report::pareto_front(pts, senses_);
    if (!c_.reference_point.empty()) r.hypervolume = report::hypervolume(pts, senses_, c_.reference_point);
    r.seconds = seconds_since(start);
    progress(true);
    r.candidates = std::move(cands_);
    return r;
  }

 private:
  static constexpr int kMaxStale = 20;  // generations without a new genome: the space is exhausted

  Config c_;
  const Evaluator& ev_;
  const RunOptions& opt_;
  const std::vector<Gene>& genes_;
  Rng rng_;
  std::vector<int> obj_index_, con_index_;
  std::vector<report::Sense> senses_;
  std::vector<std::string> metric_json_, gene_json_;
  tbb::task_arena* arena_ = nullptr;

  std::vector<Candidate> cands_;
  std::unordered_map<std::string, int> cache_;  // canonical genome -> id
  std::unordered_map<std::string, Candidate> prior_;  // resume: evaluated after the checkpoint
  std::vector<int> population_;  // nsga2: the parents; evolution: oldest first
  int generation_ = 0, stale_ = 0;

  std::FILE* file_ = nullptr;
  std::mutex write_mu_;
  std::vector<std::optional<std::string>> pending_;
  std::size_t written_ = 0, pending_base_ = 0;

  std::chrono::steady_clock::time_point start_, last_progress_{};
  std::size_t resumed_count_ = 0;

  std::string path(const char* file) const { return (std::filesystem::path(opt_.out_dir) / file).string(); }

  // ---- files ----

  void open_files() {
    if (opt_.out_dir.empty()) return;
    const std::string cpath = path("candidates.jsonl");
    if (opt_.resume) {
      load_candidates(cpath);
      load_checkpoint();
    } else {
      if (std::filesystem::exists(cpath))
        throw Error(opt_.out_dir + ": already holds a run (candidates.jsonl); continue it with --resume or pick another --out");
      write_file_atomic(path("run.json"), to_json(c_));
    }
    file_ = std::fopen(cpath.c_str(), "ab");
    if (!file_) throw Error(cpath + ": cannot open for appending");
    written_ = pending_base_ = cands_.size();
    resumed_count_ = cands_.size() + prior_.size();
  }

  void load_candidates(const std::string& cpath) {
    if (!std::filesystem::exists(cpath)) return;
    std::string text = read_file(cpath);
    // a kill can leave a torn last line: drop it
    std::size_t good = text.rfind('\n');
    good = good == std::string::npos ? 0 : good + 1;
    if (good != text.size()) {
      std::filesystem::resize_file(cpath, good);
      text.resize(good);
    }
    std::size_t pos = 0;
    int line = 0;
    while (pos < text.size()) {
      const std::size_t end = text.find('\n', pos);
      ++line;
      const std::string where = cpath + ": line " + std::to_string(line);
      Candidate c;
      try {
        const json j = json::parse(text.begin() + static_cast<std::ptrdiff_t>(pos), text.begin() + static_cast<std::ptrdiff_t>(end));
        c.id = j.at("id").get<int>();
        c.generation = j.at("generation").get<int>();
        c.genome = j.at("genome").get<Genome>();
        const std::string st = j.at("status").get<std::string>();
        c.status = st == "ok" ? Status::ok : st == "infeasible" ? Status::infeasible : Status::invalid;
        c.reason = j.at("reason").get<std::string>();
        c.eval_s = j.at("eval_s").get<double>();
        if (c.status != Status::invalid) {
          const json& m = j.at("metrics");
          for (const auto& name : ev_.metrics()) {
            if (!m.contains(name)) throw Error(where + ": metrics: missing '" + name + "'");
            c.metrics.push_back(m.at(name).get<double>());
          }
        }
      } catch (const json::exception& e) {
        throw Error(where + ": " + e.what());
      }
      if (c.genome.size() != genes_.size()) throw Error(where + ": genome: does not fit the space");
      finish(c, c.status == Status::invalid ? c.reason : "");
      prior_.emplace(genome_key(c.genome), std::move(c));
      pos = end + 1;
    }
  }

  void load_checkpoint() {
    const std::string p = path("checkpoint.json");
    if (!std::filesystem::exists(p)) return;
    try {
      const json j = json::parse(read_file(p));
      generation_ = j.at("generation").get<int>();
      stale_ = j.at("stale").get<int>();
      const auto n = j.at("evaluations").get<std::size_t>();
      const auto s = j.at("rng").get<std::vector<std::uint64_t>>();
      if (s.size() != 4) throw Error(p + ": rng: needs 4 words");
      rng_.set_state({s[0], s[1], s[2], s[3]});
      if (j.contains("reference_point") && !j.at("reference_point").is_null())
        c_.reference_point = j.at("reference_point").get<std::vector<double>>();
      // the candidates up to the checkpoint are known; later ones are replayed
      std::vector<Candidate> known(n);
      std::vector<bool> have(n, false);
      for (auto it = prior_.begin(); it != prior_.end();) {
        if (it->second.id >= 0 && static_cast<std::size_t>(it->second.id) < n) {
          have[static_cast<std::size_t>(it->second.id)] = true;
          known[static_cast<std::size_t>(it->second.id)] = std::move(it->second);
          it = prior_.erase(it);
        } else {
          ++it;
        }
      }
      for (std::size_t i = 0; i < n; ++i)
        if (!have[i]) throw Error(p + ": candidate " + std::to_string(i) + " is missing from candidates.jsonl");
      for (auto& c : known) {
        cache_.emplace(genome_key(c.genome), c.id);
        cands_.push_back(std::move(c));
      }
      population_ = j.at("population").get<std::vector<int>>();
      for (int id : population_)
        if (id < 0 || static_cast<std::size_t>(id) >= n) throw Error(p + ": population: unknown candidate " + std::to_string(id));
    } catch (const json::exception& e) {
      throw Error(p + ": " + e.what());
    }
  }

  void checkpoint(bool done) {
    if (opt_.out_dir.empty()) return;
    json j;
    j["format"] = "hwnas.checkpoint/1";
    j["generation"] = generation_;
    j["evaluations"] = cands_.size();
    j["stale"] = stale_;
    const auto s = rng_.state();
    j["rng"] = std::vector<std::uint64_t>(s.begin(), s.end());
    j["population"] = population_;
    j["reference_point"] = c_.reference_point.empty() ? json(nullptr) : json(c_.reference_point);
    j["done"] = done;
    write_file_atomic(path("checkpoint.json"), j.dump() + "\n");
  }

  std::string line(const Candidate& c) const {
    std::string s;
    s.reserve(256 + 24 * c.metrics.size() + 32 * c.genome.size());
    s += "{\"id\":";
    append_number(s, c.id);
    s += ",\"generation\":";
    append_number(s, c.generation);
    s += ",\"genome\":[";
    for (std::size_t i = 0; i < c.genome.size(); ++i) {
      if (i) s += ',';
      append_number(s, c.genome[i]);
    }
    s += "],\"genome_named\":{";
    bool first = true;
    for (const auto& [k, v] : ev_.named(c.genome)) {
      if (!first) s += ',';
      first = false;
      s += quoted(k);
      s += ':';
      s += v;
    }
    s += "},\"name\":\"cand";
    append_number(s, c.id);
    s += "\",\"status\":\"";
    s += status_name(c.status);
    s += "\",\"reason\":";
    s += quoted(c.reason);
    s += ",\"metrics\":{";
    for (std::size_t i = 0; i < c.metrics.size(); ++i) {
      if (i) s += ',';
      s += metric_json_[i];
      s += ':';
      append_number(s, c.metrics[i]);
    }
    s += "},\"eval_s\":";
    append_number(s, c.eval_s);
    s += "}\n";
    return s;
  }

  // Lines are written in id order: a finished evaluation waits for the earlier ones.
  void record(const Candidate& c) {
    if (!file_) return;
    std::string l = line(c);
    std::lock_guard lock(write_mu_);
    pending_[static_cast<std::size_t>(c.id) - pending_base_] = std::move(l);
    flush_ready();
  }

  // Writes the consecutive finished lines; the caller holds write_mu_.
  void flush_ready() {
    bool wrote = false;
    while (written_ - pending_base_ < pending_.size() && pending_[written_ - pending_base_]) {
      std::string& s = *pending_[written_ - pending_base_];
      if (file_ && !s.empty() && std::fwrite(s.data(), 1, s.size(), file_) != s.size())
        throw Error(path("candidates.jsonl") + ": write failed");
      wrote = wrote || !s.empty();
      std::string().swap(s);
      ++written_;
    }
    if (wrote) std::fflush(file_);
  }

  // ---- evaluation ----

  // Status, objectives and violation from the metrics.
  void finish(Candidate& c, const std::string& error) const {
    c.objectives.assign(obj_index_.size(), 0.0);
    if (!error.empty()) {
      c.status = Status::invalid;
      c.reason = error;
      c.metrics.clear();
      c.violation = 1e30;
      return;
    }
    for (std::size_t i = 0; i < obj_index_.size(); ++i) c.objectives[i] = c.metrics[static_cast<std::size_t>(obj_index_[i])];
    c.violation = 0;
    c.reason.clear();
    for (std::size_t i = 0; i < con_index_.size(); ++i) {
      const Constraint& k = c_.constraints[i];
      const double v = c.metrics[static_cast<std::size_t>(con_index_[i])];
      const bool upper = k.op[0] == '<', strict = k.op.size() == 1;
      const bool ok = upper ? (strict ? v < k.bound : v <= k.bound) : (strict ? v > k.bound : v >= k.bound);
      if (ok) continue;
      const double scale = std::max(std::abs(k.bound), 1e-12);
      c.violation += std::max((upper ? v - k.bound : k.bound - v) / scale, 1e-12);
      char buf[96];
      std::snprintf(buf, sizeof buf, " = %.6g %s %.6g", v, upper ? (strict ? ">=" : ">") : (strict ? "<=" : "<"), k.bound);
      c.reason += (c.reason.empty() ? "" : "; ") + k.metric + buf;
    }
    c.status = c.violation > 0 ? Status::infeasible : Status::ok;
  }

  void evaluate(Candidate& c) const {
    const auto t0 = std::chrono::steady_clock::now();
    std::string error;
    try {
      c.metrics = ev_.evaluate(c.genome);
      if (c.metrics.size() != ev_.metrics().size()) error = "the evaluator returned the wrong number of metrics";
      for (double v : c.metrics)
        if (!std::isfinite(v)) error = "the evaluator returned a non-finite metric";
    } catch (const std::exception& e) {
      error = e.what();
    }
    c.eval_s = seconds_since(t0);
    finish(c, error);
  }

  // Ids of `genomes` (canonical), evaluating the new ones; -1 for genomes beyond the budget.
  // Returns false when stopped.
  bool evaluate_all(const std::vector<Genome>& genomes, std::vector<int>& ids) {
    ids.clear();
    std::vector<int> todo;
    for (const auto& g : genomes) {
      const std::string key = genome_key(g);
      if (const auto it = cache_.find(key); it != cache_.end()) {
        ids.push_back(it->second);
        continue;
      }
      if (static_cast<std::int64_t>(cands_.size()) >= c_.budget) {
        ids.push_back(-1);
        continue;
      }
      const int id = static_cast<int>(cands_.size());
      cache_.emplace(key, id);
      ids.push_back(id);
      if (const auto p = prior_.find(key); p != prior_.end()) {
        if (p->second.id != id)
          throw Error(path("candidates.jsonl") + ": candidate " + std::to_string(p->second.id) +
                      " does not follow from the checkpoint (expected id " + std::to_string(id) +
                      "): was the run's configuration changed?");
        cands_.push_back(std::move(p->second));
        prior_.erase(p);
        continue;
      }
      Candidate c;
      c.id = id;
      c.generation = generation_;
      c.genome = g;
      cands_.push_back(std::move(c));
      todo.push_back(id);
    }
    pending_.assign(cands_.size() - pending_base_, std::nullopt);
    {
      // replayed candidates are in the file already
      std::lock_guard lock(write_mu_);
      for (std::size_t i = pending_base_; i < cands_.size(); ++i)
        if (std::find(todo.begin(), todo.end(), static_cast<int>(i)) == todo.end()) pending_[i - pending_base_] = std::string();
      flush_ready();
    }
    std::atomic<bool> stopped{false};
    arena_->execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, todo.size(), 1), [&](const auto& r) {
        for (std::size_t i = r.begin(); i != r.end(); ++i) {
          if (stopped.load() || (opt_.stop && opt_.stop())) {
            stopped = true;
            return;
          }
          Candidate& c = cands_[static_cast<std::size_t>(todo[i])];
          evaluate(c);
          record(c);
        }
      });
    });
    if (stopped) {
      cands_.resize(file_ ? written_ : cands_.size());
      return false;
    }
    pending_base_ = written_;
    pending_.clear();
    if (generation_ == 0 && !todo.empty()) {
      bool any = false;
      for (int id : todo) any = any || cands_[static_cast<std::size_t>(id)].status != Status::invalid;
      if (!any)
        throw Error("every candidate of the first generation is invalid; the first: " + cands_[static_cast<std::size_t>(todo[0])].reason);
    }
    return true;
  }

  // ---- variation ----

  double random_value(const Gene& g) {
    switch (g.kind) {
      case GeneKind::real: return g.lo + rng_.uniform() * (g.hi - g.lo);
      case GeneKind::integer: return g.lo + static_cast<double>(rng_.below(static_cast<std::uint64_t>(g.hi - g.lo + 1)));
      case GeneKind::categorical: return static_cast<double>(rng_.below(static_cast<std::uint64_t>(g.hi + 1)));
    }
    return 0;
  }

  Genome random_genome() {
    Genome g(genes_.size());
    for (std::size_t i = 0; i < genes_.size(); ++i) g[i] = random_value(genes_[i]);
    return ev_.canonical(g);
  }

  // Polynomial mutation (Deb), distribution index 20.
  double polynomial(const Gene& g, double x) {
    const double eta = 20, span = g.hi - g.lo;
    const double u = rng_.uniform();
    const double d1 = (x - g.lo) / span, d2 = (g.hi - x) / span;
    double dq;
    if (u < 0.5) dq = std::pow(2 * u + (1 - 2 * u) * std::pow(1 - d1, eta + 1), 1 / (eta + 1)) - 1;
    else dq = 1 - std::pow(2 * (1 - u) + 2 * (u - 0.5) * std::pow(1 - d2, eta + 1), 1 / (eta + 1));
    return std::clamp(x + dq * span, g.lo, g.hi);
  }

  void mutate_gene(Genome& x, std::size_t i) {
    const Gene& g = genes_[i];
    if (g.kind == GeneKind::real) {
      x[i] = polynomial(g, x[i]);
      return;
    }
    const auto n = static_cast<std::uint64_t>(g.kind == GeneKind::integer ? g.hi - g.lo + 1 : g.hi + 1);
    if (n < 2) return;
    const double base = g.kind == GeneKind::integer ? g.lo : 0;
    const auto cur = static_cast<std::uint64_t>(x[i] - base);
    const std::uint64_t v = rng_.below(n - 1);
    x[i] = base + static_cast<double>(v >= cur ? v + 1 : v);
  }

  // SBX crossover (distribution index 15) for real genes, uniform crossover for the others.
  void crossover(Genome& a, Genome& b) {
    if (rng_.uniform() >= 0.9) return;
    for (std::size_t i = 0; i < genes_.size(); ++i) {
      if (rng_.uniform() >= 0.5) continue;
      const Gene& g = genes_[i];
      if (g.kind != GeneKind::real) {
        std::swap(a[i], b[i]);
        continue;
      }
      const double x1 = std::min(a[i], b[i]), x2 = std::max(a[i], b[i]);
      if (x2 - x1 < 1e-14) continue;
      const double eta = 15, u = rng_.uniform();
      const double beta = u <= 0.5 ? std::pow(2 * u, 1 / (eta + 1)) : std::pow(1 / (2 * (1 - u)), 1 / (eta + 1));
      const double c1 = std::clamp(0.5 * ((x1 + x2) - beta * (x2 - x1)), g.lo, g.hi);
      const double c2 = std::clamp(0.5 * ((x1 + x2) + beta * (x2 - x1)), g.lo, g.hi);
      const bool swap = rng_.uniform() < 0.5;
      a[i] = swap ? c2 : c1;
      b[i] = swap ? c1 : c2;
    }
  }

  void mutate(Genome& x) {
    const double p = 1.0 / static_cast<double>(genes_.size());
    for (std::size_t i = 0; i < genes_.size(); ++i)
      if (rng_.uniform() < p) mutate_gene(x, i);
  }

  bool known(const Genome& g, const std::vector<Genome>& batch) const {
    if (cache_.count(genome_key(g))) return true;
    return std::find(batch.begin(), batch.end(), g) != batch.end();
  }

  // Random genomes, avoiding ones already evaluated or drawn (within a few tries).
  std::vector<Genome> random_batch(int n) {
    std::vector<Genome> out;
    for (int i = 0; i < n; ++i) {
      Genome g = random_genome();
      for (int t = 0; t < 10 && known(g, out); ++t) g = random_genome();
      out.push_back(std::move(g));
    }
    return out;
  }

  // ---- strategies ----

  bool generation() {
    std::vector<int> ids;
    if (generation_ == 0 || c_.strategy == "random") {
      if (!evaluate_all(random_batch(c_.population), ids)) return false;
      if (c_.strategy == "random") return true;
      population_.clear();
      for (int id : ids)
        if (id >= 0 && std::find(population_.begin(), population_.end(), id) == population_.end()) population_.push_back(id);
      return true;
    }
    return c_.strategy == "nsga2" ? nsga2() : evolution();
  }

  report::Point point(int id) const {
    const Candidate& c = cands_[static_cast<std::size_t>(id)];
    return {c.objectives, c.violation};
  }

  std::vector<report::Point> points() const {
    std::vector<report::Point> p;
    p.reserve(cands_.size());
    for (const auto& c : cands_) p.push_back({c.objectives, c.violation});
    return p;
  }

  // NSGA-II ranks and crowding distances of `ids`.
  void rank(const std::vector<int>& ids, std::vector<int>& rank_of, std::vector<double>& crowd,
            std::vector<std::vector<int>>& fronts) const {
    std::vector<report::Point> pts;
    for (int id : ids) pts.push_back(point(id));
    fronts = report::non_dominated_sort(pts, senses_);
    rank_of.assign(ids.size(), 0);
    crowd.assign(ids.size(), 0.0);
    for (std::size_t f = 0; f < fronts.size(); ++f) {
      auto& front = fronts[f];
      for (int i : front) rank_of[static_cast<std::size_t>(i)] = static_cast<int>(f);
      for (std::size_t m = 0; m < senses_.size(); ++m) {
        std::vector<int> order = front;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return pts[a].values[m] < pts[b].values[m]; });
        const double lo = pts[order.front()].values[m], hi = pts[order.back()].values[m];
        crowd[order.front()] = crowd[order.back()] = std::numeric_limits<double>::infinity();
        if (hi - lo <= 0) continue;
        for (std::size_t k = 1; k + 1 < order.size(); ++k)
          crowd[order[k]] += (pts[order[k + 1]].values[m] - pts[order[k - 1]].values[m]) / (hi - lo);
      }
    }
  }

  bool nsga2() {
    std::vector<int> rank_of;
    std::vector<double> crowd;
    std::vector<std::vector<int>> fronts;
    rank(population_, rank_of, crowd, fronts);
    const auto n = static_cast<std::uint64_t>(population_.size());
    auto tournament = [&]() -> std::size_t {
      const auto a = rng_.below(n), b = rng_.below(n);
      if (rank_of[a] != rank_of[b]) return rank_of[a] < rank_of[b] ? a : b;
      return crowd[b] > crowd[a] ? b : a;
    };
    std::vector<Genome> kids;
    while (static_cast<int>(kids.size()) < c_.population) {
      const Genome& pa = cands_[static_cast<std::size_t>(population_[tournament()])].genome;
      const Genome& pb = cands_[static_cast<std::size_t>(population_[tournament()])].genome;
      Genome a = pa, b = pb;
      crossover(a, b);
      for (Genome* k : {&a, &b}) {
        mutate(*k);
        *k = ev_.canonical(*k);
        for (int t = 0; t < 10 && known(*k, kids); ++t) {
          mutate_gene(*k, rng_.below(genes_.size()));
          *k = ev_.canonical(*k);
        }
        if (static_cast<int>(kids.size()) < c_.population) kids.push_back(std::move(*k));
      }
    }
    std::vector<int> ids;
    if (!evaluate_all(kids, ids)) return false;
    // environmental selection over parents and children (each candidate once)
    std::vector<int> all = population_;
    for (int id : ids)
      if (id >= 0 && std::find(all.begin(), all.end(), id) == all.end()) all.push_back(id);
    rank(all, rank_of, crowd, fronts);
    std::vector<int> next;
    for (const auto& front : fronts) {
      if (next.size() + front.size() <= static_cast<std::size_t>(c_.population)) {
        for (int i : front) next.push_back(all[static_cast<std::size_t>(i)]);
        continue;
      }
      std::vector<int> order = front;
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return crowd[a] > crowd[b]; });
      for (int i : order) {
        if (next.size() == static_cast<std::size_t>(c_.population)) break;
        next.push_back(all[static_cast<std::size_t>(i)]);
      }
      break;
    }
    population_ = std::move(next);
    return true;
  }

  // Regularized evolution (Real et al. 2019): each child mutates one gene of the best of a random
  // sample (constraint-domination front, ties at random); the oldest member dies per child.
  bool evolution() {
    std::vector<Genome> kids;
    const auto n = static_cast<std::uint64_t>(population_.size());
    for (int k = 0; k < c_.sample; ++k) {
      std::vector<int> sample;
      std::vector<report::Point> pts;
      for (int s = 0; s < c_.sample; ++s) {
        sample.push_back(population_[rng_.below(n)]);
        pts.push_back(point(sample.back()));
      }
      const auto front = report::non_dominated_sort(pts, senses_).front();
      Genome child = cands_[static_cast<std::size_t>(sample[static_cast<std::size_t>(front[rng_.below(front.size())])])].genome;
      for (int t = 0; t < 10; ++t) {
        mutate_gene(child, rng_.below(genes_.size()));
        child = ev_.canonical(child);
        if (!known(child, kids)) break;
      }
      kids.push_back(std::move(child));
    }
    std::vector<int> ids;
    if (!evaluate_all(kids, ids)) return false;
    for (int id : ids) {
      if (id < 0) continue;
      population_.push_back(id);
      population_.erase(population_.begin());
    }
    return true;
  }

  // ---- reference point and progress ----

  // A documented default: a constraint's bound on the objective's metric, else the worst value of
  // the first generation moved out by a tenth of its range.
  void set_reference() {
    std::vector<double> ref;
    for (std::size_t m = 0; m < c_.objectives.size(); ++m) {
      const bool max = c_.objectives[m].maximize;
      std::optional<double> r;
      for (const auto& k : c_.constraints)
        if (k.metric == c_.objectives[m].metric && (k.op[0] == '<') != max) r = k.bound;
      if (!r) {
        double worst = max ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
        double best = -worst;
        for (const auto& c : cands_) {
          if (c.status == Status::invalid) continue;
          const double v = c.objectives[m];
          worst = max ? std::min(worst, v) : std::max(worst, v);
          best = max ? std::max(best, v) : std::min(best, v);
        }
        const double span = std::abs(best - worst) > 0 ? std::abs(best - worst) : std::max(std::abs(worst), 1.0);
        r = max ? worst - 0.1 * span : worst + 0.1 * span;
      }
      ref.push_back(*r);
    }
    c_.reference_point = ref;
    if (!opt_.out_dir.empty()) write_file_atomic(path("run.json"), to_json(c_));
  }

  void progress(bool final) {
    if (!opt_.progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final && std::chrono::duration<double>(now - last_progress_).count() < 1.0) return;
    last_progress_ = now;
    const double t = seconds_since(start_);
    const std::size_t done = cands_.size();
    const double rate = static_cast<double>(done - std::min(done, resumed_count_)) / std::max(t, 1e-9);
    const double eta = rate > 0 ? static_cast<double>(c_.budget - static_cast<std::int64_t>(done)) / rate : 0;
    std::size_t feasible = 0;
    std::vector<double> best(c_.objectives.size(), std::numeric_limits<double>::quiet_NaN());
    for (const auto& c : cands_) {
      if (c.status != Status::ok) continue;
      ++feasible;
      for (std::size_t m = 0; m < best.size(); ++m)
        if (std::isnan(best[m]) || (c_.objectives[m].maximize ? c.objectives[m] > best[m] : c.objectives[m] < best[m]))
          best[m] = c.objectives[m];
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "search: gen %d, %zu/%lld evaluations, %.0f/s, ETA %.1f s, %zu feasible", generation_, done,
                  static_cast<long long>(c_.budget), rate, final ? 0.0 : eta, feasible);
    std::string s = buf;
    for (std::size_t m = 0; m < best.size(); ++m) {
      std::snprintf(buf, sizeof buf, ", best %s %.6g", c_.objectives[m].metric.c_str(), best[m]);
      s += buf;
    }
    if (!c_.reference_point.empty()) {
      std::snprintf(buf, sizeof buf, ", HV %.6g", report::hypervolume(points(), senses_, c_.reference_point));
      s += buf;
    }
    std::cerr << s << "\n";
  }
};

}  // namespace

Result run(const Config& c, const Evaluator& ev, const RunOptions& opt) {
  return Engine(c, ev, opt).run();
}

}  // namespace hwnas::search
