// Executor: a finite-difference gradient check per op (input and parameter gradients), in
// the style of ggml's test-backend-ops: one small graph per case.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>

#include "hwnas/error.hpp"
#include "hwnas/exec/network.hpp"

using namespace hwnas;
using graph::Attrs;
using graph::Graph;
using graph::Node;
using graph::Op;
using graph::Shape;

namespace {

int add(Graph& g, const std::string& name, Op op, std::vector<int> in, Attrs a = {}) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(in);
  n.attrs = std::move(a);
  return g.add(std::move(n));
}

int input(Graph& g, const std::string& name, Shape s) {
  Attrs a;
  a.shape = std::move(s);
  return add(g, name, Op::input, {}, a);
}

struct Check {
  int checked = 0;
  double worst = 0;  // largest |analytic - numeric| / (atol + rtol * scale)
};

// Compares d(sum(out * r))/d(every input and parameter) with central differences on up to
// 24 elements of each tensor. `kink`: keep inputs away from the activation kinks.
Check grad_check(const Graph& g, std::uint64_t seed = 1, bool kink = false) {
  exec::Params p(g);
  p.init(seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& t : p.tensors())
    if (!t.buffer)
      for (auto& v : t.value) v += 0.3f * normal(rng);
  exec::Network net(g, p, exec::Passes::train_input_gradients);
  const int out = g.outputs().back();
  const auto out_n = static_cast<std::size_t>(graph::numel(g.node(out).shape));
  std::vector<float> r(out_n);
  for (auto& v : r) v = normal(rng);
  std::vector<int> inputs;
  for (int i = 0; i < g.size(); ++i)
    if (g.node(i).op == Op::input) {
      inputs.push_back(i);
      float* x = net.value(i);
      for (std::int64_t k = 0; k < graph::numel(g.node(i).shape); ++k) {
        float v = normal(rng);
        if (kink) {
          for (float at : {-3.0f, 0.0f, 3.0f, 6.0f})
            if (std::fabs(v - at) < 0.05f) v = at + 0.1f;
        }
        x[k] = v;
      }
    }
  auto loss = [&] {
    net.forward(true);
    const float* y = net.value(out);
    double s = 0;
    for (std::size_t k = 0; k < out_n; ++k) s += static_cast<double>(y[k]) * r[k];
    return s;
  };
  p.zero_grad();
  loss();
  std::copy(r.begin(), r.end(), net.grad(out));
  net.backward();
  struct Target {
    std::string name;
    float* value;
    std::vector<float> grad;
  };
  std::vector<Target> targets;
  for (int i : inputs) {
    const auto n = static_cast<std::size_t>(graph::numel(g.node(i).shape));
    targets.push_back({g.node(i).name, net.value(i), std::vector<float>(net.grad(i), net.grad(i) + n)});
  }
  for (auto& t : p.tensors())
    if (!t.buffer) targets.push_back({t.name, t.value.data(), t.grad});
  Check c;
  const float eps = 1e-2f;
  for (auto& t : targets) {
    const std::size_t n = t.grad.size();
    const std::size_t step = std::max<std::size_t>(1, n / 24);
    for (std::size_t k = 0; k < n; k += step) {
      const float saved = t.value[k];
      t.value[k] = saved + eps;
      const double up = loss();
      t.value[k] = saved - eps;
      const double down = loss();
      t.value[k] = saved;
      const double numeric = (up - down) / (2.0 * eps), analytic = t.grad[k];
      const double err = std::fabs(numeric - analytic) / (5e-3 + 2e-2 * std::max(std::fabs(numeric), std::fabs(analytic)));
      INFO(t.name << "[" << k << "]: analytic " << analytic << ", numeric " << numeric);
      CHECK(err <= 1.0);
      c.worst = std::max(c.worst, err);
      ++c.checked;
    }
  }
  return c;
}

Attrs conv(std::int64_t out, int k, int s, int p, int d = 1, int groups = 1, bool bias = true) {
  Attrs a;
  a.out = out, a.kh = a.kw = k, a.sh = a.sw = s, a.ph = a.pw = p, a.dh = a.dw = d, a.groups = groups, a.bias = bias;
  return a;
}

void expect_ok(const Graph& g, bool kink = false) {
  const Check c = grad_check(g, 7, kink);
  CHECK(c.checked > 0);
}

}  // namespace

TEST_CASE("exec grad: conv2d with stride, padding, dilation, bias") {
  Graph g;
  add(g, "c", Op::conv2d, {input(g, "x", {2, 3, 7, 6})}, conv(4, 3, 2, 2, 2));
  expect_ok(g);
}

