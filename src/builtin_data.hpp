#pragma once
// Files compiled into the library by cmake/embed.cmake.
#include <string>
#include <vector>

namespace hwnas::builtin {

struct Entry {
  std::string name;  // file stem
  std::string text;  // file contents
};
const std::vector<Entry>& models();
const std::vector<Entry>& profiles();

}  // namespace hwnas::builtin
