// Fitting a profile to measurements: a bounded pattern search in log space over the
// profile's free numbers, minimising a robust loss of log(predicted / measured).
#include "hwnas/hw/calibrate.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"

namespace hwnas::hw {
namespace {

// One free number, searched as its logarithm within [log lo, log hi].
struct Param {
  std::string name;
  double lo, hi;
  std::function<double(const Profile&)> get;
  std::function<void(Profile&, double)> set;
  // a tile's rows: this and the next parameter (its columns) are swept jointly over powers
  // of two, each pair with the best values of the class's other numbers (parameters
  // `coupled` .. this one - 1: efficiencies and overhead, which a tile trades against)
  int coupled = -1;
};

constexpr double kHuberScale = 0.1;  // |log ratio| where the loss turns from quadratic to linear

double robust(double log_ratio) {
  const double r = log_ratio / kHuberScale;
  return kHuberScale * (std::sqrt(1.0 + r * r) - 1.0);
}

// Which (class, dtype) pairs run kernels in these measurements, and whether any op's bytes
// fit on chip.
struct Usage {
  std::array<std::array<bool, kDtypes>, kClasses> runs{}, computes{}, matrix{};
  std::array<bool, kDtypes> dtypes{};
  bool onchip = false;
};

// A measurement's nodes that take time, costed once: the fit re-applies the roofline to
// them (cost::apply_roofline, the same function analyze uses) as the profile changes.
struct Costed {
  std::vector<cost::NodeCost> nodes;
  Dtype dtype;
  double measured_s;
};

Costed cost_once(const Profile& p, const Measurement& m) {
  Costed c{{}, m.dtype, m.latency_s};
  for (const cost::NodeCost& n : cost::analyze(m.graph, p, m.dtype).layers)
    if (n.bound != cost::Bound::none && n.bound != cost::Bound::folded) c.nodes.push_back(n);
  return c;
}

double latency(const Profile& p, Costed& c) {
  double t = 0;
  for (cost::NodeCost& n : c.nodes) {
    cost::apply_roofline(n, p, c.dtype);
    t += n.latency_s;
  }
  return t;
}

Usage usage(const Profile& p, const std::vector<Costed>& items) {
  Usage u;
  for (const Costed& m : items) {
    const std::size_t d = static_cast<std::size_t>(m.dtype);
    u.dtypes[d] = true;
    for (const cost::NodeCost& c : m.nodes) {
      if (c.bound == cost::Bound::fused) continue;
      const std::size_t k = static_cast<std::size_t>(c.cls);
      u.runs[k][d] = true;
      if (c.flops + c.other_flops > 0) u.computes[k][d] = true;
      if (c.macs > 0) u.matrix[k][d] = true;
      if (p.onchip_bytes > 0 && static_cast<double>(c.bytes) <= p.onchip_bytes) u.onchip = true;
    }
  }
  return u;
}

std::vector<Param> free_params(const Profile& p, const Usage& u, const FitOptions& opt) {
  std::vector<Param> out;
  const int ndtypes = static_cast<int>(std::count(u.dtypes.begin(), u.dtypes.end(), true));
  for (std::size_t k = 0; k < kClasses; ++k) {
    const std::string cls(graph::op_class_name(static_cast<graph::OpClass>(k)));
    for (std::size_t d = 0; d < kDtypes; ++d) {
      if (!u.runs[k][d]) continue;
      // one dtype measured: the class's numbers apply to every dtype
      const bool whole_row = ndtypes == 1;
      const std::string key = whole_row ? cls : cls + "@" + std::string(dtype_name(static_cast<Dtype>(d)));
      auto setter = [k, d, whole_row](double Efficiency::*field) {
        return [k, d, whole_row, field](Profile& q, double x) {
          if (whole_row) for (auto& e : q.efficiency[k]) e.*field = x;
          else q.efficiency[k][d].*field = x;
        };
      };
      auto getter = [k, d](double Efficiency::*field) {
        return [k, d, field](const Profile& q) { return q.efficiency[k][d].*field; };
      };
      const int first = static_cast<int>(out.size());
      if (u.computes[k][d])
        out.push_back({key + ".compute", 1e-3, 1.0, getter(&Efficiency::compute), setter(&Efficiency::compute)});
      out.push_back({key + ".memory", 1e-3, 1.0, getter(&Efficiency::memory), setter(&Efficiency::memory)});
      out.push_back({key + ".overhead_s", 1e-8, 1e-2,
                     [k, d](const Profile& q) { return q.overhead_s(static_cast<graph::OpClass>(k), static_cast<Dtype>(d)); },
                     setter(&Efficiency::overhead_s)});
      // wave quantization, where the profile counts its compute units: the output tile of
      // the class's matrix kernels, a power of two from 1 to 1024 per side
      if (p.compute_units > 0 && u.matrix[k][d])
        for (double Efficiency::*field : {&Efficiency::tile_rows, &Efficiency::tile_cols}) {
          auto set = setter(field);
          out.push_back({key + (field == &Efficiency::tile_rows ? ".tile_rows" : ".tile_cols"), 1.0, 1024.0,
                         getter(field), [set](Profile& q, double x) { set(q, std::exp2(std::round(std::log2(x)))); },
                         field == &Efficiency::tile_rows ? first : -1});
        }
    }
  }
  if (u.onchip) {
    const double b = p.onchip_bandwidth_bytes_per_s;
    out.push_back({"onchip_bandwidth_bytes_per_s", b / 16, b * 16,
                   [](const Profile& q) { return q.onchip_bandwidth_bytes_per_s; },
                   [](Profile& q, double x) { q.onchip_bandwidth_bytes_per_s = x; }});
  }
  if (opt.fit_ceilings) {
    const double bw = p.memory_bandwidth_bytes_per_s;
    out.push_back({"memory_bandwidth_bytes_per_s", bw / 8, bw * 8,
                   [](const Profile& q) { return q.memory_bandwidth_bytes_per_s; },
                   [](Profile& q, double x) { q.memory_bandwidth_bytes_per_s = x; }});
    // the peaks move together across dtypes: one scale each for matrix and vector units
    for (auto rates : {&Profile::matrix_flops_per_s, &Profile::vector_flops_per_s}) {
      const double base = (p.*rates)[0];
      out.push_back({rates == &Profile::matrix_flops_per_s ? "matrix_flops_per_s" : "vector_flops_per_s", base / 8,
                     base * 8, [rates](const Profile& q) { return (q.*rates)[0]; },
                     [rates](Profile& q, double x) {
                       const double f = x / (q.*rates)[0];
                       for (double& r : q.*rates) r *= f;
                     }});
    }
  }
  return out;
}

}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) { return v[x] < v[y]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < idx.size();) {
      std::size_t j = i;
      while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
      for (std::size_t t = i; t <= j; ++t) r[idx[t]] = 0.5 * static_cast<double>(i + j);  // ties share the mean rank
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

double kendall(const std::vector<double>& a, const std::vector<double>& b) {
  // tau-b: (concordant - discordant) / sqrt((pairs - ties in a)(pairs - ties in b))
  double conc = 0, ties_a = 0, ties_b = 0, pairs = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      pairs += 1;
      if (da == 0) ties_a += 1;
      if (db == 0) ties_b += 1;
      if (da != 0 && db != 0) conc += (da > 0) == (db > 0) ? 1 : -1;
    }
  const double den = std::sqrt((pairs - ties_a) * (pairs - ties_b));
  return den > 0 ? conc / den : 0.0;
}

