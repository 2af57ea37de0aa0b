#pragma once
// Private kernels of the executor: GEMM (OpenBLAS), im2col, depthwise convolution,
// activations and strided copies. All of them are single-threaded; network.cpp splits the
// work into shape-determined partitions and runs those with TBB.
#include <cstdint>
#include <vector>

#include "hwnas/graph/graph.hpp"

namespace hwnas::exec::kernels {

using i64 = std::int64_t;

// C[M,N] = alpha op(A) op(B) + beta C, row-major (cblas_sgemm).
void gemm(bool trans_a, bool trans_b, i64 m, i64 n, i64 k, float alpha, const float* a, i64 lda,
          const float* b, i64 ldb, float beta, float* c, i64 ldc);

struct ConvGeom {
  i64 c, h, w;     // input channels of one group, input height and width
  int kh, kw, sh, sw, ph, pw, dh, dw;
  i64 ho, wo;
};
// col[c*kh*kw, ho*wo] from x[c, h, w] (zeros where the window leaves the input); `col` holds
// im2col_scratch(g) floats, the column matrix first.
i64 im2col_scratch(const ConvGeom& g);
void im2col(const ConvGeom& g, const float* x, float* col);
// dx[c, h, w] (=, or += unless overwrite) the column matrix folded back; `col` as for im2col,
// its scratch part overwritten.
void col2im(const ConvGeom& g, float* col, float* dx, bool overwrite);

// Direct convolution of one image, one group (g.c input channels, cout outputs), stride 1 or
// 2 along the width, any kernel, height stride, padding and dilation, on CPUs with AVX-512F
// (direct_conv_available): sixteen output channels per vector, a row of output pixels per
// register tile, the input read once through a zero-padded copy in `scratch`
// (direct_conv_scratch(g) floats) instead of a column matrix. `packed` holds the weights as
// pack_direct_weights lays them out; y = clamp(w * x + bias, lo, hi) (bias may be null).
bool direct_conv_available();
i64 direct_conv_scratch(const ConvGeom& g);
i64 direct_weights_size(const ConvGeom& g, i64 cout);
// w[cout, c, kh, kw] -> packed[cout/16 rounded up][c][kh][kw][16], zeros past cout
void pack_direct_weights(const ConvGeom& g, i64 cout, const float* w, float* packed);
void conv_direct(const ConvGeom& g, i64 cout, const float* x, const float* packed, const float* bias, float lo,
                 float hi, float* y, float* scratch);

// One plane of a depthwise convolution (g.c == 1) with width stride 1 or 2 on CPUs with
// AVX-512F: sixteen output pixels of a row per vector, a stride-2 tap read as two loads and a
// permute, through a zero-padded copy of the plane in `scratch`
// (depthwise_direct_scratch(g) floats); y = clamp(w * x + bias, lo, hi).
i64 depthwise_direct_scratch(const ConvGeom& g);
void depthwise_direct(const ConvGeom& g, const float* x, const float* w, float bias, float lo, float hi, float* y,
                      float* scratch);

// One channel plane of a depthwise convolution (g.c == 1): y = w * x (+ bias), through the
// plane's polyphase split in `scratch` (depthwise_scratch(g) floats): any kernel, stride and
// dilation runs as unit-stride passes.
i64 depthwise_scratch(const ConvGeom& g);
void depthwise_plane(const ConvGeom& g, const float* x, const float* w, float bias, float* y, float* scratch);
// Its backward: dw[kh*kw] += and, when dx, dx = (overwrite_dx) or dx += the input gradient.
void depthwise_plane_backward(const ConvGeom& g, const float* x, const float* w, const float* dy,
                              float* dx, float* dw, bool overwrite_dx, float* scratch);

// y = act(x) over n elements, and dx (+)= dy * act'(x) (x is the activation's input; `=` when
// overwrite).
void activation(graph::Op op, const float* x, float* y, i64 n);
void activation_backward(graph::Op op, const float* x, const float* dy, float* dx, i64 n, bool overwrite);

// Reductions keep a fixed number of partial sums combined in a fixed order: vectorised, and
// the same result on every run.
float sum(const float* x, i64 n);
// Where an activation fused after a norm passes its gradient: its output y strictly inside
// (lo, hi) (relu: (0, inf), relu6: (0, 6)); no y: everywhere.
struct Mask {
  const float* y = nullptr;
  float lo = 0.0f, hi = 0.0f;
  Mask at(i64 offset) const { return {y ? y + offset : nullptr, lo, hi}; }
};

// Batch-norm pieces over one plane of n elements: sums of x and x^2; y = clamp(x*scale + shift,
// lo, hi); sums of dy and dy*(x-mean); dx (+)= k1 * (dy - mdy - (x-mean)*invstd*mxh), with dy
// masked by `m`.
void sums(const float* x, i64 n, float& s1, float& s2);
void affine(const float* x, float* y, i64 n, float scale, float shift, float lo, float hi);
void norm_grad_sums(const float* x, const float* dy, i64 n, float mean, Mask m, float& sdy, float& sdyx);
void norm_input_grad(const float* x, const float* dy, Mask m, float* dx, i64 n, float mean, float invstd, float k1,
                     float mdy, float mxh, bool overwrite);

// Strided copy of a tensor of `shape` (rank <= 8): dst[i] (+)= src[i] at the element offsets
// given by each side's strides, for the rows [row_begin, row_end) of the shape without its
// last dimension.
struct Strided {
  graph::Shape shape;
  std::vector<i64> src, dst;  // strides in elements
  i64 rows() const;
};
void copy_rows(const Strided& s, const float* src, float* dst, bool accumulate, i64 row_begin, i64 row_end);

std::vector<i64> contiguous_strides(const graph::Shape& shape);

}  // namespace hwnas::exec::kernels
