#pragma once
// Training and evaluation of a graph on a dataset: the accuracy signal of the search.
//
//   exec::Dataset d = exec::load_fashion_mnist(exec::kFashionMnistDir, 10000, 2000);
//   exec::TrainConfig cfg;  cfg.epochs = 1;
//   exec::TrainResult r = exec::train_and_evaluate(graph, cfg, d);   // r.accuracy
//
// The graph needs one image input [B, C, H, W] (B is replaced by cfg.batch; the data is
// resized to H x W and replicated to C channels) and one output [B, K] with K >= the
// dataset's classes. train_and_evaluate runs in its own tbb::task_arena of cfg.threads
// threads, so it may be called from several threads at once (each call owns its buffers).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hwnas/exec/dataset.hpp"
#include "hwnas/graph/graph.hpp"

namespace hwnas::exec {

enum class Schedule : std::uint8_t { constant, cosine, step };

struct TrainConfig {
  int epochs = 3;
  std::int64_t batch = 128;
  double lr = 0.05, momentum = 0.9, weight_decay = 0.0;  // SGD (PyTorch's update rule)
  Schedule schedule = Schedule::cosine;  // cosine: per step down to 0 over all epochs
  int step_epochs = 1;                   // step: lr *= step_gamma every step_epochs
  double step_gamma = 0.1;
  std::uint64_t seed = 0;   // initialisation, shuffling, augmentation
  bool augment = false;     // random crop (padding 2) + horizontal flip
  int threads = 2;
  bool measure_latency = true;  // inference latency at batch 1 and at `batch`
  std::string load, save;   // weight files (Params::load / save); empty: none
  // called with one line per ~second of training and after each epoch (progress)
  std::function<void(const std::string&)> progress;
};

struct EpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  double seconds = 0;              // training time of the epoch (evaluation excluded)
  double train_images_per_s = 0;
};

struct TrainResult {
  double accuracy = 0, loss = 0;  // on the test set after the last epoch
  std::vector<EpochStats> epochs;
  std::int64_t params = 0;
  double train_images_per_s = 0;   // median over epochs
  double infer_images_per_s = 0;   // test-set evaluation at `batch`
  double latency_batch1_s = 0;     // median of timed single-image forward passes
  double latency_batch_s = 0;      // median of timed forward passes at `batch`
};

TrainResult train_and_evaluate(const graph::Graph& g, const TrainConfig& cfg, const Dataset& data);

}  // namespace hwnas::exec
