#pragma once
// Architecture files (JSON, format "hwnas.arch/1") and the built-in model zoo.
// The format is documented in README.md ("Architecture format").
#include <cstdint>
#include <string>
#include <vector>

#include "hwnas/graph/graph.hpp"

namespace hwnas::graph {

enum class Phase : std::uint8_t { prefill, decode };

// What the graph is built for: the shapes depend on it.
struct BuildOptions {
  std::int64_t batch = 1;
  std::int64_t resolution = 0;  // image models: 0 keeps the architecture's own
  std::int64_t seq_len = 0;     // token models, prefill: 0 keeps the architecture's own
  Phase phase = Phase::prefill;
  std::int64_t context = 0;     // token models, decode: sequence length at this step
                                // (context-1 cached tokens plus the new one)
  Shape input_shape{};          // ONNX models: the whole input shape (empty keeps the file's)
};

// Builds a graph from architecture JSON text; `source` names the file in errors.
Graph parse_architecture(const std::string& text, const std::string& source,
                         const BuildOptions& opt = {});
// A zoo name ("mobilenet_v2"), a path to an architecture file or to an .onnx model.
Graph load_architecture(const std::string& name_or_path, const BuildOptions& opt = {});

struct ZooEntry {
  std::string name;
  std::string description;
};
std::vector<ZooEntry> zoo();
// The JSON text of a zoo model; throws naming the known models when unknown.
const std::string& zoo_text(const std::string& name);

}  // namespace hwnas::graph
