#include "hwnas/report/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "hwnas/files.hpp"
#include "hwnas/report/pareto.hpp"
#include "plot.hpp"
#include "run.hpp"

namespace hwnas::report {
namespace {

using json = nlohmann::ordered_json;

struct Analysis {
  std::vector<int> evaluated;  // candidates with metrics (status ok or infeasible)
  std::vector<Point> points;   // one per evaluated candidate
  std::vector<int> front;      // candidate indices, best first in the first objective
  std::size_t ok = 0, infeasible = 0, invalid = 0;
  double hypervolume = 0;
  std::vector<double> curve_x, curve_hv;  // hypervolume after the first x evaluations
};

std::vector<Sense> senses_of(const Run& run) {
  std::vector<Sense> s;
  for (const Objective& o : run.objectives) s.push_back(o.sense);
  return s;
}

Analysis analyze(const Run& run) {
  Analysis a;
  const std::vector<Sense> senses = senses_of(run);
  for (std::size_t i = 0; i < run.candidates.size(); ++i) {
    const Candidate& c = run.candidates[i];
    if (c.status == "invalid") {
      ++a.invalid;
      continue;
    }
    (c.status == "ok" ? a.ok : a.infeasible) += 1;
    Point p;
    for (const Objective& o : run.objectives) p.values.push_back(c.metrics.at(o.metric));
    p.violation = c.status == "ok" ? 0 : 1;
    a.evaluated.push_back(static_cast<int>(i));
    a.points.push_back(std::move(p));
  }
  for (int k : pareto_front(a.points, senses)) a.front.push_back(a.evaluated[static_cast<std::size_t>(k)]);
  std::sort(a.front.begin(), a.front.end(), [&](int x, int y) {
    const Candidate &cx = run.candidates[static_cast<std::size_t>(x)], &cy = run.candidates[static_cast<std::size_t>(y)];
    for (const Objective& o : run.objectives) {
      const double vx = cx.metrics.at(o.metric), vy = cy.metrics.at(o.metric);
      if (vx != vy) return o.sense == Sense::min ? vx < vy : vx > vy;
    }
    return x < y;
  });
  a.hypervolume = hypervolume(a.points, senses, run.reference);

  // Hypervolume against evaluations: keep the running front and measure it at up to 100 (20 for
  // four objectives or more) evenly spaced evaluation counts.
  const std::size_t n = run.candidates.size();
  const std::size_t marks = std::min<std::size_t>(n, run.objectives.size() > 3 ? 20 : 100);
  std::vector<Point> running;
  std::size_t next_point = 0;
  for (std::size_t m = 1; m <= marks; ++m) {
    const std::size_t upto = (n * m + marks - 1) / marks;  // evaluations seen at this mark
    for (; next_point < a.evaluated.size() && static_cast<std::size_t>(a.evaluated[next_point]) < upto; ++next_point) {
      const Point& p = a.points[next_point];
      if (p.violation > 0) continue;
      if (std::any_of(running.begin(), running.end(), [&](const Point& q) { return dominates(q, p, senses); }))
        continue;
      running.erase(std::remove_if(running.begin(), running.end(), [&](const Point& q) { return dominates(p, q, senses); }),
                    running.end());
      running.push_back(p);
    }
    a.curve_x.push_back(static_cast<double>(upto));
    a.curve_hv.push_back(hypervolume(running, senses, run.reference));
  }
  return a;
}

// A reference model's objective values; false when one is missing (e.g. accuracy for a zoo model
// of a run without training).
bool reference_values(const Run& run, const Reference& r, std::vector<double>& out) {
  out.clear();
  for (const Objective& o : run.objectives) {
    const auto it = r.metrics.find(o.metric);
    if (it == r.metrics.end()) return false;
    out.push_back(it->second);
  }
  return true;
}

// Whether a reference model meets every constraint of the run (a missing metric does not).
bool reference_feasible(const Run& run, const Reference& r) {
  for (const Constraint& k : run.constraints) {
    const auto it = r.metrics.find(k.metric);
    if (it == r.metrics.end() || !satisfied(k, it->second)) return false;
  }
  return true;
}

// Ids of the front candidates that dominate the reference model (every objective at least as
// good, one better).
std::vector<long long> dominating(const Run& run, const Analysis& a, const std::vector<double>& v) {
  std::vector<long long> ids;
  const Point p{v, 0};
  const std::vector<Sense> senses = senses_of(run);
  for (int i : a.front) {
    const Candidate& c = run.candidates[static_cast<std::size_t>(i)];
    Point q;
    for (const Objective& o : run.objectives) q.values.push_back(c.metrics.at(o.metric));
    if (dominates(q, p, senses)) ids.push_back(c.id);
  }
  return ids;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

std::string sense_name(Sense s) { return s == Sense::min ? "min" : "max"; }

// The genome as people read it: name=value pairs when the run named the genes.
std::string genome_text(const Candidate& c) {
  if (c.genome_named.is_object() && !c.genome_named.empty()) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : c.genome_named.items()) parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    return join(parts, " ");
  }
  return c.genome.is_null() ? "" : c.genome.dump();
}

// Metric columns: the objectives, then the constraint metrics, then every other metric of the front.
std::vector<std::string> metric_columns(const Run& run, const std::vector<int>& rows) {
  std::vector<std::string> cols;
  auto add = [&](const std::string& m) {
    if (std::find(cols.begin(), cols.end(), m) == cols.end()) cols.push_back(m);
  };
  for (const Objective& o : run.objectives) add(o.metric);
  for (const Constraint& c : run.constraints) add(c.metric);
  std::set<std::string> rest;
  for (int i : rows)
    for (const auto& [k, v] : run.candidates[static_cast<std::size_t>(i)].metrics) rest.insert(k);
  for (const std::string& m : rest) add(m);
  return cols;
}

std::string front_json(const Run& run, const Analysis& a) {
  json j;
  j["format"] = "hwnas.front/1";
  json objs = json::array();
  for (const Objective& o : run.objectives) objs.push_back({{"metric", o.metric}, {"sense", sense_name(o.sense)}});
  j["objectives"] = objs;
  j["reference_point"] = run.reference;
  j["hypervolume"] = a.hypervolume;
  j["counts"] = {{"candidates", run.candidates.size()}, {"ok", a.ok}, {"infeasible", a.infeasible},
                 {"invalid", a.invalid}, {"front", a.front.size()}};
  json front = json::array();
  for (int i : a.front) {
    const Candidate& c = run.candidates[static_cast<std::size_t>(i)];
    json e;
    e["id"] = c.id;
    e["name"] = c.name;
    e["generation"] = c.generation;
    e["genome"] = c.genome;
    e["genome_named"] = c.genome_named.is_null() ? json::object() : c.genome_named;
    json m = json::object();
    for (const auto& [k, v] : c.metrics) m[k] = v;
    e["metrics"] = m;
    front.push_back(e);
  }
  j["front"] = front;
  json refs = json::array();
  for (const Reference& r : run.references) {
    json e;
    e["name"] = r.name;
    json m = json::object();
    for (const auto& [k, v] : r.metrics) m[k] = v;
    e["metrics"] = m;
    e["feasible"] = reference_feasible(run, r);
    std::vector<double> v;
    e["dominated_by_front"] = reference_values(run, r, v) ? json(!dominating(run, a, v).empty()) : json(nullptr);
    refs.push_back(e);
  }
  j["references"] = refs;
  return j.dump(2) + "\n";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Integral values (counts) as integers, others in the shortest form that reads back exactly.
std::string csv_number(double v) {
  if (v == std::floor(v) && std::abs(v) < 9.007199254740992e15) return std::to_string(static_cast<long long>(v));
  return json(v).dump();
}

std::string front_csv(const Run& run, const Analysis& a) {
  const std::vector<std::string> cols = metric_columns(run, a.front);
  std::vector<std::string> header{"id", "name", "generation"};
  for (const std::string& m : cols) header.push_back(csv_field(m));
  header.push_back("genome");
  std::string s = join(header, ",") + "\n";
  for (int i : a.front) {
    const Candidate& c = run.candidates[static_cast<std::size_t>(i)];
    std::vector<std::string> row{std::to_string(c.id), csv_field(c.name), std::to_string(c.generation)};
    for (const std::string& m : cols) {
      const auto it = c.metrics.find(m);
      row.push_back(it == c.metrics.end() ? std::string() : csv_number(it->second));
    }
    row.push_back(csv_field(genome_text(c)));
    s += join(row, ",");
    s += '\n';
  }
  return s;
}

std::string point_label(const Run& run, const Candidate& c) {
  std::string s = (c.name.empty() ? "candidate" : c.name) + " (id " + std::to_string(c.id) + ")";
  for (const Objective& o : run.objectives) s += ", " + o.metric + " = " + format_number(c.metrics.at(o.metric));
  if (c.status == "infeasible" && !c.reason.empty()) s += "; " + c.reason;
  return s;
}

std::string config_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return format_number(v.get<double>());
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const json& e : v) parts.push_back(config_value(e));
    return join(parts, ", ");
  }
  return v.dump();
}

