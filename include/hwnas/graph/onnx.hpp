#pragma once
// ONNX import: a model file as written by torch.onnx.export -> graph::Graph, costed like any
// built-in architecture. Every shape is inferred here (files often carry none) and the shape
// arithmetic exporters emit is folded at import. Supported operators, the meaning of params and
// the input-shape rules are documented in README.md ("ONNX import").
#include <string>

#include "hwnas/graph/arch.hpp"
#include "hwnas/graph/graph.hpp"

namespace hwnas::graph {

// Builds a graph from the bytes of an .onnx file; `source` names the file in errors. The input
// shape is the file's, with opt.input_shape replacing it, opt.batch replacing the batch and
// opt.resolution the spatial size of an NCHW input. Throws hwnas::Error naming the file, the
// node and the operator on anything it cannot import (never a silent zero).
Graph parse_onnx(const std::string& bytes, const std::string& source, const BuildOptions& opt = {});
// Reads `path` and parses it.
Graph load_onnx(const std::string& path, const BuildOptions& opt = {});

}  // namespace hwnas::graph
