// Search spaces: the space JSON is compiled once into a template tree whose choice nodes refer
// to genes. The top level (without its layers) and each entry of "layers" are items: an item
// with few members has every member's JSON built at parse time, and decoding picks them by index;
// the others are instantiated for the genome. The builder reads the items' JSON in place.
#include "hwnas/space/space.hpp"

#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "graph/arch_json.hpp"
#include "hwnas/error.hpp"
#include "hwnas/files.hpp"

namespace hwnas::space {

using json = nlohmann::json;

std::string_view gene_kind_name(GeneKind k) {
  switch (k) {
    case GeneKind::integer: return "int";
    case GeneKind::real: return "real";
    case GeneKind::categorical: return "categorical";
  }
  return "?";
}

namespace {

constexpr const char* kSpaceFormat = "hwnas.space/1";
constexpr const char* kArchFormat = "hwnas.arch/1";

std::string show(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Integral values without a fraction ("3"), others in the shortest exact form ("0.75").
std::string number_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 9.0e15) return std::to_string(static_cast<std::int64_t>(v));
  return json(v).dump();
}

// A node of the compiled space: a fixed JSON value, an object or array with choices below it,
// or a choice (its gene picks an option, or gives the value itself for int and real genes).
struct Tmpl {
  // sequence: layers spliced into the enclosing layer list (a block option of several layers)
  enum class Kind : std::uint8_t { literal, object, array, choice, sequence } kind = Kind::literal;
  json value;
  std::vector<std::pair<std::string, Tmpl>> fields;
  std::vector<Tmpl> items;
  int gene = -1;
  std::vector<Tmpl> options;
  double size = 1;  // members of this subtree (count(); set once the tree is compiled)
};

// A part of the space that decoding hands to the builder: the top level without "layers", an
// entry of "layers", or "layers" as a whole when that is not an array.
struct Item {
  Tmpl tmpl;
  bool entry = false;         // an entry of "layers": its JSON is the array of the layers it emits
                              // (several for a sequence option)
  std::vector<json> members;  // every member's JSON, by member_index(); empty: instantiated per decode
};

bool is_choice(const json& j) { return j.is_object() && j.contains("choice"); }

}  // namespace

struct Space::Impl {
  std::string source, name;
  std::vector<Gene> genes;
  std::vector<GeneKind> kinds;
  Tmpl root;
  Item head;
  std::vector<Item> layers;
  double size = 1;
  bool real = false;
};

namespace {

class Compiler {
 public:
  Compiler(Space::Impl& s) : s_(s) {}

  // `path`: JSON path for errors; `gname`: the prefix of default gene names.
  Tmpl compile(const json& j, const std::string& path, const std::string& gname, bool layer_slot) {
    if (is_choice(j)) return choice(j, path, gname, layer_slot);
    Tmpl t;
    if (j.is_object()) {
      t.kind = Tmpl::Kind::object;
      for (const auto& [k, v] : j.items())
        t.fields.emplace_back(k, compile(v, join(path, k), join(gname, k), false));
    } else if (j.is_array()) {
      t.kind = Tmpl::Kind::array;
      for (std::size_t i = 0; i < j.size(); ++i)
        t.items.push_back(compile(j[i], path + "[" + std::to_string(i) + "]", join(gname, std::to_string(i)), false));
    } else {
      t.value = j;
      return t;
    }
    return collapse(std::move(t));
  }

  Tmpl layers(const json& j, const std::string& path) {
    if (!j.is_array()) return compile(j, path, "layers", false);
    Tmpl t;
    t.kind = Tmpl::Kind::array;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const json& l = j[i];
      std::string lname = "layers." + std::to_string(i);
      if (l.is_object() && l.contains("name") && l.at("name").is_string()) lname = l.at("name").get<std::string>();
      const std::string p = path + "[" + std::to_string(i) + "]";
      if (is_choice(l)) {
        t.items.push_back(choice(l, p, lname, true));
      } else if (l.is_object()) {
        Tmpl o;
        o.kind = Tmpl::Kind::object;
        for (const auto& [k, v] : l.items()) o.fields.emplace_back(k, compile(v, join(p, k), join(lname, k), false));
        t.items.push_back(collapse(std::move(o)));
      } else {
        t.items.push_back(compile(l, p, lname, false));
      }
    }
    return collapse(std::move(t));
  }

