#pragma once
// Private: builds a graph from an already parsed architecture tree. The search-space decoder
// hands over its members' JSON in place, without a text round trip or a copy.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hwnas/graph/arch.hpp"

namespace hwnas::graph {

// `root`: the top-level object (its "layers" field, if any, is not read); `layers`: the layer objects.
Graph build_architecture(const nlohmann::json& root, const std::vector<const nlohmann::json*>& layers,
                         const std::string& source, const BuildOptions& opt = {});

}  // namespace hwnas::graph
