// Learned tensors: initialisation and the weight file format.
#include "hwnas/exec/network.hpp"

#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "hwnas/error.hpp"
#include "hwnas/files.hpp"

namespace hwnas::exec {

using graph::Op;

Params::Params(const graph::Graph& g) {
  for (int i = 0; i < g.size(); ++i)
    for (const auto& spec : graph::params_of(g, g.node(i))) {
      Tensor t;
      t.name = g.node(i).name + "." + spec.name;
      t.node = i;
      t.param = spec.name;
      t.shape = spec.shape;
      t.buffer = spec.buffer;
      const auto n = static_cast<std::size_t>(graph::numel(spec.shape));
      t.value.assign(n, 0.0f);
      if (!t.buffer) {
        t.grad.assign(n, 0.0f);
        t.momentum.assign(n, 0.0f);
      }
      tensors_.push_back(std::move(t));
    }
}

Tensor* Params::find(int node, const std::string& param) {
  for (auto& t : tensors_)
    if (t.node == node && t.param == param) return &t;
  return nullptr;
}

std::int64_t Params::count() const {
  std::int64_t n = 0;
  for (const auto& t : tensors_)
    if (!t.buffer) n += static_cast<std::int64_t>(t.value.size());
  return n;
}

void Params::zero_grad() {
  for (auto& t : tensors_) std::fill(t.grad.begin(), t.grad.end(), 0.0f);
}

void Params::init(std::uint64_t seed) { init_tensors(tensors_, seed); }

void init_tensors(std::vector<Tensor>& tensors, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  // Box-Muller on the raw 64-bit stream: the same numbers with any standard library
  auto uniform = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  auto normal = [&] { return std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform()); };
  for (auto& t : tensors) {
    float fill = 0.0f;
    double stddev = 0.0;
    if (t.param == "weight" && t.shape.size() >= 2) {
      std::int64_t fan_in = 1;
      for (std::size_t d = 1; d < t.shape.size(); ++d) fan_in *= t.shape[d];
      stddev = std::sqrt(2.0 / static_cast<double>(fan_in));
    } else if (t.param == "weight" || t.param == "running_var") {
      fill = 1.0f;  // norm scales
    } else if (t.param == "value") {
      stddev = 0.02;
    }
    for (auto& v : t.value) v = stddev > 0 ? static_cast<float>(stddev * normal()) : fill;
    std::fill(t.momentum.begin(), t.momentum.end(), 0.0f);
  }
}

void Params::save(const std::string& path, const std::string& model) const {
  static_assert(std::endian::native == std::endian::little, "weight files are little-endian float32");
  nlohmann::json head = {{"format", "hwnas.weights/1"}, {"model", model}, {"tensors", nlohmann::json::array()}};
  std::size_t offset = 0;
  for (const auto& t : tensors_) {
    head["tensors"].push_back({{"name", t.name}, {"shape", t.shape}, {"offset", offset}});
    offset += t.value.size();
  }
  std::string out = head.dump() + "\n";
  const std::size_t at = out.size();
  out.resize(at + offset * sizeof(float));
  std::size_t pos = at;
  for (const auto& t : tensors_) {
    std::memcpy(out.data() + pos, t.value.data(), t.value.size() * sizeof(float));
    pos += t.value.size() * sizeof(float);
  }
  write_file_atomic(path, out);
}

void Params::load(const std::string& path) {
  const std::string bytes = read_file(path);
  const auto nl = bytes.find('\n');
  nlohmann::json head;
  try {
    if (nl == std::string::npos) throw Error("no header line");
    head = nlohmann::json::parse(bytes.substr(0, nl));
  } catch (const std::exception& e) {
    throw Error(path + ": not a hwnas.weights/1 file (" + e.what() + ")");
  }
  if (!head.is_object() || head.value("format", "") != "hwnas.weights/1")
    throw Error(path + ": format: expected \"hwnas.weights/1\"");
  const auto& list = head.at("tensors");
  const std::size_t blob = bytes.size() - nl - 1;
  if (list.size() != tensors_.size())
    throw Error(path + ": holds " + std::to_string(list.size()) + " tensors, the graph has " + std::to_string(tensors_.size()) +
                " (weights of another architecture?)");
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    Tensor& t = tensors_[i];
    const auto& e = list[i];
    const std::string name = e.value("name", "");
    if (name != t.name) throw Error(path + ": tensors[" + std::to_string(i) + "].name: expected '" + t.name + "', got '" + name + "'");
    const graph::Shape shape = e.at("shape").get<graph::Shape>();
    if (shape != t.shape)
      throw Error(path + ": tensors[" + std::to_string(i) + "] '" + name + "': shape " + graph::to_string(shape) +
                  " differs from the graph's " + graph::to_string(t.shape));
    const std::size_t off = e.at("offset").get<std::size_t>();
    if ((off + t.value.size()) * sizeof(float) > blob)
      throw Error(path + ": tensors[" + std::to_string(i) + "] '" + name + "': data past the end of the file (truncated?)");
    std::memcpy(t.value.data(), bytes.data() + nl + 1 + off * sizeof(float), t.value.size() * sizeof(float));
  }
}

}  // namespace hwnas::exec
