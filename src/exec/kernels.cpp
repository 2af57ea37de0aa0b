#include "exec/kernels.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace hwnas::exec::kernels {

// The hot loops are compiled for AVX2+FMA too and picked at load time (GCC function
// multi-versioning), so the default build runs anywhere and fast here.
#define HWNAS_VECTOR __attribute__((target_clones("arch=x86-64-v3", "default")))

void gemm(bool trans_a, bool trans_b, i64 m, i64 n, i64 k, float alpha, const float* a, i64 lda,
          const float* b, i64 ldb, float beta, float* c, i64 ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (i64 i = 0; i < m; ++i)
      for (i64 j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

namespace {
// Output columns wo in [lo, hi) whose input column wo*s + off lies in [0, w).
void valid_range(i64 wo, int s, i64 off, i64 w, i64& lo, i64& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = (w - 1 - off) < 0 ? 0 : (w - 1 - off) / s + 1;
  hi = std::min(hi, wo);
  if (lo > hi) lo = hi;
}
}  // namespace

HWNAS_VECTOR
void im2col(const ConvGeom& g, const float* x, float* col) {
  const i64 plane = g.ho * g.wo;
  for (i64 c = 0; c < g.c; ++c)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        float* row = col + ((c * g.kh + i) * g.kw + j) * plane;
        const i64 off = static_cast<i64>(j) * g.dw - g.pw;
        i64 lo, hi;
        valid_range(g.wo, g.sw, off, g.w, lo, hi);
        for (i64 ho = 0; ho < g.ho; ++ho) {
          float* out = row + ho * g.wo;
          const i64 ih = ho * g.sh - g.ph + static_cast<i64>(i) * g.dh;
          if (ih < 0 || ih >= g.h) {
            std::memset(out, 0, sizeof(float) * static_cast<std::size_t>(g.wo));
            continue;
          }
          const float* in = x + (c * g.h + ih) * g.w;
          for (i64 wo = 0; wo < lo; ++wo) out[wo] = 0.0f;
          if (g.sw == 1) {
            for (i64 wo = lo; wo < hi; ++wo) out[wo] = in[wo + off];
          } else {
            for (i64 wo = lo; wo < hi; ++wo) out[wo] = in[wo * g.sw + off];
          }
          for (i64 wo = hi; wo < g.wo; ++wo) out[wo] = 0.0f;
        }
      }
}

HWNAS_VECTOR
void col2im_add(const ConvGeom& g, const float* col, float* dx) {
  const i64 plane = g.ho * g.wo;
  for (i64 c = 0; c < g.c; ++c)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        const float* row = col + ((c * g.kh + i) * g.kw + j) * plane;
        const i64 off = static_cast<i64>(j) * g.dw - g.pw;
        i64 lo, hi;
        valid_range(g.wo, g.sw, off, g.w, lo, hi);
        for (i64 ho = 0; ho < g.ho; ++ho) {
          const i64 ih = ho * g.sh - g.ph + static_cast<i64>(i) * g.dh;
          if (ih < 0 || ih >= g.h) continue;
          const float* in = row + ho * g.wo;
          float* out = dx + (c * g.h + ih) * g.w;
          if (g.sw == 1) {
            for (i64 wo = lo; wo < hi; ++wo) out[wo + off] += in[wo];
          } else {
            for (i64 wo = lo; wo < hi; ++wo) out[wo * g.sw + off] += in[wo];
          }
        }
      }
}

HWNAS_VECTOR
void depthwise_plane(const ConvGeom& g, const float* x, const float* w, float bias, float* y) {
  for (i64 ho = 0; ho < g.ho; ++ho) {
    float* out = y + ho * g.wo;
    for (i64 wo = 0; wo < g.wo; ++wo) out[wo] = bias;
    for (int i = 0; i < g.kh; ++i) {
      const i64 ih = ho * g.sh - g.ph + static_cast<i64>(i) * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      const float* in = x + ih * g.w;
      for (int j = 0; j < g.kw; ++j) {
        const float wt = w[i * g.kw + j];
        const i64 off = static_cast<i64>(j) * g.dw - g.pw;
        i64 lo, hi;
        valid_range(g.wo, g.sw, off, g.w, lo, hi);
        if (g.sw == 1) {
          for (i64 wo = lo; wo < hi; ++wo) out[wo] += wt * in[wo + off];
        } else if (g.sw == 2) {
          for (i64 wo = lo; wo < hi; ++wo) out[wo] += wt * in[2 * wo + off];
        } else {
          for (i64 wo = lo; wo < hi; ++wo) out[wo] += wt * in[wo * g.sw + off];
        }
      }
    }
  }
}

