#pragma once
// One-shot weight-sharing NAS (README "One-shot supernet search"). A supernet holds, for every
// learned tensor of a search space, the largest shape any member gives it; a member (a genome)
// takes its weights by slicing, as Once-for-All does: the leading output and input channels
// (width, expansion), the centre of the largest kernel (smaller kernels), the first blocks of a
// stage (depth, by the blocks' names stage.0, stage.1, ...). Each option of a block choice keeps
// its own tensors: a tensor's key is its node name with the chosen option inserted after the
// block's name ("stage1[inverted_residual].0.dw.conv.weight").
//
//   search::Supernet net(space::Space::load("search_spaces/fmnist_space.json"));
//   net.init(seed);
//   search::SupernetTraining t{cfg};
//   search::train_supernet(net, t, data, on_epoch);       // single-path or sandwich SGD
//   search::Inherited r = search::evaluate_inherited(net, genome, data, {});   // r.accuracy
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "hwnas/exec/dataset.hpp"
#include "hwnas/exec/network.hpp"
#include "hwnas/graph/graph.hpp"
#include "hwnas/space/space.hpp"

namespace hwnas::search {

// Where a member's tensor lies in the supernet: the supernet tensor and the offset of the slice
// in each dimension.
struct Slice {
  int super = -1;                    // index into Supernet::tensors()
  std::vector<std::int64_t> offset;  // one per dimension
};

// A member bound to the supernet: its graph (at some batch), its own Params and the slice each
// of its learned tensors is. Running statistics (buffers) are the member's own.
struct Member {
  space::Genome genome;  // canonical
  graph::Graph graph;
  std::unique_ptr<exec::Params> params;
  std::vector<Slice> slices;  // one per params->tensors() entry; super = -1 for buffers
};

class Supernet {
 public:
  // The supernet of `s`, zero-filled. Its tensors' shapes are the elementwise largest over the
  // space's largest members: every gene at its largest value (the largest number for numeric
  // categorical genes, max for int and real genes), for every combination of block options.
  // Throws hwnas::Error naming the space when two members give one key tensors of different
  // ranks, or when the space has more than 4,096 block-option combinations.
  explicit Supernet(space::Space s);

  const space::Space& space() const { return space_; }
  // Learned tensors only, named by key; value, grad and momentum are full size.
  std::vector<exec::Tensor>& tensors() { return tensors_; }
  const std::vector<exec::Tensor>& tensors() const { return tensors_; }
  int find(const std::string& key) const;  // index into tensors(), or -1
  std::int64_t count() const;              // elements
  // exec::init_tensors (Kaiming normal on the full shapes, unit norm scales).
  void init(std::uint64_t seed);

  // The members of most and fewest MACs among the largest genomes described above and the
  // smallest ones (every gene at its smallest value): the sandwich rule's paths.
  const space::Genome& largest() const { return largest_; }
  const space::Genome& smallest() const { return smallest_; }
  // A uniform random genome: every gene uniform over its values (categorical index, int value,
  // real value), canonical.
  space::Genome sample(std::mt19937_64& rng) const;

  // The key of node `node`'s tensor `param` in a member of genome `g` (canonical).
  std::string key(const space::Genome& g, const std::string& node, const std::string& param) const;
  // The member `g` built at `batch` with its slices; its learned tensors hold the supernet's
  // values (gather()). Throws hwnas::Error naming the space, the genome and the tensor when a
  // tensor is not in the supernet or is larger than it.
  std::unique_ptr<Member> member(const space::Genome& g, std::int64_t batch) const;
  // Copies the supernet slices into the member's learned tensors (values only).
  void gather(Member& m) const;
  // Adds the member's gradients into the supernet's and marks their elements as touched.
  void accumulate(const Member& m);
  // PyTorch's SGD (g += wd w; buf = momentum buf + g; w -= lr buf) on the touched elements only;
  // the others (no path of this step uses them) keep their value and momentum. Clears the
  // gradients and the marks.
  void sgd_step(double lr, double momentum, double weight_decay);

