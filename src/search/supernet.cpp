// The weight-sharing supernet: full-size tensors keyed by node name and block option, members
// sliced in and out of them, SGD on the touched elements, checkpoints, single-path and sandwich
// training on the executor, and inherited-weight evaluation with batch-norm recalibration.
#include "hwnas/search/supernet.hpp"

#include <nlohmann/json.hpp>
#include <tbb/task_arena.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "hwnas/cost/cost.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"
#include "hwnas/hw/profile.hpp"

namespace hwnas::search {
namespace {

using json = nlohmann::json;
using i64 = std::int64_t;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The index of a gene's largest (or smallest) value: for categorical genes the option of the
// largest number (when every option is a number; else the last or first option).
double extreme(const space::Gene& g, bool largest) {
  if (g.kind != space::GeneKind::categorical || !g.block.empty()) return largest ? g.hi : g.lo;
  int best = -1;
  double best_v = 0;
  for (std::size_t i = 0; i < g.labels.size(); ++i) {
    const json v = json::parse(g.labels[i], nullptr, false);
    if (v.is_discarded() || !v.is_number()) return largest ? g.hi : g.lo;
    const double x = v.get<double>();
    if (best < 0 || (largest ? x > best_v : x < best_v)) best = static_cast<int>(i), best_v = x;
  }
  return best < 0 ? 0 : best;
}

// Calls f(full_offset, sub_offset, length) for every contiguous innermost run of the slice of
// shape `sub` at `off` inside a tensor of shape `full` (row-major).
template <class F>
void for_each_run(const graph::Shape& full, const graph::Shape& sub, const std::vector<i64>& off, F&& f) {
  const std::size_t r = sub.size();
  if (r == 0) {
    f(0, 0, 1);
    return;
  }
  i64 outer = 1;
  for (std::size_t d = 0; d + 1 < r; ++d) outer *= sub[d];
  std::vector<i64> idx(r - 1, 0);
  i64 s = 0;
  for (i64 o = 0; o < outer; ++o) {
    i64 fo = 0;
    for (std::size_t d = 0; d + 1 < r; ++d) fo = (fo + idx[d] + off[d]) * full[d + 1];
    f(fo + off[r - 1], s, sub[r - 1]);
    s += sub[r - 1];
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < sub[d]) break;
      idx[d] = 0;
    }
  }
}

// `d` when it already fits the graph's input, else the adapted copy kept in `store`.
const exec::Dataset& fitting(const exec::Dataset& d, const graph::Graph& g, int input, exec::Dataset& store) {
  const graph::Shape& s = g.node(input).shape;
  if (s.size() != 4) throw Error("graph '" + g.name + "': the executor trains image models with one [batch, channels, height, width] input");
  if (d.channels == s[1] && d.height == s[2] && d.width == s[3]) return d;
  if (store.channels != s[1] || store.height != s[2] || store.width != s[3]) store = exec::adapt(d, s[1], s[2], s[3]);
  return store;
}

void check(const SupernetConfig& c) {
  auto bad = [](const std::string& field, const std::string& what) { throw Error("supernet config: " + field + ": " + what); };
  if (c.epochs < 1) bad("epochs", "must be >= 1, got " + std::to_string(c.epochs));
  if (c.batch < 1) bad("batch", "must be >= 1, got " + std::to_string(c.batch));
  if (!(c.lr > 0)) bad("lr", "must be > 0, got " + std::to_string(c.lr));
  if (c.momentum < 0 || c.momentum >= 1) bad("momentum", "must be in [0, 1), got " + std::to_string(c.momentum));
  if (c.weight_decay < 0) bad("weight_decay", "must be >= 0, got " + std::to_string(c.weight_decay));
  if (c.threads < 1) bad("threads", "must be >= 1, got " + std::to_string(c.threads));
  if (c.subset < 0) bad("subset", "must be >= 0, got " + std::to_string(c.subset));
}

}  // namespace

