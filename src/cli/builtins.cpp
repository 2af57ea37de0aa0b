// `hwnas zoo` and `hwnas profiles`: what is built in.
#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/profile.hpp"

namespace hwnas::cli {

int cmd_zoo(const Args&) {
  std::size_t w = 0;
  const auto z = graph::zoo();
  for (const auto& e : z) w = std::max(w, e.name.size());
  for (const auto& e : z) std::cout << e.name << std::string(w + 2 - e.name.size(), ' ') << e.description << "\n";
  return 0;
}

int cmd_profiles(const Args&) {
  std::size_t w = 0;
  const auto ps = hw::builtin_profiles();
  for (const auto& e : ps) w = std::max(w, e.name.size());
  for (const auto& e : ps)
    std::cout << e.name << std::string(w + 2 - e.name.size(), ' ') << "[" << e.kind << "] " << e.description << "\n";
  return 0;
}

}  // namespace hwnas::cli
