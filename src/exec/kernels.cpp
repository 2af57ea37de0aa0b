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

namespace {

// Depthwise k x k with stride S over a zero-padded plane xp [hp, wp]: no bounds checks, the
// taps unrolled, vectorised over the output columns.
template <int K, int S>
void dw_padded(const ConvGeom& g, const float* xp, i64 wp, const float* w, float bias, float* y) {
  for (i64 ho = 0; ho < g.ho; ++ho) {
    float* out = y + ho * g.wo;
    const float* r = xp + ho * S * wp;
    for (i64 wo = 0; wo < g.wo; ++wo) {
      float acc = bias;
      for (int i = 0; i < K; ++i)
        for (int j = 0; j < K; ++j) acc += w[i * K + j] * r[i * wp + wo * S + j];
      out[wo] = acc;
    }
  }
}

template <int K, int S>
void dw_padded_backward(const ConvGeom& g, const float* xp, float* dxp, i64 wp, const float* w, const float* dy, float* dw) {
  float acc[K * K] = {};
  for (i64 ho = 0; ho < g.ho; ++ho) {
    const float* d = dy + ho * g.wo;
    const float* r = xp + ho * S * wp;
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        float a = 0.0f;
        for (i64 wo = 0; wo < g.wo; ++wo) a += d[wo] * r[i * wp + wo * S + j];
        acc[i * K + j] += a;
      }
    if (!dxp) continue;
    float* dr = dxp + ho * S * wp;
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        const float wt = w[i * K + j];
        for (i64 wo = 0; wo < g.wo; ++wo) dr[i * wp + wo * S + j] += wt * d[wo];
      }
  }
  for (int k = 0; k < K * K; ++k) dw[k] += acc[k];
}

// The generic case (any kernel, stride, dilation) over the padded plane.
void dw_padded_any(const ConvGeom& g, const float* xp, i64 wp, const float* w, float bias, float* y) {
  for (i64 ho = 0; ho < g.ho; ++ho) {
    float* out = y + ho * g.wo;
    for (i64 wo = 0; wo < g.wo; ++wo) out[wo] = bias;
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        const float wt = w[i * g.kw + j];
        const float* r = xp + (ho * g.sh + static_cast<i64>(i) * g.dh) * wp + static_cast<i64>(j) * g.dw;
        for (i64 wo = 0; wo < g.wo; ++wo) out[wo] += wt * r[wo * g.sw];
      }
  }
}

void dw_padded_any_backward(const ConvGeom& g, const float* xp, float* dxp, i64 wp, const float* w, const float* dy, float* dw) {
  for (int i = 0; i < g.kh; ++i)
    for (int j = 0; j < g.kw; ++j) {
      const float wt = w[i * g.kw + j];
      float a = 0.0f;
      for (i64 ho = 0; ho < g.ho; ++ho) {
        const float* d = dy + ho * g.wo;
        const i64 at = (ho * g.sh + static_cast<i64>(i) * g.dh) * wp + static_cast<i64>(j) * g.dw;
        for (i64 wo = 0; wo < g.wo; ++wo) a += d[wo] * xp[at + wo * g.sw];
        if (dxp)
          for (i64 wo = 0; wo < g.wo; ++wo) dxp[at + wo * g.sw] += wt * d[wo];
      }
      dw[i * g.kw + j] += a;
    }
}

void pad_plane(const ConvGeom& g, const float* x, float* xp, i64 hp, i64 wp) {
  std::fill_n(xp, hp * wp, 0.0f);
  for (i64 y = 0; y < g.h; ++y) std::memcpy(xp + (y + g.ph) * wp + g.pw, x + y * g.w, sizeof(float) * static_cast<std::size_t>(g.w));
}

}  // namespace

i64 depthwise_scratch(const ConvGeom& g) { return 2 * (g.h + 2 * g.ph + g.sh) * (g.w + 2 * g.pw + g.sw); }

HWNAS_VECTOR
void depthwise_plane(const ConvGeom& g, const float* x, const float* w, float bias, float* y, float* scratch) {
  const i64 hp = g.h + 2 * g.ph + g.sh, wp = g.w + 2 * g.pw + g.sw;
  pad_plane(g, x, scratch, hp, wp);
  const bool k3 = g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1 && g.sh == g.sw;
  if (k3 && g.sh == 1) dw_padded<3, 1>(g, scratch, wp, w, bias, y);
  else if (k3 && g.sh == 2) dw_padded<3, 2>(g, scratch, wp, w, bias, y);
  else dw_padded_any(g, scratch, wp, w, bias, y);
}

HWNAS_VECTOR
void depthwise_plane_backward(const ConvGeom& g, const float* x, const float* w, const float* dy, float* dx, float* dw,
                              float* scratch) {
  const i64 hp = g.h + 2 * g.ph + g.sh, wp = g.w + 2 * g.pw + g.sw;
  float* xp = scratch;
  float* dxp = dx ? scratch + hp * wp : nullptr;
  pad_plane(g, x, xp, hp, wp);
  if (dxp) std::fill_n(dxp, hp * wp, 0.0f);
  const bool k3 = g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1 && g.sh == g.sw;
  if (k3 && g.sh == 1) dw_padded_backward<3, 1>(g, xp, dxp, wp, w, dy, dw);
  else if (k3 && g.sh == 2) dw_padded_backward<3, 2>(g, xp, dxp, wp, w, dy, dw);
  else dw_padded_any_backward(g, xp, dxp, wp, w, dy, dw);
  if (dxp)
    for (i64 y = 0; y < g.h; ++y) {
      const float* src = dxp + (y + g.ph) * wp + g.pw;
      float* dst = dx + y * g.w;
      for (i64 k = 0; k < g.w; ++k) dst[k] += src[k];
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

HWNAS_VECTOR
void sums(const float* x, i64 n, float& s1, float& s2) {
  float a = 0.0f, b = 0.0f;
  for (i64 i = 0; i < n; ++i) {
    a += x[i];
    b += x[i] * x[i];
  }
  s1 = a, s2 = b;
}

HWNAS_VECTOR
void affine(const float* x, float* y, i64 n, float scale, float shift) {
  for (i64 i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

HWNAS_VECTOR
void norm_grad_sums(const float* x, const float* dy, i64 n, float mean, float& sdy, float& sdyx) {
  float a = 0.0f, b = 0.0f;
  for (i64 i = 0; i < n; ++i) {
    a += dy[i];
    b += dy[i] * (x[i] - mean);
  }
  sdy = a, sdyx = b;
}

HWNAS_VECTOR
void norm_input_grad(const float* x, const float* dy, float* dx, i64 n, float mean, float invstd, float k1, float mdy,
                     float mxh) {
  for (i64 i = 0; i < n; ++i) dx[i] += k1 * (dy[i] - mdy - (x[i] - mean) * invstd * mxh);
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
