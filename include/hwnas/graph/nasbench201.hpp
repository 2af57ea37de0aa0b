#pragma once
// NAS-Bench-201 (Dong & Yang, ICLR 2020): one network of the cell space per 6-digit code,
// for CIFAR-10 (32x32 input, 10 classes). `load_architecture("nasbench201:223022")` builds it.
// The space is described in search_spaces/nasbench201.json and README.md ("NAS-Bench-201").
#include <array>
#include <string>
#include <string_view>
#include <utility>

namespace hwnas::graph::nasbench201 {

// The name form accepted wherever an architecture is: "nasbench201:<6 digits>".
inline constexpr std::string_view kPrefix = "nasbench201:";

// The op of an edge, by digit.
inline constexpr std::array<std::string_view, 5> kOps{"skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1",
                                                      "avg_pool_3x3"};
// The cell's edges (from node, to node), one per digit of the code, in order.
inline constexpr std::array<std::pair<int, int>, 6> kEdges{{{0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}}};

// The architecture JSON ("hwnas.arch/1") of the network with this code (the digits alone).
// Throws hwnas::Error naming the code when it is not 6 digits 0-4.
std::string architecture_json(std::string_view code);

}  // namespace hwnas::graph::nasbench201
