// `izwi inspect-output FILE...`: what an audio file says about where it came
// from — izwi's synthetic-speech mark (izwi/provenance.h) and its other tags.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "izwi/izwi.h"

namespace izwi::cli {

namespace {

struct InspectArgs {
  std::vector<std::string> files;
  bool json = false;
};

nlohmann::ordered_json describe(const std::string& path) {
  const Audio audio = read_audio(path);
  const AudioTags tags = read_audio_tags(path);
  nlohmann::ordered_json j;
  j["file"] = path;
  j["sample_rate"] = audio.sample_rate;
  j["seconds"] = audio.duration();
  j["tags"] = {{"title", tags.title},
               {"artist", tags.artist},
               {"comment", tags.comment},
               {"software", tags.software},
               {"date", tags.date}};
  if (const auto p = parse_provenance(tags))
    j["provenance"] = {{"synthetic", true},
                       {"software", p->software},
                       {"model", p->model},
                       {"voice", p->voice},
                       {"created", p->created}};
  else
    j["provenance"] = nullptr;
  return j;
}

void print(const nlohmann::ordered_json& j) {
  std::printf("%s: %d Hz, %.2f s\n", j["file"].get<std::string>().c_str(),
              j["sample_rate"].get<int>(), j["seconds"].get<double>());
  const auto& p = j["provenance"];
  if (p.is_null()) {
    std::printf("  no izwi provenance (it was not written by izwi, or its tags were removed)\n");
  } else {
    std::printf("  synthetic speech, made by %s\n", p["software"].get<std::string>().c_str());
    for (const char* key : {"model", "voice", "created"})
      std::printf("  %-8s %s\n", key, p[key].get<std::string>().c_str());
  }
  for (const auto& [key, value] : j["tags"].items())
    if (!value.get<std::string>().empty())
      std::printf("  tag %-8s %s\n", key.c_str(), value.get<std::string>().c_str());
}

}  // namespace

void register_inspect(CLI::App& app, const ContextPtr&) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inspect-output",
      "Show whether audio files carry izwi's synthetic-speech mark (model, voice, time) and "
      "their other tags. Exit status: 0 every file has the mark, 3 some do not, 1 some could "
      "not be read (the others are still reported)");
  cmd->add_option("files", a->files, "Audio files (WAV, FLAC, Ogg, Opus, MP3)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", a->json,
                "Print one JSON object per file (a JSON array; {\"file\", \"error\"} for one "
                "that could not be read)");
  cmd->callback([a] {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    bool unmarked = false, failed = false;
    // A file that cannot be read is reported, and the others still are.
    for (const std::string& f : a->files) {
      nlohmann::ordered_json j;
      try {
        j = describe(f);
      } catch (const Error& e) {
        failed = true;
        std::fflush(stdout);  // the reports so far, then this error, in order
        std::fprintf(stderr, "izwi: error: %s\n", e.what());
        if (a->json) all.push_back({{"file", f}, {"error", e.what()}});
        continue;
      }
      unmarked = unmarked || j["provenance"].is_null();
      if (a->json)
        all.push_back(std::move(j));
      else
        print(j);
    }
    if (a->json) std::printf("%s\n", all.dump(2).c_str());
    if (failed) throw CLI::RuntimeError(1);
    if (unmarked) throw CLI::RuntimeError(3);
  });
}

}  // namespace izwi::cli
