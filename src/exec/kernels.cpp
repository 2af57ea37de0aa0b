#include "exec/kernels.hpp"

#include <cblas.h>

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

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

// Depthwise convolution and im2col go through polyphase planes. With stride s, the zero-padded
// input splits into s_h * s_w phase planes P[a][b](R, C) = padded(a + s_h R, b + s_w C), each
// of hq x wq (plus one zero row), and tap (i, j) reads phase ((i d_h) mod s_h, (j d_w) mod s_w) at offset
// ((i d_h) / s_h) wq + (j d_w) / s_w from output position u wq + v. So every tap is one
// contiguous, unit-stride pass over an output computed at pitch wq, whatever the stride or
// dilation; the columns v >= wo of that output are dropped (forward) or zero (backward).
struct Phases {
  i64 hq, wq, plane, out;  // phase plane hq x wq (stored with hq + 1 rows), output ho x wq
  int nph;
  Phases(const ConvGeom& g)
      : hq(g.ho + (static_cast<i64>(g.kh - 1) * g.dh) / g.sh),
        wq(g.wo + (static_cast<i64>(g.kw - 1) * g.dw) / g.sw),
        plane((hq + 1) * wq),
        out(g.ho * wq),
        nph(g.sh * g.sw) {}
  int phase(const ConvGeom& g, int i, int j) const { return ((i * g.dh) % g.sh) * g.sw + (j * g.dw) % g.sw; }
  i64 offset(const ConvGeom& g, int i, int j) const { return ((i * g.dh) / g.sh) * wq + (j * g.dw) / g.sw; }
};

// The helpers below are inlined into the vectorised entry points (compiled for each target).
#define HWNAS_INLINE [[gnu::always_inline]] inline

// Eight floats as one GCC vector (unaligned loads and stores): AVX in the x86-64-v3 build,
// two SSE registers in the default one, the same arithmetic in both.
using v8 = float __attribute__((vector_size(32), aligned(4)));
constexpr int kLanes = 8;
#define load8(p) (*reinterpret_cast<const v8*>(p))
#define store8(p, v) (*reinterpret_cast<v8*>(p) = (v))

// The phase planes of x (zeros outside the input).
HWNAS_INLINE void split_phases(const ConvGeom& g, const Phases& f, const float* x, float* planes) {
  for (int a = 0; a < g.sh; ++a)
    for (int b = 0; b < g.sw; ++b) {
      float* p = planes + (a * g.sw + b) * f.plane;
      // input columns c = b + sw*C - pw for C in [0, wq): the valid C range
      i64 lo, hi;
      valid_range(f.wq, g.sw, b - g.pw, g.w, lo, hi);
      for (i64 r = 0; r <= f.hq; ++r) {
        float* row = p + r * f.wq;
        const i64 ih = a + g.sh * r - g.ph;
        if (ih < 0 || ih >= g.h) {
          std::fill_n(row, f.wq, 0.0f);
          continue;
        }
        const float* in = x + ih * g.w;
        const i64 off = b - g.pw;
        for (i64 c = 0; c < lo; ++c) row[c] = 0.0f;
        if (g.sw == 1) std::memcpy(row + lo, in + lo + off, sizeof(float) * static_cast<std::size_t>(hi - lo));
        else if (g.sw == 2) for (i64 c = lo; c < hi; ++c) row[c] = in[c * 2 + off];
        else for (i64 c = lo; c < hi; ++c) row[c] = in[c * g.sw + off];
        for (i64 c = hi; c < f.wq; ++c) row[c] = 0.0f;
      }
    }
}