Supernet::Supernet(space::Space s) : space_(std::move(s)) {
  const auto& genes = space_.genes();
  const std::string& src = space_.source();
  // block genes: their layer name and option labels (a label repeated in one gene gets its index)
  blocks_.resize(genes.size());
  std::vector<std::size_t> block_genes;
  double combos = 1;
  for (std::size_t i = 0; i < genes.size(); ++i) {
    if (genes[i].block.empty()) continue;
    block_genes.push_back(i);
    combos *= genes[i].hi + 1;
    auto& [name, labels] = blocks_[i];
    name = genes[i].block;
    for (const auto& text : genes[i].labels) {
      const json v = json::parse(text, nullptr, false);
      labels.push_back(v.is_string() ? v.get<std::string>() : text);
    }
    const std::vector<std::string> plain = labels;
    for (std::size_t k = 0; k < labels.size(); ++k)
      if (std::count(plain.begin(), plain.end(), plain[k]) > 1) labels[k].append(1, '#').append(std::to_string(k));
  }
  // longest block names first, so that inserting a label never moves a shorter prefix's position
  key_order_ = block_genes;
  std::stable_sort(key_order_.begin(), key_order_.end(),
                   [&](std::size_t a, std::size_t b) { return blocks_[a].first.size() > blocks_[b].first.size(); });
  if (combos > 4096)
    throw Error(src + ": the supernet is built from every combination of block options; this space has " +
                std::to_string(static_cast<i64>(combos)) + " (more than 4,096)");
  // the largest and the smallest genome of every combination of block options
  space::Genome hi(genes.size()), lo(genes.size());
  for (std::size_t i = 0; i < genes.size(); ++i) hi[i] = extreme(genes[i], true), lo[i] = extreme(genes[i], false);
  std::set<space::Genome> big, small;
  for (i64 c = 0; c < static_cast<i64>(combos); ++c) {
    i64 rest = c;
    for (std::size_t b : block_genes) {
      const i64 n = static_cast<i64>(genes[b].hi) + 1;
      hi[b] = lo[b] = static_cast<double>(rest % n);
      rest /= n;
    }
    big.insert(space_.canonical(hi));
    small.insert(space_.canonical(lo));
  }
  const hw::Profile prof = hw::load_profile("h100");  // MACs do not depend on the profile
  i64 most = -1, fewest = -1;
  std::string first_error;
  auto add = [&](const space::Genome& g, bool is_big) {
    graph::Graph gr;
    try {
      gr = space_.decode(g);
    } catch (const Error& e) {
      if (first_error.empty()) first_error = e.what();
      return;
    }
    for (const auto& n : gr.nodes())
      for (const auto& spec : graph::params_of(gr, n)) {
        if (spec.buffer) continue;
        const std::string k = key(g, n.name, spec.name);
        auto it = index_.find(k);
        if (it == index_.end()) {
          exec::Tensor t;
          t.name = k;
          t.param = spec.name;
          t.shape = spec.shape;
          index_.emplace(k, static_cast<int>(tensors_.size()));
          tensors_.push_back(std::move(t));
          continue;
        }
        graph::Shape& full = tensors_[static_cast<std::size_t>(it->second)].shape;
        if (full.size() != spec.shape.size())
          throw Error(src + ": supernet tensor '" + k + "' is " + graph::to_string(full) + " in one member and " +
                      graph::to_string(spec.shape) + " in member " + space::genome_text(g) + " (different ranks cannot share weights)");
        for (std::size_t d = 0; d < full.size(); ++d) full[d] = std::max(full[d], spec.shape[d]);
      }
    const i64 macs = cost::analyze(gr, prof, hw::Dtype::fp32).totals.macs;
    if (is_big && macs > most) most = macs, largest_ = g;
    if (!is_big && (fewest < 0 || macs < fewest)) fewest = macs, smallest_ = g;
  };
  for (const auto& g : big) add(g, true);
  for (const auto& g : small) add(g, false);
  if (most < 0 || fewest < 0) throw Error(src + ": no largest or smallest member could be built for the supernet: " + first_error);
  for (auto& t : tensors_) {
    const auto n = static_cast<std::size_t>(graph::numel(t.shape));
    t.value.assign(n, 0.0f);
    t.grad.assign(n, 0.0f);
    t.momentum.assign(n, 0.0f);
    touched_.emplace_back(n, 0);
  }
}