  // Checkpoint file (format "hwnas.supernet/1"): a one-line JSON header {"format", "space",
  // "state": {...}, "tensors": [{"name","shape","offset"}], "momentum_offset"} then every
  // tensor's values and then their momentum, little-endian float32. save() writes atomically;
  // load() checks every name and shape against this supernet (built from the same space) and
  // throws naming the file and the tensor; it returns the header's "state" as JSON text.
  void save(const std::string& path, const std::string& state_json) const;
  std::string load(const std::string& path);
  // The "state" of a checkpoint's header alone (to find the space before building the supernet).
  static std::string read_state(const std::string& path);

 private:
  space::Space space_;
  std::vector<exec::Tensor> tensors_;
  std::unordered_map<std::string, int> index_;  // key -> tensor
  std::vector<std::vector<std::uint8_t>> touched_;  // per element: a path of this step used it
  std::vector<std::pair<std::string, std::vector<std::string>>> blocks_;  // per gene: block name, option labels
  std::vector<std::size_t> key_order_;  // block genes, longest block name first
  space::Genome largest_, smallest_;
};

// Supernet training: the recipe of `hwnas train` (SGD with momentum, cosine per step down to 0,
// the last partial batch dropped) where every step trains one uniform random path (single-path
// one-shot) or, with `sandwich`, the largest, the smallest and a random path on the same batch
// with their gradients summed before one update.
struct SupernetConfig {
  int epochs = 10;
  std::int64_t batch = 128;
  double lr = 0.05, momentum = 0.9, weight_decay = 0.0;
  std::uint64_t seed = 0;  // initialisation, shuffling, paths
  bool sandwich = false;
  int threads = 2;
  std::int64_t subset = 0;  // the first N training images (0: all)
};
std::string to_json(const SupernetConfig& c);
SupernetConfig supernet_config_from_json(const std::string& text, const std::string& source);

// Where training stands: the epochs done and the generator (std::mt19937_64 as text). With the
// weights and momentum it is the whole checkpoint, so that resuming equals not stopping.
struct SupernetTraining {
  std::string space;  // the space file the supernet was built from
  SupernetConfig config;
  int epochs_done = 0;
  std::string rng;  // empty: seeded from config.seed
  double last_loss = 0, last_accuracy = 0;  // training loss and accuracy of the last epoch
};
std::string to_json(const SupernetTraining& t);
SupernetTraining supernet_training_from_json(const std::string& text, const std::string& source);

// Trains the epochs from t.epochs_done to t.config.epochs in a tbb::task_arena of
// config.threads; after each epoch updates `t` and calls on_epoch (the checkpoint). `progress`
// gets a line about once a second and one per epoch. `stop` is polled between steps: true ends
// training before the epoch completes (its steps are lost; resume replays the epoch).
void train_supernet(Supernet& net, SupernetTraining& t, const exec::Dataset& data,
                    const std::function<void(const SupernetTraining&)>& on_epoch,
                    const std::function<void(const std::string&)>& progress = {},
                    const std::function<bool()>& stop = {});

// Accuracy of a member with inherited weights. Batch norm is recalibrated first: the member's
// running statistics become the mean, over `calib_batches` batches of the first training images,
// of each batch's statistics (a training-mode forward pass each), as Once-for-All does; then
// the test set is evaluated.
struct InheritedConfig {
  std::int64_t batch = 128;
  int calib_batches = 10;
};
struct Inherited {
  double accuracy = 0, loss = 0;
};
// Runs in the calling thread's TBB arena; several may run at once.
Inherited evaluate_inherited(const Supernet& net, const space::Genome& g, const exec::Dataset& data,
                             const InheritedConfig& cfg);

// The batch-norm recalibration on its own: `net` built for `m`, images [N, C, H, W] of which
// the first calib_batches x batch are used (fewer when N is smaller; at least one batch).
void recalibrate_batch_norm(exec::Network& net, exec::Params& p, const float* images, std::int64_t count,
                            int calib_batches);

}  // namespace hwnas::search
