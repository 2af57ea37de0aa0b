// `hwnas calibrate`: fit a profile to measured latencies, cross-validate the fit, check a
// profile on measurements it was not fitted to, and write the fitted profile and a report.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/hw/calibrate.hpp"
#include "hwnas/hw/profile.hpp"

namespace po = boost::program_options;
using json = nlohmann::ordered_json;

namespace hwnas::cli {
namespace {

std::string today() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[16];
  std::strftime(b, sizeof b, "%Y-%m-%d", &tm);
  return b;
}

double round4(double x) { return std::round(x * 1e4) / 1e4; }

json scores_json(const hw::Scores& s) {
  return {{"n", s.n},
          {"spearman", round4(s.spearman)},
          {"kendall", round4(s.kendall)},
          {"median_abs_pct", round4(s.median_abs_pct)},
          {"within_10pct", round4(s.within_10pct)},
          {"flops_spearman", round4(s.flops_spearman)},
          {"flops_kendall", round4(s.flops_kendall)}};
}

void print_scores(const std::string& what, const hw::Scores& s) {
  std::printf("%-34s n=%-4d spearman %.4f  kendall %.4f  median |err| %5.1f %%  within 10 %% %5.1f %%   "
              "(FLOPs: spearman %.4f  kendall %.4f)\n",
              what.c_str(), s.n, s.spearman, s.kendall, s.median_abs_pct, 100 * s.within_10pct, s.flops_spearman,
              s.flops_kendall);
}

struct Scored {
  std::vector<double> measured, predicted, flops;
  hw::Scores scores;
};

Scored score_on(const hw::Profile& p, const hw::MeasurementSet& set, const std::vector<double>* predicted = nullptr) {
  Scored r;
  for (std::size_t i = 0; i < set.items.size(); ++i) {
    const hw::Measurement& m = set.items[i];
    r.measured.push_back(m.latency_s);
    r.predicted.push_back(predicted ? (*predicted)[i] : hw::predict(p, m));
    r.flops.push_back(hw::flops_of(p, m));
  }
  r.scores = hw::score(r.predicted, r.measured, r.flops);
  return r;
}

void write_errors(const std::string& path, const hw::MeasurementSet& set, const Scored& s, const std::vector<int>* fold) {
  std::string out = "label,measured_ms,predicted_ms,error_pct,flops" + std::string(fold ? ",fold" : "") + "\n";
  char b[128];
  for (std::size_t i = 0; i < set.items.size(); ++i) {
    std::string label = set.items[i].label;
    for (char& c : label)
      if (c == ',') c = ';';
    std::snprintf(b, sizeof b, ",%.6g,%.6g,%.2f,%.6g", s.measured[i] * 1e3, s.predicted[i] * 1e3,
                  100.0 * (s.predicted[i] - s.measured[i]) / s.measured[i], s.flops[i]);
    out += label;
    out += b;
    if (fold) out.append(",").append(std::to_string((*fold)[i]));
    out += '\n';
  }
  write_file_atomic(path, out);
}

}  // namespace