int Supernet::find(const std::string& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? -1 : it->second;
}

std::int64_t Supernet::count() const {
  i64 n = 0;
  for (const auto& t : tensors_) n += static_cast<i64>(t.value.size());
  return n;
}

void Supernet::init(std::uint64_t seed) { exec::init_tensors(tensors_, seed); }

space::Genome Supernet::sample(std::mt19937_64& rng) const {
  const auto& genes = space_.genes();
  space::Genome g(genes.size());
  for (std::size_t i = 0; i < genes.size(); ++i) {
    const space::Gene& e = genes[i];
    switch (e.kind) {
      case space::GeneKind::categorical: g[i] = static_cast<double>(rng() % (static_cast<std::uint64_t>(e.hi) + 1)); break;
      case space::GeneKind::integer:
        g[i] = e.lo + static_cast<double>(rng() % static_cast<std::uint64_t>(e.hi - e.lo + 1));
        break;
      case space::GeneKind::real: g[i] = e.lo + (e.hi - e.lo) * (static_cast<double>(rng() >> 11) * 0x1.0p-53); break;
    }
  }
  return space_.canonical(g);
}

std::string Supernet::key(const space::Genome& g, const std::string& node, const std::string& param) const {
  std::string k = node;
  for (std::size_t i : key_order_) {
    const std::string& b = blocks_[i].first;
    if (node.compare(0, b.size(), b) != 0 || (node.size() > b.size() && node[b.size()] != '.')) continue;
    k.insert(b.size(), "[" + blocks_[i].second[static_cast<std::size_t>(g[i])] + "]");
  }
  return k + "." + param;
}

std::unique_ptr<Member> Supernet::member(const space::Genome& g, std::int64_t batch) const {
  auto m = std::make_unique<Member>();
  m->genome = space_.canonical(g);
  graph::BuildOptions opt;
  opt.batch = batch;
  m->graph = space_.decode(m->genome, opt);
  m->params = std::make_unique<exec::Params>(m->graph);
  const std::string where = space_.source() + ": member " + space::genome_text(m->genome) + ": tensor '";
  for (const auto& t : m->params->tensors()) {
    Slice s;
    if (!t.buffer) {
      const graph::Node& n = m->graph.node(t.node);
      const std::string k = key(m->genome, n.name, t.param);
      s.super = find(k);
      if (s.super < 0) throw Error(where + k + "': not in the supernet (no largest or smallest member has it)");
      const graph::Shape& full = tensors_[static_cast<std::size_t>(s.super)].shape;
      if (full.size() != t.shape.size() || !std::equal(t.shape.begin(), t.shape.end(), full.begin(), std::less_equal<>()))
        throw Error(where + k + "': shape " + graph::to_string(t.shape) + " does not fit the supernet's " + graph::to_string(full));
      // conv kernels: the centre of the largest kernel; everything else: the leading elements
      const bool kernel = n.op == graph::Op::conv2d && t.param == "weight";
      for (std::size_t d = 0; d < full.size(); ++d) s.offset.push_back(kernel && d >= 2 ? (full[d] - t.shape[d]) / 2 : 0);
    }
    m->slices.push_back(std::move(s));
  }
  gather(*m);
  return m;
}

