#pragma once
// The `hwnas` subcommands, one file each (src/cli/<command>.cpp). Each parses its own options
// with Boost.Program_Options and throws hwnas::Error or a program_options error; main() turns
// them into exit codes (1: error, 2: bad usage).
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace hwnas::cli {

using Args = std::vector<std::string>;

// Parses `args` against `o`, the first bare argument going to `positional`; prints the help and
// returns false for --help.
bool parse_options(const Args& args, const boost::program_options::options_description& o, const char* positional,
                   boost::program_options::variables_map& vm);

// OpenBLAS chooses its kernels when it loads, from OPENBLAS_CORETYPE when that is set: where
// that names a core type without AVX-512 on a CPU that has it, runs `hwnas <command> args`
// again without it (options.cpp). Returns only when no re-run is needed.
void fix_openblas_coretype(const std::string& command, const Args& args);

int cmd_cost(const Args& args);
int cmd_zoo(const Args& args);
int cmd_profiles(const Args& args);
int cmd_train(const Args& args);
int cmd_report(const Args& args);
int cmd_search(const Args& args);
int cmd_calibrate(const Args& args);
int cmd_scale(const Args& args);
int cmd_supernet(const Args& args);

}  // namespace hwnas::cli