 private:
  Space::Impl& s_;
  std::set<std::string> names_;

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(s_.source + ": " + path + ": " + what);
  }

  // An object or array without choices below it becomes one literal value.
  static Tmpl collapse(Tmpl t) {
    if (t.kind == Tmpl::Kind::sequence) return t;
    for (const auto& [k, v] : t.fields)
      if (v.kind != Tmpl::Kind::literal) return t;
    for (const auto& v : t.items)
      if (v.kind != Tmpl::Kind::literal) return t;
    Tmpl lit;
    if (t.kind == Tmpl::Kind::object) {
      lit.value = json::object();
      for (auto& [k, v] : t.fields) lit.value[k] = std::move(v.value);
    } else {
      lit.value = json::array();
      for (auto& v : t.items) lit.value.push_back(std::move(v.value));
    }
    return lit;
  }

  int add_gene(const json& j, const std::string& path, const std::string& def_name, Gene g) {
    g.name = def_name;
    if (j.contains("gene")) {
      if (!j.at("gene").is_string() || j.at("gene").get<std::string>().empty())
        fail(path + ".gene", "must be a non-empty string, got " + show(j.at("gene")));
      g.name = j.at("gene").get<std::string>();
    }
    if (!names_.insert(g.name).second)
      fail(path, "duplicate gene name '" + g.name + "' (name one of them with \"gene\")");
    g.path = path;
    s_.kinds.push_back(g.kind);
    s_.genes.push_back(std::move(g));
    return static_cast<int>(s_.genes.size()) - 1;
  }

  void allow(const json& j, const std::string& path, std::initializer_list<const char*> keys) const {
    for (const auto& [k, v] : j.items()) {
      bool ok = false;
      for (const char* a : keys) ok = ok || k == a;
      if (!ok) {
        std::string all;
        for (const char* a : keys) all += (all.empty() ? "" : ", ") + std::string(a);
        fail(path + "." + k, "unknown field of a choice (allowed: " + all + ")");
      }
    }
  }

  double number(const json& j, const std::string& path, const char* key, bool integer) const {
    if (!j.contains(key)) fail(path, std::string("missing field '") + key + "'");
    const json& v = j.at(key);
    if (integer ? !v.is_number_integer() : !v.is_number())
      fail(path + "." + key, std::string("must be ") + (integer ? "an integer" : "a number") + ", got " + show(v));
    return v.get<double>();
  }

  const json& nonempty_array(const json& j, const std::string& path, const char* key) const {
    if (!j.contains(key)) fail(path, std::string("missing field '") + key + "'");
    const json& v = j.at(key);
    if (!v.is_array() || v.empty()) fail(path + "." + key, "must be a non-empty array, got " + show(v));
    return v;
  }

  // A block option of several layers: {"label": ..., "layers": [...]}. The last layer takes the
  // block's name (so that later layers can refer to it), the others "<name>.<their name or index>";
  // the first takes the block's "inputs". No other shared field applies.
  Tmpl sequence(const json& opt, const std::string& p, const std::string& gname, const json& block,
                const std::vector<std::pair<std::string, Tmpl>>& shared) {
    for (const auto& [k, v] : opt.items())
      if (k != "label" && k != "layers") fail(p + "." + k, "unknown field of a sequence option (allowed: label, layers)");
    const json& layers = nonempty_array(opt, p, "layers");
    for (const auto& [k, v] : shared)
      if (k != "name" && k != "inputs") fail(p, "the block's field '" + k + "' does not apply to a sequence option (only name and inputs do)");
    if (!block.contains("name") || !block.at("name").is_string()) fail(p, "a block choice with a sequence option needs a \"name\"");
    const std::string name = block.at("name").get<std::string>();
    Tmpl seq;
    seq.kind = Tmpl::Kind::sequence;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const json& l = layers[i];
      const std::string lp = p + ".layers[" + std::to_string(i) + "]";
      if (!l.is_object() || is_choice(l)) fail(lp, "must be a layer object, got " + show(l));
      if (l.contains("name") && !l.at("name").is_string()) fail(lp + ".name", "must be a string, got " + show(l.at("name")));
      const std::string sub = l.contains("name") ? l.at("name").get<std::string>() : std::to_string(i);
      Tmpl o;
      o.kind = Tmpl::Kind::object;
      Tmpl n;
      n.value = i + 1 == layers.size() ? name : name + "." + sub;
      o.fields.emplace_back("name", std::move(n));
      if (i == 0)
        for (const auto& [k, v] : shared)
          if (k == "inputs") o.fields.emplace_back(k, v);
      for (const auto& [k, v] : l.items())
        if (k != "name") o.fields.emplace_back(k, compile(v, join(lp, k), join(join(gname, sub), k), false));
      seq.items.push_back(collapse(std::move(o)));
    }
    return seq;
  }

  Tmpl choice(const json& j, const std::string& path, const std::string& gname, bool layer_slot) {
    const json& kind_v = j.at("choice");
    if (!kind_v.is_string()) fail(path + ".choice", "must be a choice kind (categorical, int, real, block), got " + show(kind_v));
    const std::string kind = kind_v.get<std::string>();
    Tmpl t;
    t.kind = Tmpl::Kind::choice;
    Gene g;
    if (kind == "categorical") {
      allow(j, path, {"choice", "values", "gene"});
      const json& values = nonempty_array(j, path, "values");
      g.kind = GeneKind::categorical;
      g.hi = static_cast<double>(values.size() - 1);
      for (const auto& v : values) g.labels.push_back(v.dump());
      t.gene = add_gene(j, path, gname, g);
      for (std::size_t i = 0; i < values.size(); ++i)
        t.options.push_back(compile(values[i], path + ".values[" + std::to_string(i) + "]", join(gname, std::to_string(i)), layer_slot));
      return t;
    }
    if (kind == "int" || kind == "real") {
      allow(j, path, {"choice", "min", "max", "gene"});
      const bool integer = kind == "int";
      g.kind = integer ? GeneKind::integer : GeneKind::real;
      g.lo = number(j, path, "min", integer);
      g.hi = number(j, path, "max", integer);
      if (integer ? g.hi < g.lo : !(g.hi > g.lo))
        fail(path + ".max", "must be " + std::string(integer ? ">=" : ">") + " min (" + number_text(g.lo) + "), got " + number_text(g.hi));
      t.gene = add_gene(j, path, gname, g);
      return t;
    }
    if (kind == "block") {
      if (!layer_slot) fail(path, "a block choice goes where a layer goes (an entry of \"layers\")");
      const json& options = nonempty_array(j, path, "options");
      g.kind = GeneKind::categorical;
      g.hi = static_cast<double>(options.size() - 1);
      // fields beside "options" are shared by every option (an option's own field wins)
      std::vector<std::pair<std::string, Tmpl>> shared;
      std::vector<std::string> types;
      for (std::size_t i = 0; i < options.size(); ++i) {
        const json& o = options[i];
        const std::string p = path + ".options[" + std::to_string(i) + "]";
        if (!o.is_object()) fail(p, "must be a layer object or {\"label\": ..., \"layers\": [...]}, got " + show(o));
        if (is_choice(o)) fail(p, "an option is a layer, not a choice");
        if (o.contains("label") && !o.at("label").is_string()) fail(p + ".label", "must be a string, got " + show(o.at("label")));
        types.push_back(o.contains("label") ? o.at("label").get<std::string>()
                        : o.contains("type") && o.at("type").is_string() ? o.at("type").get<std::string>()
                                                                         : "option" + std::to_string(i));
        g.labels.push_back(json(types.back()).dump());
      }
      g.block = j.contains("name") && j.at("name").is_string() ? j.at("name").get<std::string>() : gname;
      t.gene = add_gene(j, path, join(gname, "block"), g);
      for (const auto& [k, v] : j.items())
        if (k != "choice" && k != "options" && k != "gene") shared.emplace_back(k, compile(v, join(path, k), join(gname, k), false));
      for (std::size_t i = 0; i < options.size(); ++i) {
        const json& opt = options[i];
        const std::string p = path + ".options[" + std::to_string(i) + "]";
        std::string label = types[i];
        for (std::size_t k = 0; k < options.size(); ++k)
          if (k != i && types[k] == types[i]) label = types[i] + std::to_string(i);
        const std::string oname = join(gname, label);
        if (opt.contains("layers")) {
          t.options.push_back(sequence(opt, p, oname, j, shared));
          continue;
        }
        Tmpl o;
        o.kind = Tmpl::Kind::object;
        for (const auto& [k, v] : shared)
          if (!opt.contains(k)) o.fields.emplace_back(k, v);
        for (const auto& [k, v] : opt.items())
          if (k != "label") o.fields.emplace_back(k, compile(v, join(p, k), join(oname, k), false));
        t.options.push_back(collapse(std::move(o)));
      }
      return t;
    }
    fail(path + ".choice", "unknown choice kind '" + kind + "' (categorical, int, real, block)");
  }
};