// dx (=, or += unless overwrite) the input-layout view of phase planes: the inverse of
// split_phases, dropping the padding; with overwrite, input pixels no phase holds get zero.
// Input columns c0 + sw k (those with (c + pw) % sw == b) are phase b's columns C0 + k, the
// first `valid` of them inside the plane.
HWNAS_INLINE void merge_phases(const ConvGeom& g, const Phases& f, const float* dplanes, float* dx, bool overwrite) {
  for (int b = 0; b < g.sw; ++b) {
    i64 c0 = (b - g.pw) % g.sw;
    if (c0 < 0) c0 += g.sw;
    if (c0 >= g.w) continue;
    const i64 C0 = (c0 + g.pw) / g.sw, n = (g.w - 1 - c0) / g.sw + 1, s = g.sw;
    const i64 inside = std::clamp<i64>(f.wq - C0, 0, n);
    i64 a = g.ph % g.sh, R = g.ph / g.sh;
    for (i64 r = 0; r < g.h; ++r, a = a + 1 == g.sh ? 0 : a + 1, R += a == 0) {
      const i64 valid = R <= f.hq ? inside : 0;
      const float* src = dplanes + (a * g.sw + b) * f.plane + R * f.wq + C0;
      float* dst = dx + r * g.w + c0;
      if (overwrite) {
        if (s == 1) std::copy_n(src, valid, dst);
        else if (s == 2) for (i64 k = 0; k < valid; ++k) dst[k * 2] = src[k];
        else for (i64 k = 0; k < valid; ++k) dst[k * s] = src[k];
        for (i64 k = valid; k < n; ++k) dst[k * s] = 0.0f;
      } else {
        for (i64 k = 0; k < valid; ++k) dst[k * s] += src[k];
      }
    }
  }
}

// dst[t] = src[t] (copy_row; its last eight stores may overlap) and dst[t] += src[t] (add_row),
// for t < n.
HWNAS_INLINE void copy_row(const float* src, float* dst, i64 n) {
  if (n < kLanes) {
    for (i64 t = 0; t < n; ++t) dst[t] = src[t];
    return;
  }
  for (i64 t = 0; t + kLanes < n; t += kLanes) store8(dst + t, load8(src + t));
  store8(dst + n - kLanes, load8(src + n - kLanes));
}
HWNAS_INLINE void add_row(const float* src, float* dst, i64 n) {
  i64 t = 0;
  for (; t + kLanes <= n; t += kLanes) store8(dst + t, load8(dst + t) + load8(src + t));
  for (; t < n; ++t) dst[t] += src[t];
}

// out[t] (=, or += when accumulate) sum_k w[k] * src[k][t] for t < n.
template <int T>
HWNAS_INLINE void taps_pass(float* out, i64 n, const float* const* src, const float* w, bool accumulate) {
  const float* p[T];
  float wk[T];
  for (int k = 0; k < T; ++k) p[k] = src[k], wk[k] = w[k];
  i64 t = 0;
  for (; t + kLanes <= n; t += kLanes) {
    v8 acc = accumulate ? load8(out + t) : v8{};
    for (int k = 0; k < T; ++k) acc += wk[k] * load8(p[k] + t);
    store8(out + t, acc);
  }
  for (; t < n; ++t) {
    float acc = accumulate ? out[t] : 0.0f;
    for (int k = 0; k < T; ++k) acc += wk[k] * p[k][t];
    out[t] = acc;
  }
}

// Up to kGroup taps (a 3x3 kernel) per pass over the output.
constexpr int kGroup = 9;

template <int T = 1>
HWNAS_INLINE void taps_group(int count, float* out, i64 n, const float* const* src, const float* w, bool accumulate) {
  if constexpr (T < kGroup) {
    if (count > T) return taps_group<T + 1>(count, out, n, src, w, accumulate);
  }
  taps_pass<T>(out, n, src, w, accumulate);
}

HWNAS_INLINE void taps(float* out, i64 n, const float* const* src, const float* w, int count, bool accumulate) {
  if (count == 0 && !accumulate) std::fill_n(out, n, 0.0f);
  for (int k = 0; k < count; k += kGroup, accumulate = true)
    taps_group(std::min(kGroup, count - k), out, n, src + k, w + k, accumulate);
}

// Reductions keep kLanes partial sums, combined in a fixed order: the same result on every
// run and for both builds.
HWNAS_INLINE float combine(const v8& lane) {
  float s = 0.0f;
  for (int l = 0; l < kLanes; ++l) s += lane[l];
  return s;
}