TEST_CASE("exec grad: grouped conv2d and 1x1 conv") {
  Graph g;
  const int y = add(g, "grouped", Op::conv2d, {input(g, "x", {2, 4, 5, 5})}, conv(6, 3, 1, 1, 1, 2));
  add(g, "pw", Op::conv2d, {y}, conv(3, 1, 1, 0, 1, 1, false));
  expect_ok(g);
}

TEST_CASE("exec grad: depthwise conv2d, stride 1 and 2") {
  Graph g;
  const int y = add(g, "dw1", Op::conv2d, {input(g, "x", {2, 3, 9, 8})}, conv(3, 3, 1, 1, 1, 3));
  add(g, "dw2", Op::conv2d, {y}, conv(3, 5, 2, 2, 1, 3, false));
  expect_ok(g);
  Graph d;
  const int z = add(d, "dilated", Op::conv2d, {input(d, "x", {1, 2, 9, 10})}, conv(2, 3, 2, 2, 2, 2));
  Attrs odd = conv(2, 3, 1, 0, 1, 2);
  odd.kh = 2, odd.sw = 3, odd.pw = 1;
  add(d, "odd", Op::conv2d, {z}, odd);
  expect_ok(d);
}

// Forward and backward of the depthwise and the im2col paths against a direct convolution
// written out here, over kernels, strides, paddings and dilations (every output and gradient
// element), for depthwise (2 -> 2, groups 2), dense (2 -> 3) and grouped (4 -> 4, groups 2) convs.
TEST_CASE("exec: every conv path matches a direct convolution for any geometry") {
  struct Geo {
    int h, w, kh, kw, sh, sw, ph, pw, dh, dw;
  };
  struct Chan {
    int cin, cout, groups;
  };
  const Geo cases[] = {{8, 8, 3, 3, 1, 1, 1, 1, 1, 1}, {9, 7, 3, 3, 2, 2, 1, 1, 1, 1}, {10, 10, 3, 3, 2, 2, 0, 0, 1, 1},
                       {11, 9, 5, 5, 2, 2, 2, 2, 1, 1}, {12, 12, 7, 7, 1, 1, 3, 3, 1, 1}, {9, 11, 3, 3, 1, 1, 2, 2, 2, 2},
                       {10, 9, 2, 3, 1, 3, 0, 1, 1, 1}, {13, 13, 3, 3, 3, 3, 1, 1, 2, 2}, {5, 6, 1, 1, 2, 2, 0, 0, 1, 1},
                       {19, 21, 3, 3, 2, 2, 1, 1, 1, 1}};
  // 40 outputs: the direct kernel's two-block tiles, then a partial single block
  for (const Chan& ch : {Chan{2, 2, 2}, Chan{2, 3, 1}, Chan{4, 4, 2}, Chan{3, 40, 1}})
    for (const Geo& c : cases) {
      Graph g;
      Attrs a = conv(ch.cout, 3, 1, 0, 1, ch.groups);
      a.kh = c.kh, a.kw = c.kw, a.sh = c.sh, a.sw = c.sw, a.ph = c.ph, a.pw = c.pw, a.dh = c.dh, a.dw = c.dw;
      const int x = input(g, "x", {2, ch.cin, c.h, c.w});
      const int y = add(g, "conv", Op::conv2d, {x}, a);
      exec::Params p(g);
      p.init(3);
      exec::Network net(g, p, exec::Passes::train_input_gradients);
      std::mt19937_64 rng(5);
      std::normal_distribution<float> normal(0.0f, 1.0f);
      for (std::int64_t k = 0; k < graph::numel(g.node(x).shape); ++k) net.value(x)[k] = normal(rng);
      const Shape& os = g.node(y).shape;
      const auto on = static_cast<std::size_t>(graph::numel(os));
      std::vector<float> dy(on);
      for (auto& v : dy) v = normal(rng);
      p.zero_grad();
      net.forward(true);
      std::copy(dy.begin(), dy.end(), net.grad(y));
      net.backward();
      const float* w = p.find(y, "weight")->value.data();
      const float* b = p.find(y, "bias")->value.data();
      const float* xv = net.value(x);
      const int cg = ch.cin / ch.groups, og = ch.cout / ch.groups;
      std::vector<double> want_y(on, 0.0), want_dx(static_cast<std::size_t>(graph::numel(g.node(x).shape)), 0.0);
      std::vector<double> want_dw(static_cast<std::size_t>(ch.cout * cg * c.kh * c.kw), 0.0);
      const std::int64_t ho = os[2], wo = os[3];
      for (int n = 0; n < 2; ++n)
        for (int oc = 0; oc < ch.cout; ++oc)
          for (std::int64_t u = 0; u < ho; ++u)
            for (std::int64_t v = 0; v < wo; ++v) {
              const std::size_t o = static_cast<std::size_t>(((n * ch.cout + oc) * ho + u) * wo + v);
              double acc = b[oc];
              for (int k = 0; k < cg; ++k)
                for (int i = 0; i < c.kh; ++i)
                  for (int j = 0; j < c.kw; ++j) {
                    const std::int64_t r = u * c.sh - c.ph + i * c.dh, q = v * c.sw - c.pw + j * c.dw;
                    if (r < 0 || r >= c.h || q < 0 || q >= c.w) continue;
                    const int ic = oc / og * cg + k;
                    const std::size_t xi = static_cast<std::size_t>(((n * ch.cin + ic) * c.h + r) * c.w + q);
                    const std::size_t wi = static_cast<std::size_t>(((oc * cg + k) * c.kh + i) * c.kw + j);
                    acc += w[wi] * xv[xi];
                    want_dx[xi] += w[wi] * dy[o];
                    want_dw[wi] += xv[xi] * dy[o];
                  }
              want_y[o] = acc;
            }
      INFO(ch.cin << " -> " << ch.cout << " groups " << ch.groups << ", " << c.kh << "x" << c.kw << " stride " << c.sh << ","
                  << c.sw << " pad " << c.ph << "," << c.pw << " dilation " << c.dh << "," << c.dw << " on " << c.h << "x" << c.w);
      auto close = [](double got, double want) { return std::fabs(got - want) <= 1e-4 * (1.0 + std::fabs(want)); };
      for (std::size_t k = 0; k < on; ++k) CHECK(close(net.value(y)[k], want_y[k]));
      for (std::size_t k = 0; k < want_dx.size(); ++k) CHECK(close(net.grad(x)[k], want_dx[k]));
      const float* dw = p.find(y, "weight")->grad.data();
      for (std::size_t k = 0; k < want_dw.size(); ++k) CHECK(close(dw[k], want_dw[k]));
    }
}