// Members of `t`, stored in every node's `size`.
double count(Tmpl& t, const std::vector<Gene>& genes) {
  double n = 1;
  switch (t.kind) {
    case Tmpl::Kind::literal: break;
    case Tmpl::Kind::object:
      for (auto& [k, v] : t.fields) n *= count(v, genes);
      break;
    case Tmpl::Kind::array:
    case Tmpl::Kind::sequence:
      for (auto& v : t.items) n *= count(v, genes);
      break;
    case Tmpl::Kind::choice: {
      const Gene& g = genes[static_cast<std::size_t>(t.gene)];
      if (g.kind == GeneKind::integer) n = g.hi - g.lo + 1;
      if (g.kind == GeneKind::categorical) {
        n = 0;
        for (auto& o : t.options) n += count(o, genes);
      }
      break;
    }
  }
  t.size = n;
  return n;
}

bool has_real_gene(const Tmpl& t, const std::vector<GeneKind>& kinds) {
  if (t.kind == Tmpl::Kind::choice && kinds[static_cast<std::size_t>(t.gene)] == GeneKind::real) return true;
  for (const auto& [k, v] : t.fields)
    if (has_real_gene(v, kinds)) return true;
  for (const auto& v : t.items)
    if (has_real_gene(v, kinds)) return true;
  for (const auto& v : t.options)
    if (has_real_gene(v, kinds)) return true;
  return false;
}

