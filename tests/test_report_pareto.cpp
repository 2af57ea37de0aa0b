// Constraint domination, non-dominated sorting, the Pareto front and exact hypervolume on hand-made
// sets; hypervolume in 2-5 objectives against inclusion-exclusion.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/report/pareto.hpp"

using namespace hwnas;
using namespace hwnas::report;

namespace {

const std::vector<Sense> kMin2{Sense::min, Sense::min};

std::vector<Point> points(const std::vector<std::vector<double>>& v) {
  std::vector<Point> out;
  for (const auto& x : v) out.push_back({x, 0});
  return out;
}

// Union volume of boxes [p, ref] by inclusion-exclusion (minimisation, all points inside ref).
double hv_inclusion_exclusion(const std::vector<std::vector<double>>& pts, const std::vector<double>& ref) {
  const std::size_t n = pts.size(), d = ref.size();
  double total = 0;
  for (std::size_t mask = 1; mask < (std::size_t{1} << n); ++mask) {
    std::vector<double> corner(d, -1e300);
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (mask >> i & 1) {
        ++bits;
        for (std::size_t k = 0; k < d; ++k) corner[k] = std::max(corner[k], pts[i][k]);
      }
    double vol = 1;
    for (std::size_t k = 0; k < d; ++k) vol *= std::max(0.0, ref[k] - corner[k]);
    total += (bits % 2 ? 1 : -1) * vol;
  }
  return total;
}

}  // namespace

TEST_CASE("constraint domination: feasibility first, then violation, then Pareto") {
  const Point good{{1, 1}, 0}, worse{{2, 2}, 0}, trade{{0, 3}, 0}, same{{1, 1}, 0};
  CHECK(dominates(good, worse, kMin2));
  CHECK_FALSE(dominates(worse, good, kMin2));
  CHECK_FALSE(dominates(good, trade, kMin2));
  CHECK_FALSE(dominates(trade, good, kMin2));
  CHECK_FALSE(dominates(good, same, kMin2));  // equal points do not dominate each other
  const Point weak{{1, 2}, 0};               // equal in one objective, worse in the other
  CHECK(dominates(good, weak, kMin2));
  const Point bad_small{{0, 0}, 0.5}, bad_large{{0, 0}, 2.0};
  CHECK(dominates(worse, bad_small, kMin2));  // any feasible point beats an infeasible one
  CHECK_FALSE(dominates(bad_small, worse, kMin2));
  CHECK(dominates(bad_small, bad_large, kMin2));
  CHECK_FALSE(dominates(bad_large, bad_small, kMin2));
  CHECK_FALSE(dominates(bad_small, Point{{5, 5}, 0.5}, kMin2));  // equal violation: neither
  // Senses: maximising the first objective flips the comparison on it.
  const std::vector<Sense> max_min{Sense::max, Sense::min};
  CHECK(dominates(Point{{0.9, 10}, 0}, Point{{0.8, 10}, 0}, max_min));
  CHECK_FALSE(dominates(Point{{0.8, 10}, 0}, Point{{0.9, 10}, 0}, max_min));
}

TEST_CASE("non-dominated sort gives layered fronts with increasing indices") {
  //            0       1       2       3       4       5       6
  auto pts = points({{1, 5}, {2, 2}, {5, 1}, {3, 3}, {2, 2}, {6, 6}, {4, 4}});
  pts.push_back({{0, 0}, 1.0});  // 7: infeasible, best values
  pts.push_back({{9, 9}, 0.2});  // 8: infeasible, smaller violation
  const auto fronts = non_dominated_sort(pts, kMin2);
  REQUIRE(fronts.size() == 6);
  CHECK(fronts[0] == std::vector<int>{0, 1, 2, 4});  // duplicates 1 and 4 share the front
  CHECK(fronts[1] == std::vector<int>{3});
  CHECK(fronts[2] == std::vector<int>{6});
  CHECK(fronts[3] == std::vector<int>{5});
  CHECK(fronts[4] == std::vector<int>{8});
  CHECK(fronts[5] == std::vector<int>{7});
  CHECK(pareto_front(pts, kMin2) == std::vector<int>{0, 1, 2, 4});
}

