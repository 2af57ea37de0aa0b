#pragma once
// Search spaces (format "hwnas.space/1", README "Search spaces"): the architecture format with
// choices in it. Each choice is a gene; a genome (one value per gene) decodes to an architecture
// and its graph::Graph.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hwnas/graph/arch.hpp"
#include "hwnas/graph/graph.hpp"

namespace hwnas::space {

enum class GeneKind : std::uint8_t { integer, real, categorical };
std::string_view gene_kind_name(GeneKind k);

struct Gene {
  std::string name;  // readable and unique: "stage2.kernel", "width_mult"
  std::string path;  // where the choice sits in the space file: "layers[3].kernel"
  GeneKind kind = GeneKind::categorical;
  // integer and real: the value lies in [lo, hi]; categorical: the value is an index 0 .. hi
  double lo = 0, hi = 0;
  std::vector<std::string> labels;  // categorical: each option as JSON text ("5", "\"relu\"", or a block's type)
  // block choices: the name of the layer the choice replaces (its nodes' names start with it);
  // empty for value choices
  std::string block;
};

// One value per gene: an integer or real value, or the index of a categorical option.
using Genome = std::vector<double>;

// Throws hwnas::Error naming `source`, the gene and its path when `g` does not fit `genes`.
void check_genome(const std::vector<Gene>& genes, const Genome& g, const std::string& source);
// "3,1,0.75,2", or a candidates.jsonl line (its "genome"), -> genome (not yet checked against a space).
Genome parse_genome(const std::string& text);
std::string genome_text(const Genome& g);  // the inverse: "3,1,0.75,2"

class Space {
 public:
  // Parses space JSON text (format "hwnas.space/1", or an architecture "hwnas.arch/1": a space
  // without choices); `source` names the file in errors.
  static Space parse(const std::string& text, const std::string& source);
  // A space file, or a zoo architecture name (a space of size 1).
  static Space load(const std::string& name_or_path);

  const std::string& source() const;
  const std::string& name() const;
  const std::vector<Gene>& genes() const;
  // Number of distinct members, counting block options with their own choices; real genes count
  // once each (see has_real_genes()).
  double size() const;
  bool has_real_genes() const;

  // The member's graph. Throws hwnas::Error when the genome does not fit or the member cannot be
  // built (the message names the file and the JSON path).
  graph::Graph decode(const Genome& g, const graph::BuildOptions& opt = {}) const;
  // The member as architecture JSON text ("hwnas.arch/1").
  std::string architecture_json(const Genome& g) const;
  // Genes inside block options the genome does not choose are set to their lowest value, so that
  // genomes of the same member compare equal.
  Genome canonical(const Genome& g) const;
  // The chosen value of every gene the member uses, by gene name, as JSON text.
  std::vector<std::pair<std::string, std::string>> named(const Genome& g) const;

  struct Impl;

 private:
  explicit Space(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace hwnas::space
