// Batch files (izwi/batch.h): plain text, JSONL, SRT and WebVTT subtitles.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "izwi/batch.h"
#include "izwi/json_keys.h"
#include "text/unicode.h"

namespace izwi {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> lines_of(const std::string& content) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(content);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  // A UTF-8 byte order mark before the first line.
  if (!lines.empty() && lines[0].rfind("\xEF\xBB\xBF", 0) == 0) lines[0].erase(0, 3);
  return lines;
}

std::string numbered(const char* prefix, int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%04d", prefix, n);
  return buf;
}

// Checks a text is UTF-8; the message goes in the item.
std::string utf8_error(const std::string& text) {
  try {
    text::check_utf8(text);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

std::vector<BatchItem> parse_text(const std::vector<std::string>& lines) {
  std::vector<BatchItem> items;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string text = trim(lines[i]);
    if (text.empty()) continue;
    BatchItem it;
    it.line = static_cast<int>(i + 1);
    it.name = numbered("", it.line);
    it.text = text;
    it.error = utf8_error(text);
    items.push_back(std::move(it));
  }
  return items;
}

// An output name from JSONL: a plain file name (no folders, no "..", no
// extension needed: it is added), so an item cannot write outside --out-dir.
std::string checked_name(const std::string& output) {
  std::string name = std::filesystem::path(output).replace_extension().string();
  if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
      name == "." || name == ".." || name.find('\0') != std::string::npos || name[0] == '.')
    fail(ErrorKind::kInvalidArgument, "'output' must be a plain file name (no folders), got '",
         output, "'");
  return name;
}

std::vector<BatchItem> parse_jsonl(const std::vector<std::string>& lines) {
  std::vector<BatchItem> items;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) continue;
    BatchItem it;
    it.line = static_cast<int>(i + 1);
    it.name = numbered("", it.line);
    try {
      const auto j = nlohmann::json::parse(lines[i]);
      if (!j.is_object()) fail(ErrorKind::kInvalidArgument, "expected a JSON object");
      if (const std::string key = repeated_json_key(lines[i]); !key.empty())
        fail(ErrorKind::kInvalidArgument, "'", key, "' appears twice; give each field once");
      // Checked first: a misspelt 'text' is named as such, not as a missing text.
      static const std::vector<std::string> kFields = {"text",     "voice", "speaker", "language",
                                                       "instruct", "seed",  "output"};
      for (const auto& [key, value] : j.items())
        if (std::find(kFields.begin(), kFields.end(), key) == kFields.end())
          fail(ErrorKind::kInvalidArgument, "unknown field '", key, "'", did_you_mean(key, kFields),
               "; the fields are text, voice, speaker, language, instruct, seed, output");
      auto text_field = [&](const char* key) -> std::string {
        if (!j.contains(key) || j[key].is_null()) return {};
        if (!j[key].is_string()) fail(ErrorKind::kInvalidArgument, "'", key, "' must be a string");
        return j[key].get<std::string>();
      };
      it.text = trim(text_field("text"));
      if (it.text.empty()) fail(ErrorKind::kInvalidArgument, "'text' is missing or empty");
      it.voice = text_field("voice");
      it.speaker = text_field("speaker");
      if (!it.voice.empty() && !it.speaker.empty())
        fail(ErrorKind::kInvalidArgument, "give 'voice' or 'speaker', not both");
      it.language = text_field("language");
      it.instruct = text_field("instruct");
      if (j.contains("seed") && !j["seed"].is_null()) {
        if (!j["seed"].is_number_unsigned())
          fail(ErrorKind::kInvalidArgument, "'seed' must be a whole number, 0 or more");
        it.seed = j["seed"].get<uint64_t>();
      }
      const std::string output = text_field("output");
      if (!output.empty()) it.name = checked_name(output);
    } catch (const nlohmann::json::exception& e) {
      it.error = std::string("not valid JSON: ") + e.what();
    } catch (const Error& e) {
      it.error = e.what();
    }
    items.push_back(std::move(it));
  }
  return items;
}

// "HH:MM:SS,mmm" (SRT) or "[HH:]MM:SS.mmm" (VTT) in seconds; nullopt if malformed.
std::optional<double> timestamp(const std::string& s) {
  static const std::regex kTime(R"(^(?:(\d{1,6}):)?([0-5]\d):([0-5]\d)[,.](\d{3})$)");
  std::smatch m;
  if (!std::regex_match(s, m, kTime)) return std::nullopt;
  const double hours = m[1].matched ? std::stod(m[1].str()) : 0.0;
  return hours * 3600 + std::stod(m[2].str()) * 60 + std::stod(m[3].str()) +
         std::stod(m[4].str()) / 1000.0;
}

