#include "hwnas/report/pareto.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <numeric>
#include <string>

#include "hwnas/error.hpp"

namespace hwnas::report {
namespace {

void check_size(const Point& p, const std::vector<Sense>& senses, const char* what) {
  if (p.values.size() != senses.size())
    throw Error(std::string(what) + ": a point has " + std::to_string(p.values.size()) + " values for " +
                std::to_string(senses.size()) + " objectives");
}

bool feasible(const Point& p) { return !(p.violation > 0); }

// Pareto dominance of two feasible value vectors.
bool pareto_dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<Sense>& senses) {
  bool better = false;
  for (std::size_t k = 0; k < senses.size(); ++k) {
    const bool lo = senses[k] == Sense::min;
    if (lo ? a[k] > b[k] : a[k] < b[k]) return false;
    if (lo ? a[k] < b[k] : a[k] > b[k]) better = true;
  }
  return better;
}

bool constraint_dominates(const Point& a, const Point& b, const std::vector<Sense>& senses) {
  const bool fa = feasible(a), fb = feasible(b);
  if (fa != fb) return fa;
  if (!fa) return a.violation < b.violation;
  return pareto_dominates(a.values, b.values, senses);
}

using Vec = std::vector<double>;

// Exact hypervolume of minimisation points that all strictly beat `ref` in each of the first `d`
// coordinates.
double hv_2d(std::vector<const Vec*> pts, const Vec& ref) {
  std::sort(pts.begin(), pts.end(), [](const Vec* a, const Vec* b) {
    return (*a)[0] != (*b)[0] ? (*a)[0] < (*b)[0] : (*a)[1] < (*b)[1];
  });
  // Horizontal strips: each time the best y so far drops, the strip between the old and new best y
  // reaches from the point's x to the reference.
  double vol = 0, best_y = ref[1];
  for (const Vec* p : pts)
    if ((*p)[1] < best_y) {
      vol += (ref[0] - (*p)[0]) * (best_y - (*p)[1]);
      best_y = (*p)[1];
    }
  return vol;
}

// 3-D: sweep over the third objective, keeping the 2-D staircase of the points seen so far (x
// increasing, y decreasing) and its area; each slab adds area * thickness.
double hv_3d(std::vector<const Vec*> pts, const Vec& ref) {
  std::sort(pts.begin(), pts.end(), [](const Vec* a, const Vec* b) { return (*a)[2] < (*b)[2]; });
  std::map<double, double> stair;  // x -> y
  double area = 0, vol = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const double x = (*pts[i])[0], y = (*pts[i])[1];
    auto it = stair.lower_bound(x);
    const bool dominated = (it != stair.end() && it->first == x && it->second <= y) ||
                           (it != stair.begin() && std::prev(it)->second <= y);
    if (!dominated) {
      double h = it != stair.begin() ? std::prev(it)->second : ref[1];
      double cur = x;
      while (it != stair.end() && it->second > y) {  // points p dominates in the plane: erase them
        area += (it->first - cur) * (h - y);
        cur = it->first;
        h = it->second;
        it = stair.erase(it);
      }
      area += ((it != stair.end() ? it->first : ref[0]) - cur) * (h - y);
      stair.emplace(x, y);
    }
    const double next_z = i + 1 < pts.size() ? (*pts[i + 1])[2] : ref[2];
    vol += area * (next_z - (*pts[i])[2]);
  }
  return vol;
}

// Points of `pts` not dominated (in the first d coordinates, minimisation) by another; of equal
// points one is kept.
std::vector<const Vec*> nondominated(std::vector<const Vec*> pts, std::size_t d) {
  std::sort(pts.begin(), pts.end(), [d](const Vec* a, const Vec* b) {
    return std::lexicographical_compare(a->begin(), a->begin() + static_cast<long>(d), b->begin(),
                                        b->begin() + static_cast<long>(d));
  });
  std::vector<const Vec*> keep;
  for (const Vec* p : pts) {
    const bool covered = std::any_of(keep.begin(), keep.end(), [&](const Vec* q) {
      for (std::size_t k = 0; k < d; ++k)
        if ((*q)[k] > (*p)[k]) return false;
      return true;  // q weakly dominates p (and q came first)
    });
    if (!covered) keep.push_back(p);
  }
  return keep;
}

double hv_rec(std::vector<const Vec*> pts, const Vec& ref, std::size_t d) {
  if (pts.empty()) return 0;
  if (d == 1) {
    double lo = ref[0];
    for (const Vec* p : pts) lo = std::min(lo, (*p)[0]);
    return ref[0] - lo;
  }
  if (d == 2) return hv_2d(std::move(pts), ref);
  if (d == 3) return hv_3d(std::move(pts), ref);
  // Slice on the last coordinate: between consecutive levels the cross-section is the (d-1)-D
  // hypervolume of the points at or below the level.
  const std::size_t last = d - 1;
  std::sort(pts.begin(), pts.end(), [last](const Vec* a, const Vec* b) { return (*a)[last] < (*b)[last]; });
  double vol = 0;
  std::vector<const Vec*> below;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    below.push_back(pts[i]);
    const double next = i + 1 < pts.size() ? (*pts[i + 1])[last] : ref[last];
    if (next > (*pts[i])[last]) {
      below = nondominated(std::move(below), last);
      vol += hv_rec(below, ref, last) * (next - (*pts[i])[last]);
    }
  }
  return vol;
}

}  // namespace

