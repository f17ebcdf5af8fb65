// The synthetic-speech mark izwi writes into its files, and reading it back.
#include "izwi/provenance.h"

#include <ctime>

#include "izwi/izwi.h"

namespace izwi {

namespace {

constexpr const char* kPrefix = "Synthetic speech made by ";
constexpr const char* kSeparator = " | ";

std::string field(std::string value) {
  for (char& c : value)
    if (c == '|') c = '/';
  return value;
}

}  // namespace

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Provenance synthetic_speech(const std::string& model, const std::string& voice) {
  return Provenance{std::string("izwi ") + version(), model, voice, utc_timestamp()};
}

AudioTags provenance_tags(const Provenance& p) {
  AudioTags t;
  t.title = "Synthetic speech";
  t.artist = "Synthetic voice (" + field(p.voice) + ")";
  t.comment = kPrefix + field(p.software) + kSeparator + "model: " + field(p.model) + kSeparator +
              "voice: " + field(p.voice) + kSeparator + "created: " + field(p.created);
  t.software = p.software;
  t.date = p.created;
  return t;
}

std::optional<Provenance> parse_provenance(const AudioTags& tags) {
  const std::string& c = tags.comment;
  const std::string prefix = kPrefix;
  if (c.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  Provenance p;
  size_t pos = prefix.size();
  bool first = true;
  while (pos <= c.size()) {
    size_t end = c.find(kSeparator, pos);
    if (end == std::string::npos) end = c.size();
    const std::string part = c.substr(pos, end - pos);
    if (first) {
      p.software = part;
      first = false;
    } else if (const size_t colon = part.find(": "); colon != std::string::npos) {
      const std::string key = part.substr(0, colon), value = part.substr(colon + 2);
      if (key == "model")
        p.model = value;
      else if (key == "voice")
        p.voice = value;
      else if (key == "created")
        p.created = value;
    }
    pos = end + 3;
  }
  return p;
}

}  // namespace izwi