void Supernet::gather(Member& m) const {
  auto& ts = m.params->tensors();
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const Slice& s = m.slices[i];
    if (s.super < 0) continue;
    const exec::Tensor& full = tensors_[static_cast<std::size_t>(s.super)];
    float* dst = ts[i].value.data();
    for_each_run(full.shape, ts[i].shape, s.offset, [&](i64 fo, i64 so, i64 n) {
      std::memcpy(dst + so, full.value.data() + fo, static_cast<std::size_t>(n) * sizeof(float));
    });
  }
}

void Supernet::accumulate(const Member& m) {
  const auto& ts = m.params->tensors();
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const Slice& s = m.slices[i];
    if (s.super < 0) continue;
    exec::Tensor& full = tensors_[static_cast<std::size_t>(s.super)];
    std::uint8_t* mark = touched_[static_cast<std::size_t>(s.super)].data();
    const float* src = ts[i].grad.data();
    for_each_run(full.shape, ts[i].shape, s.offset, [&](i64 fo, i64 so, i64 n) {
      for (i64 j = 0; j < n; ++j) {
        full.grad[static_cast<std::size_t>(fo + j)] += src[so + j];
        mark[fo + j] = 1;
      }
    });
  }
}

void Supernet::sgd_step(double lr, double momentum, double weight_decay) {
  const float m = static_cast<float>(momentum), wd = static_cast<float>(weight_decay), a = static_cast<float>(lr);
  for (std::size_t k = 0; k < tensors_.size(); ++k) {
    exec::Tensor& t = tensors_[k];
    std::uint8_t* mark = touched_[k].data();
    for (std::size_t i = 0; i < t.value.size(); ++i) {
      if (!mark[i]) continue;
      const float gi = t.grad[i] + wd * t.value[i];
      t.momentum[i] = m * t.momentum[i] + gi;
      t.value[i] -= a * t.momentum[i];
      t.grad[i] = 0.0f;
      mark[i] = 0;
    }
  }
}

void Supernet::save(const std::string& path, const std::string& state_json) const {
  static_assert(std::endian::native == std::endian::little, "checkpoints are little-endian float32");
  json head = {{"format", "hwnas.supernet/1"}, {"space", space_.name()}, {"state", json::parse(state_json)},
               {"tensors", json::array()}};
  std::size_t offset = 0;
  for (const auto& t : tensors_) {
    head["tensors"].push_back({{"name", t.name}, {"shape", t.shape}, {"offset", offset}});
    offset += t.value.size();
  }
  head["momentum_offset"] = offset;
  std::string out = head.dump() + "\n";
  const std::size_t at = out.size();
  out.resize(at + 2 * offset * sizeof(float));
  std::size_t pos = at;
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& t : tensors_) {
      const auto& v = pass == 0 ? t.value : t.momentum;
      std::memcpy(out.data() + pos, v.data(), v.size() * sizeof(float));
      pos += v.size() * sizeof(float);
    }
  write_file_atomic(path, out);
}

namespace {

json checkpoint_header(const std::string& bytes, const std::string& path) {
  const auto nl = bytes.find('\n');
  json head;
  try {
    if (nl == std::string::npos) throw Error("no header line");
    head = json::parse(bytes.substr(0, nl));
  } catch (const std::exception& e) {
    throw Error(path + ": not a hwnas.supernet/1 checkpoint (" + e.what() + ")");
  }
  if (!head.is_object() || head.value("format", "") != "hwnas.supernet/1")
    throw Error(path + ": format: expected \"hwnas.supernet/1\"");
  if (!head.contains("state") || !head.at("state").is_object()) throw Error(path + ": state: missing");
  return head;
}

}  // namespace

std::string Supernet::read_state(const std::string& path) { return checkpoint_header(read_file(path), path).at("state").dump(); }