Scores score(const std::vector<double>& predicted, const std::vector<double>& measured,
             const std::vector<double>& flops) {
  if (predicted.size() != measured.size() || flops.size() != measured.size() || measured.empty())
    throw Error("score: predicted, measured and flops need the same non-zero length");
  Scores s;
  s.n = static_cast<int>(measured.size());
  s.spearman = spearman(predicted, measured);
  s.kendall = kendall(predicted, measured);
  s.flops_spearman = spearman(flops, measured);
  s.flops_kendall = kendall(flops, measured);
  std::vector<double> err(measured.size());
  int within = 0;
  for (std::size_t i = 0; i < measured.size(); ++i) {
    err[i] = 100.0 * std::abs(predicted[i] - measured[i]) / measured[i];
    within += err[i] <= 10.0;
  }
  std::sort(err.begin(), err.end());
  const std::size_t h = err.size() / 2;
  s.median_abs_pct = err.size() % 2 ? err[h] : 0.5 * (err[h - 1] + err[h]);
  s.within_10pct = static_cast<double>(within) / static_cast<double>(measured.size());
  return s;
}

FitResult fit(const Profile& start, const std::vector<Measurement>& items, const FitOptions& opt,
              const std::vector<int>& subset_in) {
  std::vector<int> subset = subset_in;
  if (subset.empty()) {
    subset.resize(items.size());
    std::iota(subset.begin(), subset.end(), 0);
  }
  if (subset.empty()) throw Error("calibrate: no measurements to fit");
  std::vector<Costed> costed;
  for (int i : subset) costed.push_back(cost_once(start, items[static_cast<std::size_t>(i)]));
  const std::vector<Param> params = free_params(start, usage(start, costed), opt);
  const std::size_t np = params.size();

  FitResult res;
  res.profile = start;
  Profile& p = res.profile;
  std::vector<double> x(np), step(np, 0.7);
  for (std::size_t i = 0; i < np; ++i) {
    x[i] = std::log(std::clamp(params[i].get(p), params[i].lo, params[i].hi));
    params[i].set(p, std::exp(x[i]));
  }
  auto loss = [&](const Profile& q) {
    ++res.evaluations;
    double sum = 0;
    // a model folded away entirely predicts 0: floor it at 1 ns so its log stays finite
    for (Costed& m : costed) sum += robust(std::log(std::max(latency(q, m), 1e-9) / m.measured_s));
    return sum / static_cast<double>(costed.size());
  };
  double best = loss(p);
  // coarse sweeps first: each parameter tries a log grid across its bounds, so that a
  // term that does not bind at the start (a compute efficiency under a memory bound) can
  // still reach its range; then the pattern search refines
  constexpr int kGrid = 13;
  for (int sweep = 0; sweep < 2; ++sweep)
    for (std::size_t i = 0; i < np; ++i) {
      if (params[i].coupled >= 0) {
        // every pair of powers of two from 1 to 1024, each with the class's other numbers
        // re-fitted (two rounds of golden-section searches in log space, one number at a
        // time); outside the evaluation budget
        const int counted = res.evaluations;
        const std::size_t first = static_cast<std::size_t>(params[i].coupled);
        const std::vector<double> x0(x.begin(), x.end());
        for (int r = 0; r <= 10; ++r)
          for (int c = 0; c <= 10; ++c) {
            params[i].set(p, std::exp2(r));
            params[i + 1].set(p, std::exp2(c));
            std::vector<double> xc(x0.begin() + static_cast<std::ptrdiff_t>(first), x0.begin() + static_cast<std::ptrdiff_t>(i));
            for (std::size_t k = first; k < i; ++k) params[k].set(p, std::exp(xc[k - first]));
            double l = loss(p);
            for (int round = 0; round < 2; ++round)
              for (std::size_t k = first; k < i; ++k) {
                auto at = [&](double xk) {
                  params[k].set(p, std::exp(xk));
                  return loss(p);
                };
                const double g = 0.5 * (std::sqrt(5.0) - 1.0);
                double a = std::log(params[k].lo), b = std::log(params[k].hi);
                double u = b - g * (b - a), v = a + g * (b - a), lu = at(u), lv = at(v);
                for (int it = 0; it < 24; ++it) {
                  if (lu < lv) b = v, v = u, lv = lu, u = b - g * (b - a), lu = at(u);
                  else a = u, u = v, lu = lv, v = a + g * (b - a), lv = at(v);
                }
                if (std::min(lu, lv) < l) l = std::min(lu, lv), xc[k - first] = lu < lv ? u : v;
                params[k].set(p, std::exp(xc[k - first]));
              }
            if (l < best) {
              best = l, x[i] = r * std::log(2.0), x[i + 1] = c * std::log(2.0);
              for (std::size_t k = first; k < i; ++k) x[k] = xc[k - first];
            }
          }
        for (std::size_t k = first; k <= i + 1; ++k) params[k].set(p, std::exp(x[k]));
        res.evaluations = counted;
        ++i;
        continue;
      }
      const double a = std::log(params[i].lo), b = std::log(params[i].hi);
      for (int k = 0; k < kGrid; ++k) {
        const double xi = a + (b - a) * k / (kGrid - 1);
        params[i].set(p, std::exp(xi));
        const double l = loss(p);
        if (l < best) best = l, x[i] = xi;
      }
      params[i].set(p, std::exp(x[i]));
    }
  // pattern search: each parameter tries a step up and down; a success widens its step,
  // a failure halves it; stop when every step is below 0.1 % or the budget is spent
  while (res.evaluations < opt.max_evaluations) {
    bool moving = false;
    for (std::size_t i = 0; i < np && res.evaluations < opt.max_evaluations; ++i) {
      if (step[i] < 1e-3) continue;
      moving = true;
      bool better = false;
      for (const double dir : {1.0, -1.0}) {
        const double xi = std::clamp(x[i] + dir * step[i], std::log(params[i].lo), std::log(params[i].hi));
        if (xi == x[i]) continue;
        params[i].set(p, std::exp(xi));
        const double l = loss(p);
        if (l < best) {
          best = l, x[i] = xi, better = true;
          break;
        }
        params[i].set(p, std::exp(x[i]));
      }
      step[i] = better ? std::min(step[i] * 1.5, 1.0) : step[i] * 0.5;
    }
    if (!moving) break;
  }
  // classes the data did not cover keep kernel_overhead_s: the median of the fitted ones
  std::vector<double> overheads;
  for (std::size_t i = 0; i < np; ++i) {
    if (params[i].name.size() > 11 && params[i].name.ends_with(".overhead_s")) overheads.push_back(std::exp(x[i]));
    res.fitted.push_back(params[i].name);
  }
  if (!overheads.empty()) {
    std::sort(overheads.begin(), overheads.end());
    p.kernel_overhead_s = overheads[overheads.size() / 2];
  }
  res.loss = best;
  return res;
}