int cmd_calibrate(const Args& args) {
  po::options_description o(
      "hwnas calibrate <profile> --measurements F.json --out P.json [options]\n"
      "hwnas calibrate --base <template> --name NAME --measurements F.json --out P.json [options]\n"
      "hwnas calibrate local_cpu --measure-local OPS.json --out P.json [options]");
  std::string base, measurements, out, report, check, name, description, measure_local;
  int folds = 0;
  std::uint64_t seed = 1;
  hw::LocalBenchOptions bench;
  o.add_options()
      ("help,h", "show this help")
      ("profile", po::value<std::string>(), "profile to refine: built-in name or .json file")
      ("base", po::value(&base), "start from a generic template instead (generic_cpu, generic_mobile_cpu, generic_gpu, generic_accelerator)")
      ("name", po::value(&name), "name of the written profile (default: the starting profile's; required with --base)")
      ("description", po::value(&description), "description of the written profile")
      ("measurements,m", po::value(&measurements), "measurement file to fit (whole-model and/or per-op, README 'Calibration')")
      ("out,o", po::value(&out), "write the fitted profile here")
      ("folds", po::value(&folds)->default_value(0), "also score a k-fold cross-validation (fit on k-1 folds, predict the held-out one)")
      ("seed", po::value(&seed)->default_value(1), "seed of the fold assignment")
      ("check", po::value(&check), "score the (fitted) profile on this measurement file, never fitted to it")
      ("report", po::value(&report), "write scatter SVGs and error tables into this directory")
      ("measure-local", po::value(&measure_local), "time per-op micro-benchmarks with the CPU executor on this machine, write them to this file and fit to them")
      ("threads", po::value(&bench.threads)->default_value(bench.threads), "--measure-local: executor threads")
      ("batch", po::value(&bench.batch)->default_value(bench.batch), "--measure-local: the training batch, timed next to batch 1")
      ("repeats", po::value(&bench.repeats)->default_value(bench.repeats), "--measure-local: timed runs per op (median)")
      ("warmup", po::value(&bench.warmup)->default_value(bench.warmup), "--measure-local: untimed runs per op first");
  po::variables_map vm;
  if (!parse_options(args, o, "profile", vm)) return 0;
  if (!measure_local.empty()) {
    if (!measurements.empty()) throw Error("calibrate: give --measurements or --measure-local, not both");
    hw::check(bench);
  } else {
    for (const char* k : {"threads", "batch", "repeats", "warmup"})
      if (!vm[k].defaulted()) throw Error(std::string("calibrate: --") + k + " needs --measure-local");
  }
  if (vm.count("profile") == (base.empty() ? 0u : 1u))
    throw Error("calibrate: give exactly one starting point: a <profile> or --base <template>");
  const bool fits = !measurements.empty() || !measure_local.empty();
  if (!fits && check.empty())
    throw Error("calibrate: nothing to do: give --measurements, --measure-local and/or --check");
  if (fits && out.empty() && report.empty() && folds == 0)
    throw Error("calibrate: --measurements and --measure-local need --out, --report or --folds (otherwise the fit goes nowhere)");
  if (!base.empty() && name.empty()) throw Error("calibrate: --base needs --name for the new profile");
  if (!fits && (!out.empty() || folds != 0)) throw Error("calibrate: --out and --folds need --measurements or --measure-local");

  hw::Profile start = hw::load_profile(base.empty() ? vm["profile"].as<std::string>() : base);
  if (!base.empty() && !start.is_template)
    throw Error("calibrate: --base: '" + base + "' is not a template (\"template\": true); give it as <profile>");
  if (!measure_local.empty()) {
    if (start.kind != "cpu")
      throw Error("calibrate: --measure-local times this machine's CPU executor; profile '" + start.name +
                  "' is of kind '" + start.kind + "', not 'cpu'");
    fix_openblas_coretype("calibrate", args);
    std::fprintf(stderr, "measuring per-op latencies with the executor (%d threads, batch 1 and %lld)...\n",
                 bench.threads, static_cast<long long>(bench.batch));
    const std::string text = hw::measure_local(bench, [](int done, int total) {
      std::fprintf(stderr, "\r  %d / %d ops", done, total);
      if (done == total) std::fprintf(stderr, "\n");
    });
    write_file_atomic(measure_local, text);
    std::printf("wrote %s\n", measure_local.c_str());
    measurements = measure_local;
  }
  hw::FitOptions opt;
  opt.fit_ceilings = start.is_template;  // a template's peaks are rough: fit them too
  const std::string date = today();
  if (!report.empty()) std::filesystem::create_directories(report);

  hw::Profile prof = start;
  json cal = json::object();
  if (!measurements.empty()) {
    const hw::MeasurementSet set = hw::load_measurements(measurements);
    std::printf("%s: %zu measurements%s\n", measurements.c_str(), set.items.size(),
                set.skipped ? (", " + std::to_string(set.skipped) + " eager-only entries skipped").c_str() : "");
    if (folds > 0) {
      const hw::CrossValidation cv = hw::cross_validate(start, set.items, opt, folds, seed);
      print_scores(std::to_string(folds) + "-fold cross-validation (held out)", cv.scores);
      cal["cross_validation"] = {{"folds", folds}, {"seed", seed}, {"heldout", scores_json(cv.scores)}};
      if (!report.empty()) {
        const Scored s = score_on(start, set, &cv.heldout);
        write_errors(report + "/cv_errors.csv", set, s, &cv.fold);
        write_file_atomic(report + "/cv_scatter.svg",
                          hw::scatter_svg(s.measured, s.predicted, start.name + ": held-out predictions, " +
                                                                       std::to_string(folds) + "-fold CV"));
      }
    }
    const hw::FitResult f = hw::fit(start, set.items, opt);
    prof = f.profile;
    const Scored s = score_on(prof, set);
    print_scores("fit (all measurements, in-sample)", s.scores);
    const std::string src = "fitted by hwnas calibrate to " + std::filesystem::path(measurements).filename().string() +
                            " (" + std::to_string(set.items.size()) + " measurements, " + date + ")";
    for (const std::string& k : f.fitted) {
      const std::string field = k.substr(0, k.find('.'));
      const bool eff = k.find('.') != std::string::npos;
      prof.sources[eff ? (k.ends_with(".overhead_s") ? "kernel_overhead_s" : "efficiency") : field] = src;
    }
    if (!base.empty()) cal["base"] = base;
    cal["data"] = measurements;
    cal["date"] = date;
    cal["samples"] = set.items.size();
    if (set.skipped) cal["skipped_eager_only"] = set.skipped;
    cal["loss"] = "mean pseudo-Huber (scale 0.1) of log(predicted / measured)";
    cal["fitted"] = f.fitted;
    cal["fit"] = scores_json(s.scores);
    if (!report.empty()) {
      write_errors(report + "/fit_errors.csv", set, s, nullptr);
      write_file_atomic(report + "/fit_scatter.svg",
                        hw::scatter_svg(s.measured, s.predicted, prof.name + ": fitted profile, in-sample"));
    }
  }
  if (!name.empty()) prof.name = name;
  if (!description.empty()) prof.description = description;
  if (!check.empty()) {
    const hw::MeasurementSet set = hw::load_measurements(check);
    const Scored s = score_on(prof, set);
    print_scores("check " + std::filesystem::path(check).filename().string() + " (not fitted)", s.scores);
    double worst = 0;
    for (std::size_t i = 0; i < s.measured.size(); ++i) {
      const double e = 100.0 * (s.predicted[i] - s.measured[i]) / s.measured[i];
      std::printf("  %-40s measured %10.4g ms  predicted %10.4g ms  %+6.1f %%\n", set.items[i].label.c_str(),
                  s.measured[i] * 1e3, s.predicted[i] * 1e3, e);
      worst = std::max(worst, std::abs(e));
    }
    cal["check"] = {{"data", check}, {"scores", scores_json(s.scores)}, {"max_abs_pct", round4(worst)}};
    if (!report.empty()) {
      write_errors(report + "/check_errors.csv", set, s, nullptr);
      write_file_atomic(report + "/check_scatter.svg",
                        hw::scatter_svg(s.measured, s.predicted, prof.name + ": check on unfitted measurements"));
    }
  }
  if (!report.empty()) write_file_atomic(report + "/summary.json", cal.dump(2) + "\n");
  if (!out.empty()) {
    prof.is_template = false;
    prof.version = date + ".calibrated";
    if (!cal.empty()) prof.calibration = cal.dump();
    const std::string text = hw::profile_to_json(prof);
    hw::parse_profile(text, out);  // what we write must read back
    write_file_atomic(out, text);
    std::printf("wrote %s\n", out.c_str());
  }
  return 0;
}

}  // namespace hwnas::cli