bool dominates(const Point& a, const Point& b, const std::vector<Sense>& senses) {
  check_size(a, senses, "dominates");
  check_size(b, senses, "dominates");
  return constraint_dominates(a, b, senses);
}

std::vector<std::vector<int>> non_dominated_sort(const std::vector<Point>& pts, const std::vector<Sense>& senses) {
  for (const Point& p : pts) check_size(p, senses, "non_dominated_sort");
  const std::size_t n = pts.size();
  std::vector<std::vector<int>> beats(n);  // beats[i]: the points i dominates
  std::vector<int> beaten_by(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      if (constraint_dominates(pts[i], pts[j], senses)) {
        beats[i].push_back(static_cast<int>(j));
        ++beaten_by[j];
      } else if (constraint_dominates(pts[j], pts[i], senses)) {
        beats[j].push_back(static_cast<int>(i));
        ++beaten_by[i];
      }
    }
  std::vector<std::vector<int>> fronts;
  std::vector<int> cur;
  for (std::size_t i = 0; i < n; ++i)
    if (beaten_by[i] == 0) cur.push_back(static_cast<int>(i));
  while (!cur.empty()) {
    std::vector<int> next;
    for (int i : cur)
      for (int j : beats[static_cast<std::size_t>(i)])
        if (--beaten_by[static_cast<std::size_t>(j)] == 0) next.push_back(j);
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(cur));
    cur = std::move(next);
  }
  return fronts;
}

std::vector<int> pareto_front(const std::vector<Point>& pts, const std::vector<Sense>& senses) {
  for (const Point& p : pts) check_size(p, senses, "pareto_front");
  // In lexicographic order (each objective turned into minimisation) a point can only be dominated
  // by an earlier one, and if it is dominated at all, a front member dominates it.
  std::vector<Vec> key;
  key.reserve(pts.size());
  std::vector<int> order;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    Vec v = pts[i].values;
    for (std::size_t k = 0; k < v.size(); ++k)
      if (senses[k] == Sense::max) v[k] = -v[k];
    key.push_back(std::move(v));
    if (feasible(pts[i])) order.push_back(static_cast<int>(i));
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return key[static_cast<std::size_t>(a)] < key[static_cast<std::size_t>(b)];
  });
  std::vector<int> front;
  if (senses.size() == 2) {
    // Two objectives: in that order a point is on the front when its second value beats every
    // earlier one's, or it equals the last front point.
    for (int i : order) {
      const Vec& v = key[static_cast<std::size_t>(i)];
      if (front.empty() || v[1] < key[static_cast<std::size_t>(front.back())][1] ||
          v == key[static_cast<std::size_t>(front.back())])
        front.push_back(i);
    }
    std::sort(front.begin(), front.end());
    return front;
  }
  for (int i : order) {
    const bool beaten = std::any_of(front.begin(), front.end(), [&](int f) {
      return pareto_dominates(pts[static_cast<std::size_t>(f)].values, pts[static_cast<std::size_t>(i)].values,
                              senses);
    });
    if (!beaten) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

double hypervolume(const std::vector<Point>& pts, const std::vector<Sense>& senses,
                   const std::vector<double>& reference) {
  if (senses.empty()) throw Error("hypervolume: no objectives");
  if (reference.size() != senses.size())
    throw Error("hypervolume: reference point has " + std::to_string(reference.size()) + " values for " +
                std::to_string(senses.size()) + " objectives");
  Vec ref(reference.size());
  for (std::size_t k = 0; k < ref.size(); ++k) {
    if (!std::isfinite(reference[k]))
      throw Error("hypervolume: reference[" + std::to_string(k) + "]: must be finite, got " +
                  std::to_string(reference[k]));
    ref[k] = senses[k] == Sense::max ? -reference[k] : reference[k];
  }
  std::vector<Vec> mins;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    check_size(p, senses, "hypervolume");
    if (!feasible(p)) continue;
    Vec v(p.values.size());
    bool inside = true;
    for (std::size_t k = 0; k < v.size(); ++k) {
      if (!std::isfinite(p.values[k]))
        throw Error("hypervolume: point " + std::to_string(i) + " value " + std::to_string(k) +
                    ": must be finite, got " + std::to_string(p.values[k]));
      v[k] = senses[k] == Sense::max ? -p.values[k] : p.values[k];
      inside = inside && v[k] < ref[k];
    }
    if (inside) mins.push_back(std::move(v));
  }
  std::vector<const Vec*> ptrs;
  ptrs.reserve(mins.size());
  for (const Vec& v : mins) ptrs.push_back(&v);
  return hv_rec(std::move(ptrs), ref, ref.size());
}

}  // namespace hwnas::report
