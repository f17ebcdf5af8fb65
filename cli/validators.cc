// Checks of option values when the command line is parsed, so a wrong value
// fails before a model is loaded, with a message that says what was expected.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>

#include "commands.h"

namespace izwi::cli {
namespace {

// The value as a number; nullopt when it is not one (CLI11's conversion then
// reports it as such).
std::optional<double> as_number(const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || std::isnan(x)) return std::nullopt;
  return x;
}

CLI::Validator number_check(const char* name, bool (*ok)(double), const char* expected) {
  return CLI::Validator(
      [ok, expected](std::string& v) -> std::string {
        const auto x = as_number(v);
        if (!x || ok(*x)) return "";
        return std::string("expected ") + expected + ", got " + v;
      },
      name);
}

}  // namespace

CLI::Validator more_than_zero() {
  return number_check(
      "POSITIVE", [](double x) { return x > 0; }, "a number above 0");
}

CLI::Validator zero_or_more() {
  return number_check(
      "NONNEGATIVE", [](double x) { return x >= 0; }, "0 or more");
}

CLI::Validator seed_value() {
  // CLI11 would read "-1" into an unsigned seed as 2^64 - 1 and a too large
  // one as the largest: a fixed seed where a user (as in other tools) may have
  // meant "random", or a different one than typed.
  return CLI::Validator(
      [](std::string& v) -> std::string {
        errno = 0;
        const bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
        (void)std::strtoull(v.c_str(), nullptr, 10);
        if (digits && errno != ERANGE) return "";
        return "expected a whole number from 0 to " +
               std::to_string(std::numeric_limits<uint64_t>::max()) + ", got " + v +
               " (leave --seed out for a random seed; the summary prints the seed it used)";
      },
      "SEED");
}

CLI::Validator probability() {
  return number_check(
      "(0,1]", [](double x) { return x > 0 && x <= 1; }, "a number above 0 and at most 1");
}

CLI::Validator writable_output(bool dash_is_stdout) {
  return CLI::Validator(
      [dash_is_stdout](std::string& path) -> std::string {
        if (path == "-")
          return dash_is_stdout ? "" : "this file cannot go to stdout ('-'): name a file";
        namespace fs = std::filesystem;
        std::error_code ec;
        if (fs::is_directory(path, ec))
          return "'" + path + "' is a folder: name a file in it, e.g. " +
                 (fs::path(path) / "out.wav").string();
        fs::path dir = fs::path(path).parent_path();
        if (dir.empty()) dir = ".";
        if (!fs::is_directory(dir, ec))
          return "cannot write '" + path + "': the folder '" + dir.string() +
                 "' does not exist (create it first, e.g. mkdir -p '" + dir.string() + "')";
        if (access(dir.c_str(), W_OK | X_OK) != 0)
          return "cannot write '" + path + "': no permission to create files in '" + dir.string() +
                 "'";
        return "";
      },
      "PATH", "writable output");
}

}  // namespace izwi::cli