// The member of `t` that `g` chooses, numbered 0 .. size-1: mixed radix over the fields or items,
// a categorical choice's options one after the other. Only for trees without real genes.
std::size_t member_index(const Tmpl& t, const Genome& g, const std::vector<Gene>& genes) {
  std::size_t i = 0;
  switch (t.kind) {
    case Tmpl::Kind::literal: break;
    case Tmpl::Kind::object:
      for (const auto& [k, v] : t.fields) i = i * static_cast<std::size_t>(v.size) + member_index(v, g, genes);
      break;
    case Tmpl::Kind::array:
    case Tmpl::Kind::sequence:
      for (const auto& v : t.items) i = i * static_cast<std::size_t>(v.size) + member_index(v, g, genes);
      break;
    case Tmpl::Kind::choice: {
      const Gene& e = genes[static_cast<std::size_t>(t.gene)];
      const auto x = static_cast<std::size_t>(g[static_cast<std::size_t>(t.gene)] - e.lo);
      if (e.kind != GeneKind::categorical) return x;
      for (std::size_t k = 0; k < x; ++k) i += static_cast<std::size_t>(t.options[k].size);
      i += member_index(t.options[x], g, genes);
      break;
    }
  }
  return i;
}

// The inverse: sets the genes of member `i` of `t` in `g` (the genes it does not use are left alone).
void set_member(const Tmpl& t, std::size_t i, Genome& g, const std::vector<Gene>& genes) {
  auto digits = [&](const auto& children, auto&& tree) {
    for (auto c = children.rbegin(); c != children.rend(); ++c) {
      const Tmpl& v = tree(*c);
      const auto n = static_cast<std::size_t>(v.size);
      set_member(v, i % n, g, genes);
      i /= n;
    }
  };
  switch (t.kind) {
    case Tmpl::Kind::literal: return;
    case Tmpl::Kind::object: return digits(t.fields, [](const auto& f) -> const Tmpl& { return f.second; });
    case Tmpl::Kind::array:
    case Tmpl::Kind::sequence: return digits(t.items, [](const Tmpl& v) -> const Tmpl& { return v; });
    case Tmpl::Kind::choice: {
      const Gene& e = genes[static_cast<std::size_t>(t.gene)];
      std::size_t k = 0;
      if (e.kind == GeneKind::categorical)
        for (; i >= static_cast<std::size_t>(t.options[k].size); ++k) i -= static_cast<std::size_t>(t.options[k].size);
      else k = i;
      g[static_cast<std::size_t>(t.gene)] = e.lo + static_cast<double>(k);
      if (e.kind == GeneKind::categorical) set_member(t.options[k], i, g, genes);
      return;
    }
  }
}

