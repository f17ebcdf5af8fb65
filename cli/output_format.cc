// How an -o path is written: a --format given wins, else the path's extension
// says. One place for `izwi tts` and `izwi codec decode`, so both name a
// format that contradicts the file's name the same way.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.h"
#include "izwi/audio.h"
#include "izwi/error.h"

namespace izwi::cli {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// The format a file name says, "" when its extension is none we write.
std::string format_named_by(const std::string& path) {
  std::string ext = lower(std::filesystem::path(path).extension().string());
  if (ext.empty()) return "";
  ext.erase(0, 1);
  if (ext == "npy") return "npy";
  try {
    return audio_format_name(parse_audio_format(ext));
  } catch (const Error&) {
    return "";
  }
}

}  // namespace

OutputFormat output_format(const std::string& path, const std::string& format_flag, bool to_stdout,
                           bool quiet) {
  const std::string flag = lower(format_flag);
  OutputFormat out;
  if (flag.empty()) {
    out.npy = !to_stdout && format_named_by(path) == "npy";
    out.audio = (out.npy || to_stdout) ? AudioFormat::kWav : audio_format_from_path(path);
    return out;
  }
  out.npy = flag == "npy";
  out.audio = out.npy ? AudioFormat::kWav : parse_audio_format(flag);
  // M4A's index follows the audio: a pipe gets the file only when it is whole.
  if (!quiet && to_stdout && out.audio == AudioFormat::kM4a)
    std::fprintf(stderr,
                 "note: M4A cannot stream (its index comes after the audio), so stdout gets the "
                 "whole file at the end; --format aac or mp3 streams\n");
  // An explicit --format is obeyed (`--format raw -o take.pcm16` is a fair
  // wish), but a name that says otherwise is worth a line: players trust it.
  const std::string given = out.npy ? "npy" : audio_format_name(out.audio);
  const std::string named = to_stdout ? "" : format_named_by(path);
  if (!quiet && !named.empty() && named != given)
    std::fprintf(stderr, "note: '%s' will hold %s (--format %s), though its name says %s\n",
                 path.c_str(), upper(given).c_str(), format_flag.c_str(), upper(named).c_str());
  return out;
}

}  // namespace izwi::cli
