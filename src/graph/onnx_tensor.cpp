#include "graph/onnx_tensor.hpp"

#include <algorithm>
#include <cmath>

#include "hwnas/error.hpp"

namespace hwnas::graph::onnx_detail {
namespace {

std::vector<std::int64_t> strides_of(const Shape& s) {
  std::vector<std::int64_t> st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Calls f(flat index into `out`, multi-index) for every element of `out`.
template <class F>
void each_index(const Shape& out, F&& f) {
  const std::int64_t n = numel(out);
  std::vector<std::int64_t> idx(out.size(), 0);
  for (std::int64_t k = 0; k < n; ++k) {
    f(k, idx);
    for (std::size_t d = out.size(); d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}

// Flat index into `s` (broadcast to `out`'s rank from the right) of the multi-index of `out`.
std::int64_t broadcast_at(const Shape& s, const std::vector<std::int64_t>& st, const std::vector<std::int64_t>& idx) {
  const std::size_t off = idx.size() - s.size();
  std::int64_t k = 0;
  for (std::size_t d = 0; d < s.size(); ++d) k += (s[d] == 1 ? 0 : idx[d + off]) * st[d];
  return k;
}

void need_data(const Tensor& t) {
  if (!t.has_data()) throw Error("needs the values of a constant " + to_string(t.dims) + " that the file does not hold");
}

constexpr std::int64_t kMaxConstant = 1 << 26;  // elements: shape arithmetic never gets near it

void check_size(const Shape& s) {
  for (auto d : s)
    if (d < 0) throw Error("negative dimension in " + to_string(s));
  if (numel(s) > kMaxConstant) throw Error("constant " + to_string(s) + " is too large to fold");
}

}  // namespace

std::vector<std::int64_t> Tensor::ints(const std::string& what) const {
  if (!has_data()) throw Error(what + ": needs constant values, the file holds only dims " + to_string(dims));
  std::vector<std::int64_t> out;
  out.reserve(v.size());
  for (double x : v) {
    if (!std::isfinite(x)) throw Error(what + ": expected integers, got " + std::to_string(x));
    // INT64_MAX / INT64_MIN ("to the end" in Slice) do not survive the trip through double
    constexpr double kLimit = 9.2e18;
    out.push_back(x >= kLimit ? INT64_MAX : x <= -kLimit ? INT64_MIN : static_cast<std::int64_t>(x));
  }
  return out;
}

Tensor scalar(double x, bool integer) { return {{}, {x}, integer}; }

Tensor vector_of(const std::vector<std::int64_t>& xs) {
  Tensor t{{static_cast<std::int64_t>(xs.size())}, {}, true};
  for (auto x : xs) t.v.push_back(static_cast<double>(x));
  return t;
}

int norm_axis(std::int64_t axis, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= std::max<std::int64_t>(r, 1))
    throw Error("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const std::int64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1) throw Error("shapes " + to_string(a) + " and " + to_string(b) + " do not broadcast");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

Tensor elementwise(const Tensor& a, const Tensor& b, bool integer, const std::function<double(double, double)>& f) {
  need_data(a);
  need_data(b);
  Tensor out{broadcast_shapes(a.dims, b.dims), {}, integer};
  check_size(out.dims);
  out.v.resize(static_cast<std::size_t>(numel(out.dims)));
  const auto sa = strides_of(a.dims), sb = strides_of(b.dims);
  each_index(out.dims, [&](std::int64_t k, const std::vector<std::int64_t>& idx) {
    out.v[k] = f(a.v[broadcast_at(a.dims, sa, idx)], b.v[broadcast_at(b.dims, sb, idx)]);
  });
  return out;
}

Tensor where(const Tensor& c, const Tensor& x, const Tensor& y) {
  need_data(c);
  need_data(x);
  need_data(y);
  Tensor out{broadcast_shapes(broadcast_shapes(c.dims, x.dims), y.dims), {}, x.integer && y.integer};
  check_size(out.dims);
  out.v.resize(static_cast<std::size_t>(numel(out.dims)));
  const auto sc = strides_of(c.dims), sx = strides_of(x.dims), sy = strides_of(y.dims);
  each_index(out.dims, [&](std::int64_t k, const std::vector<std::int64_t>& idx) {
    out.v[k] = c.v[broadcast_at(c.dims, sc, idx)] != 0 ? x.v[broadcast_at(x.dims, sx, idx)]
                                                      : y.v[broadcast_at(y.dims, sy, idx)];
  });
  return out;
}

Tensor unary(const Tensor& a, const std::function<double(double)>& f) {
  need_data(a);
  Tensor out = a;
  for (double& x : out.v) x = f(x);
  return out;
}

Tensor gather(const Tensor& data, const Tensor& indices, int axis) {
  need_data(data);
  const auto idx = indices.ints("Gather indices");
  const int ax = norm_axis(axis, data.dims.size());
  Shape out_dims(data.dims.begin(), data.dims.begin() + ax);
  out_dims.insert(out_dims.end(), indices.dims.begin(), indices.dims.end());
  out_dims.insert(out_dims.end(), data.dims.begin() + ax + 1, data.dims.end());
  check_size(out_dims);
  const std::int64_t outer = numel(Shape(data.dims.begin(), data.dims.begin() + ax));
  const std::int64_t inner = numel(Shape(data.dims.begin() + ax + 1, data.dims.end()));
  const std::int64_t len = data.dims[ax];
  Tensor out{out_dims, {}, data.integer};
  for (std::int64_t o = 0; o < outer; ++o)
    for (auto i : idx) {
      const std::int64_t j = i < 0 ? i + len : i;
      if (j < 0 || j >= len) throw Error("Gather index " + std::to_string(i) + " out of range for " + to_string(data.dims));
      for (std::int64_t k = 0; k < inner; ++k) out.v.push_back(data.v[(o * len + j) * inner + k]);
    }
  return out;
}

Tensor concat(const std::vector<const Tensor*>& parts, int axis) {
  const Tensor& first = *parts.at(0);
  const int ax = norm_axis(axis, first.dims.size());
  Shape out_dims = first.dims;
  out_dims[ax] = 0;
  bool integer = true;
  for (const Tensor* p : parts) {
    need_data(*p);
    if (p->dims.size() != first.dims.size()) throw Error("Concat inputs differ in rank");
    for (std::size_t d = 0; d < first.dims.size(); ++d)
      if (static_cast<int>(d) != ax && p->dims[d] != first.dims[d])
        throw Error("Concat inputs " + to_string(first.dims) + " and " + to_string(p->dims) + " differ outside the axis");
    out_dims[ax] += p->dims[ax];
    integer = integer && p->integer;
  }
  const std::int64_t outer = numel(Shape(first.dims.begin(), first.dims.begin() + ax));
  Tensor out{out_dims, {}, integer};
  for (std::int64_t o = 0; o < outer; ++o)
    for (const Tensor* p : parts) {
      const std::int64_t chunk = numel(Shape(p->dims.begin() + ax, p->dims.end()));
      out.v.insert(out.v.end(), p->v.begin() + o * chunk, p->v.begin() + (o + 1) * chunk);
    }
  return out;
}

Tensor slice(const Tensor& x, const std::vector<std::int64_t>& starts, const std::vector<std::int64_t>& ends,
             const std::vector<std::int64_t>& axes, const std::vector<std::int64_t>& steps) {
  need_data(x);
  const std::size_t rank = x.dims.size();
  std::vector<std::int64_t> lo(rank, 0), step(rank, 1);
  Shape out_dims = x.dims;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const int ax = norm_axis(axes[i], rank);
    const std::int64_t len = x.dims[ax], st = steps[i];
    if (st == 0) throw Error("Slice step must not be 0");
    auto clampv = [&](std::int64_t v, std::int64_t lo_, std::int64_t hi_) {
      if (v < 0) v += len;
      return std::clamp(v, lo_, hi_);
    };
    const std::int64_t s = st > 0 ? clampv(starts[i], 0, len) : clampv(starts[i], -1, len - 1);
    const std::int64_t e = st > 0 ? clampv(ends[i], 0, len) : clampv(ends[i], -1, len - 1);
    const std::int64_t n = st > 0 ? std::max<std::int64_t>(0, (e - s + st - 1) / st)
                                  : std::max<std::int64_t>(0, (s - e + (-st) - 1) / (-st));
    lo[ax] = s;
    step[ax] = st;
    out_dims[ax] = n;
  }
  const auto sx = strides_of(x.dims);
  Tensor out{out_dims, std::vector<double>(static_cast<std::size_t>(numel(out_dims))), x.integer};
  each_index(out_dims, [&](std::int64_t k, const std::vector<std::int64_t>& idx) {
    std::int64_t src = 0;
    for (std::size_t d = 0; d < rank; ++d) src += (lo[d] + idx[d] * step[d]) * sx[d];
    out.v[k] = x.v[src];
  });
  return out;
}

Tensor transpose(const Tensor& x, const std::vector<int>& perm) {
  need_data(x);
  if (perm.size() != x.dims.size()) throw Error("Transpose perm does not match rank " + std::to_string(x.dims.size()));
  Shape out_dims(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) out_dims[i] = x.dims.at(static_cast<std::size_t>(norm_axis(perm[i], perm.size())));
  const auto sx = strides_of(x.dims);
  Tensor out{out_dims, std::vector<double>(x.v.size()), x.integer};
  each_index(out_dims, [&](std::int64_t k, const std::vector<std::int64_t>& idx) {
    std::int64_t src = 0;
    for (std::size_t d = 0; d < perm.size(); ++d) src += idx[d] * sx[static_cast<std::size_t>(perm[d])];
    out.v[k] = x.v[src];
  });
  return out;
}

Tensor scatter_nd(const Tensor& data, const Tensor& indices, const Tensor& updates) {
  need_data(data);
  need_data(updates);
  const auto idx = indices.ints("ScatterND indices");
  if (indices.dims.empty() || indices.dims.back() < 1 || static_cast<std::size_t>(indices.dims.back()) > data.dims.size())
    throw Error("ScatterND indices " + to_string(indices.dims) + " do not fit data " + to_string(data.dims));
  const auto k = static_cast<std::size_t>(indices.dims.back());
  const std::int64_t tuples = numel(indices.dims) / static_cast<std::int64_t>(k);
  const std::int64_t chunk = numel(Shape(data.dims.begin() + static_cast<std::ptrdiff_t>(k), data.dims.end()));
  if (numel(updates.dims) != tuples * chunk)
    throw Error("ScatterND updates " + to_string(updates.dims) + " do not fit indices " + to_string(indices.dims));
  const auto st = strides_of(data.dims);
  Tensor out = data;
  for (std::int64_t t = 0; t < tuples; ++t) {
    std::int64_t at = 0;
    for (std::size_t d = 0; d < k; ++d) {
      std::int64_t i = idx[static_cast<std::size_t>(t) * k + d];
      if (i < 0) i += data.dims[d];
      if (i < 0 || i >= data.dims[d]) throw Error("ScatterND index out of range for " + to_string(data.dims));
      at += i * st[d];
    }
    std::copy(updates.v.begin() + t * chunk, updates.v.begin() + (t + 1) * chunk, out.v.begin() + at);
  }
  return out;
}

Tensor expand(const Tensor& x, const Shape& to) {
  check_size(broadcast_shapes(x.dims, to));
  const Tensor ones{to, std::vector<double>(static_cast<std::size_t>(numel(to)), 0.0), x.integer};
  return elementwise(x, ones, x.integer, [](double a, double) { return a; });
}

Tensor with_dims(Tensor x, Shape dims) {
  if (numel(dims) != numel(x.dims)) throw Error("cannot reshape " + to_string(x.dims) + " to " + to_string(dims));
  x.dims = std::move(dims);
  return x;
}

Tensor range(double start, double limit, double delta, bool integer) {
  if (delta == 0) throw Error("Range delta must not be 0");
  const double n = std::max(0.0, std::ceil((limit - start) / delta));
  if (n > static_cast<double>(kMaxConstant)) throw Error("Range is too large to fold");
  Tensor out{{static_cast<std::int64_t>(n)}, {}, integer};
  for (std::int64_t i = 0; i < out.dims[0]; ++i) out.v.push_back(start + static_cast<double>(i) * delta);
  return out;
}

Tensor reduce(const Tensor& x, std::vector<std::int64_t> axes, bool keepdims,
              const std::function<double(double, double)>& f, double init) {
  need_data(x);
  std::vector<bool> red(x.dims.size(), axes.empty());
  for (auto a : axes) red[static_cast<std::size_t>(norm_axis(a, x.dims.size()))] = true;
  Shape kept = x.dims;
  for (std::size_t d = 0; d < kept.size(); ++d)
    if (red[d]) kept[d] = 1;
  Tensor out{kept, std::vector<double>(static_cast<std::size_t>(numel(kept)), init), x.integer};
  const auto so = strides_of(kept);
  each_index(x.dims, [&](std::int64_t k, const std::vector<std::int64_t>& idx) {
    std::int64_t dst = 0;
    for (std::size_t d = 0; d < kept.size(); ++d) dst += (red[d] ? 0 : idx[d]) * so[d];
    out.v[dst] = f(out.v[dst], x.v[k]);
  });
  if (!keepdims) {
    Shape dims;
    for (std::size_t d = 0; d < kept.size(); ++d)
      if (!red[d]) dims.push_back(kept[d]);
    out.dims = dims;
  }
  return out;
}

Shape reshape_target(const Shape& in, const std::vector<std::int64_t>& target, bool allowzero) {
  Shape out;
  int infer_at = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    std::int64_t d = target[i];
    if (d == 0 && !allowzero) {
      if (i >= in.size()) throw Error("Reshape target " + to_string(target) + ": 0 at axis " + std::to_string(i) + " beyond input " + to_string(in));
      d = in[i];
    }
    if (d == -1) {
      if (infer_at >= 0) throw Error("Reshape target " + to_string(target) + " has more than one -1");
      infer_at = static_cast<int>(i);
      d = 1;
    } else if (d < 0) {
      throw Error("Reshape target " + to_string(target) + " has a negative entry");
    }
    known *= d;
    out.push_back(d);
  }
  const std::int64_t total = numel(in);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0)
      throw Error("cannot reshape " + to_string(in) + " to " + to_string(target));
    out[static_cast<std::size_t>(infer_at)] = total / known;
  }
  if (numel(out) != total) throw Error("cannot reshape " + to_string(in) + " to " + to_string(target));
  return out;
}

}  // namespace hwnas::graph::onnx_detail