json instantiate(const Tmpl& t, const Genome& g, const std::vector<GeneKind>& kinds);

// Appends an array item; a chosen sequence option splices its layers in.
void emit(const Tmpl& t, const Genome& g, const std::vector<GeneKind>& kinds, json::array_t& out) {
  const Tmpl* x = &t;
  while (x->kind == Tmpl::Kind::choice && kinds[static_cast<std::size_t>(x->gene)] == GeneKind::categorical)
    x = &x->options[static_cast<std::size_t>(g[static_cast<std::size_t>(x->gene)])];
  if (x->kind == Tmpl::Kind::sequence) {
    for (const auto& v : x->items) emit(v, g, kinds, out);
    return;
  }
  out.push_back(instantiate(*x, g, kinds));
}

json instantiate(const Tmpl& t, const Genome& g, const std::vector<GeneKind>& kinds) {
  switch (t.kind) {
    case Tmpl::Kind::literal: return t.value;
    case Tmpl::Kind::object: {
      json o = json::object();
      for (const auto& [k, v] : t.fields) o.emplace(k, instantiate(v, g, kinds));
      return o;
    }
    case Tmpl::Kind::array:
    case Tmpl::Kind::sequence: {
      json a = json::array();
      auto& arr = a.get_ref<json::array_t&>();
      arr.reserve(t.items.size());
      for (const auto& v : t.items) emit(v, g, kinds, arr);
      return a;
    }
    case Tmpl::Kind::choice: {
      const double v = g[static_cast<std::size_t>(t.gene)];
      switch (kinds[static_cast<std::size_t>(t.gene)]) {
        case GeneKind::integer: return json(static_cast<std::int64_t>(std::llround(v)));
        case GeneKind::real: return json(v);
        case GeneKind::categorical: return instantiate(t.options[static_cast<std::size_t>(v)], g, kinds);
      }
    }
  }
  return {};
}

void mark_active(const Tmpl& t, const Genome& g, const std::vector<GeneKind>& kinds, std::vector<bool>& active) {
  switch (t.kind) {
    case Tmpl::Kind::literal: return;
    case Tmpl::Kind::object:
      for (const auto& [k, v] : t.fields) mark_active(v, g, kinds, active);
      return;
    case Tmpl::Kind::array:
    case Tmpl::Kind::sequence:
      for (const auto& v : t.items) mark_active(v, g, kinds, active);
      return;
    case Tmpl::Kind::choice: {
      const auto i = static_cast<std::size_t>(t.gene);
      active[i] = true;
      if (kinds[i] == GeneKind::categorical) mark_active(t.options[static_cast<std::size_t>(g[i])], g, kinds, active);
      return;
    }
  }
}

