#pragma once
// Option parsing shared by subcommands that take one positional argument.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "cli/commands.hpp"

namespace hwnas::cli {

// Parses `args` against `o` with one positional option named `positional`; prints the help and
// returns false on --help.
inline bool parse_options(const Args& args, const boost::program_options::options_description& o,
                          const char* positional, boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::positional_options_description pos;
  pos.add(positional, 1);
  po::store(po::command_line_parser(args).options(o).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << o;
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace hwnas::cli
