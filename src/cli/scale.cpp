// `hwnas scale <model>`: EfficientNet-style compound scaling of an image architecture, costed on
// one or more profiles; the family table on stdout, scale.json and scale.csv in --out.
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <regex>

#include "cli/commands.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/search/compound_scaling.hpp"

namespace po = boost::program_options;

namespace hwnas::cli {
namespace {

// "0..4", "0,2,3" or "2".
std::vector<int> parse_phis(const std::string& s) {
  std::smatch m;
  std::vector<int> out;
  const std::string bad = "--phi: expected a range a..b or a list a,b,c of integers in 0..10, got '" + s + "'";
  if (std::regex_match(s, m, std::regex(R"((\d{1,2})\.\.(\d{1,2}))"))) {
    const int a = std::stoi(m[1]), b = std::stoi(m[2]);
    if (a > b) throw Error(bad);
    for (int k = a; k <= b; ++k) out.push_back(k);
  } else if (std::regex_match(s, std::regex(R"(\d{1,2}(,\d{1,2})*)"))) {
    for (std::size_t a = 0; a < s.size();) {
      const std::size_t b = std::min(s.find(',', a), s.size());
      out.push_back(std::stoi(s.substr(a, b - a)));
      a = b + 1;
    }
  } else {
    throw Error(bad);
  }
  for (int k : out)
    if (k > 10) throw Error(bad);
  return out;
}

}  // namespace

int cmd_scale(const Args& args) {
  po::options_description o("hwnas scale <model> [options]");
  std::vector<std::string> profiles;
  std::string phi, criterion, dtype, out;
  double step, tolerance;
  std::int64_t batch;
  o.add_options()
      ("help,h", "show this help")
      ("model", po::value<std::string>(), "base image architecture: zoo name or .json file")
      ("profile,p", po::value(&profiles)->composing(), "hardware profile (repeatable; default h100)")
      ("phi", po::value(&phi)->default_value("0..4"), "compound coefficients: a..b or a,b,c (0..10)")
      ("alpha", po::value<double>(), "depth factor per phi (give alpha, beta and gamma to skip the grid search)")
      ("beta", po::value<double>(), "width factor per phi")
      ("gamma", po::value<double>(), "resolution factor per phi")
      ("criterion", po::value(&criterion)->default_value("latency"),
       "grid-search score at phi 1: latency | latency@<profile> | params")
      ("grid-step", po::value(&step)->default_value(0.05), "alpha and beta grid step")
      ("flops-tolerance", po::value(&tolerance)->default_value(0.10),
       "grid points whose rounded MACs are within 2x(1 +- this) of the base")
      ("latency-budget-ms", po::value<double>(), "pick, per profile, the largest member within this latency")
      ("dtype", po::value(&dtype)->default_value("fp32"), "fp32 | fp16 | bf16 | int8")
      ("batch,b", po::value(&batch)->default_value(1), "batch size")
      ("out,o", po::value(&out), "directory for scale.json and scale.csv");
  po::variables_map vm;
  if (!parse_options(args, o, "model", vm)) return 0;
  if (!vm.count("model")) throw Error("scale: missing <model> (a zoo name or an architecture .json file)");
  search::ScaleRequest req;
  req.model = vm["model"].as<std::string>();
  req.profiles = profiles.empty() ? std::vector<std::string>{"h100"} : profiles;
  req.phis = parse_phis(phi);
  req.criterion = criterion;
  req.grid_step = step;
  req.flops_tolerance = tolerance;
  req.batch = batch;
  if (!hw::dtype_from_name(dtype, req.dtype) || req.dtype == hw::Dtype::tf32)
    throw Error("--dtype: must be fp32, fp16, bf16 or int8, got '" + dtype + "'");
  const int given = static_cast<int>(vm.count("alpha") + vm.count("beta") + vm.count("gamma"));
  if (given == 3)
    req.given = search::ScalingCoefficients{vm["alpha"].as<double>(), vm["beta"].as<double>(), vm["gamma"].as<double>()};
  else if (given != 0)
    throw Error("--alpha, --beta, --gamma: give all three (or none, for the grid search)");
  if (vm.count("latency-budget-ms")) req.latency_budget_ms = vm["latency-budget-ms"].as<double>();
  const search::ScaleResult r = search::compound_scale(req);
  std::cout << search::to_table(r);
  if (!out.empty()) {
    const std::filesystem::path d(out);
    write_file_atomic((d / "scale.json").string(), search::to_json(r));
    write_file_atomic((d / "scale.csv").string(), search::to_csv(r));
    std::cout << "wrote " << (d / "scale.json").string() << " and " << (d / "scale.csv").string() << "\n";
  }
  return 0;
}

}  // namespace hwnas::cli