// d[k] += sum_t a[t] * src[k][t], T dot products in one pass.
template <int T>
HWNAS_INLINE void dots_pass(const float* a, i64 n, const float* const* src, float* d) {
  v8 lane[T] = {};
  const float* p[T];
  for (int k = 0; k < T; ++k) p[k] = src[k];
  i64 t = 0;
  for (; t + kLanes <= n; t += kLanes) {
    const v8 va = load8(a + t);
    for (int k = 0; k < T; ++k) lane[k] += va * load8(p[k] + t);
  }
  for (int k = 0; k < T; ++k) {
    float s = combine(lane[k]);
    for (i64 r = t; r < n; ++r) s += a[r] * p[k][r];
    d[k] += s;
  }
}

template <int T = 1>
HWNAS_INLINE void dots_group(int count, const float* a, i64 n, const float* const* src, float* d) {
  if constexpr (T < kGroup) {
    if (count > T) return dots_group<T + 1>(count, a, n, src, d);
  }
  dots_pass<T>(a, n, src, d);
}

HWNAS_INLINE void dots(const float* a, i64 n, const float* const* src, float* d, int count) {
  for (int k = 0; k < count; k += kGroup) dots_group(std::min(kGroup, count - k), a, n, src + k, d + k);
}

constexpr int kMaxTaps = 64;  // taps handled per batch of pointers

}  // namespace

i64 depthwise_scratch(const ConvGeom& g) {
  const Phases f(g);
  const i64 margin = (static_cast<i64>(g.kh - 1) * g.dh / g.sh + 1) * f.wq;  // dy's zero rows around it
  return 2 * f.nph * f.plane + f.out + 2 * margin + f.plane;
}

HWNAS_VECTOR
void depthwise_plane(const ConvGeom& g, const float* x, const float* w, float bias, float* y, float* scratch) {
  const Phases f(g);
  float* planes = scratch;
  float* out = planes + f.nph * f.plane;
  split_phases(g, f, x, planes);
  std::fill_n(out, f.out, bias);
  const float* src[kMaxTaps];
  float wt[kMaxTaps];
  int count = 0;
  for (int i = 0; i < g.kh; ++i)
    for (int j = 0; j < g.kw; ++j) {
      src[count] = planes + f.phase(g, i, j) * f.plane + f.offset(g, i, j);
      wt[count] = w[i * g.kw + j];
      if (++count == kMaxTaps) taps(out, f.out, src, wt, count, true), count = 0;
    }
  taps(out, f.out, src, wt, count, true);
  for (i64 u = 0; u < g.ho; ++u) std::memcpy(y + u * g.wo, out + u * f.wq, sizeof(float) * static_cast<std::size_t>(g.wo));
}

HWNAS_VECTOR
void depthwise_plane_backward(const ConvGeom& g, const float* x, const float* w, const float* dy, float* dx, float* dw,
                              bool overwrite_dx, float* scratch) {
  const Phases f(g);
  const i64 margin = (static_cast<i64>(g.kh - 1) * g.dh / g.sh + 1) * f.wq;
  float* planes = scratch;
  float* dplanes = planes + f.nph * f.plane;
  float* dyp = dplanes + f.nph * f.plane;  // dy at pitch wq, with `margin` zeros on either side
  split_phases(g, f, x, planes);
  std::fill_n(dyp, margin, 0.0f);
  float* d = dyp + margin;
  for (i64 u = 0; u < g.ho; ++u) {
    std::memcpy(d + u * f.wq, dy + u * g.wo, sizeof(float) * static_cast<std::size_t>(g.wo));
    std::fill(d + u * f.wq + g.wo, d + (u + 1) * f.wq, 0.0f);
  }
  std::fill_n(d + f.out, margin + f.plane, 0.0f);
  // weight gradient: one dot product per tap
  const float* src[kMaxTaps];
  float acc[kMaxTaps];
  const int taps_n = g.kh * g.kw;
  for (int k0 = 0; k0 < taps_n; k0 += kMaxTaps) {
    const int count = std::min(kMaxTaps, taps_n - k0);
    for (int k = 0; k < count; ++k) {
      const int i = (k0 + k) / g.kw, j = (k0 + k) % g.kw;
      src[k] = planes + f.phase(g, i, j) * f.plane + f.offset(g, i, j);
      acc[k] = 0.0f;
    }
    dots(d, f.out, src, acc, count);
    for (int k = 0; k < count; ++k) dw[k0 + k] += acc[k];
  }
  if (!dx) return;
  // input gradient per phase plane: dP[s] = sum over the phase's taps of w * dy[s - offset]
  float wt[kMaxTaps];
  for (int ph = 0; ph < f.nph; ++ph) {
    float* dp = dplanes + ph * f.plane;
    int count = 0;
    bool accumulate = false;
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        if (f.phase(g, i, j) != ph) continue;
        src[count] = d - f.offset(g, i, j);
        wt[count] = w[i * g.kw + j];
        if (++count == kMaxTaps) taps(dp, f.plane, src, wt, count, accumulate), count = 0, accumulate = true;
      }
    taps(dp, f.plane, src, wt, count, accumulate);
  }
  merge_phases(g, f, dplanes, dx, overwrite_dx);
}

