#pragma once
// Reading, parsing and writing whole files. Outputs are never left half-written: a file is written
// to a temporary next to it and renamed into place.
#include <nlohmann/json.hpp>

#include <string>

namespace hwnas {

// The file's bytes; throws hwnas::Error "<path>: cannot open file" when it cannot be read.
std::string read_file(const std::string& path);
// Writes `text` to `path` atomically (temporary + rename), creating parent directories.
void write_file_atomic(const std::string& path, const std::string& text);
// `text` parsed as JSON; throws hwnas::Error "<source>: invalid JSON: parse error at line L,
// column C: ..." (the parser's message without its exception id).
nlohmann::json parse_json(const std::string& text, const std::string& source);

}  // namespace hwnas