TEST_CASE("exec grad: linear over the last dimension") {
  Graph g;
  Attrs a;
  a.out = 5, a.bias = true;
  add(g, "fc", Op::linear, {input(g, "x", {2, 3, 4})}, a);
  expect_ok(g);
}

TEST_CASE("exec grad: batched matmul with a broadcast batch") {
  Graph g;
  add(g, "mm", Op::matmul, {input(g, "a", {2, 3, 4, 5}), input(g, "b", {1, 5, 2})});
  expect_ok(g);
}

TEST_CASE("exec grad: attention, full and windowed patterns, grouped queries") {
  using graph::AttnPattern;
  for (AttnPattern pat : {AttnPattern::full, AttnPattern::causal, AttnPattern::sliding_window,
                          AttnPattern::local_window, AttnPattern::dilated_window}) {
    Graph g;
    Attrs a;
    a.heads = 4, a.kv_heads = 2, a.head_dim = 3, a.pattern = pat, a.window = 3, a.window_dilation = 2;
    a.global_tokens = pat == AttnPattern::local_window ? 1 : 0;
    a.sink_tokens = pat == AttnPattern::sliding_window ? 1 : 0;
    add(g, "attn", Op::attention, {input(g, "q", {2, 6, 12}), input(g, "k", {2, 6, 6}), input(g, "v", {2, 6, 6})}, a);
    INFO(graph::pattern_name(pat));
    expect_ok(g);
  }
}

TEST_CASE("exec grad: batch norm (4-d and 2-d, training statistics)") {
  Graph g;
  add(g, "bn", Op::batch_norm, {input(g, "x", {3, 4, 3, 3})});
  expect_ok(g);
  Graph h;
  add(h, "bn", Op::batch_norm, {input(h, "x", {5, 3})});
  expect_ok(h);
}