TEST_CASE("pareto front: infeasible excluded, empty sets, senses, agreement with the sort") {
  CHECK(pareto_front({}, kMin2).empty());
  CHECK(non_dominated_sort({}, kMin2).empty());
  CHECK(pareto_front({Point{{1, 1}, 3}, Point{{2, 2}, 1}}, kMin2).empty());
  // Maximising accuracy, minimising latency.
  const std::vector<Sense> max_min{Sense::max, Sense::min};
  const auto pts = points({{0.90, 30}, {0.85, 10}, {0.80, 12}, {0.92, 60}, {0.90, 35}});
  CHECK(pareto_front(pts, max_min) == std::vector<int>{0, 1, 3});
  // Negating a maximised objective and minimising it gives the same front.
  std::vector<Point> neg = pts;
  for (Point& p : neg) p.values[0] = -p.values[0];
  CHECK(pareto_front(neg, kMin2) == pareto_front(pts, max_min));

  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coord(0, 9);  // coarse grid: many ties and duplicates
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Point> r;
    for (int i = 0; i < 60; ++i)
      r.push_back({{double(coord(rng)), double(coord(rng)), double(coord(rng))}, trial % 3 == 0 && i % 7 == 0 ? 1.0 : 0});
    // Odd trials: two objectives (the sort-and-sweep path), even trials: three.
    const std::vector<Sense> s3 = trial % 2 ? std::vector<Sense>{Sense::max, Sense::min}
                                            : std::vector<Sense>{Sense::min, Sense::max, Sense::min};
    if (trial % 2)
      for (Point& p : r) p.values.pop_back();
    const auto fronts = non_dominated_sort(r, s3);
    std::vector<int> feasible0;
    for (int i : fronts[0])
      if (!(r[static_cast<std::size_t>(i)].violation > 0)) feasible0.push_back(i);
    CHECK(pareto_front(r, s3) == feasible0);
    std::size_t total = 0;
    for (const auto& f : fronts) total += f.size();
    CHECK(total == r.size());
    // No point of a later front dominates a point of an earlier one.
    for (std::size_t a = 0; a + 1 < fronts.size(); ++a)
      for (int i : fronts[a])
        for (int j : fronts[a + 1]) CHECK_FALSE(dominates(r[static_cast<std::size_t>(j)], r[static_cast<std::size_t>(i)], s3));
  }
}

TEST_CASE("hypervolume of hand-made sets") {
  const std::vector<double> ref{4, 4};
  CHECK(hypervolume({}, kMin2, ref) == 0);
  CHECK(hypervolume(points({{1, 1}}), kMin2, ref) == Approx(9));
  // Staircase (1,3) (2,2) (3,1) against (4,4): strips 3*1 + 2*1 + 1*1 = 6.
  CHECK(hypervolume(points({{1, 3}, {2, 2}, {3, 1}}), kMin2, ref) == Approx(6));
  // Duplicates, dominated points and their order change nothing.
  CHECK(hypervolume(points({{3, 1}, {2, 2}, {2, 2}, {1, 3}, {3, 3}, {2, 3}}), kMin2, ref) == Approx(6));
  // Points on or beyond the reference add nothing; infeasible points add nothing.
  auto pts = points({{1, 3}, {2, 2}, {3, 1}, {4, 0}, {0, 5}});
  pts.push_back({{0, 0}, 0.1});
  CHECK(hypervolume(pts, kMin2, ref) == Approx(6));
  // Maximised objective: accuracy against reference 0, latency against 100 ms.
  const std::vector<Sense> max_min{Sense::max, Sense::min};
  CHECK(hypervolume(points({{0.5, 50}, {0.8, 80}}), max_min, {0, 100}) == Approx(0.5 * 50 + 0.3 * 20));
  // One objective: the distance from the best value to the reference.
  CHECK(hypervolume(points({{3}, {1}, {2}}), {Sense::min}, {5}) == Approx(4));
  // 3-D: two boxes [1,3]^3 and [2,3]x[0,3]x[2,3] (ref 3): 8 + 1*3*1 - overlap 1*2*1 = 9.
  CHECK(hypervolume(points({{1, 1, 1}, {2, 0, 2}}), {Sense::min, Sense::min, Sense::min}, {3, 3, 3}) == Approx(9));
}

