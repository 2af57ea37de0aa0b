// How long costing takes: every zoo model (parse + build + analyze), and MobileNetV2 in a
// loop split into its stages. Prints medians over repeated rounds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "hwnas/cost/cost.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/profile.hpp"

using namespace hwnas;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
double median_us(int rounds, int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < reps; ++i) f();
    t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() / reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::int64_t sink = 0;  // printed at the end so the work is not optimised away

}  // namespace

int main() {
  const hw::Profile prof = hw::load_profile("h100");
  std::printf("%-18s %8s %14s %16s %14s\n", "model", "nodes", "params", "MACs", "cost (us)");
  double zoo_total = 0;
  for (const auto& z : graph::zoo()) {
    const std::string& text = graph::zoo_text(z.name);
    const graph::Graph g = graph::parse_architecture(text, z.name);
    const auto r = cost::analyze(g, prof, hw::Dtype::fp16);
    const double us = median_us(5, 20, [&] {
      const auto gg = graph::parse_architecture(text, z.name);
      sink += cost::analyze(gg, prof, hw::Dtype::fp16).totals.macs;
    });
    zoo_total += us;
    std::printf("%-18s %8d %14lld %16lld %14.1f\n", z.name.c_str(), g.size(), static_cast<long long>(r.totals.params),
                static_cast<long long>(r.totals.macs), us);
  }
  std::printf("whole zoo: %.1f us (parse + build + analyze of every model once)\n\n", zoo_total);

  const std::string& mb = graph::zoo_text("mobilenet_v2");
  const graph::Graph g = graph::parse_architecture(mb, "mobilenet_v2");
  const double full = median_us(7, 2000, [&] {
    const auto gg = graph::parse_architecture(mb, "mobilenet_v2");
    sink += cost::analyze(gg, prof, hw::Dtype::fp32).totals.macs;
  });
  const double build = median_us(7, 2000, [&] { sink += graph::parse_architecture(mb, "mobilenet_v2").size(); });
  const double analyze = median_us(7, 5000, [&] { sink += cost::analyze(g, prof, hw::Dtype::fp32).totals.macs; });
  std::printf("mobilenet_v2 (%d nodes), one call in a loop, median of 7 rounds:\n", g.size());
  std::printf("  parse JSON + build graph + analyze: %8.2f us  (%.0f models/s on one core)\n", full, 1e6 / full);
  std::printf("  parse JSON + build graph:           %8.2f us\n", build);
  std::printf("  analyze an existing graph:          %8.2f us  (%.0f models/s on one core)\n", analyze, 1e6 / analyze);
  std::printf("(checksum %lld)\n", static_cast<long long>(sink));
  return 0;
}