// The executor fuses conv -> batch norm -> relu/relu6 (plane sums taken in the conv, the
// clamp in the norm, the mask in its backward); extra readers of each tensor turn that off.
TEST_CASE("exec: fused conv, batch norm and activation equal the unfused ops") {
  auto build = [](bool probes) {
    Graph g;
    const int x = input(g, "x", {4, 3, 6, 6});
    const int c1 = add(g, "c1", Op::conv2d, {x}, conv(5, 3, 1, 1, 1, 1, false));
    const int b1 = add(g, "b1", Op::batch_norm, {c1});
    const int a1 = add(g, "a1", Op::relu6, {b1});
    const int c2 = add(g, "c2", Op::conv2d, {a1}, conv(5, 3, 2, 1, 1, 5, false));
    const int b2 = add(g, "b2", Op::batch_norm, {c2});
    if (probes) {
      add(g, "probe_c1", Op::relu, {c1});
      add(g, "probe_b1", Op::relu, {b1});
      add(g, "probe_c2", Op::relu, {c2});
      add(g, "probe_b2", Op::relu, {b2});
    }
    const int a2 = add(g, "a2", Op::relu, {b2});
    add(g, "c3", Op::conv2d, {a2}, conv(2, 1, 1, 0));
    return g;
  };
  struct Run {
    std::vector<float> train_out, eval_out, dx, grads;
  };
  auto run = [](const Graph& g) {
    exec::Params p(g);
    p.init(11);
    exec::Network net(g, p, exec::Passes::train_input_gradients);
    std::mt19937_64 rng(2);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    const auto xn = static_cast<std::size_t>(graph::numel(g.node(0).shape));
    for (std::size_t k = 0; k < xn; ++k) net.value(0)[k] = normal(rng);
    const int out = g.outputs().back();
    const auto on = static_cast<std::size_t>(graph::numel(g.node(out).shape));
    Run r;
    p.zero_grad();
    net.forward(true);
    r.train_out.assign(net.value(out), net.value(out) + on);
    for (std::size_t k = 0; k < on; ++k) net.grad(out)[k] = normal(rng);
    net.backward();
    r.dx.assign(net.grad(0), net.grad(0) + xn);
    for (auto& t : p.tensors())
      if (!t.buffer) r.grads.insert(r.grads.end(), t.grad.begin(), t.grad.end());
    net.forward(false);
    r.eval_out.assign(net.value(out), net.value(out) + on);
    return r;
  };
  const Run fused = run(build(false)), plain = run(build(true));
  auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) CHECK(std::fabs(a[k] - b[k]) <= 1e-5f * (1.0f + std::fabs(b[k])));
  };
  same(fused.train_out, plain.train_out);
  same(fused.dx, plain.dx);
  same(fused.grads, plain.grads);
  same(fused.eval_out, plain.eval_out);
  CHECK(std::any_of(fused.dx.begin(), fused.dx.end(), [](float v) { return v != 0.0f; }));
}

TEST_CASE("exec grad: layer norm and rms norm") {
  Graph g;
  const int y = add(g, "ln", Op::layer_norm, {input(g, "x", {2, 3, 8})});
  add(g, "rms", Op::rms_norm, {y});
  expect_ok(g);
}

TEST_CASE("exec grad: activations") {
  for (Op op : {Op::relu, Op::relu6, Op::hardswish, Op::hardsigmoid, Op::sigmoid, Op::silu, Op::gelu}) {
    Graph g;
    const int x = input(g, "x", {2, 3, 4, 4});
    // scale so relu6 / hardsigmoid see both of their kinks
    Attrs a;
    a.shape = {1, 3, 1, 1};
    const int s = add(g, "scale", Op::weight, {}, a);
    add(g, "act", op, {add(g, "scaled", Op::mul, {x, s})});
    INFO(graph::op_name(op));
    expect_ok(g, true);
  }
}

TEST_CASE("exec grad: add and mul with broadcasting (squeeze-excite)") {
  Graph g;
  const int x = input(g, "x", {2, 3, 4, 5});
  const int s = input(g, "s", {2, 3, 1, 1});
  const int r = input(g, "r", {5});
  add(g, "sum", Op::add, {add(g, "se", Op::mul, {x, s}), add(g, "row", Op::add, {x, r})});
  expect_ok(g);
}

TEST_CASE("exec grad: zero") {
  Graph g;
  const int x = input(g, "x", {2, 3});
  add(g, "sum", Op::add, {add(g, "z", Op::zero, {x}), add(g, "sq", Op::mul, {x, x})});
  expect_ok(g);
}

TEST_CASE("exec grad: concat with a broadcast class token, and slice") {
  Graph g;
  Attrs w;
  w.shape = {1, 1, 4};
  const int cls = add(g, "cls", Op::weight, {}, w);
  Attrs c;
  c.axis = 1;
  const int y = add(g, "cat", Op::concat, {cls, input(g, "x", {2, 3, 4})}, c);
  Attrs s;
  s.axis = -1, s.start = 0, s.end = 4, s.step = 2;
  add(g, "slice", Op::slice, {y}, s);
  expect_ok(g);
}