i64 im2col_scratch(const ConvGeom& g) {
  const Phases f(g);
  return g.c * g.kh * g.kw * g.ho * g.wo + f.nph * f.plane;
}

// Both go through one channel's phase planes (after the column matrix in `col`): every row of
// the column matrix is then ho unit-stride runs of wo floats, whatever the stride or dilation.
HWNAS_VECTOR
void im2col(const ConvGeom& g, const float* x, float* col) {
  const Phases f(g);
  const i64 plane = g.ho * g.wo;
  float* planes = col + g.c * g.kh * g.kw * plane;
  for (i64 c = 0; c < g.c; ++c) {
    split_phases(g, f, x + c * g.h * g.w, planes);
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        float* row = col + ((c * g.kh + i) * g.kw + j) * plane;
        const float* src = planes + f.phase(g, i, j) * f.plane + f.offset(g, i, j);
        for (i64 u = 0; u < g.ho; ++u) copy_row(src + u * f.wq, row + u * g.wo, g.wo);
      }
  }
}

namespace {
i64 round16(i64 n) { return (n + 15) / 16 * 16; }
// a mask of the first min(n, 16) lanes
__mmask16 first_lanes(i64 n) { return static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1); }

// dst[(h + 2 ph) rows][pitch] = the plane x[h][w] with ph zero rows above and below, pw zero
// columns on the left and zeros from column pw + w to the pitch (>= w + 2 pw)
void pad_plane(const ConvGeom& g, const float* x, i64 pitch, float* dst) {
  std::fill_n(dst, g.ph * pitch, 0.0f);
  for (i64 r = 0; r < g.h; ++r) {
    float* row = dst + (g.ph + r) * pitch;
    std::fill_n(row, g.pw, 0.0f);
    std::memcpy(row + g.pw, x + r * g.w, sizeof(float) * static_cast<std::size_t>(g.w));
    std::fill(row + g.pw + g.w, row + pitch, 0.0f);
  }
  std::fill_n(dst + (g.ph + g.h) * pitch, g.ph * pitch, 0.0f);
}
}  // namespace

bool direct_conv_available() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

i64 direct_conv_scratch(const ConvGeom& g) { return g.c * (g.h + 2 * g.ph) * (g.w + 2 * g.pw); }

i64 direct_weights_size(const ConvGeom& g, i64 cout) { return round16(cout) * g.c * g.kh * g.kw; }

void pack_direct_weights(const ConvGeom& g, i64 cout, const float* w, float* packed) {
  const i64 taps = g.c * g.kh * g.kw, blocks = round16(cout) / 16;
  for (i64 b = 0; b < blocks; ++b)
    for (i64 t = 0; t < taps; ++t)
      for (i64 l = 0; l < 16; ++l) {
        const i64 o = b * 16 + l;
        packed[(b * taps + t) * 16 + l] = o < cout ? w[o * taps + t] : 0.0f;
      }
}

