// `hwnas search`: a hardware-constrained multi-objective search over a search space (or a ZDT
// benchmark problem), written to a run directory that `--resume` continues.
#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/hw/profile.hpp"
#include "hwnas/report/run_report.hpp"
#include "hwnas/search/search.hpp"
#include "hwnas/space/space.hpp"

namespace po = boost::program_options;

namespace hwnas::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted = true; }

bool is_zdt(const std::string& s) { return s == "zdt1" || s == "zdt2" || s == "zdt3"; }

std::unique_ptr<search::Evaluator> make_evaluator(const search::Config& c) {
  if (is_zdt(c.space)) return std::make_unique<search::Zdt>(c.space.back() - '0', 30);
  const bool supernet = c.evaluator.rfind("supernet:", 0) == 0 && c.evaluator.size() > 9;
  if (c.evaluator != "cost" && c.evaluator != "train" && !supernet)
    throw Error("--evaluator: must be cost, train or supernet:DIR, got '" + c.evaluator + "'");
  hw::Dtype dt;
  if (!hw::dtype_from_name(c.dtype, dt) || dt == hw::Dtype::tf32)
    throw Error("--dtype: must be fp32, fp16, bf16 or int8, got '" + c.dtype + "'");
  if (c.batch < 1) throw Error("--batch: must be >= 1, got " + std::to_string(c.batch));
  std::vector<hw::Profile> profiles;
  for (const auto& p : c.profiles) profiles.push_back(hw::load_profile(p));
  graph::BuildOptions opt;
  opt.batch = c.batch;
  if (c.evaluator == "cost")
    return std::make_unique<search::CostEvaluator>(space::Space::load(c.space), opt, std::move(profiles), dt);
  if (c.train_subset < 0 || c.test_subset < 0) throw Error("--train-subset, --test-subset: must be >= 0 (0: all images)");
  if (supernet) {
    // batch-norm recalibration: up to 10 batches of 128 of the first --train-subset training images
    const std::int64_t calib = c.train_subset > 0 ? std::min<std::int64_t>(c.train_subset, 1280) : 1280;
    return std::make_unique<search::SupernetEvaluator>(space::Space::load(c.space), opt, std::move(profiles), dt, c.evaluator.substr(9),
                                                       exec::load_fashion_mnist(exec::kFashionMnistDir, calib, c.test_subset));
  }
  if (c.epochs < 1) throw Error("--epochs: must be >= 1, got " + std::to_string(c.epochs));
  exec::TrainConfig cfg;
  cfg.epochs = c.epochs;
  cfg.seed = c.seed;
  cfg.measure_latency = false;
  return std::make_unique<search::TrainEvaluator>(space::Space::load(c.space), opt, std::move(profiles), dt, cfg,
                                                  exec::load_fashion_mnist(exec::kFashionMnistDir, c.train_subset, c.test_subset));
}

std::vector<double> parse_reference_point(const std::string& text) {
  std::vector<double> r;
  try {
    for (double v : space::parse_genome(text)) r.push_back(v);
  } catch (const Error&) {
    throw Error("--hv-reference: must be numbers separated by commas, got '" + text + "'");
  }
  return r;
}

