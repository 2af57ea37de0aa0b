#pragma once
// The report of a search run: reads a run directory (run.json + candidates.jsonl, formats in
// README "Reports") and writes front.json, front.csv, front.svg and report.html next to them.
#include <cstddef>
#include <string>

namespace hwnas::report {

struct RunSummary {
  std::size_t candidates = 0, feasible = 0, front = 0;
  double hypervolume = 0;
};

// Reads <dir>/run.json and <dir>/candidates.jsonl, writes front.json, front.csv, front.svg and
// report.html there (each atomically); throws hwnas::Error naming the file, line and field on
// malformed input.
RunSummary write_run_report(const std::string& dir);

}  // namespace hwnas::report