namespace {

// One register tile: output channels [16 cb0, 16 (cb0 + CB)) of V pixels of output row u from
// column v0, width stride SW. acc[b][t] holds the 16 channels of pixel t; the taps (input
// channel, kernel row, kernel column) run as one loop over their offsets `off` in the padded
// input, so the accumulators stay in registers; stored with a masked scatter into the planes.
template <int V, int CB, int SW>
[[gnu::target("avx512f")]] void direct_tile(const ConvGeom& g, i64 cout, const float* xp, const i64* off, i64 wp,
                                            const float* packed, i64 cb0, i64 u, i64 v0, const float* bias, float lo,
                                            float hi, float* y) {
  const i64 taps = g.c * g.kh * g.kw;
  __m512 acc[CB][V];
  for (int b = 0; b < CB; ++b) {
    const i64 o = (cb0 + b) * 16;
    const __mmask16 m = first_lanes(cout - o);
    const __m512 init = bias ? _mm512_maskz_loadu_ps(m, bias + o) : _mm512_setzero_ps();
    for (int t = 0; t < V; ++t) acc[b][t] = init;
  }
  const float* wb = packed + cb0 * taps * 16;
  const float* base = xp + u * g.sh * wp + v0 * SW;
  for (i64 q = 0; q < taps; ++q) {
    const float* xs = base + off[q];
    __m512 w[CB];
    for (int b = 0; b < CB; ++b) w[b] = _mm512_loadu_ps(wb + (b * taps + q) * 16);
    for (int t = 0; t < V; ++t) {
      const __m512 xv = _mm512_set1_ps(xs[t * SW]);
      for (int b = 0; b < CB; ++b) acc[b][t] = _mm512_fmadd_ps(w[b], xv, acc[b][t]);
    }
  }
  const i64 plane = g.ho * g.wo;
  const __m512i lanes = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                           _mm512_set1_epi32(static_cast<int>(plane)));
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  for (int b = 0; b < CB; ++b) {
    const i64 o = (cb0 + b) * 16;
    const __mmask16 m = first_lanes(cout - o);
    float* yb = y + o * plane + u * g.wo + v0;
    for (int t = 0; t < V; ++t) {
      // the masked forms (all lanes) sidestep GCC 12's -Wuninitialized on _mm512_min_ps
      const __m512 v = _mm512_mask_min_ps(acc[b][t], 0xffff, acc[b][t], vhi);
      _mm512_mask_i32scatter_ps(yb + t, m, lanes, _mm512_mask_max_ps(v, 0xffff, v, vlo), 4);
    }
  }
}

using Tile = void (*)(const ConvGeom&, i64, const float*, const i64*, i64, const float*, i64, i64, i64, const float*, float,
                      float, float*);

constexpr int kTileMax = 14;  // output pixels per register tile
thread_local std::vector<i64> direct_offsets;  // conv_direct's tap offsets (no allocation once grown)

template <int CB, int SW, int... V>
constexpr std::array<Tile, sizeof...(V)> tiles(std::integer_sequence<int, V...>) {
  return {&direct_tile<V + 1, CB, SW>...};
}

// [CB - 1][SW - 1][V - 1]
const std::array<std::array<std::array<Tile, kTileMax>, 2>, 2> kTiles = {{
    {{tiles<1, 1>(std::make_integer_sequence<int, kTileMax>{}), tiles<1, 2>(std::make_integer_sequence<int, kTileMax>{})}},
    {{tiles<2, 1>(std::make_integer_sequence<int, kTileMax>{}), tiles<2, 2>(std::make_integer_sequence<int, kTileMax>{})}},
}};

}  // namespace

void conv_direct(const ConvGeom& g, i64 cout, const float* x, const float* packed, const float* bias, float lo, float hi,
                 float* y, float* scratch) {
  const i64 hp = g.h + 2 * g.ph, wp = g.w + 2 * g.pw;
  std::vector<i64>& off = direct_offsets;
  off.clear();
  for (i64 c = 0; c < g.c; ++c)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) off.push_back((c * hp + static_cast<i64>(i) * g.dh) * wp + static_cast<i64>(j) * g.dw);
  for (i64 c = 0; c < g.c; ++c) pad_plane(g, x + c * g.h * g.w, wp, scratch + c * hp * wp);
  // a row splits into equal tiles of at most kTileMax pixels (the first ones one wider)
  const i64 ntiles = (g.wo + kTileMax - 1) / kTileMax, blocks = round16(cout) / 16;
  for (i64 cb = 0; cb < blocks; cb += 2) {
    const int nb = blocks - cb >= 2 ? 2 : 1;
    for (i64 u = 0; u < g.ho; ++u)
      for (i64 k = 0, v0 = 0; k < ntiles; ++k) {
        const i64 v = g.wo / ntiles + (k < g.wo % ntiles);
        kTiles[nb - 1][g.sw - 1][v - 1](g, cout, scratch, off.data(), wp, packed, cb, u, v0, bias, lo, hi, y);
        v0 += v;
      }
  }
}

