#pragma once
// What a search evaluates: genes to propose and a function from a genome to metric values.
// Space members are costed by CostEvaluator; benchmark problems (ZDT) evaluate directly.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hwnas/exec/dataset.hpp"
#include "hwnas/exec/train.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/profile.hpp"
#include "hwnas/space/space.hpp"

namespace hwnas::search {

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual std::string name() const = 0;  // "cost", "zdt1", ...
  virtual const std::vector<space::Gene>& genes() const = 0;
  // Names of the values evaluate() returns, in its order ("params", "latency_ms@h100", ...).
  virtual const std::vector<std::string>& metrics() const = 0;
  // One value per metric. Called concurrently from several threads. Throws hwnas::Error when
  // the candidate cannot be built or evaluated: the search records it as invalid with the message.
  virtual std::vector<double> evaluate(const space::Genome& g) const = 0;
  // Genomes that describe the same candidate map to one genome (evaluated once).
  virtual space::Genome canonical(const space::Genome& g) const { return g; }
  // The chosen values by gene name, as JSON text (candidates.jsonl's genome_named).
  virtual std::vector<std::pair<std::string, std::string>> named(const space::Genome& g) const;
  // How many evaluations may run at once (0: one per search thread). An evaluator that is
  // parallel inside (training) returns 1.
  virtual int concurrency() const { return 0; }
};

// Members of a search space, each decoded to a graph and handed to evaluate_graph().
class SpaceEvaluator : public Evaluator {
 public:
  SpaceEvaluator(space::Space s, graph::BuildOptions opt) : space_(std::move(s)), opt_(opt) {}
  const std::vector<space::Gene>& genes() const override { return space_.genes(); }
  std::vector<double> evaluate(const space::Genome& g) const override { return evaluate_graph(space_.decode(g, opt_)); }
  space::Genome canonical(const space::Genome& g) const override { return space_.canonical(g); }
  std::vector<std::pair<std::string, std::string>> named(const space::Genome& g) const override { return space_.named(g); }
  const space::Space& space() const { return space_; }

 protected:
  virtual std::vector<double> evaluate_graph(const graph::Graph& g) const = 0;

 private:
  space::Space space_;
  graph::BuildOptions opt_;
};

// The cost model on one or more profiles: params, macs, flops, peak_memory_mb, weight_mb,
// kv_cache_mb, then latency_ms@<profile> for each profile. Memory in MiB (2^20 bytes).
class CostEvaluator : public SpaceEvaluator {
 public:
  CostEvaluator(space::Space s, graph::BuildOptions opt, std::vector<hw::Profile> profiles, hw::Dtype dtype);
  std::string name() const override { return "cost"; }
  const std::vector<std::string>& metrics() const override { return metrics_; }

 protected:
  std::vector<double> evaluate_graph(const graph::Graph& g) const override;

 private:
  std::vector<hw::Profile> profiles_;
  hw::Dtype dtype_;
  std::vector<std::string> metrics_;
};

// The cost metrics plus `accuracy` and `loss` on the test set after training each member with
// the built-in executor (exec::train_and_evaluate) on `data`. One member at a time; the
// executor uses cfg.threads.
class TrainEvaluator : public CostEvaluator {
 public:
  TrainEvaluator(space::Space s, graph::BuildOptions opt, std::vector<hw::Profile> profiles, hw::Dtype dtype,
                 exec::TrainConfig cfg, exec::Dataset data);
  std::string name() const override { return "train"; }
  const std::vector<std::string>& metrics() const override { return metrics_; }
  int concurrency() const override { return 1; }

 protected:
  std::vector<double> evaluate_graph(const graph::Graph& g) const override;

 private:
  exec::TrainConfig cfg_;
  exec::Dataset data_;
  std::vector<std::string> metrics_;
};

class Supernet;

// The cost metrics plus `accuracy` and `loss` on the test set of a member with weights inherited
// from a trained supernet (search::evaluate_inherited: batch norm recalibrated on the first
// calib_batches x batch training images of `data`). `dir` holds the checkpoint that
// `hwnas supernet train` wrote (DIR/supernet.ckpt); it must be the supernet of this space.
// Evaluations run concurrently (one per search thread).
class SupernetEvaluator : public CostEvaluator {
 public:
  SupernetEvaluator(space::Space s, graph::BuildOptions opt, std::vector<hw::Profile> profiles, hw::Dtype dtype,
                    const std::string& dir, exec::Dataset data, std::int64_t batch = 128, int calib_batches = 10);
  std::string name() const override { return "supernet"; }
  const std::vector<std::string>& metrics() const override { return metrics_; }
  std::vector<double> evaluate(const space::Genome& g) const override;

 private:
  std::shared_ptr<const Supernet> net_;
  exec::Dataset data_;
  std::int64_t batch_;
  int calib_batches_;
  std::vector<std::string> metrics_;
};

// Zitzler-Deb-Thiele benchmark problems (ZDT1, ZDT2, ZDT3): `n` real genes in [0, 1], two
// objectives f1, f2 to minimise. `which` is 1, 2 or 3.
class Zdt : public Evaluator {
 public:
  Zdt(int which, int n = 30);
  std::string name() const override { return "zdt" + std::to_string(which_); }
  const std::vector<space::Gene>& genes() const override { return genes_; }
  const std::vector<std::string>& metrics() const override { return metrics_; }
  std::vector<double> evaluate(const space::Genome& g) const override;
  // Hypervolume of the analytic Pareto front for a reference point (r1, r2), by numeric integration.
  double front_hypervolume(double r1, double r2) const;

 private:
  double h(double f1, double g) const;

  int which_;
  std::vector<space::Gene> genes_;
  std::vector<std::string> metrics_{"f1", "f2"};
};

}  // namespace hwnas::search
