// `hwnas train`: trains and evaluates an image architecture on Fashion-MNIST on this CPU.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "hwnas/error.hpp"
#include "hwnas/exec/train.hpp"
#include "hwnas/graph/arch.hpp"

namespace po = boost::program_options;

namespace hwnas::cli {
namespace {

std::string fmt(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

}  // namespace

int cmd_train(const Args& args) {
  fix_openblas_coretype("train", args);
  po::options_description o("hwnas train <model> [options]");
  std::string dataset, data_dir, format, schedule;
  exec::TrainConfig cfg;
  std::int64_t resolution, train_subset, test_subset;
  o.add_options()
      ("help,h", "show this help")
      ("model", po::value<std::string>(), "zoo name (see `hwnas zoo`) or architecture .json file")
      ("dataset", po::value(&dataset)->default_value("fashion-mnist"), "fashion-mnist")
      ("data-dir", po::value(&data_dir)->default_value(exec::kFashionMnistDir), "directory of the IDX .gz files")
      ("epochs,e", po::value(&cfg.epochs)->default_value(3), "training epochs (0: evaluate only, e.g. with --load)")
      ("batch,b", po::value(&cfg.batch)->default_value(128), "batch size")
      ("threads,t", po::value(&cfg.threads)->default_value(2), "worker threads")
      ("lr", po::value(&cfg.lr)->default_value(0.05), "SGD learning rate")
      ("momentum", po::value(&cfg.momentum)->default_value(0.9), "SGD momentum")
      ("weight-decay", po::value(&cfg.weight_decay)->default_value(0.0), "SGD weight decay")
      ("schedule", po::value(&schedule)->default_value("cosine"), "cosine | step | constant")
      ("step-epochs", po::value(&cfg.step_epochs)->default_value(1), "step schedule: epochs between decays")
      ("step-gamma", po::value(&cfg.step_gamma)->default_value(0.1), "step schedule: decay factor")
      ("seed", po::value(&cfg.seed)->default_value(0), "seed of initialisation, shuffling and augmentation")
      ("augment", "random crop (padding 2) and horizontal flip")
      ("resolution,r", po::value(&resolution)->default_value(0), "input resolution (0 = the model's own)")
      ("train-subset", po::value(&train_subset)->default_value(0), "train on the first N images (0 = all 60000)")
      ("test-subset", po::value(&test_subset)->default_value(0), "test on the first N images (0 = all 10000)")
      ("save", po::value(&cfg.save), "write the trained weights to this file")
      ("load", po::value(&cfg.load), "start from the weights in this file")
      ("no-latency", "skip the latency measurements")
      ("format,f", po::value(&format)->default_value("table"), "table | json");
  po::variables_map vm;
  if (!parse_options(args, o, "model", vm)) return 0;
  if (!vm.count("model")) throw Error("train: missing <model> (a zoo name or an architecture .json file)");
  if (dataset != "fashion-mnist") throw Error("--dataset: must be fashion-mnist, got '" + dataset + "'");
  if (format != "table" && format != "json") throw Error("--format: must be table or json, got '" + format + "'");
  if (schedule == "cosine") cfg.schedule = exec::Schedule::cosine;
  else if (schedule == "step") cfg.schedule = exec::Schedule::step;
  else if (schedule == "constant") cfg.schedule = exec::Schedule::constant;
  else throw Error("--schedule: must be cosine, step or constant, got '" + schedule + "'");
  if (cfg.epochs < 0) throw Error("--epochs: must be >= 0, got " + std::to_string(cfg.epochs));
  if (cfg.batch < 1) throw Error("--batch: must be >= 1, got " + std::to_string(cfg.batch));
  if (cfg.threads < 1) throw Error("--threads: must be >= 1, got " + std::to_string(cfg.threads));
  if (resolution < 0) throw Error("--resolution: must be >= 1, got " + std::to_string(resolution));
  if (train_subset < 0 || test_subset < 0) throw Error("--train-subset/--test-subset: must be >= 0");
  cfg.augment = vm.count("augment") > 0;
  cfg.measure_latency = vm.count("no-latency") == 0;
  cfg.progress = [](const std::string& line) { std::cerr << line << "\n"; };

  graph::BuildOptions opt;
  opt.batch = cfg.batch;
  opt.resolution = resolution;
  const graph::Graph g = graph::load_architecture(vm["model"].as<std::string>(), opt);
  const exec::Dataset data = exec::load_fashion_mnist(data_dir, train_subset, test_subset);
  const exec::TrainResult r = exec::train_and_evaluate(g, cfg, data);

  if (format == "json") {
    nlohmann::json j = {{"model", g.name}, {"dataset", dataset}, {"params", r.params}, {"batch", cfg.batch},
                        {"threads", cfg.threads}, {"epochs", nlohmann::json::array()}, {"test_accuracy", r.accuracy},
                        {"test_loss", r.loss}, {"train_images_per_s", r.train_images_per_s},
                        {"infer_images_per_s", r.infer_images_per_s}, {"latency_batch1_s", r.latency_batch1_s},
                        {"latency_batch_s", r.latency_batch_s}};
    for (const auto& e : r.epochs)
      j["epochs"].push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
                             {"test_loss", e.test_loss}, {"test_accuracy", e.test_accuracy}, {"seconds", e.seconds},
                             {"train_images_per_s", e.train_images_per_s}});
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << g.name << " on " << dataset << ": " << r.params << " params, batch " << cfg.batch << ", " << cfg.threads
            << " threads\n";
  std::cout << "epoch  train_loss  train_acc  test_loss  test_acc  seconds  train_img/s\n";
  for (const auto& e : r.epochs)
    std::cout << std::string(5 - std::min<std::size_t>(5, std::to_string(e.epoch).size()), ' ') << e.epoch << "  "
              << fmt(e.train_loss, 4) << "      " << fmt(e.train_accuracy, 4) << "     " << fmt(e.test_loss, 4) << "     "
              << fmt(e.test_accuracy, 4) << "    " << fmt(e.seconds, 2) << "   " << fmt(e.train_images_per_s, 0) << "\n";
  std::cout << "test accuracy " << fmt(r.accuracy, 4) << ", test loss " << fmt(r.loss, 4) << "\n";
  std::cout << "train " << fmt(r.train_images_per_s, 0) << " img/s, inference " << fmt(r.infer_images_per_s, 0)
            << " img/s at batch " << cfg.batch << "\n";
  if (cfg.measure_latency)
    std::cout << "latency " << fmt(r.latency_batch1_s * 1e3, 3) << " ms at batch 1, " << fmt(r.latency_batch_s * 1e3, 3)
              << " ms at batch " << cfg.batch << "\n";
  if (!cfg.save.empty()) std::cout << "weights written to " << cfg.save << "\n";
  return 0;
}

}  // namespace hwnas::cli
