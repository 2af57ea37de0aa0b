#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hwnas::report {
namespace {

const char* const kFront = "#1f6fb4";
const char* const kFrontEdge = "#0b3a66";
const char* const kDominated = "#a8a8a8";
const char* const kInfeasible = "#d62728";
const char* const kReference = "#2ca02c";
const char* const kAxis = "#333";
const char* const kGrid = "#e6e6e6";

std::string px(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

struct Axis {
  std::string label;
  double lo = 0, hi = 1;      // data range shown
  std::vector<double> ticks;
  double step = 1;
  double scale = 1;           // tick labels are divided by this and get `suffix`
  std::string suffix;
};

Axis make_axis(std::string label, double lo, double hi) {
  Axis a;
  a.label = std::move(label);
  if (!(hi > lo)) {
    const double span = lo != 0 ? std::abs(lo) * 0.1 : 1;
    lo -= span / 2;
    hi += span / 2;
  }
  const double pad = (hi - lo) * 0.05;
  a.lo = lo - pad;
  a.hi = hi + pad;
  const double raw = (a.hi - a.lo) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double f = raw / mag;
  a.step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  for (double t = std::ceil(a.lo / a.step) * a.step; t <= a.hi + a.step * 1e-9; t += a.step)
    a.ticks.push_back(std::abs(t) < a.step * 1e-9 ? 0 : t);
  const double big = std::max(std::abs(a.lo), std::abs(a.hi));
  if (big >= 1e9) a.scale = 1e9, a.suffix = "G";
  else if (big >= 1e6) a.scale = 1e6, a.suffix = "M";
  else if (big >= 1e4) a.scale = 1e3, a.suffix = "k";
  return a;
}

std::string tick_label(const Axis& a, double t) {
  const double step = a.step / a.scale;
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", decimals, t / a.scale);
  return b + a.suffix;
}

// "latency_ms@pi (ms) - lower is better"; `brief` (the grid of pairwise plots) ends in ", min".
std::string axis_label(const Objective& o, bool brief) {
  const std::string unit = metric_unit(o.metric);
  const std::string sense = brief ? (o.sense == Sense::min ? ", min" : ", max")
                                  : (o.sense == Sense::min ? " \u2014 lower is better" : " \u2014 higher is better");
  return o.metric + (unit.empty() ? "" : " (" + unit + ")") + sense;
}

// A plot area at (x, y) of size w x h (the axes' labels go outside it).
struct Frame {
  double x, y, w, h;
  Axis ax, ay;
  double sx(double v) const { return x + (v - ax.lo) / (ax.hi - ax.lo) * w; }
  double sy(double v) const { return y + h - (v - ay.lo) / (ay.hi - ay.lo) * h; }
};

void draw_frame(std::string& s, const Frame& f) {
  s += "<g font-size=\"11\" fill=\"" + std::string(kAxis) + "\">\n";
  for (double t : f.ax.ticks) {
    const std::string X = px(f.sx(t));
    s += "<line x1=\"" + X + "\" y1=\"" + px(f.y) + "\" x2=\"" + X + "\" y2=\"" + px(f.y + f.h) + "\" stroke=\"" +
         kGrid + "\"/>";
    s += "<line x1=\"" + X + "\" y1=\"" + px(f.y + f.h) + "\" x2=\"" + X + "\" y2=\"" + px(f.y + f.h + 5) +
         "\" stroke=\"" + kAxis + "\"/>";
    s += "<text x=\"" + X + "\" y=\"" + px(f.y + f.h + 18) + "\" text-anchor=\"middle\">" +
         xml_escape(tick_label(f.ax, t)) + "</text>\n";
  }
  for (double t : f.ay.ticks) {
    const std::string Y = px(f.sy(t));
    s += "<line x1=\"" + px(f.x) + "\" y1=\"" + Y + "\" x2=\"" + px(f.x + f.w) + "\" y2=\"" + Y + "\" stroke=\"" +
         kGrid + "\"/>";
    s += "<line x1=\"" + px(f.x - 5) + "\" y1=\"" + Y + "\" x2=\"" + px(f.x) + "\" y2=\"" + Y + "\" stroke=\"" +
         kAxis + "\"/>";
    s += "<text x=\"" + px(f.x - 8) + "\" y=\"" + px(f.sy(t) + 4) + "\" text-anchor=\"end\">" +
         xml_escape(tick_label(f.ay, t)) + "</text>\n";
  }
  s += "<rect x=\"" + px(f.x) + "\" y=\"" + px(f.y) + "\" width=\"" + px(f.w) + "\" height=\"" + px(f.h) +
       "\" fill=\"none\" stroke=\"" + kAxis + "\"/>\n";
  s += "<text x=\"" + px(f.x + f.w / 2) + "\" y=\"" + px(f.y + f.h + 38) +
       "\" text-anchor=\"middle\" font-size=\"12\">" + xml_escape(f.ax.label) + "</text>\n";
  const std::string cx = px(f.x - 62), cy = px(f.y + f.h / 2);
  s += "<text x=\"" + cx + "\" y=\"" + cy + "\" transform=\"rotate(-90 " + cx + " " + cy +
       ")\" text-anchor=\"middle\" font-size=\"12\">" + xml_escape(f.ay.label) + "</text>\n";
  s += "</g>\n";
}

std::string open_svg(double w, double h) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(w) + "\" height=\"" + px(h) + "\" viewBox=\"0 0 " +
         px(w) + " " + px(h) + "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" "
         "height=\"100%\" fill=\"white\"/>\n";
}

void cross(std::string& s, double x, double y, double r) {
  s += "M" + px(x - r) + " " + px(y - r) + "L" + px(x + r) + " " + px(y + r) + "M" + px(x - r) + " " + px(y + r) +
       "L" + px(x + r) + " " + px(y - r);
}

void draw_points(std::string& s, const Frame& f, const std::vector<PlotPoint>& pts, std::size_t i, std::size_t j,
                 Sense si, Sense sj) {
  s += "<g fill=\"" + std::string(kDominated) + "\" fill-opacity=\"0.75\">\n";
  for (const PlotPoint& p : pts)
    if (p.kind == PointKind::dominated)
      s += "<circle cx=\"" + px(f.sx(p.values[i])) + "\" cy=\"" + px(f.sy(p.values[j])) + "\" r=\"2.6\"><title>" +
           xml_escape(p.label) + "</title></circle>\n";
  s += "</g>\n<g stroke=\"" + std::string(kInfeasible) + "\" stroke-width=\"1.4\" fill=\"none\">\n";
  for (const PlotPoint& p : pts)
    if (p.kind == PointKind::infeasible) {
      s += "<path d=\"";
      cross(s, f.sx(p.values[i]), f.sy(p.values[j]), 3);
      s += "\"><title>" + xml_escape(p.label) + "</title></path>\n";
    }
  s += "</g>\n";
  // The front, connected through the points that are non-dominated in this pair of objectives.
  std::vector<Point> proj;
  std::vector<const PlotPoint*> fp;
  for (const PlotPoint& p : pts)
    if (p.kind == PointKind::front) {
      proj.push_back({{p.values[i], p.values[j]}, 0});
      fp.push_back(&p);
    }
  std::vector<int> line = pareto_front(proj, {si, sj});
  std::sort(line.begin(), line.end(), [&](int a, int b) {
    return proj[static_cast<std::size_t>(a)].values < proj[static_cast<std::size_t>(b)].values;
  });
  if (line.size() > 1) {
    s += "<polyline fill=\"none\" stroke=\"" + std::string(kFront) + "\" stroke-width=\"1.6\" points=\"";
    for (int k : line) {
      const auto& v = proj[static_cast<std::size_t>(k)].values;
      s += px(f.sx(v[0])) + "," + px(f.sy(v[1])) + " ";
    }
    s += "\"/>\n";
  }
  s += "<g fill=\"" + std::string(kFront) + "\" stroke=\"" + kFrontEdge + "\" stroke-width=\"0.8\">\n";
  for (const PlotPoint* p : fp)
    s += "<circle cx=\"" + px(f.sx(p->values[i])) + "\" cy=\"" + px(f.sy(p->values[j])) + "\" r=\"4\"><title>" +
         xml_escape(p->label) + "</title></circle>\n";
  s += "</g>\n<g font-size=\"11\">\n";
  for (const PlotPoint& p : pts)
    if (p.kind == PointKind::reference) {
      const double x = f.sx(p.values[i]), y = f.sy(p.values[j]);
      s += "<path d=\"M" + px(x) + " " + px(y - 6) + "L" + px(x + 6) + " " + px(y) + "L" + px(x) + " " + px(y + 6) +
           "L" + px(x - 6) + " " + px(y) + "Z\" fill=\"" + kReference + "\" stroke=\"#145214\" stroke-width=\"0.8\"><title>" +
           xml_escape(p.label) + "</title></path>";
      // the name right of the point, or left of it in the right third of the panel
      const bool left = x > f.x + f.w * 2 / 3;
      s += "<text x=\"" + px(left ? x - 9 : x + 9) + "\" y=\"" + px(y - 7) + "\" text-anchor=\"" +
           (left ? "end" : "start") + "\" fill=\"#145214\">" + xml_escape(p.text) + "</text>\n";
    }
  s += "</g>\n";
}

void legend(std::string& s, double x, double y, std::size_t front, std::size_t dominated, std::size_t infeasible,
            std::size_t references) {
  s += "<g font-size=\"12\" fill=\"" + std::string(kAxis) + "\">\n";
  s += "<line x1=\"" + px(x) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x + 22) + "\" y2=\"" + px(y) + "\" stroke=\"" +
       kFront + "\" stroke-width=\"1.6\"/><circle cx=\"" + px(x + 11) + "\" cy=\"" + px(y) + "\" r=\"4\" fill=\"" +
       kFront + "\" stroke=\"" + kFrontEdge + "\" stroke-width=\"0.8\"/>";
  s += "<text x=\"" + px(x + 28) + "\" y=\"" + px(y + 4) + "\">Pareto front (" + std::to_string(front) + ")</text>\n";
  x += 170;
  s += "<circle cx=\"" + px(x + 11) + "\" cy=\"" + px(y) + "\" r=\"2.6\" fill=\"" + kDominated + "\"/>";
  s += "<text x=\"" + px(x + 28) + "\" y=\"" + px(y + 4) + "\">dominated (" + std::to_string(dominated) + ")</text>\n";
  x += 150;
  s += "<path d=\"";
  cross(s, x + 11, y, 3);
  s += "\" stroke=\"" + std::string(kInfeasible) + "\" stroke-width=\"1.4\"/>";
  s += "<text x=\"" + px(x + 28) + "\" y=\"" + px(y + 4) + "\">infeasible (" + std::to_string(infeasible) + ")</text>\n";
  if (references) {
    x += 150;
    s += "<path d=\"M" + px(x + 11) + " " + px(y - 6) + "L" + px(x + 17) + " " + px(y) + "L" + px(x + 11) + " " +
         px(y + 6) + "L" + px(x + 5) + " " + px(y) + "Z\" fill=\"" + kReference + "\"/>";
    s += "<text x=\"" + px(x + 28) + "\" y=\"" + px(y + 4) + "\">zoo reference (" + std::to_string(references) + ")</text>\n";
  }
  s += "</g>\n";
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_number(double v) {
  char b[48];
  if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 1e15) std::snprintf(b, sizeof b, "%.0f", v);
  else std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string front_svg(const std::vector<Objective>& objectives, const std::vector<PlotPoint>& points,
                      const std::string& title, const std::string& note) {
  const std::size_t m = objectives.size();
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = i + 1; j < m; ++j) pairs.emplace_back(i, j);
  if (pairs.empty()) pairs.emplace_back(0, 0);  // one objective: plotted against itself
  const std::size_t cols = std::min<std::size_t>(pairs.size(), 3);
  const std::size_t rows = (pairs.size() + cols - 1) / cols;
  const double panel_w = pairs.size() == 1 ? 680 : 420, panel_h = pairs.size() == 1 ? 460 : 340;
  const double header = 78;
  const double width = std::max(560.0, panel_w * static_cast<double>(cols));
  std::string s = open_svg(width, header + panel_h * static_cast<double>(rows));
  s += "<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\">" + xml_escape(title) + "</text>\n";
  std::string sub = note;
  if (pairs.size() > 1)
    sub += (sub.empty() ? "" : "; ") +
           std::string("min: lower is better, max: higher is better; lines join the front points "
                       "non-dominated in each pair");
  if (!sub.empty()) s += "<text x=\"16\" y=\"44\" font-size=\"12\" fill=\"#555\">" + xml_escape(sub) + "</text>\n";
  std::size_t counts[4] = {0, 0, 0, 0};
  for (const PlotPoint& p : points) ++counts[static_cast<int>(p.kind)];
  legend(s, 20, 64, counts[0], counts[1], counts[2], counts[3]);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const auto [i, j] = pairs[k];
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (const PlotPoint& p : points) {
      lo[0] = std::min(lo[0], p.values[i]), hi[0] = std::max(hi[0], p.values[i]);
      lo[1] = std::min(lo[1], p.values[j]), hi[1] = std::max(hi[1], p.values[j]);
    }
    if (points.empty()) lo[0] = lo[1] = 0, hi[0] = hi[1] = 1;
    const double ox = panel_w * static_cast<double>(k % cols), oy = header + panel_h * static_cast<double>(k / cols);
    Frame f{ox + 86, oy + 14, panel_w - 86 - 22, panel_h - 14 - 56,
            make_axis(axis_label(objectives[i], pairs.size() > 1), lo[0], hi[0]),
            make_axis(axis_label(objectives[j], pairs.size() > 1), lo[1], hi[1])};
    draw_frame(s, f);
    draw_points(s, f, points, i, j, objectives[i].sense, objectives[j].sense);
  }
  return s + "</svg>\n";
}

std::string line_svg(const std::vector<double>& x, const std::vector<double>& y, const std::string& title,
                     const std::string& x_label, const std::string& y_label) {
  const double w = 680, h = 300;
  std::string s = open_svg(w, h);
  s += "<text x=\"16\" y=\"22\" font-size=\"14\" font-weight=\"bold\">" + xml_escape(title) + "</text>\n";
  double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
  for (std::size_t k = 0; k < x.size(); ++k)
    xl = std::min(xl, x[k]), xh = std::max(xh, x[k]), yl = std::min(yl, y[k]), yh = std::max(yh, y[k]);
  if (x.empty()) xl = yl = 0, xh = yh = 1;
  const Frame f{86, 36, w - 86 - 22, h - 36 - 56, make_axis(x_label, xl, xh), make_axis(y_label, yl, yh)};
  draw_frame(s, f);
  if (!x.empty()) {
    s += "<polyline fill=\"none\" stroke=\"" + std::string(kFront) + "\" stroke-width=\"1.8\" points=\"";
    for (std::size_t k = 0; k < x.size(); ++k) s += px(f.sx(x[k])) + "," + px(f.sy(y[k])) + " ";
    s += "\"/>\n";
  }
  return s + "</svg>\n";
}

}  // namespace hwnas::report