// Items with at most this many members (and no real genes) have them all built at parse time.
constexpr double kTabulated = 1024;

json instantiate_item(const Item& item, const Genome& g, const std::vector<GeneKind>& kinds) {
  if (!item.entry) return instantiate(item.tmpl, g, kinds);
  json a = json::array();
  emit(item.tmpl, g, kinds, a.get_ref<json::array_t&>());
  return a;
}

void tabulate(Item& item, const Space::Impl& s) {
  count(item.tmpl, s.genes);
  if (item.tmpl.size > kTabulated || has_real_gene(item.tmpl, s.kinds)) return;
  Genome g(s.genes.size(), 0.0);
  for (std::size_t i = 0; i < static_cast<std::size_t>(item.tmpl.size); ++i) {
    set_member(item.tmpl, i, g, s.genes);
    item.members.push_back(instantiate_item(item, g, s.kinds));
  }
}

const json& member(const Item& item, const Space::Impl& s, const Genome& g, std::deque<json>& built) {
  if (item.members.empty()) return built.emplace_back(instantiate_item(item, g, s.kinds));
  return item.members[member_index(item.tmpl, g, s.genes)];
}

}  // namespace

void check_genome(const std::vector<Gene>& genes, const Genome& g, const std::string& source) {
  if (g.size() != genes.size()) {
    std::string names;
    for (const auto& e : genes) names += (names.empty() ? "" : ", ") + e.name;
    throw Error(source + ": the genome has " + std::to_string(g.size()) + " genes, the space has " +
                std::to_string(genes.size()) + (genes.empty() ? "" : " (" + names + ")"));
  }
  for (std::size_t i = 0; i < genes.size(); ++i) {
    const Gene& e = genes[i];
    const double v = g[i];
    auto where = [&] { return source + ": gene " + std::to_string(i) + " '" + e.name + "' (" + e.path + "): "; };
    const bool integral = std::isfinite(v) && v == std::floor(v);
    switch (e.kind) {
      case GeneKind::categorical:
        if (!integral || v < 0 || v > e.hi)
          throw Error(where() + "must be an option index 0.." + number_text(e.hi) + ", got " + number_text(v));
        break;
      case GeneKind::integer:
        if (!integral || v < e.lo || v > e.hi)
          throw Error(where() + "must be an integer in " + number_text(e.lo) + ".." + number_text(e.hi) + ", got " + number_text(v));
        break;
      case GeneKind::real:
        if (!std::isfinite(v) || v < e.lo || v > e.hi)
          throw Error(where() + "must be a number in [" + number_text(e.lo) + ", " + number_text(e.hi) + "], got " + number_text(v));
        break;
    }
  }
}

Genome parse_genome(const std::string& text) {
  if (!text.empty() && text.front() == '{') {
    try {
      const json j = json::parse(text);
      if (!j.contains("genome") || !j.at("genome").is_array()) throw Error("genome: a candidates.jsonl line needs a \"genome\" array");
      return j.at("genome").get<Genome>();
    } catch (const json::exception& e) {
      throw Error(std::string("genome: not a candidates.jsonl line: ") + e.what());
    }
  }
  Genome g;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && item[used] == ' ') ++used;
    if (item.empty() || used != item.size())
      throw Error("genome '" + text + "': value " + std::to_string(g.size()) + " is not a number, got '" + item + "'");
    g.push_back(v);
  }
  return g;
}

std::string genome_text(const Genome& g) {
  std::string s;
  for (double v : g) {
    if (!s.empty()) s += ',';
    s += number_text(v);
  }
  return s;
}

