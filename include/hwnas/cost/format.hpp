#pragma once
// Writers for a CostReport: an aligned table with block subtotals, JSON and CSV.
#include <string>

#include "hwnas/cost/cost.hpp"

namespace hwnas::cost {

// Human units: 3.50 M, 300.8 MMAC, 1.23 ms, 12.5 MiB.
std::string human_count(double v);
std::string human_bytes(double v);
std::string human_seconds(double s);

std::string to_table(const graph::Graph& g, const CostReport& r, bool per_layer);
std::string to_json(const graph::Graph& g, const CostReport& r);  // one object, integers as integers
std::string to_csv(const graph::Graph& g, const CostReport& r);

}  // namespace hwnas::cost
