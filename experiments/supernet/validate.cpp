// Does the supernet rank sub-networks as training them does? Samples members of a space spread
// over its MACs range (stratified: the members at evenly spaced MACs quantiles of a large random
// sample), evaluates each with weights inherited from a trained supernet (batch norm
// recalibrated) and trained stand-alone with one recipe, and reports Kendall's tau between the
// two accuracies, with the whole table.
//
//   validate <space.json> <supernet dir> <members> <train images> <epochs> <test images> [seed]
//   validate --genomes <space.json> <file of genomes, one per line> <train images> <epochs> <test images> [seed]
//
// The second form trains the listed genomes stand-alone only (the retraining of a search's best).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/exec/network.hpp"
#include "hwnas/exec/train.hpp"
#include "hwnas/hw/profile.hpp"
#include "hwnas/search/supernet.hpp"

using namespace hwnas;

namespace {

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Kendall's tau-b (ties in either list counted as neither concordant nor discordant).
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  double conc = 0, disc = 0, ta = 0, tb = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const double x = a[i] - a[j], y = b[i] - b[j];
      if (x == 0 && y == 0) continue;
      if (x == 0) ++ta;
      else if (y == 0) ++tb;
      else if ((x > 0) == (y > 0)) ++conc;
      else ++disc;
    }
  return (conc - disc) / std::sqrt((conc + disc + ta) * (conc + disc + tb));
}

exec::TrainConfig recipe(int epochs, std::uint64_t seed) {
  exec::TrainConfig cfg;
  cfg.epochs = epochs;
  cfg.batch = 128;
  cfg.lr = 0.05;
  cfg.seed = seed;
  cfg.threads = 2;
  cfg.measure_latency = false;
  return cfg;
}