// The zoo models (or architecture files) `names`, evaluated as the run's candidates are; "none"
// alone gives none, no names the space's defaults (none with a supernet evaluator).
std::vector<search::Reference> evaluate_references(const search::Config& c, const search::Evaluator& ev,
                                                   std::vector<std::string> names, bool quiet) {
  if (is_zdt(c.space)) {
    if (!names.empty()) throw Error("--reference: zoo models compare with the members of a search space, not with " + c.space);
    return {};
  }
  if (names.size() == 1 && names[0] == "none") return {};
  if (dynamic_cast<const search::SupernetEvaluator*>(&ev)) {  // only the space's members inherit weights
    if (!names.empty())
      throw Error("--reference: with --evaluator supernet only members of the space have weights; zoo models cannot be "
                  "evaluated (use --reference none)");
    return {};
  }
  if (names.empty())
    if (const auto* s = dynamic_cast<const search::SpaceEvaluator*>(&ev)) names = search::default_references(s->space());
  std::vector<search::Reference> out;
  for (const auto& name : names) {
    if (name == "none") throw Error("--reference none: stands alone (no zoo reference points), not beside other names");
    search::Config rc = c;
    rc.space = name;
    search::Reference r{name, {}};
    try {
      const auto rev = make_evaluator(rc);
      if (!rev->genes().empty())
        throw Error("a search space with " + std::to_string(rev->genes().size()) + " genes, not one architecture");
      const std::vector<double> v = rev->evaluate({});
      for (std::size_t i = 0; i < v.size(); ++i) r.metrics.emplace_back(rev->metrics()[i], v[i]);
    } catch (const Error& e) {
      throw Error("--reference '" + name + "': " + e.what());
    }
    if (!quiet) std::fprintf(stderr, "search: reference %s evaluated\n", name.c_str());
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

int cmd_search(const Args& args) {
  po::options_description o("hwnas search <space.json | zdt1 | zdt2 | zdt3> [options]");
  search::Config c;
  std::vector<std::string> objectives, constraints, references;
  std::string out, reference_point;
  int threads = 0;
  o.add_options()
      ("help,h", "show this help")
      ("space", po::value(&c.space), "search space file (or a zoo architecture), or a ZDT benchmark problem")
      ("profile,p", po::value(&c.profiles)->composing(), "hardware profile, built-in name or .json (repeatable; default h100)")
      ("objective", po::value(&objectives)->composing(), "<metric>:min|max (repeatable), e.g. latency:min, params:min")
      ("constraint", po::value(&constraints)->composing(), "<metric><op><bound> with <=, <, >=, > (repeatable), e.g. \"peak_memory_mb<=64\"")
      ("strategy", po::value(&c.strategy)->default_value("nsga2"), "nsga2 | evolution | random")
      ("budget", po::value(&c.budget)->default_value(200), "distinct candidates to evaluate")
      ("population", po::value(&c.population)->default_value(50), "population (random: candidates per generation)")
      ("sample", po::value(&c.sample)->default_value(10), "evolution: tournament sample and children per generation")
      ("seed", po::value(&c.seed)->default_value(1), "random seed")
      ("evaluator", po::value(&c.evaluator)->default_value("cost"), "cost | train (cost metrics plus accuracy and loss after training on Fashion-MNIST) | supernet:DIR (accuracy with weights inherited from `hwnas supernet train --out DIR`)")
      ("epochs", po::value(&c.epochs)->default_value(1), "train: epochs per candidate")
      ("train-subset", po::value(&c.train_subset)->default_value(10000), "train: first N training images (0: all 60,000); supernet: batch-norm recalibration on up to 10 batches of 128 of them")
      ("test-subset", po::value(&c.test_subset)->default_value(2000), "train, supernet: first N test images (0: all 10,000)")
      ("dtype", po::value(&c.dtype)->default_value("fp32"), "fp32 | fp16 | bf16 | int8")
      ("batch,b", po::value(&c.batch)->default_value(1), "batch size the candidates are costed at")
      ("reference", po::value(&references)->composing(), "zoo model or architecture file drawn as a labelled point in the report (repeatable; default: see README; none: no points)")
      ("hv-reference", po::value(&reference_point), "hypervolume reference point, one value per objective (default: see README)")
      ("threads", po::value(&threads)->default_value(0), "evaluation threads (0: all cores); results do not depend on it")
      ("out,o", po::value(&out), "run directory (run.json, candidates.jsonl, checkpoint.json)")
      ("resume", "continue the run in --out from its checkpoint (its run.json gives the configuration)")
      ("quiet,q", "no progress line");
  po::variables_map vm;
  if (!parse_options(args, o, "space", vm)) return 0;
  const bool resume = vm.count("resume") > 0;
  if (resume) {
    if (out.empty()) throw Error("--resume: needs --out <run directory>");
    for (const char* k : {"space", "profile", "objective", "constraint", "reference", "hv-reference"})
      if (vm.count(k)) throw Error("--resume: takes the configuration from " + out + "/run.json; drop --" + k);
    const std::string run_json = out + "/run.json";
    c = search::config_from_json(read_file(run_json), run_json);
  } else {
    if (c.space.empty()) throw Error("search: missing <space> (a search space .json file, or zdt1, zdt2, zdt3)");
    if (c.profiles.empty() && !is_zdt(c.space)) c.profiles = {"h100"};
    if (is_zdt(c.space) && objectives.empty()) objectives = {"f1:min", "f2:min"};
    if (objectives.empty()) throw Error("search: give at least one --objective <metric>:min|max");
    for (const auto& t : objectives) c.objectives.push_back(search::parse_objective(t));
    for (const auto& t : constraints) c.constraints.push_back(search::parse_constraint(t));
    if (!reference_point.empty()) c.reference_point = parse_reference_point(reference_point);
  }
  const auto ev = make_evaluator(c);
  if (!resume) {
    const auto& known = ev->metrics();
    for (auto& obj : c.objectives) {
      if ((obj.metric == "accuracy" || obj.metric == "loss") &&
          std::find(known.begin(), known.end(), obj.metric) == known.end())
        throw Error("--objective " + obj.metric + ": " + obj.metric + " needs --evaluator train or supernet (the " +
                    ev->name() + " evaluator gives cost metrics only)");
      obj.metric = search::resolve_metric(obj.metric, known, "--objective");
    }
    for (auto& k : c.constraints) k.metric = search::resolve_metric(k.metric, known, "--constraint '" + k.text + "'");
    if (const auto* s = dynamic_cast<const search::SpaceEvaluator*>(ev.get())) c.space_size = s->space().size();
    c.references = evaluate_references(c, *ev, references, vm.count("quiet") > 0);
  }
  if (!vm.count("quiet")) {
    char members[32];
    std::snprintf(members, sizeof members, "%.4g", c.space_size);
    const std::string size = std::to_string(ev->genes().size()) +
                             (c.space_size > 0 ? " genes, " + std::string(members) + " members" : " real genes");
    std::fprintf(stderr, "search: %s: %s; %s, budget %lld, seed %llu\n", c.space.c_str(), size.c_str(),
                 c.strategy.c_str(), static_cast<long long>(c.budget), static_cast<unsigned long long>(c.seed));
  }
  search::RunOptions ro;
  ro.out_dir = out;
  ro.resume = resume;
  ro.threads = threads;
  ro.progress = !vm.count("quiet");
  ro.stop = [] { return g_interrupted.load(); };
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const search::Result r = search::run(c, *ev, ro);

  std::size_t feasible = 0;
  for (const auto& cand : r.candidates) feasible += cand.status == search::Status::ok;
  std::printf("%s %s on %s: %zu candidates (%zu feasible) in %.2f s, %.0f per second\n", c.strategy.c_str(),
              r.finished ? "finished" : "interrupted", c.space.c_str(), r.candidates.size(), feasible, r.seconds,
              static_cast<double>(r.candidates.size()) / std::max(r.seconds, 1e-9));
  if (!r.reference_point.empty()) {
    std::printf("hypervolume %.6g (reference", r.hypervolume);
    for (double v : r.reference_point) std::printf(" %.6g", v);
    std::printf(")\n");
  }
  std::printf("front: %zu candidates\n  %-6s", r.front.size(), "id");
  for (const auto& obj : c.objectives) std::printf(" %18s", obj.metric.c_str());
  std::printf("  genome\n");
  for (std::size_t k = 0; k < r.front.size() && k < 20; ++k) {
    const int id = r.front[k];
    const auto& cand = r.candidates[static_cast<std::size_t>(id)];
    std::printf("  %-6d", id);
    for (double v : cand.objectives) std::printf(" %18.6g", v);
    std::printf("  %s\n", space::genome_text(cand.genome).c_str());
  }
  if (r.front.size() > 20) std::printf("  ... (%zu more)\n", r.front.size() - 20);
  for (const auto& ref : c.references) {
    std::printf("  %-6s", "ref");
    for (const auto& obj : c.objectives) {
      const auto it = std::find_if(ref.metrics.begin(), ref.metrics.end(), [&](const auto& m) { return m.first == obj.metric; });
      if (it == ref.metrics.end()) std::printf(" %18s", "-");
      else std::printf(" %18.6g", it->second);
    }
    std::printf("  %s (zoo reference)\n", ref.name.c_str());
  }
  if (!r.finished) {
    std::fprintf(stderr, "hwnas search: interrupted; continue with: hwnas search --resume --out %s\n", out.c_str());
    return 130;
  }
  if (!out.empty()) {
    report::write_run_report(out);
    std::printf("run directory: %s\nreport: %s/report.html\n", out.c_str(), out.c_str());
  }
  return 0;
}

}  // namespace hwnas::cli
