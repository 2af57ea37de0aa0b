#pragma once
// Hardware profiles: plain documented facts about a device, with units in the field
// names, read once from JSON (format "hwnas.profile/1", see README.md).
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hwnas/graph/graph.hpp"

namespace hwnas::hw {

enum class Dtype : std::uint8_t { fp32, tf32, bf16, fp16, int8, count_ };
constexpr std::size_t kDtypes = static_cast<std::size_t>(Dtype::count_);
constexpr std::size_t kClasses = static_cast<std::size_t>(graph::OpClass::count_);

std::string_view dtype_name(Dtype d);
bool dtype_from_name(std::string_view name, Dtype& out);
// Storage bytes of one element (tf32 is stored as fp32).
int bytes_of(Dtype d);

// Share of a peak that an op class reaches (0 < x <= 1), and the fixed time each of its
// kernels costs (defaults to the profile's kernel_overhead_s).
struct Efficiency {
  double compute = 1.0;
  double memory = 1.0;
  double overhead_s = -1;  // < 0: kernel_overhead_s
  // Wave quantization (only where the profile sets compute_units): a kernel splits its output,
  // seen as a matrix (cost::NodeCost::out_rows x out_cols), into tiles of tile_rows x tile_cols
  // elements that run in waves over the compute units. 0: no tiling for this class.
  double tile_rows = 0, tile_cols = 0;
};

struct Profile {
  std::string name, description, version, kind;
  // Peak rates; 0 means the device has no such path (costing with it is an error).
  std::array<double, kDtypes> matrix_flops_per_s{};  // convolutions, linear, matmul, attention
  std::array<double, kDtypes> vector_flops_per_s{};  // elementwise, norms, pooling, softmax
  double memory_bandwidth_bytes_per_s = 0;
  double memory_capacity_bytes = 0;
  double onchip_bytes = 0;                    // last-level cache / SRAM
  double onchip_bandwidth_bytes_per_s = 0;    // used when an op's bytes fit on chip
  double kernel_overhead_s = 0;               // per launched op
  // Units a kernel's tiles are spread over (a GPU's SMs); 0: no wave quantization. With tiles
  // from Efficiency::tile_rows/tile_cols, a kernel of T tiles runs ceil(T / units) waves and
  // uses T / (waves x units) of the machine (cost/analyze.cpp, apply_roofline).
  double compute_units = 0;
  bool fuses_conv_bn_act = false;             // the deployment stack folds BN and activation into conv
  // Constant folding: ops the deployment stack evaluates at conversion time when all their
  // inputs are constants (x*0 is one). Non-empty also means x*0 and dead ops are dropped
  // (cost/analyze.cpp). Empty: the stack runs the graph as it is.
  std::vector<graph::Op> folds_constants;
  bool is_template = false;                   // a generic starting point for `hwnas calibrate --base`
  std::vector<graph::OpClass> tf32_classes;   // fp32 work of these classes runs at the tf32 rate
  // efficiency[class][dtype]
  std::array<std::array<Efficiency, kDtypes>, kClasses> efficiency{};
  std::map<std::string, std::string> sources;  // field -> where the number comes from
  std::string calibration;                     // provenance of fitted numbers, as JSON text
  std::string notes;                           // free-form notes, as JSON text

  const Efficiency& eff(graph::OpClass c, Dtype d) const {
    return efficiency[static_cast<std::size_t>(c)][static_cast<std::size_t>(d)];
  }
  Efficiency& eff(graph::OpClass c, Dtype d) {
    return efficiency[static_cast<std::size_t>(c)][static_cast<std::size_t>(d)];
  }
  // A kernel's fixed time for this class and dtype.
  double overhead_s(graph::OpClass c, Dtype d) const {
    const double o = eff(c, d).overhead_s;
    return o >= 0 ? o : kernel_overhead_s;
  }
};

// Parses profile JSON text; `source` names the file in errors.
Profile parse_profile(const std::string& text, const std::string& source);
// The profile as JSON text that parse_profile reads back to the same values.
std::string profile_to_json(const Profile& p);
// A built-in profile name ("h100") or a path to a profile file.
Profile load_profile(const std::string& name_or_path);

struct ProfileEntry {
  std::string name, description, kind;
};
std::vector<ProfileEntry> builtin_profiles();

}  // namespace hwnas::hw