HWNAS_VECTOR
void depthwise_plane_backward(const ConvGeom& g, const float* x, const float* w, const float* dy,
                              float* dx, float* dw) {
  for (i64 ho = 0; ho < g.ho; ++ho) {
    const float* d = dy + ho * g.wo;
    for (int i = 0; i < g.kh; ++i) {
      const i64 ih = ho * g.sh - g.ph + static_cast<i64>(i) * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      const float* in = x + ih * g.w;
      float* din = dx ? dx + ih * g.w : nullptr;
      for (int j = 0; j < g.kw; ++j) {
        const float wt = w[i * g.kw + j];
        const i64 off = static_cast<i64>(j) * g.dw - g.pw;
        i64 lo, hi;
        valid_range(g.wo, g.sw, off, g.w, lo, hi);
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        i64 wo = lo;
        if (g.sw == 1) {
          for (; wo + 8 <= hi; wo += 8)
            for (int l = 0; l < 8; ++l) acc[l] += d[wo + l] * in[wo + l + off];
          for (; wo < hi; ++wo) acc[0] += d[wo] * in[wo + off];
          if (din)
            for (i64 v = lo; v < hi; ++v) din[v + off] += wt * d[v];
        } else {
          for (; wo + 8 <= hi; wo += 8)
            for (int l = 0; l < 8; ++l) acc[l] += d[wo + l] * in[(wo + l) * g.sw + off];
          for (; wo < hi; ++wo) acc[0] += d[wo] * in[wo * g.sw + off];
          if (din)
            for (i64 v = lo; v < hi; ++v) din[v * g.sw + off] += wt * d[v];
        }
        dw[i * g.kw + j] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      }
    }
  }
}

namespace {
inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
}  // namespace

HWNAS_VECTOR
void activation(graph::Op op, const float* x, float* y, i64 n) {
  using graph::Op;
  switch (op) {
    case Op::relu:
      for (i64 i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case Op::relu6:
      for (i64 i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], 0.0f), 6.0f);
      break;
    case Op::hardsigmoid:
      for (i64 i = 0; i < n; ++i) y[i] = std::min(std::max(x[i] * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
      break;
    case Op::hardswish:
      for (i64 i = 0; i < n; ++i) y[i] = x[i] * std::min(std::max(x[i] + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
      break;
    case Op::sigmoid:
      for (i64 i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
      break;
    case Op::silu:
      for (i64 i = 0; i < n; ++i) y[i] = x[i] * sigmoid(x[i]);
      break;
    case Op::gelu:
      for (i64 i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678f));
      break;
    default:
      break;
  }
}

HWNAS_VECTOR
void activation_backward(graph::Op op, const float* x, const float* dy, float* dx, i64 n) {
  using graph::Op;
  switch (op) {
    case Op::relu:
      for (i64 i = 0; i < n; ++i) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case Op::relu6:
      for (i64 i = 0; i < n; ++i) dx[i] += (x[i] > 0.0f && x[i] < 6.0f) ? dy[i] : 0.0f;
      break;
    case Op::hardsigmoid:
      for (i64 i = 0; i < n; ++i) dx[i] += (x[i] > -3.0f && x[i] < 3.0f) ? dy[i] * (1.0f / 6.0f) : 0.0f;
      break;
    case Op::hardswish:
      for (i64 i = 0; i < n; ++i)
        dx[i] += x[i] < -3.0f ? 0.0f : x[i] > 3.0f ? dy[i] : dy[i] * (2.0f * x[i] + 3.0f) * (1.0f / 6.0f);
      break;
    case Op::sigmoid:
      for (i64 i = 0; i < n; ++i) {
        const float s = sigmoid(x[i]);
        dx[i] += dy[i] * s * (1.0f - s);
      }
      break;
    case Op::silu:
      for (i64 i = 0; i < n; ++i) {
        const float s = sigmoid(x[i]);
        dx[i] += dy[i] * (s + x[i] * s * (1.0f - s));
      }
      break;
    case Op::gelu:
      for (i64 i = 0; i < n; ++i) {
        const float cdf = 0.5f * (1.0f + std::erf(x[i] * 0.70710678f));
        const float pdf = 0.39894228f * std::exp(-0.5f * x[i] * x[i]);
        dx[i] += dy[i] * (cdf + x[i] * pdf);
      }
      break;
    default:
      break;
  }
}

i64 Strided::rows() const {
  i64 r = 1;
  for (std::size_t d = 0; d + 1 < shape.size(); ++d) r *= shape[d];
  return r;
}

void copy_rows(const Strided& s, const float* src, float* dst, bool accumulate, i64 row_begin, i64 row_end) {
  const std::size_t rank = s.shape.size();
  const i64 len = rank ? s.shape[rank - 1] : 1;
  const i64 ss = rank ? s.src[rank - 1] : 1, ds = rank ? s.dst[rank - 1] : 1;
  for (i64 r = row_begin; r < row_end; ++r) {
    i64 so = 0, dof = 0, rem = r;
    for (std::size_t d = rank - 1; d-- > 0;) {
      const i64 idx = rem % s.shape[d];
      rem /= s.shape[d];
      so += idx * s.src[d];
      dof += idx * s.dst[d];
    }
    const float* a = src + so;
    float* b = dst + dof;
    if (accumulate) {
      for (i64 i = 0; i < len; ++i) b[i * ds] += a[i * ss];
    } else if (ss == 1 && ds == 1) {
      std::memcpy(b, a, sizeof(float) * static_cast<std::size_t>(len));
    } else {
      for (i64 i = 0; i < len; ++i) b[i * ds] = a[i * ss];
    }
  }
}

std::vector<i64> contiguous_strides(const graph::Shape& shape) {
  std::vector<i64> st(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) st[d - 1] = st[d] * shape[d];
  return st;
}

}  // namespace hwnas::exec::kernels
