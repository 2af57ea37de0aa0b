#pragma once
// Hand-written SVG charts for run reports (private to the report module).
#include <string>
#include <vector>

#include "run.hpp"

namespace hwnas::report {

enum class PointKind { front, dominated, infeasible, reference };

struct PlotPoint {
  std::vector<double> values;  // one per objective
  PointKind kind = PointKind::dominated;
  std::string label;           // tooltip
  std::string text;            // reference points: the name written next to the point
};

// Scatter of the objectives: one plot for two objectives, a grid of pairwise plots for three or
// more, the front highlighted and connected, dominated points grey, infeasible points as crosses,
// reference (zoo) points as labelled diamonds.
// `note` goes under the title (e.g. how many invalid candidates are not plotted).
std::string front_svg(const std::vector<Objective>& objectives, const std::vector<PlotPoint>& points,
                      const std::string& title, const std::string& note);

// A line chart of y against x (hypervolume against evaluations).
std::string line_svg(const std::vector<double>& x, const std::vector<double>& y, const std::string& title,
                     const std::string& x_label, const std::string& y_label);

// Text escaped for XML/HTML element content and attribute values.
std::string xml_escape(const std::string& s);

// A number for people: integers exactly, others with 4 significant digits.
std::string format_number(double v);

}  // namespace hwnas::report
