// `hwnas report <dir>`: rebuilds front.json, front.csv, front.svg and report.html of a saved run.
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "hwnas/error.hpp"
#include "hwnas/report/run_report.hpp"

namespace po = boost::program_options;

namespace hwnas::cli {

int cmd_report(const Args& args) {
  po::options_description o("hwnas report <run directory>");
  o.add_options()("help,h", "show this help")("dir", po::value<std::string>(), "a run directory written by hwnas search");
  po::variables_map vm;
  if (!parse_options(args, o, "dir", vm)) return 0;
  if (!vm.count("dir")) throw Error("report: missing <run directory> (the --out of hwnas search)");
  const std::string dir = vm["dir"].as<std::string>();
  const report::RunSummary s = report::write_run_report(dir);
  std::cout << dir << ": " << s.candidates << " candidates, " << s.feasible << " feasible, " << s.front
            << " on the Pareto front, hypervolume " << s.hypervolume << "\n"
            << "report: " << (std::filesystem::path(dir) / "report.html").string()
            << " (also front.json, front.csv, front.svg)\n";
  return 0;
}

}  // namespace hwnas::cli
