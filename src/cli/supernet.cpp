// `hwnas supernet train`: trains a weight-sharing supernet over a search space on Fashion-MNIST,
// checkpointing each epoch to DIR/supernet.ckpt so that `--resume` continues.
#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "hwnas/error.hpp"
#include "hwnas/exec/dataset.hpp"
#include "hwnas/search/supernet.hpp"
#include "hwnas/space/space.hpp"

namespace po = boost::program_options;

namespace hwnas::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop(int) { g_stop = true; }

}  // namespace

int cmd_supernet(const Args& args) {
  if (args.empty() || (args[0] != "train" && args[0] != "-h" && args[0] != "--help"))
    throw Error("supernet: the subcommand must be train (hwnas supernet train <space.json> --out DIR), got '" +
                (args.empty() ? std::string() : args[0]) + "'");
  po::options_description o("hwnas supernet train <space.json> --out DIR [options]");
  search::SupernetTraining t;
  search::SupernetConfig& c = t.config;
  std::string dataset, data_dir, out;
  std::int64_t test_subset = 0;
  o.add_options()
      ("help,h", "show this help")
      ("space", po::value(&t.space), "search space file (hwnas.space/1)")
      ("dataset", po::value(&dataset)->default_value("fashion-mnist"), "fashion-mnist")
      ("data-dir", po::value(&data_dir)->default_value(exec::kFashionMnistDir), "directory of the IDX .gz files")
      ("epochs,e", po::value(&c.epochs)->default_value(10), "training epochs")
      ("batch,b", po::value(&c.batch)->default_value(128), "batch size")
      ("lr", po::value(&c.lr)->default_value(0.05), "SGD learning rate (cosine schedule per step down to 0)")
      ("momentum", po::value(&c.momentum)->default_value(0.9), "SGD momentum")
      ("weight-decay", po::value(&c.weight_decay)->default_value(0.0), "SGD weight decay")
      ("seed", po::value(&c.seed)->default_value(0), "seed of initialisation, shuffling and paths")
      ("threads,t", po::value(&c.threads)->default_value(2), "worker threads")
      ("subset", po::value(&c.subset)->default_value(0), "train on the first N images (0 = all 60000)")
      ("sandwich", "each step trains the largest, the smallest and a random path (gradients summed)")
      ("test-subset", po::value(&test_subset)->default_value(2000), "the final check of the largest and smallest member: first N test images (0 = all 10000)")
      ("out,o", po::value(&out), "run directory (supernet.ckpt)")
      ("resume", "continue the training in --out from its checkpoint (which holds the configuration)");
  po::variables_map vm;
  if (!parse_options(Args(args.begin() + (args[0] == "train" ? 1 : 0), args.end()), o, "space", vm)) return 0;
  if (out.empty()) throw Error("supernet train: needs --out DIR");
  if (dataset != "fashion-mnist") throw Error("--dataset: must be fashion-mnist, got '" + dataset + "'");
  if (test_subset < 0) throw Error("--test-subset: must be >= 0, got " + std::to_string(test_subset));
  const std::string ckpt = out + "/supernet.ckpt";
  const bool resume = vm.count("resume") > 0;
  if (resume) {
    for (const char* k : {"space", "epochs", "batch", "lr", "momentum", "weight-decay", "seed", "subset", "sandwich"})
      if (vm.count(k) && !vm[k].defaulted()) throw Error("--resume: takes the configuration from " + ckpt + "; drop --" + std::string(k));
    const int threads = c.threads;  // results do not depend on it
    t = search::supernet_training_from_json(search::Supernet::read_state(ckpt), ckpt);
    t.config.threads = threads;
  } else {
    if (t.space.empty()) throw Error("supernet train: missing <space.json>");
    c.sandwich = vm.count("sandwich") > 0;
    if (std::filesystem::exists(ckpt)) throw Error(ckpt + ": exists; continue it with --resume or choose another --out");
  }
  search::Supernet net(space::Space::load(t.space));
  if (resume) net.load(ckpt);
  else net.init(t.config.seed);
  const exec::Dataset data = exec::load_fashion_mnist(data_dir, t.config.subset, test_subset);
  std::fprintf(stderr, "supernet: %s: %zu tensors, %lld weights; %s, %d epochs from epoch %d\n", t.space.c_str(), net.tensors().size(),
               static_cast<long long>(net.count()), t.config.sandwich ? "sandwich rule" : "single path", t.config.epochs, t.epochs_done);
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  search::train_supernet(
      net, t, data, [&](const search::SupernetTraining& s) { net.save(ckpt, search::to_json(s)); },
      [](const std::string& line) { std::cerr << line << "\n"; }, [] { return g_stop.load(); });
  if (g_stop) {
    std::fprintf(stderr, "hwnas supernet: interrupted after epoch %d; continue with: hwnas supernet train --resume --out %s\n",
                 t.epochs_done, out.c_str());
    return 130;
  }
  std::printf("supernet trained: %d epochs, last epoch train loss %.4f, train accuracy %.4f; checkpoint %s\n", t.epochs_done,
              t.last_loss, t.last_accuracy, ckpt.c_str());
  for (const auto* which : {"largest", "smallest"}) {
    const space::Genome& g = std::string(which) == "largest" ? net.largest() : net.smallest();
    const search::Inherited r = search::evaluate_inherited(net, g, data, {});
    std::printf("%-8s member %s: inherited test accuracy %.4f (%lld test images)\n", which, space::genome_text(g).c_str(), r.accuracy,
                static_cast<long long>(data.test_count()));
  }
  return 0;
}

}  // namespace hwnas::cli
