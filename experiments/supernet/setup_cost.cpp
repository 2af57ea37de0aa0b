// What weight sharing costs per step: for random members of a space, the median time of decoding
// the genome and slicing the supernet's weights in (Supernet::member), of the slicing alone
// (Supernet::gather), of planning the member's exec::Network at batch 128 for training and for
// forward passes only, of one training step's compute (forward + backward at batch 128), and of
// one evaluation with inherited weights as a search runs it (search::evaluate_inherited: batch
// norm recalibrated on 2 batches of 128, the first 500 test images), on one thread.
//
//   setup_cost <space.json> <supernet dir> [members]
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/exec/network.hpp"
#include "hwnas/search/supernet.hpp"

using namespace hwnas;
using Clock = std::chrono::steady_clock;

namespace {
double ms(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count() * 1e3; }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: setup_cost <space.json> <supernet dir> [members]\n");
    return 2;
  }
  search::Supernet net(space::Space::load(argv[1]));
  net.load(std::string(argv[2]) + "/supernet.ckpt");
  const int members = argc > 3 ? std::stoi(argv[3]) : 24;
  const exec::Dataset data = exec::load_fashion_mnist(exec::kFashionMnistDir, 256, 500);
  search::InheritedConfig quick;
  quick.calib_batches = 2;
  std::vector<double> member, gather, plan, plan_fwd, step, inherited;
  std::mt19937_64 rng(5);
  tbb::task_arena arena(1);
  arena.execute([&] {
    for (int k = 0; k < members; ++k) {
      const space::Genome g = net.sample(rng);
      auto t0 = Clock::now();
      const auto m = net.member(g, 128);
      member.push_back(ms(t0));
      t0 = Clock::now();
      net.gather(*m);
      gather.push_back(ms(t0));
      t0 = Clock::now();
      exec::Network nw(m->graph, *m->params);
      plan.push_back(ms(t0));
      t0 = Clock::now();
      exec::Network fwd(m->graph, *m->params, exec::Passes::forward_only);
      plan_fwd.push_back(ms(t0));
      std::copy_n(data.train_images.begin(), 128 * 28 * 28, nw.value(nw.input()));
      t0 = Clock::now();
      nw.forward(true);
      nw.softmax_cross_entropy(data.train_labels.data());
      nw.backward();
      step.push_back(ms(t0));
      t0 = Clock::now();
      search::evaluate_inherited(net, g, data, quick);
      inherited.push_back(ms(t0));
    }
  });
  std::printf("%d random members of %s, batch 128, 1 thread, median ms:\n", members, argv[1]);
  std::printf("decode + slice in (Supernet::member) %.2f, slice in alone (gather) %.3f, plan the Network %.2f (forward only %.2f), "
              "forward + backward %.1f, evaluate_inherited (2 x 128 calibration, 500 test images) %.1f\n",
              median(member), median(gather), median(plan), median(plan_fwd), median(step), median(inherited));
  return 0;
} catch (const hwnas::Error& e) {
  std::fprintf(stderr, "setup_cost: %s\n", e.what());
  return 1;
}
