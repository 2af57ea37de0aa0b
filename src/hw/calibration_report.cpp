// The predicted-vs-measured scatter of `hwnas calibrate --report`.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hwnas/error.hpp"
#include "hwnas/hw/calibrate.hpp"

namespace hwnas::hw {
namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

std::string tick_label(double ms) {
  char b[32];
  if (ms >= 1) std::snprintf(b, sizeof b, "%g ms", ms);
  else std::snprintf(b, sizeof b, "%g us", ms * 1e3);
  return b;
}

}  // namespace

std::string scatter_svg(const std::vector<double>& measured_s, const std::vector<double>& predicted_s,
                        const std::string& title) {
  if (measured_s.size() != predicted_s.size() || measured_s.empty())
    throw Error("scatter_svg: measured and predicted need the same non-zero length");
  constexpr double W = 560, H = 560, L = 80, R = 20, T = 40, B = 60;
  double lo = 1e300, hi = 0;
  for (std::size_t i = 0; i < measured_s.size(); ++i)
    for (double v : {measured_s[i], predicted_s[i]})
      if (v > 0) lo = std::min(lo, v * 1e3), hi = std::max(hi, v * 1e3);
  const double a = std::floor(std::log10(lo)), b = std::max(a + 1, std::ceil(std::log10(hi)));
  auto px = [&](double ms) { return L + (std::log10(ms) - a) / (b - a) * (W - L - R); };
  auto py = [&](double ms) { return H - B - (std::log10(ms) - a) / (b - a) * (H - T - B); };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W) + "\" height=\"" + num(H) +
                  "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(W / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" + escape(title) + "</text>\n";
  // +-10 % band and y = x
  const double lo_ms = std::pow(10.0, a), hi_ms = std::pow(10.0, b);
  s += "<polygon fill=\"#dde8f5\" points=\"" + num(px(lo_ms)) + "," + num(py(lo_ms * 1.1)) + " " + num(px(hi_ms / 1.1)) +
       "," + num(py(hi_ms)) + " " + num(px(hi_ms)) + "," + num(py(hi_ms)) + " " + num(px(hi_ms)) + "," +
       num(py(hi_ms * 0.9)) + " " + num(px(lo_ms)) + "," + num(py(lo_ms * 0.9)) + "\"/>\n";
  s += "<line x1=\"" + num(px(lo_ms)) + "\" y1=\"" + num(py(lo_ms)) + "\" x2=\"" + num(px(hi_ms)) + "\" y2=\"" +
       num(py(hi_ms)) + "\" stroke=\"#4a78b0\"/>\n";
  for (double e = a; e <= b; e += 1) {
    const double ms = std::pow(10.0, e);
    s += "<line x1=\"" + num(px(ms)) + "\" y1=\"" + num(H - B) + "\" x2=\"" + num(px(ms)) + "\" y2=\"" + num(H - B + 5) +
         "\" stroke=\"black\"/><text x=\"" + num(px(ms)) + "\" y=\"" + num(H - B + 18) + "\" text-anchor=\"middle\">" +
         tick_label(ms) + "</text>\n";
    s += "<line x1=\"" + num(L - 5) + "\" y1=\"" + num(py(ms)) + "\" x2=\"" + num(L) + "\" y2=\"" + num(py(ms)) +
         "\" stroke=\"black\"/><text x=\"" + num(L - 8) + "\" y=\"" + num(py(ms) + 4) + "\" text-anchor=\"end\">" +
         tick_label(ms) + "</text>\n";
  }
  s += "<rect x=\"" + num(L) + "\" y=\"" + num(T) + "\" width=\"" + num(W - L - R) + "\" height=\"" + num(H - T - B) +
       "\" fill=\"none\" stroke=\"black\"/>\n";
  s += "<text x=\"" + num((L + W - R) / 2) + "\" y=\"" + num(H - 15) + "\" text-anchor=\"middle\">measured latency</text>\n";
  s += "<text transform=\"translate(18," + num((T + H - B) / 2) + ") rotate(-90)\" text-anchor=\"middle\">predicted latency</text>\n";
  for (std::size_t i = 0; i < measured_s.size(); ++i) {
    if (!(measured_s[i] > 0) || !(predicted_s[i] > 0)) continue;
    s += "<circle cx=\"" + num(px(measured_s[i] * 1e3)) + "\" cy=\"" + num(py(predicted_s[i] * 1e3)) +
         "\" r=\"3\" fill=\"#c0392b\" fill-opacity=\"0.6\"/>\n";
  }
  return s + "</svg>\n";
}

}  // namespace hwnas::hw
