// `hwnas cost`: the cost of one architecture on one profile, as a table, JSON or CSV.
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "hwnas/cost/cost.hpp"
#include "hwnas/cost/format.hpp"
#include "hwnas/error.hpp"
#include "hwnas/graph/arch.hpp"
#include "hwnas/hw/profile.hpp"
#include "hwnas/space/space.hpp"

namespace po = boost::program_options;

namespace hwnas::cli {
namespace {

// "1,3,224,224" -> {1,3,224,224}
graph::Shape parse_shape(const std::string& text) {
  graph::Shape s;
  std::size_t p = 0;
  while (p <= text.size()) {
    const std::size_t q = std::min(text.find(',', p), text.size());
    const std::string item = text.substr(p, q - p);
    std::size_t used = 0;
    long long d = 0;
    try {
      d = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || d < 1)
      throw Error("--input-shape: expected comma-separated dimensions >= 1 (e.g. 1,3,224,224), got '" + text + "'");
    s.push_back(d);
    p = q + 1;
  }
  return s;
}

}  // namespace

int cmd_cost(const Args& args) {
  po::options_description o("hwnas cost <model> [options]");
  std::string profile, dtype, format, phase, input_shape;
  std::int64_t batch, resolution, context, seq_len;
  o.add_options()
      ("help,h", "show this help")
      ("model", po::value<std::string>(), "zoo name (see `hwnas zoo`), architecture .json file, .onnx model or nasbench201:<6 digits>")
      ("profile,p", po::value(&profile)->default_value("h100"), "hardware profile: built-in name or .json file")
      ("batch,b", po::value(&batch)->default_value(1), "batch size")
      ("dtype", po::value(&dtype)->default_value("fp32"), "fp32 | fp16 | bf16 | int8")
      ("resolution,r", po::value(&resolution)->default_value(0), "input resolution (image models; 0 = the model's own)")
      ("seq-len", po::value(&seq_len)->default_value(0), "prompt tokens for the prefill phase (0 = the model's own)")
      ("phase", po::value(&phase)->default_value("prefill"), "prefill | decode (token models)")
      ("context", po::value(&context)->default_value(0), "decode: sequence length at this step, cached tokens included")
      ("input-shape", po::value(&input_shape), "ONNX models: the whole input shape, e.g. 1,3,224,224 (needed when the file's is symbolic)")
      ("format,f", po::value(&format)->default_value("table"), "table | json | csv")
      ("layers", "table: one row per primitive op instead of per block")
      ("genome", po::value<std::string>(), "<model> is a search space: cost this member (\"3,1,0,2\" or a candidates.jsonl line)");
  po::variables_map vm;
  if (!parse_options(args, o, "model", vm)) return 0;
  if (!vm.count("model")) throw Error("cost: missing <model> (a zoo name, an architecture .json file or nasbench201:<6 digits>)");
  if (format != "table" && format != "json" && format != "csv")
    throw Error("--format: must be table, json or csv, got '" + format + "'");
  hw::Dtype dt;
  if (!hw::dtype_from_name(dtype, dt) || dt == hw::Dtype::tf32)
    throw Error("--dtype: must be fp32, fp16, bf16 or int8, got '" + dtype + "'");
  if (batch < 1) throw Error("--batch: must be >= 1, got " + std::to_string(batch));
  if (resolution < 0) throw Error("--resolution: must be >= 1, got " + std::to_string(resolution));
  if (seq_len < 0) throw Error("--seq-len: must be >= 1, got " + std::to_string(seq_len));
  graph::BuildOptions opt;
  opt.batch = batch;
  opt.resolution = resolution;
  opt.seq_len = seq_len;
  opt.context = context;
  if (phase == "decode") {
    opt.phase = graph::Phase::decode;
    if (context < 1) throw Error("--context: the decode phase needs --context >= 1, got " + std::to_string(context));
  } else if (phase != "prefill") {
    throw Error("--phase: must be prefill or decode, got '" + phase + "'");
  } else if (context != 0) {
    throw Error("--context: applies to --phase decode (use --seq-len for the prefill length)");
  }
  if (!input_shape.empty()) opt.input_shape = parse_shape(input_shape);
  const hw::Profile prof = hw::load_profile(profile);
  const std::string model = vm["model"].as<std::string>();
  const graph::Graph g = vm.count("genome")
                             ? space::Space::load(model).decode(space::parse_genome(vm["genome"].as<std::string>()), opt)
                             : graph::load_architecture(model, opt);
  const cost::CostReport r = cost::analyze(g, prof, dt);
  if (format == "json") std::cout << cost::to_json(g, r);
  else if (format == "csv") std::cout << cost::to_csv(g, r);
  else std::cout << cost::to_table(g, r, vm.count("layers") > 0);
  return 0;
}

}  // namespace hwnas::cli
