#include "hwnas/search/compound_scaling.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/graph/arch.hpp"

namespace hwnas::search {
namespace {

using json = nlohmann::ordered_json;
constexpr double kMiB = 1024.0 * 1024.0;

// The base architecture as JSON, with its own multipliers and resolution.
struct Base {
  std::string source;
  json arch;
  double width = 1, depth = 1;
  std::int64_t resolution = 0;
};

Base load_base(const std::string& model) {
  Base b;
  std::string text;
  bool in_zoo = false;
  for (const auto& e : graph::zoo()) in_zoo = in_zoo || e.name == model;
  if (in_zoo) {
    text = graph::zoo_text(model);
    b.source = model + ".json";
  } else if (std::filesystem::exists(model)) {
    text = read_file(model);
    b.source = model;
  } else {
    graph::zoo_text(model);  // throws naming the zoo
  }
  graph::parse_architecture(text, b.source);  // validates it, with the format's own messages
  b.arch = json::parse(text);
  b.width = b.arch.value("width_mult", 1.0);
  b.depth = b.arch.value("depth_mult", 1.0);
  const json& in = b.arch.at("input");
  if (!in.contains("resolution"))
    throw Error(b.source + ": input.resolution: missing; compound scaling needs an image model");
  b.resolution = in.at("resolution").get<std::int64_t>();
  return b;
}

class Family {
 public:
  Family(const ScaleRequest& req) : base_(load_base(req.model)), dtype_(req.dtype), batch_(req.batch) {
    if (req.profiles.empty()) throw Error("scale: at least one profile is needed");
    for (const std::string& p : req.profiles) profiles_.push_back(hw::load_profile(p));
  }

  // The member at phi for the coefficients, and (when wanted) its graph.
  ScaledModel member(const ScalingCoefficients& c, int phi, graph::Graph* keep = nullptr) const {
    ScaledModel m;
    m.phi = phi;
    m.depth_mult = base_.depth * std::pow(c.alpha, phi);
    m.width_mult = base_.width * std::pow(c.beta, phi);
    m.resolution = std::llround(static_cast<double>(base_.resolution) * std::pow(c.gamma, phi));
    json arch = base_.arch;
    arch["width_mult"] = m.width_mult;
    arch["depth_mult"] = m.depth_mult;
    arch["input"]["resolution"] = m.resolution;
    graph::BuildOptions opt;
    opt.batch = batch_;
    graph::Graph g = graph::parse_architecture(arch.dump(), base_.source, opt);
    for (const hw::Profile& p : profiles_) {
      const cost::CostReport r = cost::analyze(g, p, dtype_);
      m.params = r.totals.params;
      m.macs = r.totals.macs;
      m.peak_memory_mb = static_cast<double>(r.totals.peak_memory_bytes) / kMiB;
      m.latency_ms.push_back(r.totals.latency_s * 1e3);
    }
    if (keep) *keep = std::move(g);
    return m;
  }

  std::vector<std::string> profile_names() const {
    std::vector<std::string> n;
    for (const hw::Profile& p : profiles_) n.push_back(p.name);
    return n;
  }

