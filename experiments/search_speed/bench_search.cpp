// How fast a cost-only search runs on search_spaces/mobilenet_v2_space.json: the parts of one
// candidate's evaluation (decode = substitute the genome and build the graph, analyze = cost
// model), then whole NSGA-II runs (params and latency on h100, population 50) on 1 and 2
// threads, side by side in one process. Prints medians.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "hwnas/cost/cost.hpp"
#include "hwnas/hw/profile.hpp"
#include "hwnas/search/search.hpp"
#include "hwnas/space/space.hpp"

using namespace hwnas;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::int64_t sink = 0;

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "search_spaces/mobilenet_v2_space.json";
  const long budget = argc > 2 ? std::stol(argv[2]) : 20000;
  const space::Space s = space::Space::load(path);
  const hw::Profile prof = hw::load_profile("h100");
  std::printf("space %s: %zu genes, %.3g members\n", path.c_str(), s.genes().size(), s.size());

  // genomes of random members (fixed, so every round sees the same ones)
  std::vector<space::Genome> genomes;
  std::uint64_t x = 12345;
  for (int i = 0; i < 200; ++i) {
    space::Genome g;
    for (const auto& e : s.genes()) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      g.push_back(e.lo + static_cast<double>((x >> 33) % static_cast<std::uint64_t>(e.hi - e.lo + 1)));
    }
    genomes.push_back(s.canonical(g));
  }
  std::vector<graph::Graph> graphs;
  long nodes = 0;
  for (const auto& g : genomes) {
    graphs.push_back(s.decode(g));
    nodes += graphs.back().size();
  }
  std::vector<double> dec, ana;
  for (int r = 0; r < 7; ++r) {
    auto t0 = Clock::now();
    for (const auto& g : genomes) sink += s.decode(g).size();
    dec.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / genomes.size());
    t0 = Clock::now();
    for (const auto& g : graphs) sink += cost::analyze(g, prof, hw::Dtype::fp32).totals.macs;
    ana.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / graphs.size());
  }
  std::printf("one candidate (%.0f nodes on average), median of 7 rounds over 200 members, 1 thread:\n",
              static_cast<double>(nodes) / genomes.size());
  std::printf("  decode (genome -> graph)  %8.1f us\n  analyze (h100)            %8.1f us\n", median(dec), median(ana));

  search::Config c;
  c.space = path;
  c.budget = budget;
  c.population = 50;
  c.profiles = {"h100"};
  c.objectives = {{"params", false}, {"latency_ms@h100", false}};
  graph::BuildOptions bo;
  const search::CostEvaluator ev(s, bo, {prof}, hw::Dtype::fp32);
  std::printf("NSGA-II, budget %ld, population 50, objectives params and latency_ms@h100, no files:\n", budget);
  std::vector<double> rate1, rate2;
  for (int r = 0; r < 3; ++r) {
    for (int threads : {1, 2}) {
      search::RunOptions ro;
      ro.threads = threads;
      c.seed = static_cast<std::uint64_t>(r + 1);
      const auto res = search::run(c, ev, ro);
      const double rate = static_cast<double>(res.candidates.size()) / res.seconds;
      (threads == 1 ? rate1 : rate2).push_back(rate);
      std::printf("  seed %d, %d thread%s: %zu candidates in %.2f s = %.0f per second\n", r + 1, threads,
                  threads == 1 ? " " : "s", res.candidates.size(), res.seconds, rate);
    }
  }
  std::printf("median: 1 thread %.0f per second, 2 threads %.0f per second (%.2fx)\n", median(rate1), median(rate2),
              median(rate2) / median(rate1));
  std::printf("(checksum %lld)\n", static_cast<long long>(sink));
}