std::string Supernet::load(const std::string& path) {
  const std::string bytes = read_file(path);
  const auto nl = bytes.find('\n');
  const json head = checkpoint_header(bytes, path);
  try {
    const auto& list = head.at("tensors");
    if (list.size() != tensors_.size())
      throw Error(path + ": holds " + std::to_string(list.size()) + " tensors, the supernet of " + space_.source() + " has " +
                  std::to_string(tensors_.size()) + " (a supernet of another space?)");
    const std::size_t blob = bytes.size() - nl - 1, mom = head.at("momentum_offset").get<std::size_t>();
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      exec::Tensor& t = tensors_[i];
      const auto& e = list[i];
      const std::string name = e.at("name").get<std::string>();
      const std::string at = path + ": tensors[" + std::to_string(i) + "]";
      if (name != t.name) throw Error(at + ".name: expected '" + t.name + "', got '" + name + "' (a supernet of another space?)");
      const graph::Shape shape = e.at("shape").get<graph::Shape>();
      if (shape != t.shape)
        throw Error(at + " '" + name + "': shape " + graph::to_string(shape) + " differs from the supernet's " + graph::to_string(t.shape));
      const std::size_t off = e.at("offset").get<std::size_t>();
      if ((mom + off + t.value.size()) * sizeof(float) > blob) throw Error(at + " '" + name + "': data past the end of the file (truncated?)");
      const char* base = bytes.data() + nl + 1;
      std::memcpy(t.value.data(), base + off * sizeof(float), t.value.size() * sizeof(float));
      std::memcpy(t.momentum.data(), base + (mom + off) * sizeof(float), t.value.size() * sizeof(float));
    }
    return head.at("state").dump();
  } catch (const json::exception& e) {
    throw Error(path + ": malformed header (" + e.what() + ")");
  }
}

std::string to_json(const SupernetConfig& c) {
  return json{{"epochs", c.epochs}, {"batch", c.batch}, {"lr", c.lr}, {"momentum", c.momentum}, {"weight_decay", c.weight_decay},
              {"seed", c.seed}, {"sandwich", c.sandwich}, {"threads", c.threads}, {"subset", c.subset}}
      .dump();
}

SupernetConfig supernet_config_from_json(const std::string& text, const std::string& source) {
  SupernetConfig c;
  try {
    const json j = json::parse(text);
    c.epochs = j.at("epochs").get<int>();
    c.batch = j.at("batch").get<i64>();
    c.lr = j.at("lr").get<double>();
    c.momentum = j.at("momentum").get<double>();
    c.weight_decay = j.at("weight_decay").get<double>();
    c.seed = j.at("seed").get<std::uint64_t>();
    c.sandwich = j.at("sandwich").get<bool>();
    c.threads = j.at("threads").get<int>();
    c.subset = j.at("subset").get<i64>();
  } catch (const json::exception& e) {
    throw Error(source + ": config: " + e.what());
  }
  return c;
}

std::string to_json(const SupernetTraining& t) {
  return json{{"space", t.space}, {"config", json::parse(to_json(t.config))}, {"epochs_done", t.epochs_done}, {"rng", t.rng},
              {"last_loss", t.last_loss}, {"last_accuracy", t.last_accuracy}}
      .dump();
}

SupernetTraining supernet_training_from_json(const std::string& text, const std::string& source) {
  SupernetTraining t;
  try {
    const json j = json::parse(text);
    t.space = j.at("space").get<std::string>();
    t.config = supernet_config_from_json(j.at("config").dump(), source);
    t.epochs_done = j.at("epochs_done").get<int>();
    t.rng = j.at("rng").get<std::string>();
    t.last_loss = j.value("last_loss", 0.0);
    t.last_accuracy = j.value("last_accuracy", 0.0);
  } catch (const json::exception& e) {
    throw Error(source + ": state: " + e.what());
  }
  return t;
}