std::string space_name(const Run& run) {
  const auto it = run.config.find("space");
  return it != run.config.end() && it->is_string() ? std::filesystem::path(it->get<std::string>()).stem().string()
                                                   : std::string("search");
}

std::string plot_svg(const Run& run, const Analysis& a) {
  std::vector<PlotPoint> pts;
  std::set<int> front(a.front.begin(), a.front.end());
  for (std::size_t k = 0; k < a.evaluated.size(); ++k) {
    const int i = a.evaluated[k];
    const Candidate& c = run.candidates[static_cast<std::size_t>(i)];
    const PointKind kind = front.count(i)                 ? PointKind::front
                           : c.status == "infeasible"     ? PointKind::infeasible
                                                          : PointKind::dominated;
    pts.push_back({a.points[k].values, kind, point_label(run, c), ""});
  }
  std::vector<std::string> unplotted;
  for (const Reference& r : run.references) {
    std::vector<double> v;
    if (!reference_values(run, r, v)) {
      unplotted.push_back(r.name);
      continue;
    }
    std::string label = r.name + " (zoo reference)";
    for (std::size_t k = 0; k < v.size(); ++k) label += ", " + run.objectives[k].metric + " = " + format_number(v[k]);
    pts.push_back({v, PointKind::reference, label, r.name});
  }
  const std::string title = "Pareto front: " + space_name(run) + ", " + std::to_string(run.candidates.size()) +
                            " evaluations";
  std::vector<std::string> ref;
  for (double r : run.reference) ref.push_back(format_number(r));
  std::string note = "hypervolume " + format_number(a.hypervolume) + " against reference (" + join(ref, ", ") + ")";
  if (a.invalid) note += "; " + std::to_string(a.invalid) + " invalid candidates not plotted";
  if (!unplotted.empty()) note += "; references without every objective not plotted: " + join(unplotted, ", ");
  return front_svg(run.objectives, pts, title, note);
}