namespace {
// the padded plane's row pitch: at least the padded width, and every 16-pixel chunk of an
// output row reads 16 sw floats from its first tap's column on
i64 depthwise_pitch(const ConvGeom& g) {
  return std::max(g.w + 2 * g.pw, round16(g.wo) * g.sw + static_cast<i64>(g.kw - 1) * g.dw);
}
}  // namespace

i64 depthwise_direct_scratch(const ConvGeom& g) { return (g.h + 2 * g.ph) * depthwise_pitch(g); }

[[gnu::target("avx512f")]] void depthwise_direct(const ConvGeom& g, const float* x, const float* w, float bias, float lo,
                                                 float hi, float* y, float* scratch) {
  const i64 pitch = depthwise_pitch(g);
  pad_plane(g, x, pitch, scratch);
  const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi), vb = _mm512_set1_ps(bias);
  for (i64 u = 0; u < g.ho; ++u)
    for (i64 v0 = 0; v0 < g.wo; v0 += 16) {
      __m512 acc = vb;
      for (int i = 0; i < g.kh; ++i) {
        const float* row = scratch + (u * g.sh + static_cast<i64>(i) * g.dh) * pitch + v0 * g.sw;
        for (int j = 0; j < g.kw; ++j) {
          const float* p = row + static_cast<i64>(j) * g.dw;
          const __m512 xv = g.sw == 1 ? _mm512_loadu_ps(p)
                                      : _mm512_permutex2var_ps(_mm512_loadu_ps(p), evens, _mm512_loadu_ps(p + 16));
          acc = _mm512_fmadd_ps(_mm512_set1_ps(w[i * g.kw + j]), xv, acc);
        }
      }
      acc = _mm512_mask_min_ps(acc, 0xffff, acc, vhi);  // masked forms: see direct_tile
      acc = _mm512_mask_max_ps(acc, 0xffff, acc, vlo);
      _mm512_mask_storeu_ps(y + u * g.wo + v0, first_lanes(g.wo - v0), acc);
    }
}

