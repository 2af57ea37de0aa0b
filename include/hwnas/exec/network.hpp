#pragma once
// The CPU executor's core: a graph::Graph compiled for forward and backward passes on fp32
// NCHW tensors, and the learned tensors it trains.
//
//   exec::Params p(g);           // one tensor per graph::params_of entry, PyTorch names/layouts
//   p.init(seed);                // Kaiming normal (fan_in) weights, zero biases, unit BN/LN scales
//   exec::Network net(g, p);     // plans every buffer once, for g's batch
//   copy images into net.value(input node); net.forward(true);
//   net.softmax_cross_entropy(labels); net.backward();   // gradients land in p
//
// Buffers are planned once per Network: a step allocates nothing. Work is split into
// partitions that depend only on the shapes, never on the thread count, and every reduction
// runs in a fixed order, so results are bit-identical for any number of TBB threads.
// A Network runs its kernels in the calling thread's TBB arena; OpenBLAS is used single-
// threaded (exec::use_single_threaded_blas). Several Networks may run in different threads.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hwnas/graph/graph.hpp"

namespace hwnas::exec {

// One learned tensor of a node ("stem.conv.weight"), its gradient and optimiser state.
struct Tensor {
  std::string name;     // node name + "." + ParamSpec::name
  int node = -1;        // index of the node in the graph it was made for
  std::string param;    // "weight", "bias", "running_mean", "running_var", "value"
  graph::Shape shape;
  bool buffer = false;  // running statistics: updated by forward, not by the optimiser
  std::vector<float> value, grad, momentum;
};

// The batch-norm running-statistics update in training: r = (1 - m) r + m * batch statistic.
inline constexpr float kBatchNormMomentum = 0.1f;

// Params::init's initialisation applied to any tensors (by param name and shape): a supernet's
// full-size tensors use it too.
void init_tensors(std::vector<Tensor>& tensors, std::uint64_t seed);

class Params {
 public:
  explicit Params(const graph::Graph& g);  // zero-filled
  // Seeded initialisation: conv/linear weights N(0, 2/fan_in) (Kaiming, ReLU gain), biases 0,
  // norm scales 1 and shifts 0, running_var 1, weight tokens N(0, 0.02^2).
  void init(std::uint64_t seed);
  std::vector<Tensor>& tensors() { return tensors_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }
  // The tensor of `node`'s `param`, or nullptr.
  Tensor* find(int node, const std::string& param);
  std::int64_t count() const;  // learned elements (buffers excluded)
  void zero_grad();

  // Weight files (format "hwnas.weights/1", see README "Executor"): a one-line JSON header
  // {"format","model","tensors":[{"name","shape","offset"}]} then the raw little-endian
  // float32 values. save() writes atomically; load() checks every name and shape against
  // this graph's and throws naming the file and the tensor on any mismatch.
  void save(const std::string& path, const std::string& model) const;
  void load(const std::string& path);

 private:
  std::vector<Tensor> tensors_;
};

// What a Network is planned for. train: forward and backward passes; train_input_gradients:
// also the gradients of the input nodes (gradient checks); forward_only: forward passes
// (evaluation, batch-norm recalibration) and no backward. A forward_only Network allocates no
// gradients and lets nodes share value storage once a value's last reader has run, so after
// forward() only the input and output nodes' values are meaningful.
enum class Passes { train, train_input_gradients, forward_only };

class Network {
 public:
  // Throws hwnas::Error naming the node and op when the graph holds an op the executor
  // cannot run. `g` and `p` must outlive the Network.
  Network(const graph::Graph& g, Params& p, Passes passes = Passes::train);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const graph::Graph& graph() const;
  // Every node's output and gradient buffer (numel(node.shape) floats; views share their
  // input's buffers; grad is nullptr where no gradient is computed).
  float* value(int node);
  float* grad(int node);
  int input() const;   // the image input node (the first input node; -1 when none)
  int output() const;  // the last node nobody reads

  // training: batch norm uses batch statistics and updates its running statistics.
  // Evaluation folds conv + batch norm (+ activation) into one pass where the conv has no
  // other reader.
  void forward(bool training);
  // Mean softmax cross-entropy of the first `rows` outputs ([B, classes] logits; rows < 0:
  // all B) against `labels`; writes d loss / d output into grad(output()) (zero for the other
  // rows). Returns the loss; `correct` gets the number of arg-max hits when not null.
  double softmax_cross_entropy(const std::uint8_t* labels, std::int64_t rows = -1, std::int64_t* correct = nullptr);
  // Back-propagates grad(output()) (set by softmax_cross_entropy or by the caller) into every
  // node's grad and the Params' grads. Clears the node gradients first, not the Params'.
  // Throws hwnas::Error on a forward_only Network.
  void backward();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The graph rebuilt for another batch size (shapes re-inferred; weights keep their names).
graph::Graph with_batch(const graph::Graph& g, std::int64_t batch);

// Sets OpenBLAS to one thread (the executor parallelises with TBB itself); called by every
// Network. OpenBLAS picks its kernels when it loads, from OPENBLAS_CORETYPE if set: the
// `hwnas` command clears a core type below the CPU's before that (see README "Executor").
void use_single_threaded_blas();

}  // namespace hwnas::exec