std::string html_table_row(const std::vector<std::string>& cells, const char* tag = "td") {
  std::string s = "<tr>";
  for (const std::string& c : cells) s += std::string("<") + tag + ">" + xml_escape(c) + "</" + tag + ">";
  return s + "</tr>\n";
}

std::string report_html(const Run& run, const Analysis& a, const std::string& svg) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>hwnas run report: " +
      xml_escape(space_name(run)) +
      "</title>\n<style>\nbody{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:"
      "1400px}\nh1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}\ntable{border-"
      "collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}\nth{background:"
      "#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\n.genome{font-family:DejaVu Sans Mono,"
      "monospace;font-size:12px}\n.fig{overflow-x:auto}\n</style></head><body>\n";
  h += "<h1>hwnas run report: " + xml_escape(run.dir) + "</h1>\n";

  h += "<h2>Configuration</h2>\n<table>\n";
  for (const auto& [k, v] : run.config.items()) {
    if (k == "objectives" || k == "constraints" || k == "reference_point" || k == "references") continue;
    h += html_table_row({k, config_value(v)});
  }
  std::vector<std::string> objs, cons, ref;
  for (const Objective& o : run.objectives) objs.push_back(o.metric + " (" + sense_name(o.sense) + ")");
  for (const Constraint& c : run.constraints) cons.push_back(c.text);
  for (std::size_t i = 0; i < run.reference.size(); ++i)
    ref.push_back(run.objectives[i].metric + " = " + format_number(run.reference[i]));
  h += html_table_row({"objectives", join(objs, ", ")});
  h += html_table_row({"constraints", cons.empty() ? "none" : join(cons, ", ")});
  h += html_table_row({"hypervolume reference point", join(ref, ", ")});
  h += "</table>\n";

  h += "<h2>Counts</h2>\n<table>\n";
  double eval_s = 0;
  for (const Candidate& c : run.candidates) eval_s += c.eval_s;
  h += html_table_row({"evaluated", std::to_string(run.candidates.size())});
  h += html_table_row({"feasible (ok)", std::to_string(a.ok)});
  h += html_table_row({"infeasible", std::to_string(a.infeasible)});
  h += html_table_row({"invalid", std::to_string(a.invalid)});
  h += html_table_row({"Pareto front", std::to_string(a.front.size())});
  h += html_table_row({"hypervolume", format_number(a.hypervolume)});
  h += html_table_row({"evaluation time (sum of eval_s)", format_number(eval_s) + " s"});
  h += "</table>\n";

  if (a.infeasible) {
    // Which constraints the infeasible candidates break, checked against their metrics.
    h += "<h3>Infeasible candidates by constraint</h3>\n<table>\n" +
         html_table_row({"constraint", "candidates violating it"}, "th");
    for (const Constraint& k : run.constraints) {
      std::size_t n = 0;
      for (const Candidate& c : run.candidates) {
        const auto it = c.metrics.find(k.metric);
        if (c.status == "infeasible" && it != c.metrics.end() && !satisfied(k, it->second)) ++n;
      }
      h += html_table_row({k.text, std::to_string(n)});
    }
    h += "</table>\n";
  }
  if (a.invalid) {
    std::map<std::string, std::size_t> reasons;
    for (const Candidate& c : run.candidates)
      if (c.status == "invalid") ++reasons[c.reason.empty() ? "(no reason given)" : c.reason];
    std::vector<std::pair<std::string, std::size_t>> sorted(reasons.begin(), reasons.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    h += "<h3>Invalid candidates by reason</h3>\n<table>\n" + html_table_row({"reason", "candidates"}, "th");
    for (const auto& [r, n] : sorted) h += html_table_row({r, std::to_string(n)});
    h += "</table>\n";
  }

  h += "<h2>Objectives</h2>\n<div class=\"fig\">\n" + svg + "</div>\n";
  if (!run.references.empty()) {
    // zoo models evaluated like the candidates: where they stand against the front
    std::vector<std::string> rcols;
    for (const Objective& o : run.objectives) rcols.push_back(o.metric);
    for (const Constraint& k : run.constraints)
      if (std::find(rcols.begin(), rcols.end(), k.metric) == rcols.end()) rcols.push_back(k.metric);
    h += "<h3>Zoo reference models</h3>\n<table>\n<tr><th>model</th>";
    for (const std::string& m : rcols) h += "<th>" + xml_escape(m) + "</th>";
    h += "<th>meets the constraints</th><th>front candidates that dominate it</th></tr>\n";
    for (const Reference& r : run.references) {
      h += "<tr><td>" + xml_escape(r.name) + "</td>";
      for (const std::string& m : rcols) {
        const auto it = r.metrics.find(m);
        h += "<td class=\"n\">" + (it == r.metrics.end() ? std::string("-") : format_number(it->second)) + "</td>";
      }
      std::vector<double> v;
      std::string dom = "-";
      if (reference_values(run, r, v)) {
        const std::vector<long long> ids = dominating(run, a, v);
        std::vector<std::string> shown;
        for (std::size_t k = 0; k < ids.size() && k < 10; ++k) shown.push_back(std::to_string(ids[k]));
        dom = ids.empty() ? "none" : std::to_string(ids.size()) + " (ids " + join(shown, ", ") + (ids.size() > 10 ? ", ..." : "") + ")";
      }
      h += "<td>" + std::string(reference_feasible(run, r) ? "yes" : "no") + "</td><td>" + xml_escape(dom) + "</td></tr>\n";
    }
    h += "</table>\n";
  }
  h += "<h2>Hypervolume against evaluations</h2>\n<div class=\"fig\">\n" +
       line_svg(a.curve_x, a.curve_hv, "Hypervolume of the feasible front found so far", "evaluations",
                "hypervolume") +
       "</div>\n";

  h += "<h2>Pareto front (" + std::to_string(a.front.size()) + " candidates)</h2>\n<table>\n";
  const std::vector<std::string> cols = metric_columns(run, a.front);
  h += "<tr><th>#</th><th>id</th><th>name</th><th>generation</th>";
  for (const std::string& m : cols) h += "<th>" + xml_escape(m) + "</th>";
  h += "<th>genome</th></tr>\n";
  for (std::size_t r = 0; r < a.front.size(); ++r) {
    const Candidate& c = run.candidates[static_cast<std::size_t>(a.front[r])];
    h += "<tr><td class=\"n\">" + std::to_string(r + 1) + "</td><td class=\"n\">" + std::to_string(c.id) +
         "</td><td>" + xml_escape(c.name) + "</td><td class=\"n\">" + std::to_string(c.generation) + "</td>";
    for (const std::string& m : cols) {
      const auto it = c.metrics.find(m);
      h += "<td class=\"n\">" + (it == c.metrics.end() ? std::string() : format_number(it->second)) + "</td>";
    }
    h += "<td class=\"genome\">" + xml_escape(genome_text(c)) + "</td></tr>\n";
  }
  h += "</table>\n<p>Files: front.json, front.csv, front.svg, candidates.jsonl, run.json. Made by <code>hwnas "
       "report</code>.</p>\n</body></html>\n";
  return h;
}

}  // namespace

RunSummary write_run_report(const std::string& dir) {
  const Run run = read_run(dir);
  const Analysis a = analyze(run);
  const std::filesystem::path d(dir);
  const std::string svg = plot_svg(run, a);
  write_file_atomic((d / "front.json").string(), front_json(run, a));
  write_file_atomic((d / "front.csv").string(), front_csv(run, a));
  write_file_atomic((d / "front.svg").string(), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg);
  write_file_atomic((d / "report.html").string(), report_html(run, a, svg));
  return {run.candidates.size(), a.ok, a.front.size(), a.hypervolume};
}

}  // namespace hwnas::report
