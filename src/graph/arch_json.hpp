#pragma once
// Private: builds a graph from an already parsed architecture tree. The search-space decoder
// substitutes a genome into a JSON tree and builds from it directly, without a text round trip.
#include <nlohmann/json.hpp>
#include <string>

#include "hwnas/graph/arch.hpp"

namespace hwnas::graph {

Graph build_architecture(const nlohmann::json& root, const std::string& source, const BuildOptions& opt = {});

}  // namespace hwnas::graph
