// Option parsing and start-up fixes shared by the subcommands.
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

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

// OpenBLAS chooses its kernels when it loads, from OPENBLAS_CORETYPE when that is set. A
// core type without AVX-512 on a CPU that has it (OPENBLAS_CORETYPE=Haswell on AVX-512
// cores) halves GEMM speed, so the command runs itself again without it. Returns only when
// no re-run is needed.
void fix_openblas_coretype(const std::string& command, const Args& args) {
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  if (!core || std::getenv("HWNAS_OPENBLAS_REEXEC") || !__builtin_cpu_supports("avx512f")) return;
  std::string c(core);
  for (auto& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (c.find("skylakex") != std::string::npos || c.find("cooperlake") != std::string::npos ||
      c.find("sapphire") != std::string::npos)
    return;
  unsetenv("OPENBLAS_CORETYPE");
  setenv("HWNAS_OPENBLAS_REEXEC", "1", 1);
  std::vector<std::string> keep{"hwnas", command};
  keep.insert(keep.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : keep) argv.push_back(s.data());
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());  // returns only on failure: carry on as we are
}


}  // namespace hwnas::cli
