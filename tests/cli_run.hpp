#pragma once
// Runs the built `hwnas` binary (HWNAS_CLI, set by tests/CMakeLists.txt) as a user would, for the
// end-to-end CLI tests.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

namespace {

struct Run {
  int code = -1;
  std::string out, err;
};

// Runs `hwnas <args>` through the shell; stderr goes to a temporary file.
inline Run hwnas(const std::string& args) {
  char err_name[] = "/tmp/hwnas_cli_err_XXXXXX";
  const int fd = mkstemp(err_name);
  REQUIRE(fd >= 0);
  close(fd);
  const std::string err_file = err_name;
  const std::string cmd = std::string(HWNAS_CLI) + " " + args + " 2>" + err_file;
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* e = std::fopen(err_file.c_str(), "r")) {
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, e)) > 0;) r.err.append(buf, n);
    std::fclose(e);
  }
  std::remove(err_file.c_str());
  return r;
}

}  // namespace
