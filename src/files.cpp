#include "hwnas/files.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hwnas/error.hpp"

namespace hwnas {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open file");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(path + ": read error");
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    if (ec) throw Error(path + ": cannot create directory '" + p.parent_path().string() + "': " + ec.message());
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(path + ": cannot write file");
    f << text;
    f.flush();
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      throw Error(path + ": write failed");
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename the temporary file into place: " + ec.message());
  }
}

nlohmann::json parse_json(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const std::string msg = e.what();
    const auto p = msg.find("parse error");
    throw Error(source + ": invalid JSON: " + (p == std::string::npos ? msg : msg.substr(p)));
  }
}

}  // namespace hwnas