HWNAS_VECTOR
void col2im(const ConvGeom& g, float* col, float* dx, bool overwrite) {
  const Phases f(g);
  const i64 plane = g.ho * g.wo;
  float* dplanes = col + g.c * g.kh * g.kw * plane;
  for (i64 c = 0; c < g.c; ++c) {
    std::fill_n(dplanes, f.nph * f.plane, 0.0f);
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        const float* row = col + ((c * g.kh + i) * g.kw + j) * plane;
        float* dst = dplanes + f.phase(g, i, j) * f.plane + f.offset(g, i, j);
        for (i64 u = 0; u < g.ho; ++u) add_row(row + u * g.wo, dst + u * f.wq, g.wo);
      }
    merge_phases(g, f, dplanes, dx + c * g.h * g.w, overwrite);
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

namespace {
// dx[i] = f(i) or dx[i] += f(i)
template <class F>
[[gnu::always_inline]] inline void store(float* dx, i64 n, bool overwrite, F f) {
  if (overwrite) {
    for (i64 i = 0; i < n; ++i) dx[i] = f(i);
  } else {
    for (i64 i = 0; i < n; ++i) dx[i] += f(i);
  }
}
}  // namespace

HWNAS_VECTOR
void activation_backward(graph::Op op, const float* x, const float* dy, float* dx, i64 n, bool overwrite) {
  using graph::Op;
  switch (op) {
    case Op::relu:
      store(dx, n, overwrite, [&](i64 i) { return x[i] > 0.0f ? dy[i] : 0.0f; });
      break;
    case Op::relu6:
      store(dx, n, overwrite, [&](i64 i) { return (x[i] > 0.0f && x[i] < 6.0f) ? dy[i] : 0.0f; });
      break;
    case Op::hardsigmoid:
      store(dx, n, overwrite, [&](i64 i) { return (x[i] > -3.0f && x[i] < 3.0f) ? dy[i] * (1.0f / 6.0f) : 0.0f; });
      break;
    case Op::hardswish:
      store(dx, n, overwrite, [&](i64 i) {
        return x[i] < -3.0f ? 0.0f : x[i] > 3.0f ? dy[i] : dy[i] * (2.0f * x[i] + 3.0f) * (1.0f / 6.0f);
      });
      break;
    case Op::sigmoid:
      store(dx, n, overwrite, [&](i64 i) {
        const float s = sigmoid(x[i]);
        return dy[i] * s * (1.0f - s);
      });
      break;
    case Op::silu:
      store(dx, n, overwrite, [&](i64 i) {
        const float s = sigmoid(x[i]);
        return dy[i] * (s + x[i] * s * (1.0f - s));
      });
      break;
    case Op::gelu:
      store(dx, n, overwrite, [&](i64 i) {
        const float cdf = 0.5f * (1.0f + std::erf(x[i] * 0.70710678f));
        const float pdf = 0.39894228f * std::exp(-0.5f * x[i] * x[i]);
        return dy[i] * (cdf + x[i] * pdf);
      });
      break;
    default:
      break;
  }
}

HWNAS_VECTOR
float sum(const float* x, i64 n) {
  v8 lane{};
  i64 i = 0;
  for (; i + kLanes <= n; i += kLanes) lane += load8(x + i);
  float s = combine(lane);
  for (; i < n; ++i) s += x[i];
  return s;
}

HWNAS_VECTOR
void sums(const float* x, i64 n, float& s1, float& s2) {
  v8 a{}, b{};
  i64 i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const v8 v = load8(x + i);
    a += v;
    b += v * v;
  }
  s1 = combine(a), s2 = combine(b);
  for (; i < n; ++i) s1 += x[i], s2 += x[i] * x[i];
}

HWNAS_VECTOR
void affine(const float* x, float* y, i64 n, float scale, float shift, float lo, float hi) {
  for (i64 i = 0; i < n; ++i) y[i] = std::min(std::max(x[i] * scale + shift, lo), hi);
}

HWNAS_VECTOR
void norm_grad_sums(const float* x, const float* dy, i64 n, float mean, Mask m, float& sdy, float& sdyx) {
  v8 a{}, b{};
  i64 i = 0;
  if (m.y) {
    for (; i + kLanes <= n; i += kLanes) {
      const v8 y = load8(m.y + i), zero{};
      const v8 d = (y > m.lo) & (y < m.hi) ? load8(dy + i) : zero;
      a += d;
      b += d * (load8(x + i) - mean);
    }
  } else {
    for (; i + kLanes <= n; i += kLanes) {
      const v8 d = load8(dy + i);
      a += d;
      b += d * (load8(x + i) - mean);
    }
  }
  sdy = combine(a), sdyx = combine(b);
  for (; i < n; ++i) {
    const float d = !m.y || (m.y[i] > m.lo && m.y[i] < m.hi) ? dy[i] : 0.0f;
    sdy += d, sdyx += d * (x[i] - mean);
  }
}

HWNAS_VECTOR
void norm_input_grad(const float* x, const float* dy, Mask m, float* dx, i64 n, float mean, float invstd, float k1,
                     float mdy, float mxh, bool overwrite) {
  if (m.y) {
    store(dx, n, overwrite, [&](i64 i) {
      const float d = m.y[i] > m.lo && m.y[i] < m.hi ? dy[i] : 0.0f;
      return k1 * (d - mdy - (x[i] - mean) * invstd * mxh);
    });
  } else {
    store(dx, n, overwrite, [&](i64 i) { return k1 * (dy[i] - mdy - (x[i] - mean) * invstd * mxh); });
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
