#pragma once
// Pareto ranking and hypervolume for multi-objective results: constraint domination (Deb), fast
// non-dominated sort, the feasible Pareto front, and exact hypervolume for any number of objectives.
#include <cstdint>
#include <vector>

namespace hwnas::report {

enum class Sense : std::uint8_t { min, max };

struct Point {
  std::vector<double> values;  // one per objective, in the objective's own units
  double violation = 0;        // 0: feasible; > 0: total normalised constraint violation
};

// Deb's constraint domination: a feasible point beats an infeasible one; of two infeasible points
// the smaller violation wins; of two feasible points, Pareto dominance under `senses` (no worse in
// every objective, strictly better in at least one). Equal points do not dominate each other.
// Throws hwnas::Error when a point does not have one value per sense.
bool dominates(const Point& a, const Point& b, const std::vector<Sense>& senses);

// Fast non-dominated sort (Deb et al. 2002) under constraint domination: fronts of indices into
// pts; fronts[0] is the non-dominated set. Deterministic: indices inside a front are increasing.
std::vector<std::vector<int>> non_dominated_sort(const std::vector<Point>& pts, const std::vector<Sense>& senses);

// Indices of the feasible, non-dominated points (the Pareto front), increasing. Empty when no point
// is feasible. O(n log n) for two objectives, O(n log n + n * front size) above.
std::vector<int> pareto_front(const std::vector<Point>& pts, const std::vector<Sense>& senses);

// Hypervolume dominated by the feasible points with respect to `reference` (same units and senses as
// the values; a point that does not strictly beat the reference in every objective adds nothing).
// Exact for any number of objectives: a sort and sweep in 2-D, an O(n log n) sweep over slices in
// 3-D, slicing on the last objective down to 3-D above that. Throws hwnas::Error on a size mismatch
// or a non-finite reference or value.
double hypervolume(const std::vector<Point>& pts, const std::vector<Sense>& senses,
                   const std::vector<double>& reference);

}  // namespace hwnas::report
