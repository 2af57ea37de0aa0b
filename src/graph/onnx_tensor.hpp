#pragma once
// Constant tensors of an ONNX import and the arithmetic on them that exporters emit for
// shapes (Shape -> Gather -> Concat -> Reshape, ...): folded at import, since every shape is
// static once the input's is known. Values are held as doubles (exact for int64 shapes up to
// 2^53). Errors are hwnas::Error without a location; the importer adds file and node.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hwnas/graph/graph.hpp"

namespace hwnas::graph::onnx_detail {

struct Tensor {
  Shape dims;              // [] is a scalar
  std::vector<double> v;   // row-major values; empty when the file holds only the dims
  bool integer = false;    // an integer or bool tensor (shape arithmetic)
  bool has_data() const { return static_cast<std::int64_t>(v.size()) == numel(dims); }
  // The values as integers; throws when there are none.
  std::vector<std::int64_t> ints(const std::string& what) const;
};

Tensor scalar(double x, bool integer);
Tensor vector_of(const std::vector<std::int64_t>& xs);

// Numpy broadcasting of two shapes; throws naming both when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// out[i] = f(a[i], b[i]) with broadcasting; `integer` is the result's kind.
Tensor elementwise(const Tensor& a, const Tensor& b, bool integer, const std::function<double(double, double)>& f);
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);
Tensor unary(const Tensor& a, const std::function<double(double)>& f);
Tensor gather(const Tensor& data, const Tensor& indices, int axis);
Tensor concat(const std::vector<const Tensor*>& parts, int axis);
// One slice per listed axis, ONNX semantics (negative indices count from the end, clamped).
Tensor slice(const Tensor& x, const std::vector<std::int64_t>& starts, const std::vector<std::int64_t>& ends,
             const std::vector<std::int64_t>& axes, const std::vector<std::int64_t>& steps);
Tensor transpose(const Tensor& x, const std::vector<int>& perm);
// ONNX ScatterND without reduction: data with the slices at `indices` replaced by `updates`.
Tensor scatter_nd(const Tensor& data, const Tensor& indices, const Tensor& updates);
Tensor expand(const Tensor& x, const Shape& to);
Tensor with_dims(Tensor x, Shape dims);
Tensor range(double start, double limit, double delta, bool integer);
Tensor reduce(const Tensor& x, std::vector<std::int64_t> axes, bool keepdims,
              const std::function<double(double, double)>& f, double init);

// ONNX Reshape's target resolved against the input: 0 copies the input's dimension (unless
// allowzero), one -1 is inferred.
Shape reshape_target(const Shape& in, const std::vector<std::int64_t>& target, bool allowzero);
// An axis in [-rank, rank) made non-negative; throws when out of range.
int norm_axis(std::int64_t axis, std::size_t rank);

}  // namespace hwnas::graph::onnx_detail