 private:
  Base base_;
  std::vector<hw::Profile> profiles_;
  hw::Dtype dtype_;
  std::int64_t batch_;
};

void check_coefficient(const char* name, double v) {
  if (!(v >= 1) || !std::isfinite(v))
    throw Error(std::string("scale: ") + name + ": must be a finite number >= 1, got " + std::to_string(v));
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string human(double v) {
  if (std::abs(v) >= 1e9) return fmt("%.2fG", v / 1e9);
  if (std::abs(v) >= 1e6) return fmt("%.2fM", v / 1e6);
  if (std::abs(v) >= 1e3) return fmt("%.1fk", v / 1e3);
  return fmt("%.0f", v);
}

std::string pad(const std::string& s, std::size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' '); }

}  // namespace

Criterion make_criterion(const std::string& spec, const std::vector<std::string>& profiles) {
  if (spec == "params")
    return {spec, "the most parameters at the doubled MACs budget (capacity proxy)",
            [](const ScaledModel& m, const graph::Graph&) { return static_cast<double>(m.params); }};
  if (spec == "latency" || spec.rfind("latency@", 0) == 0) {
    std::size_t k = 0;
    if (spec != "latency") {
      const std::string p = spec.substr(8);
      while (k < profiles.size() && profiles[k] != p) ++k;
      if (k == profiles.size())
        throw Error("--criterion: " + spec + ": profile '" + p + "' is not one of the --profile options");
    }
    if (profiles.empty()) throw Error("--criterion: " + spec + ": needs a --profile");
    return {spec, "the lowest roofline latency on " + profiles[k] + " at the doubled MACs budget",
            [k](const ScaledModel& m, const graph::Graph&) { return -m.latency_ms[k]; }};
  }
  throw Error("--criterion: must be latency, latency@<profile> or params, got '" + spec + "'");
}

ScaleResult compound_scale(const ScaleRequest& req) {
  if (req.phis.empty()) throw Error("scale: no phi values");
  for (int phi : req.phis)
    if (phi < 0 || phi > 10) throw Error("scale: phi: must be in 0..10, got " + std::to_string(phi));
  if (req.batch < 1) throw Error("scale: batch: must be >= 1, got " + std::to_string(req.batch));
  if (req.latency_budget_ms && !(*req.latency_budget_ms > 0))
    throw Error("scale: latency budget: must be > 0 ms, got " + std::to_string(*req.latency_budget_ms));
  const Family fam(req);
  ScaleResult r;
  r.model = req.model;
  r.profiles = fam.profile_names();
  r.dtype = req.dtype;
  r.batch = req.batch;
  r.latency_budget_ms = req.latency_budget_ms;
  const ScaledModel base = fam.member({}, 0);

  if (req.given) {
    check_coefficient("alpha", req.given->alpha);
    check_coefficient("beta", req.given->beta);
    check_coefficient("gamma", req.given->gamma);
    r.c = *req.given;
    r.source = "given";
  } else {
    const Criterion crit = make_criterion(req.criterion, r.profiles);
    if (!(req.grid_step >= 0.01 && req.grid_step <= 0.5))
      throw Error("scale: grid step: must be in 0.01..0.5, got " + std::to_string(req.grid_step));
    if (!(req.flops_tolerance > 0 && req.flops_tolerance < 1))
      throw Error("scale: MACs tolerance: must be in (0, 1), got " + std::to_string(req.flops_tolerance));
    // alpha and beta on the grid, gamma from alpha * beta^2 * gamma^2 = 2, all >= 1.
    const int steps_a = static_cast<int>(std::floor(1.0 / req.grid_step + 1e-9));
    for (int i = 0; i <= steps_a; ++i)
      for (int j = 0;; ++j) {
        const double alpha = 1 + i * req.grid_step, beta = 1 + j * req.grid_step;
        const double g2 = 2 / (alpha * beta * beta);
        if (g2 < 1 - 1e-12) break;
        GridPoint p;
        p.c = {alpha, beta, std::sqrt(std::max(1.0, g2))};
        graph::Graph g;
        p.member = fam.member(p.c, 1, &g);
        p.macs_ratio = static_cast<double>(p.member.macs) / static_cast<double>(base.macs);
        p.eligible = std::abs(p.macs_ratio - 2) <= 2 * req.flops_tolerance;
        if (p.eligible) p.score = crit.score(p.member, g);
        r.grid.push_back(p);
      }
    for (std::size_t k = 0; k < r.grid.size(); ++k)
      if (r.grid[k].eligible && (r.grid_best < 0 || r.grid[k].score > r.grid[static_cast<std::size_t>(r.grid_best)].score))
        r.grid_best = static_cast<int>(k);
    if (r.grid_best < 0)
      throw Error("scale: no grid point has MACs within " + fmt("%.3g", req.flops_tolerance * 100) +
                  "% of 2x the base after rounding; raise the tolerance or refine the grid step");
    r.c = r.grid[static_cast<std::size_t>(r.grid_best)].c;
    r.source = "grid search, criterion " + crit.name + ": " + crit.description;
  }
  for (int phi : req.phis) r.family.push_back(phi == 0 ? base : fam.member(r.c, phi));
  for (std::size_t p = 0; p < r.profiles.size(); ++p) {
    int pick = -1;
    if (req.latency_budget_ms)
      for (std::size_t k = 0; k < r.family.size(); ++k)
        if (r.family[k].latency_ms[p] <= *req.latency_budget_ms &&
            (pick < 0 || r.family[k].macs > r.family[static_cast<std::size_t>(pick)].macs))
          pick = static_cast<int>(k);
    r.picks.push_back(pick);
  }
  return r;
}

std::string to_table(const ScaleResult& r) {
  const ScalingCoefficients& c = r.c;
  std::string s = r.model + ": compound scaling with alpha " + fmt("%.4g", c.alpha) + " (depth), beta " +
                  fmt("%.4g", c.beta) + " (width), gamma " + fmt("%.4g", c.gamma) + " (resolution); alpha*beta^2*gamma^2 = " +
                  fmt("%.3f", c.alpha * c.beta * c.beta * c.gamma * c.gamma) + "\ncoefficients: " + r.source + "\n";
  if (r.grid_best >= 0) {
    std::size_t eligible = 0;
    for (const GridPoint& g : r.grid) eligible += g.eligible;
    const GridPoint& b = r.grid[static_cast<std::size_t>(r.grid_best)];
    s += "grid: " + std::to_string(r.grid.size()) + " points, " + std::to_string(eligible) +
         " within the MACs tolerance; best MACs x" + fmt("%.3f", b.macs_ratio) + "\n";
  }
  s += "\n";
  std::vector<std::string> head{"phi", "depth", "width", "res", "params", "MACs", "MACs x"};
  for (const std::string& p : r.profiles) head.push_back("latency@" + p);
  std::vector<std::size_t> w{4, 7, 7, 6, 9, 9, 7};
  for (const std::string& p : r.profiles) w.push_back(std::max<std::size_t>(12, p.size() + 9));
  for (std::size_t k = 0; k < head.size(); ++k) s += pad(head[k], w[k]);
  s += "\n";
  for (std::size_t k = 0; k < r.family.size(); ++k) {
    const ScaledModel& m = r.family[k];
    std::vector<std::string> row{std::to_string(m.phi), fmt("%.3f", m.depth_mult), fmt("%.3f", m.width_mult),
                                 std::to_string(m.resolution), human(static_cast<double>(m.params)),
                                 human(static_cast<double>(m.macs)),
                                 k == 0 ? std::string("-")
                                        : fmt("%.2f", static_cast<double>(m.macs) /
                                                          static_cast<double>(r.family[k - 1].macs))};
    for (std::size_t p = 0; p < r.profiles.size(); ++p)
      row.push_back(fmt("%.3f", m.latency_ms[p]) + (r.picks[p] == static_cast<int>(k) ? " *" : ""));
    for (std::size_t i = 0; i < row.size(); ++i) s += pad(row[i], w[i]);
    s += "\n";
  }
  s += "(latency in ms, roofline; MACs x: against the previous row)\n";
  if (r.family.size() > 1 && r.family.back().phi > r.family.front().phi)
    s += "MACs growth per phi (geometric mean, phi " + std::to_string(r.family.front().phi) + " to " +
         std::to_string(r.family.back().phi) + "): x" +
         fmt("%.3f", std::pow(static_cast<double>(r.family.back().macs) / static_cast<double>(r.family.front().macs),
                              1.0 / (r.family.back().phi - r.family.front().phi))) +
         "\n";
  if (r.latency_budget_ms) {
    s += "\nlatency budget " + fmt("%.4g", *r.latency_budget_ms) + " ms (* above):\n";
    for (std::size_t p = 0; p < r.profiles.size(); ++p)
      s += "  " + r.profiles[p] + ": " +
           (r.picks[p] < 0 ? std::string("no member fits")
                           : "phi " + std::to_string(r.family[static_cast<std::size_t>(r.picks[p])].phi) + ", " +
                                 fmt("%.3f", r.family[static_cast<std::size_t>(r.picks[p])].latency_ms[p]) + " ms") +
           "\n";
  }
  return s;
}

namespace {
json member_json(const ScaledModel& m, const std::vector<std::string>& profiles) {
  json lat = json::object();
  for (std::size_t p = 0; p < profiles.size(); ++p) lat[profiles[p]] = m.latency_ms[p];
  return {{"phi", m.phi}, {"depth_mult", m.depth_mult}, {"width_mult", m.width_mult}, {"resolution", m.resolution},
          {"params", m.params}, {"macs", m.macs}, {"peak_memory_mb", m.peak_memory_mb}, {"latency_ms", lat}};
}
}  // namespace

std::string to_json(const ScaleResult& r) {
  json j;
  j["format"] = "hwnas.scale/1";
  j["model"] = r.model;
  j["profiles"] = r.profiles;
  j["dtype"] = std::string(hw::dtype_name(r.dtype));
  j["batch"] = r.batch;
  j["coefficients"] = {{"alpha", r.c.alpha}, {"beta", r.c.beta}, {"gamma", r.c.gamma},
                       {"product", r.c.alpha * r.c.beta * r.c.beta * r.c.gamma * r.c.gamma}, {"source", r.source}};
  json grid = json::array();
  for (std::size_t k = 0; k < r.grid.size(); ++k) {
    const GridPoint& g = r.grid[k];
    json e = {{"alpha", g.c.alpha}, {"beta", g.c.beta}, {"gamma", g.c.gamma}, {"macs_ratio", g.macs_ratio},
              {"eligible", g.eligible}, {"best", static_cast<int>(k) == r.grid_best}};
    e["score"] = g.eligible ? json(g.score) : json(nullptr);
    e["member"] = member_json(g.member, r.profiles);
    grid.push_back(e);
  }
  j["grid"] = grid;
  json fam = json::array();
  for (const ScaledModel& m : r.family) fam.push_back(member_json(m, r.profiles));
  j["family"] = fam;
  j["latency_budget_ms"] = r.latency_budget_ms ? json(*r.latency_budget_ms) : json(nullptr);
  json picks = json::object();
  for (std::size_t p = 0; p < r.profiles.size(); ++p)
    picks[r.profiles[p]] = r.picks[p] < 0 ? json(nullptr) : json(r.family[static_cast<std::size_t>(r.picks[p])].phi);
  j["picks"] = picks;
  return j.dump(2) + "\n";
}

std::string to_csv(const ScaleResult& r) {
  std::string s = "phi,depth_mult,width_mult,resolution,params,macs,peak_memory_mb";
  for (const std::string& p : r.profiles) {
    s += ",latency_ms@";
    s += p;
  }
  s += '\n';
  for (const ScaledModel& m : r.family) {
    s += json(m.phi).dump() + "," + json(m.depth_mult).dump() + "," + json(m.width_mult).dump() + "," +
         std::to_string(m.resolution) + "," + std::to_string(m.params) + "," + std::to_string(m.macs) + "," +
         json(m.peak_memory_mb).dump();
    for (double l : m.latency_ms) {
      s += ',';
      s += json(l).dump();
    }
    s += '\n';
  }
  return s;
}

}  // namespace hwnas::search