int retrain(char** argv, int argc) {
  const space::Space sp = space::Space::load(argv[2]);
  std::ifstream in(argv[3]);
  const exec::Dataset data = exec::load_fashion_mnist(exec::kFashionMnistDir, std::stoll(argv[4]), std::stoll(argv[6]));
  const exec::TrainConfig cfg = recipe(std::stoi(argv[5]), argc > 7 ? std::stoull(argv[7]) : 0);
  const hw::Profile prof = hw::load_profile("h100");
  std::printf("%-32s %10s %9s %10s %8s\n", "genome", "MACs", "params", "standalone", "train_s");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const space::Genome g = space::parse_genome(line);
    const graph::Graph gr = sp.decode(g);
    const auto t0 = std::chrono::steady_clock::now();
    const exec::TrainResult r = exec::train_and_evaluate(gr, cfg, data);
    const cost::Totals tot = cost::analyze(gr, prof, hw::Dtype::fp32).totals;
    std::printf("%-32s %10lld %9lld %10.4f %8.1f\n", space::genome_text(g).c_str(), static_cast<long long>(tot.macs),
                static_cast<long long>(tot.params), r.accuracy, since(t0));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc >= 7 && std::string(argv[1]) == "--genomes") return retrain(argv, argc);
  if (argc < 7) {
    std::fprintf(stderr, "usage: validate <space.json> <supernet dir> <members> <train images> <epochs> <test images> [seed]\n"
                         "       validate --genomes <space.json> <genomes file> <train images> <epochs> <test images> [seed]\n");
    return 2;
  }
  const space::Space sp = space::Space::load(argv[1]);
  const std::string dir = argv[2];
  const int members = std::stoi(argv[3]);
  const std::int64_t train_images = std::stoll(argv[4]), test_images = std::stoll(argv[6]);
  const int epochs = std::stoi(argv[5]);
  const std::uint64_t seed = argc > 7 ? std::stoull(argv[7]) : 0;

  search::Supernet net(sp);
  net.load(dir + "/supernet.ckpt");
  const hw::Profile prof = hw::load_profile("h100");
  // a large random sample, ordered by MACs; the members at evenly spaced quantiles
  std::mt19937_64 rng(seed + 17);
  std::set<space::Genome> seen;
  std::vector<std::pair<std::int64_t, space::Genome>> pool;
  for (int i = 0; i < 4000; ++i) {
    const space::Genome g = net.sample(rng);
    if (!seen.insert(g).second) continue;
    pool.emplace_back(cost::analyze(sp.decode(g), prof, hw::Dtype::fp32).totals.macs, g);
  }
  std::sort(pool.begin(), pool.end());
  std::vector<space::Genome> chosen;
  for (int k = 0; k < members; ++k)
    chosen.push_back(pool[static_cast<std::size_t>(std::llround((pool.size() - 1) * (k + 0.5) / members))].second);
  std::printf("space %s: %zu distinct random members, %d chosen at evenly spaced MACs quantiles\n", sp.source().c_str(), pool.size(), members);
  std::printf("supernet %s; inherited: batch norm recalibrated on 10 batches of 128 training images; stand-alone: %lld training images, %d epoch(s), batch 128, lr 0.05 cosine, seed %llu; test: first %lld images\n",
              dir.c_str(), static_cast<long long>(train_images), epochs, static_cast<unsigned long long>(seed),
              static_cast<long long>(test_images));

  // the copy cost of weight sharing: decode, slice the supernet's weights in, plan the Network (batch 128)
  {
    std::vector<double> t;
    for (const auto& g : chosen) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto m = net.member(g, 128);
      exec::Network nw(m->graph, *m->params);
      t.push_back(since(t0));
    }
    std::sort(t.begin(), t.end());
    std::printf("member set-up (decode + slice weights in + plan the Network at batch 128): median %.2f ms, max %.2f ms\n",
                t[t.size() / 2] * 1e3, t.back() * 1e3);
  }
  const exec::Dataset data = exec::load_fashion_mnist(exec::kFashionMnistDir, train_images, test_images);
  const exec::TrainConfig cfg = recipe(epochs, seed);
  // the cheaper setting of the one-shot search run: 2 calibration batches, the first 500 test images
  exec::Dataset quick = data;
  const std::int64_t quick_test = std::min<std::int64_t>(500, data.test_count());
  quick.test_images.resize(static_cast<std::size_t>(quick_test * data.channels * data.height * data.width));
  quick.test_labels.resize(static_cast<std::size_t>(quick_test));
  std::vector<double> inherited, inherited_quick, standalone;
  double inherit_s = 0, train_s = 0;
  std::printf("%-3s %-32s %10s %9s %9s %9s %10s\n", "#", "genome", "MACs", "params", "inherited", "inh_quick", "standalone");
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    const graph::Graph gr = sp.decode(chosen[k]);
    const cost::Totals tot = cost::analyze(gr, prof, hw::Dtype::fp32).totals;
    auto t0 = std::chrono::steady_clock::now();
    const search::Inherited a = search::evaluate_inherited(net, chosen[k], data, {});
    inherit_s += since(t0);
    const search::Inherited q = search::evaluate_inherited(net, chosen[k], quick, {128, 2});
    t0 = std::chrono::steady_clock::now();
    const exec::TrainResult r = exec::train_and_evaluate(gr, cfg, data);
    train_s += since(t0);
    inherited.push_back(a.accuracy);
    inherited_quick.push_back(q.accuracy);
    standalone.push_back(r.accuracy);
    std::printf("%-3zu %-32s %10lld %9lld %9.4f %9.4f %10.4f\n", k + 1, space::genome_text(chosen[k]).c_str(), static_cast<long long>(tot.macs),
                static_cast<long long>(tot.params), a.accuracy, q.accuracy, r.accuracy);
    std::fflush(stdout);
  }
  std::printf("Kendall tau-b, inherited (10 calibration batches, all test images) vs stand-alone accuracy, %zu members: %.3f\n", chosen.size(),
              kendall_tau(inherited, standalone));
  std::printf("Kendall tau-b, inh_quick (2 calibration batches, first %lld test images) vs stand-alone accuracy: %.3f\n",
              static_cast<long long>(quick_test), kendall_tau(inherited_quick, standalone));
  std::vector<double> macs;
  for (const auto& g : chosen) macs.push_back(static_cast<double>(cost::analyze(sp.decode(g), prof, hw::Dtype::fp32).totals.macs));
  std::printf("Kendall tau-b, MACs vs stand-alone accuracy (a cost-only proxy, for comparison): %.3f\n", kendall_tau(macs, standalone));
  std::printf("time: inherited evaluation %.2f s in all (%.3f s per member), stand-alone training %.1f s in all\n", inherit_s,
              inherit_s / static_cast<double>(chosen.size()), train_s);
  return 0;
} catch (const hwnas::Error& e) {
  std::fprintf(stderr, "validate: %s\n", e.what());
  return 1;
}
