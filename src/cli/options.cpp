// Option parsing shared by the subcommands.
#include <iostream>

#include "cli/commands.hpp"

namespace po = boost::program_options;

namespace hwnas::cli {

bool parse_options(const Args& args, const po::options_description& o, const char* positional, po::variables_map& vm) {
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