TEST_CASE("hypervolume of the sampled ZDT1 front approaches the analytic 0.8767") {
  // ZDT1's Pareto front is f2 = 1 - sqrt(f1), f1 in [0, 1]; against (1.1, 1.1) it dominates
  // integral_0^1 (1.1 - (1 - sqrt(x))) dx + 0.1 * 1.1 = 0.1 + 2/3 + 0.11 = 0.876667.
  const double exact = 0.1 + 2.0 / 3.0 + 0.11;
  std::vector<Point> pts;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    const double f1 = double(i) / (n - 1);
    pts.push_back({{f1, 1 - std::sqrt(f1)}, 0});
  }
  const double hv = hypervolume(pts, kMin2, {1.1, 1.1});
  CHECK(hv < exact);
  CHECK(hv == Approx(exact).margin(1e-3));
  // The same front with a constant third objective: volume times the slab thickness.
  std::vector<Point> pts3;
  for (const Point& p : pts) pts3.push_back({{p.values[0], p.values[1], 0.5}, 0});
  CHECK(hypervolume(pts3, {Sense::min, Sense::min, Sense::min}, {1.1, 1.1, 1.5}) == Approx(hv));
  // And as a 4-D problem with a maximised fourth objective.
  std::vector<Point> pts4;
  for (const Point& p : pts3) pts4.push_back({{p.values[0], p.values[1], p.values[2], 3}, 0});
  CHECK(hypervolume(pts4, {Sense::min, Sense::min, Sense::min, Sense::max}, {1.1, 1.1, 1.5, 1}) ==
        Approx(2 * hv));
}

TEST_CASE("hypervolume in 2-5 objectives equals inclusion-exclusion on random sets") {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> grid(0, 4);
  for (std::size_t d = 2; d <= 5; ++d)
    for (int trial = 0; trial < 25; ++trial) {
      const std::size_t n = 1 + static_cast<std::size_t>(trial % 9);
      std::vector<std::vector<double>> raw;
      for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> v(d);
        for (double& x : v) x = trial % 2 ? u(rng) : grid(rng) / 5.0;  // odd trials continuous, even ties
        raw.push_back(v);
      }
      const std::vector<double> ref(d, 1.0);
      const std::vector<Sense> senses(d, Sense::min);
      CHECK(hypervolume(points(raw), senses, ref) == Approx(hv_inclusion_exclusion(raw, ref)).margin(1e-12));
      // Mirror every second objective into maximisation: same volume.
      std::vector<std::vector<double>> mirrored = raw;
      std::vector<Sense> mixed = senses;
      std::vector<double> mref = ref;
      for (std::size_t k = 1; k < d; k += 2) {
        mixed[k] = Sense::max;
        mref[k] = -ref[k];
        for (auto& v : mirrored) v[k] = -v[k];
      }
      CHECK(hypervolume(points(mirrored), mixed, mref) == Approx(hv_inclusion_exclusion(raw, ref)).margin(1e-12));
    }
}

TEST_CASE("pareto and hypervolume reject mismatched and non-finite input") {
  CHECK_THROWS_WITH(dominates(Point{{1}, 0}, Point{{1, 2}, 0}, kMin2),
                    "dominates: a point has 1 values for 2 objectives");
  CHECK_THROWS_WITH(non_dominated_sort({Point{{1, 2, 3}, 0}}, kMin2),
                    "non_dominated_sort: a point has 3 values for 2 objectives");
  CHECK_THROWS_WITH(pareto_front({Point{{1}, 0}}, kMin2), "pareto_front: a point has 1 values for 2 objectives");
  CHECK_THROWS_WITH(hypervolume(points({{1, 1}}), kMin2, {2}),
                    "hypervolume: reference point has 1 values for 2 objectives");
  CHECK_THROWS_WITH(hypervolume(points({{1, 1}}), kMin2, {2, NAN}),
                    Catch::StartsWith("hypervolume: reference[1]: must be finite, got"));
  CHECK_THROWS_WITH(hypervolume(points({{1, 1}, {1, INFINITY}}), kMin2, {2, 2}),
                    Catch::StartsWith("hypervolume: point 1 value 1: must be finite, got"));
  CHECK_THROWS_WITH(hypervolume({}, {}, {}), "hypervolume: no objectives");
}
