// The `hwnas` command: dispatches to a subcommand (src/cli/<command>.cpp). Only here do
// exceptions become exit codes: 1 for an error in the input, 2 for bad usage.
#include <array>
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <string_view>

#include "cli/commands.hpp"
#include "hwnas/error.hpp"

namespace {

struct Command {
  std::string_view name, synopsis, help;
  int (*run)(const hwnas::cli::Args&);
};

// Adding a command: its file in src/cli/, its declaration in commands.hpp, its row here.
constexpr std::array kCommands{
    Command{"cost", "cost <model>", "cost an architecture (zoo name, .json file or nasbench201:<code>) on a hardware profile", hwnas::cli::cmd_cost},
    Command{"zoo", "zoo", "list the built-in architectures", hwnas::cli::cmd_zoo},
    Command{"profiles", "profiles", "list the built-in hardware profiles", hwnas::cli::cmd_profiles},
    Command{"train", "train <model>", "train and evaluate an image architecture on Fashion-MNIST on this CPU", hwnas::cli::cmd_train},
    Command{"report", "report <dir>", "rebuild a search run's report (front.json/csv/svg, report.html)", hwnas::cli::cmd_report},
    Command{"search", "search <space>", "multi-objective architecture search under hardware constraints", hwnas::cli::cmd_search},
    Command{"calibrate", "calibrate <profile>", "fit a profile to measured latencies (or --base <template>)", hwnas::cli::cmd_calibrate},
    Command{"supernet", "supernet train <space>", "train a weight-sharing supernet over a search space (one-shot NAS)", hwnas::cli::cmd_supernet},
    Command{"scale", "scale <model>", "EfficientNet-style compound scaling: a family costed per profile", hwnas::cli::cmd_scale},
};

std::string usage() {
  std::string s = "usage: hwnas <command> [options]\n\ncommands:\n";
  for (const auto& c : kCommands) {
    s += "  " + std::string(c.synopsis);
    s += std::string(c.synopsis.size() < 18 ? 18 - c.synopsis.size() : 1, ' ');
    s += std::string(c.help) + "\n";
  }
  return s + "\nrun 'hwnas <command> --help' for its options\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage();
    return 2;
  }
  const std::string cmd = argv[1];
  const hwnas::cli::Args args(argv + 2, argv + argc);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << usage();
    return 0;
  }
  for (const auto& c : kCommands) {
    if (c.name != cmd) continue;
    try {
      return c.run(args);
    } catch (const hwnas::Error& e) {
      std::cerr << "hwnas: error: " << e.what() << "\n";
      return 1;
    } catch (const boost::program_options::error& e) {
      std::cerr << "hwnas " << cmd << ": " << e.what() << "\n";
      return 2;
    }
  }
  std::cerr << "hwnas: unknown command '" << cmd << "'\n" << usage();
  return 2;
}