// Subtitle markup is not spoken: <i>...</i>, <c.yellow>, {\an8}.
std::string strip_markup(const std::string& s) {
  std::string out;
  int angle = 0, brace = 0;
  for (char c : s) {
    if (c == '<') ++angle;
    if (c == '{') ++brace;
    if (angle == 0 && brace == 0) out += c;
    if (c == '>' && angle > 0) --angle;
    if (c == '}' && brace > 0) --brace;
  }
  return out;
}

std::vector<BatchItem> parse_subtitles(const std::vector<std::string>& lines, bool vtt) {
  std::vector<BatchItem> items;
  size_t i = 0;
  if (vtt) {
    if (lines.empty() || lines[0].rfind("WEBVTT", 0) != 0)
      fail(ErrorKind::kInvalidFormat, "a WebVTT file starts with a line 'WEBVTT'");
    ++i;
  }
  int cue = 0;
  while (i < lines.size()) {
    // One block: lines up to a blank line.
    const size_t begin = i;
    while (i < lines.size() && !trim(lines[i]).empty()) ++i;
    const size_t end = i;
    while (i < lines.size() && trim(lines[i]).empty()) ++i;
    if (begin == end) continue;
    const std::string first = trim(lines[begin]);
    if (vtt && (first.rfind("NOTE", 0) == 0 || first == "STYLE" || first == "REGION")) continue;
    if (vtt && begin == 1 && first.find("-->") == std::string::npos &&
        lines[0].find("-->") == std::string::npos && end - begin == 1 &&
        first.find(':') != std::string::npos)
      continue;  // header metadata ("Kind: captions")
    ++cue;
    BatchItem it;
    it.line = static_cast<int>(begin + 1);
    it.name = numbered("cue-", cue);
    // The timing line is the first (VTT without an id) or second line.
    size_t timing = begin;
    if (lines[begin].find("-->") == std::string::npos) timing = begin + 1;
    if (timing >= end || lines[timing].find("-->") == std::string::npos) {
      it.error = "cue " + std::to_string(cue) + " has no timing line ('00:00:01,000 --> ...')";
      items.push_back(std::move(it));
      continue;
    }
    const std::string& t = lines[timing];
    const size_t arrow = t.find("-->");
    std::string to = trim(t.substr(arrow + 3));
    to = to.substr(0, to.find_first_of(" \t"));  // VTT cue settings follow
    const auto a = timestamp(trim(t.substr(0, arrow))), b = timestamp(to);
    if (!a || !b || *b < *a) {
      it.error = "cue " + std::to_string(cue) + " has a malformed timing line: '" + trim(t) + "'";
      items.push_back(std::move(it));
      continue;
    }
    it.start = *a;
    it.end = *b;
    for (size_t k = timing + 1; k < end; ++k) {
      const std::string text = trim(strip_markup(lines[k]));
      if (!text.empty()) it.text += (it.text.empty() ? "" : " ") + text;
    }
    if (it.text.empty()) it.error = "cue " + std::to_string(cue) + " has no text";
    if (it.error.empty()) it.error = utf8_error(it.text);
    items.push_back(std::move(it));
  }
  return items;
}

}  // namespace

BatchFormat batch_format_from_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".txt" || ext == ".text") return BatchFormat::kText;
  if (ext == ".jsonl" || ext == ".ndjson") return BatchFormat::kJsonl;
  if (ext == ".srt") return BatchFormat::kSrt;
  if (ext == ".vtt") return BatchFormat::kVtt;
  fail(ErrorKind::kInvalidArgument, "cannot tell the kind of batch file '", path,
       "' from its name: use .txt (a text per line), .jsonl, .srt or .vtt");
}

std::vector<BatchItem> parse_batch(const std::string& content, BatchFormat format) {
  const std::vector<std::string> lines = lines_of(content);
  switch (format) {
    case BatchFormat::kText:
      return parse_text(lines);
    case BatchFormat::kJsonl:
      return parse_jsonl(lines);
    case BatchFormat::kSrt:
      return parse_subtitles(lines, false);
    case BatchFormat::kVtt:
      return parse_subtitles(lines, true);
  }
  return {};
}

std::vector<BatchItem> read_batch(const std::string& path) {
  const BatchFormat format = batch_format_from_path(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kIo, "cannot read '", path, "': ", std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  return parse_batch(content.str(), format);
}

std::vector<float> mix_timeline(const std::vector<std::vector<float>>& clips,
                                const std::vector<double>& starts, int sample_rate) {
  if (clips.size() != starts.size())
    fail(ErrorKind::kInvalidArgument, "mix_timeline: ", clips.size(), " clips but ", starts.size(),
         " start times");
  std::vector<float> track;
  for (size_t i = 0; i < clips.size(); ++i) {
    const auto at = static_cast<size_t>(std::llround(std::max(0.0, starts[i]) * sample_rate));
    if (track.size() < at + clips[i].size()) track.resize(at + clips[i].size(), 0.0f);
    for (size_t k = 0; k < clips[i].size(); ++k) track[at + k] += clips[i][k];
  }
  return track;
}

}  // namespace izwi