TEST_CASE("exec grad: avg, max and global pooling") {
  Graph g;
  Attrs a;
  a.kh = a.kw = 3, a.sh = a.sw = 2, a.ph = a.pw = 1;
  const int x = input(g, "x", {2, 2, 7, 7});
  const int avg = add(g, "avg", Op::avg_pool, {x}, a);
  a.ceil_mode = true;
  const int mx = add(g, "max", Op::max_pool, {x}, a);
  add(g, "gap", Op::global_avg_pool, {add(g, "sum", Op::add, {avg, mx})});
  expect_ok(g);
}

TEST_CASE("exec grad: reshape, transpose, flatten") {
  Graph g;
  Attrs r;
  r.shape = {4, -1};
  const int y = add(g, "reshape", Op::reshape, {input(g, "x", {2, 2, 3, 4})}, r);
  Attrs t;
  t.perm = {2, 0, 1};
  add(g, "flat", Op::flatten, {add(g, "t", Op::transpose, {y}, t)});
  expect_ok(g);
}

TEST_CASE("exec grad: unfold and fold (MobileViT patches)") {
  Graph g;
  Attrs u;
  u.patch_h = u.patch_w = 2;
  const int p = add(g, "unfold", Op::unfold, {input(g, "x", {2, 3, 4, 6})}, u);
  Attrs ln;
  const int y = add(g, "ln", Op::layer_norm, {p}, ln);
  Attrs f = u;
  f.shape = {3, 4, 6};
  add(g, "fold", Op::fold, {y}, f);
  expect_ok(g);
}

TEST_CASE("exec grad: softmax") {
  Graph g;
  add(g, "sm", Op::softmax, {input(g, "x", {3, 5})});
  expect_ok(g);
}

TEST_CASE("exec: unfold then fold is the identity") {
  Graph g;
  Attrs u;
  u.patch_h = u.patch_w = 2;
  const int x = input(g, "x", {1, 2, 4, 4});
  Attrs f = u;
  f.shape = {2, 4, 4};
  add(g, "fold", Op::fold, {add(g, "unfold", Op::unfold, {x}, u)}, f);
  exec::Params p(g);
  exec::Network net(g, p);
  for (int k = 0; k < 32; ++k) net.value(x)[k] = static_cast<float>(k);
  net.forward(false);
  // patch position (0,0) of patch 0 is pixel (0,0) of channel 0; position (0,1) is pixel (0,1)
  CHECK(net.value(1)[0] == 0.0f);
  CHECK(net.value(1)[1] == 16.0f);  // [p=0, n=0, c=1]
  for (int k = 0; k < 32; ++k) CHECK(net.value(2)[k] == static_cast<float>(k));
}

TEST_CASE("exec grad: softmax cross-entropy") {
  Graph g;
  Attrs a;
  a.out = 4, a.bias = true;
  const int y = add(g, "fc", Op::linear, {input(g, "x", {3, 5})}, a);
  exec::Params p(g);
  p.init(3);
  exec::Network net(g, p);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  for (int k = 0; k < 15; ++k) net.value(0)[k] = normal(rng);
  const std::uint8_t labels[3] = {1, 3, 0};
  net.forward(true);
  net.softmax_cross_entropy(labels);
  p.zero_grad();
  net.backward();
  exec::Tensor* w = p.find(y, "weight");
  for (std::size_t k = 0; k < w->value.size(); ++k) {
    const float saved = w->value[k];
    w->value[k] = saved + 1e-2f;
    net.forward(true);
    const double up = net.softmax_cross_entropy(labels);
    w->value[k] = saved - 1e-2f;
    net.forward(true);
    const double down = net.softmax_cross_entropy(labels);
    w->value[k] = saved;
    CHECK(w->grad[k] == Approx((up - down) / 2e-2).margin(2e-3).epsilon(2e-2));
  }
}

TEST_CASE("exec: an op the executor cannot run is an error naming the node and op") {
  Graph g;
  Attrs a;
  a.vocab = 10, a.out = 4;
  add(g, "tok.embed", Op::embedding, {input(g, "ids", {1, 3})}, a);
  exec::Params p(g);
  CHECK_THROWS_WITH(exec::Network(g, p), Catch::Contains("node 'tok.embed' (embedding): the executor cannot run it"));
}