Space Space::parse(const std::string& text, const std::string& source) {
  json root = parse_json(text, source);
  auto impl = std::make_shared<Impl>();
  impl->source = source;
  if (!root.is_object()) throw Error(source + ": a search space must be a JSON object, got " + show(root));
  if (!root.contains("format") || !root.at("format").is_string())
    throw Error(source + ": format: must be \"" + std::string(kSpaceFormat) + "\"");
  const std::string format = root.at("format").get<std::string>();
  if (format != kSpaceFormat && format != kArchFormat)
    throw Error(source + ": format: must be \"" + std::string(kSpaceFormat) + "\" (or \"" + kArchFormat +
                "\", a space without choices), got \"" + format + "\"");
  root["format"] = kArchFormat;
  if (root.contains("name") && root.at("name").is_string()) impl->name = root.at("name").get<std::string>();
  Compiler c(*impl);
  Tmpl top;
  top.kind = Tmpl::Kind::object;
  for (const auto& [k, v] : root.items())
    top.fields.emplace_back(k, k == "layers" ? c.layers(v, "layers") : c.compile(v, k, k, false));
  impl->root = std::move(top);
  impl->size = count(impl->root, impl->genes);
  for (const auto& [k, v] : impl->root.fields) {
    if (k != "layers") {
      impl->head.tmpl.fields.emplace_back(k, v);
    } else if (v.kind == Tmpl::Kind::array) {
      for (const auto& l : v.items) impl->layers.push_back({l, true, {}});
    } else if (v.kind == Tmpl::Kind::literal && v.value.is_array()) {
      for (const auto& l : v.value) {
        Tmpl lit;
        lit.value = l;
        impl->layers.push_back({std::move(lit), true, {}});
      }
    } else {
      impl->layers.push_back({v, false, {}});
    }
  }
  impl->head.tmpl.kind = Tmpl::Kind::object;
  tabulate(impl->head, *impl);
  for (auto& l : impl->layers) tabulate(l, *impl);
  for (const auto& g : impl->genes) impl->real = impl->real || g.kind == GeneKind::real;
  return Space(std::move(impl));
}

Space Space::load(const std::string& name_or_path) {
  if (std::filesystem::exists(name_or_path)) return parse(read_file(name_or_path), name_or_path);
  return parse(graph::zoo_text(name_or_path), name_or_path + ".json");
}

const std::string& Space::source() const { return impl_->source; }
const std::string& Space::name() const { return impl_->name; }
const std::vector<Gene>& Space::genes() const { return impl_->genes; }
double Space::size() const { return impl_->size; }
bool Space::has_real_genes() const { return impl_->real; }

graph::Graph Space::decode(const Genome& g, const graph::BuildOptions& opt) const {
  check_genome(impl_->genes, g, impl_->source);
  std::deque<json> built;  // members of items that are not tabulated
  const json& head = member(impl_->head, *impl_, g, built);
  std::vector<const json*> layers;
  for (const auto& item : impl_->layers) {
    const json& m = member(item, *impl_, g, built);
    if (m.is_array())
      for (const json& l : m) layers.push_back(&l);
  }
  return graph::build_architecture(head, layers, impl_->source, opt);
}

std::string Space::architecture_json(const Genome& g) const {
  check_genome(impl_->genes, g, impl_->source);
  return instantiate(impl_->root, g, impl_->kinds).dump(2) + "\n";
}

Genome Space::canonical(const Genome& g) const {
  check_genome(impl_->genes, g, impl_->source);
  std::vector<bool> active(g.size(), false);
  mark_active(impl_->root, g, impl_->kinds, active);
  Genome out = g;
  for (std::size_t i = 0; i < g.size(); ++i)
    if (!active[i]) out[i] = impl_->genes[i].kind == GeneKind::categorical ? 0 : impl_->genes[i].lo;
  return out;
}

std::vector<std::pair<std::string, std::string>> Space::named(const Genome& g) const {
  check_genome(impl_->genes, g, impl_->source);
  std::vector<bool> active(g.size(), false);
  mark_active(impl_->root, g, impl_->kinds, active);
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!active[i]) continue;
    const Gene& e = impl_->genes[i];
    if (e.kind == GeneKind::categorical) out.emplace_back(e.name, e.labels[static_cast<std::size_t>(g[i])]);
    else if (e.kind == GeneKind::integer) out.emplace_back(e.name, std::to_string(std::llround(g[i])));
    else out.emplace_back(e.name, number_text(g[i]));
  }
  return out;
}

}  // namespace hwnas::space