void train_supernet(Supernet& net, SupernetTraining& t, const exec::Dataset& data,
                    const std::function<void(const SupernetTraining&)>& on_epoch,
                    const std::function<void(const std::string&)>& progress, const std::function<bool()>& stop) {
  const SupernetConfig& c = t.config;
  check(c);
  const i64 n = data.train_count(), steps = n / c.batch, total = steps * c.epochs;
  if (steps < 1)
    throw Error("dataset '" + data.name + "': " + std::to_string(n) + " training images, fewer than one batch of " + std::to_string(c.batch));
  std::mt19937_64 rng(c.seed ^ 0x9e3779b97f4a7c15ull);
  if (!t.rng.empty()) {
    std::istringstream is(t.rng);
    is >> rng;
    if (!is) throw Error("supernet training state: rng: not a std::mt19937_64 state");
  }
  tbb::task_arena arena(c.threads);
  arena.execute([&] {
    std::vector<i64> order(static_cast<std::size_t>(n));
    std::vector<std::uint8_t> lab(static_cast<std::size_t>(c.batch));
    exec::Dataset adapted;
    for (int epoch = t.epochs_done; epoch < c.epochs; ++epoch) {
      for (i64 i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
      for (i64 i = n - 1; i > 0; --i) std::swap(order[static_cast<std::size_t>(i)], order[rng() % static_cast<std::uint64_t>(i + 1)]);
      double loss = 0;
      i64 hits = 0, seen = 0, passes = 0;
      const auto t0 = Clock::now();
      auto last = t0;
      for (i64 s = 0; s < steps; ++s) {
        if (stop && stop()) return;
        std::vector<space::Genome> paths;
        if (c.sandwich) paths = {net.largest(), net.smallest()};
        paths.push_back(net.sample(rng));
        for (const auto& g : paths) {
          const auto m = net.member(g, c.batch);
          exec::Network nw(m->graph, *m->params);
          const exec::Dataset& d = fitting(data, m->graph, nw.input(), adapted);
          const i64 sz = d.channels * d.height * d.width;
          float* in = nw.value(nw.input());
          for (i64 i = 0; i < c.batch; ++i) {
            const i64 k = order[static_cast<std::size_t>(s * c.batch + i)];
            std::memcpy(in + i * sz, d.train_images.data() + k * sz, static_cast<std::size_t>(sz) * sizeof(float));
            lab[static_cast<std::size_t>(i)] = d.train_labels[static_cast<std::size_t>(k)];
          }
          nw.forward(true);
          i64 hit = 0;
          loss += nw.softmax_cross_entropy(lab.data(), -1, &hit);
          hits += hit;
          seen += c.batch;
          ++passes;
          nw.backward();
          net.accumulate(*m);
        }
        const double step = static_cast<double>(epoch * steps + s);
        net.sgd_step(0.5 * c.lr * (1.0 + std::cos(M_PI * step / static_cast<double>(total))), c.momentum, c.weight_decay);
        if (progress && since(last) > 1.0) {
          last = Clock::now();
          std::ostringstream os;
          os.precision(4);
          os << "supernet epoch " << epoch + 1 << "/" << c.epochs << " step " << s + 1 << "/" << steps << " loss "
             << loss / static_cast<double>(passes) << " accuracy " << static_cast<double>(hits) / static_cast<double>(seen) << " "
             << static_cast<long>(static_cast<double>(seen) / since(t0)) << " img/s";
          progress(os.str());
        }
      }
      t.epochs_done = epoch + 1;
      t.last_loss = loss / static_cast<double>(passes);
      t.last_accuracy = static_cast<double>(hits) / static_cast<double>(seen);
      std::ostringstream st;
      st << rng;
      t.rng = st.str();
      on_epoch(t);
      if (progress) {
        std::ostringstream os;
        os.precision(4);
        os << "supernet epoch " << epoch + 1 << "/" << c.epochs << " done: train loss " << t.last_loss << ", train accuracy "
           << t.last_accuracy << ", " << since(t0) << " s";
        progress(os.str());
      }
    }
  });
}

void recalibrate_batch_norm(exec::Network& net, exec::Params& p, const float* images, std::int64_t count, int calib_batches) {
  const graph::Shape& is = net.graph().node(net.input()).shape;
  const i64 batch = is[0], sz = graph::numel(is) / batch;
  const i64 batches = std::min<i64>(calib_batches, count / batch);
  if (batches < 1)
    throw Error("batch-norm recalibration: needs at least one batch of " + std::to_string(batch) + " images, got " + std::to_string(count));
  std::vector<exec::Tensor*> stats;
  for (auto& t : p.tensors())
    if (t.param == "running_mean" || t.param == "running_var") stats.push_back(&t);
  if (stats.empty()) return;
  std::vector<std::vector<double>> sum(stats.size());
  for (std::size_t k = 0; k < stats.size(); ++k) sum[k].assign(stats[k]->value.size(), 0.0);
  for (i64 b = 0; b < batches; ++b) {
    std::memcpy(net.value(net.input()), images + b * batch * sz, static_cast<std::size_t>(batch * sz) * sizeof(float));
    // from zero, the running-statistics update leaves momentum x this batch's statistic
    for (auto* t : stats) std::fill(t->value.begin(), t->value.end(), 0.0f);
    net.forward(true);
    for (std::size_t k = 0; k < stats.size(); ++k)
      for (std::size_t i = 0; i < sum[k].size(); ++i) sum[k][i] += static_cast<double>(stats[k]->value[i]) / exec::kBatchNormMomentum;
  }
  for (std::size_t k = 0; k < stats.size(); ++k)
    for (std::size_t i = 0; i < sum[k].size(); ++i) stats[k]->value[i] = static_cast<float>(sum[k][i] / static_cast<double>(batches));
}

Inherited evaluate_inherited(const Supernet& net, const space::Genome& g, const exec::Dataset& data, const InheritedConfig& cfg) {
  if (cfg.batch < 1) throw Error("inherited evaluation: batch: must be >= 1, got " + std::to_string(cfg.batch));
  if (cfg.calib_batches < 1) throw Error("inherited evaluation: calib_batches: must be >= 1, got " + std::to_string(cfg.calib_batches));
  const auto m = net.member(g, cfg.batch);
  exec::Network nw(m->graph, *m->params, exec::Passes::forward_only);
  exec::Dataset adapted;
  const exec::Dataset& d = fitting(data, m->graph, nw.input(), adapted);
  const graph::Shape& os = m->graph.node(nw.output()).shape;
  if (os.size() != 2 || os[1] < d.classes)
    throw Error("graph '" + m->graph.name + "': output must be [batch, >= " + std::to_string(d.classes) + "] logits, got " + graph::to_string(os));
  recalibrate_batch_norm(nw, *m->params, d.train_images.data(), d.train_count(), cfg.calib_batches);
  const i64 n = d.test_count(), sz = d.channels * d.height * d.width;
  std::vector<std::uint8_t> lab(static_cast<std::size_t>(cfg.batch), 0);
  float* in = nw.value(nw.input());
  double loss = 0;
  i64 hits = 0;
  for (i64 s = 0; s < n; s += cfg.batch) {
    const i64 count = std::min(cfg.batch, n - s);
    std::memcpy(in, d.test_images.data() + s * sz, static_cast<std::size_t>(count * sz) * sizeof(float));
    std::fill(in + count * sz, in + cfg.batch * sz, 0.0f);
    std::copy_n(d.test_labels.data() + s, count, lab.data());
    nw.forward(false);
    i64 c = 0;
    loss += nw.softmax_cross_entropy(lab.data(), count, &c) * static_cast<double>(count);
    hits += c;
  }
  Inherited r;
  r.accuracy = n ? static_cast<double>(hits) / static_cast<double>(n) : 0;
  r.loss = n ? loss / static_cast<double>(n) : 0;
  return r;
}

}  // namespace hwnas::search