CrossValidation cross_validate(const Profile& start, const std::vector<Measurement>& items, const FitOptions& opt,
                               int folds, std::uint64_t seed) {
  const int n = static_cast<int>(items.size());
  if (folds < 2 || folds > n)
    throw Error("calibrate: --folds must be between 2 and the number of measurements (" + std::to_string(n) +
                "), got " + std::to_string(folds));
  // a seeded Fisher-Yates shuffle (splitmix64), the same on every platform
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::uint64_t s = seed;
  auto next = [&s] {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  for (int i = n - 1; i > 0; --i) std::swap(order[static_cast<std::size_t>(i)], order[next() % static_cast<std::uint64_t>(i + 1)]);
  CrossValidation cv;
  cv.folds = folds;
  cv.fold.assign(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) cv.fold[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = i % folds;
  cv.heldout.assign(static_cast<std::size_t>(n), 0.0);
  tbb::parallel_for(0, folds, [&](int f) {
    std::vector<int> train, test;
    for (int i = 0; i < n; ++i) (cv.fold[static_cast<std::size_t>(i)] == f ? test : train).push_back(i);
    const Profile fitted = fit(start, items, opt, train).profile;
    for (int i : test) cv.heldout[static_cast<std::size_t>(i)] = predict(fitted, items[static_cast<std::size_t>(i)]);
  });
  std::vector<double> measured, flops;
  for (const Measurement& m : items) {
    measured.push_back(m.latency_s);
    flops.push_back(flops_of(start, m));
  }
  cv.scores = score(cv.heldout, measured, flops);
  return cv;
}

}  // namespace hwnas::hw
