// Saved voice profiles: reuse gives exactly the audio of cloning directly,
// embeddings per model size, export/import, names, crash-safe storage, CLI.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_run.h"
#include "izwi/izwi.h"
#include "test_util.h"

namespace izwi {
namespace {

namespace fs = std::filesystem;

const char* kTranscript = "This is the reference recording of my voice.";

struct VoicesFixture : ::testing::Test {
  test::TempDir dir;
  Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
  static TtsModel& model() {
    static auto m = TtsModel::load(test::golden_model());
    return *m;
  }
  SynthesisOptions options(uint64_t seed = 5) {
    SynthesisOptions o;
    o.language = "english";
    o.seed = seed;
    o.max_new_tokens = 16;
    return o;
  }
};

TEST_F(VoicesFixture, ReuseGivesExactlyTheAudioOfCloningDirectly) {
  VoiceStore store(dir.file("data"));
  for (const std::string& transcript : {std::string(kTranscript), std::string()}) {
    SCOPED_TRACE(transcript.empty() ? "x-vector only" : "ICL");
    const std::string name = transcript.empty() ? "plain" : "icl";
    const VoiceProfile p = store.add(name, model(), ref, transcript, "Ann, 2026-11-25, in writing");
    EXPECT_EQ(p.consent, "Ann, 2026-11-25, in writing");
    EXPECT_EQ(p.transcript, transcript);
    EXPECT_TRUE(fs::exists(p.audio_path));
    const Voice direct = model().clone_voice(ref, transcript);
    const Voice saved = store.load(name, model());
    EXPECT_EQ(saved.xvector, direct.xvector);
    EXPECT_EQ(saved.reference_codes.values, direct.reference_codes.values);
    EXPECT_EQ(saved.reference_text_ids, direct.reference_text_ids);
    EXPECT_EQ(model().synthesize("Hello there, friend.", saved, options()).samples,
              model().synthesize("Hello there, friend.", direct, options()).samples);
  }
  EXPECT_EQ(store.list().size(), 2u);
  // Survives reopening (what was acknowledged is on disk).
  VoiceStore again(dir.file("data"));
  EXPECT_EQ(again.get("icl").transcript, kTranscript);
  EXPECT_TRUE(fs::exists(dir.file("data/voices.db-wal")));  // WAL mode is on
}

TEST_F(VoicesFixture, RenameMovesTheWholeProfile) {
  VoiceStore store(dir.file("data"));
  store.add("before", model(), ref, kTranscript, "Ann");
  store.add("taken", model(), ref, "", "Bob");
  const auto samples = model().synthesize("Hi.", store.load("before", model()), options()).samples;
  EXPECT_THROW(store.rename("before", "taken"), Error);    // never overwrites
  EXPECT_THROW(store.rename("before", "../x"), Error);     // names are checked
  EXPECT_THROW(store.rename("nobody", "someone"), Error);  // must exist
  store.rename("before", "after");
  EXPECT_FALSE(store.contains("before"));
  const VoiceProfile p = store.get("after");
  EXPECT_EQ(p.consent, "Ann");
  EXPECT_EQ(p.transcript, kTranscript);
  EXPECT_EQ(p.model_sizes, std::vector<std::string>{model().model_size()});  // embedding moved
  EXPECT_EQ(model().synthesize("Hi.", store.load("after", model()), options()).samples, samples);
  EXPECT_EQ(store.get("taken").consent, "Bob");
}

TEST_F(VoicesFixture, EmbeddingsAreComputedOnceForEachModelSize) {
  // The same tiny weights under another size label stand in for a 1.7B model.
  fs::copy(test::golden_model(), dir.file("big"), fs::copy_options::recursive);
  auto cfg = nlohmann::json::parse(std::ifstream(dir.file("big/config.json")));
  const std::string small_size = cfg["tts_model_size"];
  cfg["tts_model_size"] = small_size == "1b7" ? "0b6" : "1b7";
  std::ofstream(dir.file("big/config.json")) << cfg.dump();
  auto big = TtsModel::load(dir.file("big"));
  VoiceStore store(dir.file("data"));
  store.add("me", model(), ref, kTranscript, "");
  EXPECT_EQ(store.get("me").model_sizes.size(), 1u);
  const Voice v = store.load("me", *big);
  EXPECT_EQ(store.get("me").model_sizes.size(), 2u);  // computed from the stored clip and kept
  EXPECT_EQ(v.xvector, store.load("me", *big).xvector);
  EXPECT_EQ(v.xvector, model()
                           .clone_voice(ref, "",
                                        [] {
                                          ReferenceOptions r;
                                          r.preprocess = false;
                                          return r;
                                        }())
                           .xvector);
}

TEST_F(VoicesFixture, ExportImportRoundTripsExactly) {
  VoiceStore store(dir.file("data"));
  store.add("me", model(), ref, kTranscript, "me, myself");
  store.export_file("me", dir.file("me.izwi-voice.json"));
  const auto j = nlohmann::json::parse(std::ifstream(dir.file("me.izwi-voice.json")));
  EXPECT_EQ(j["format"], "izwi-voice");
  EXPECT_EQ(j["transcript"], kTranscript);
  VoiceStore other(dir.file("elsewhere"));
  EXPECT_EQ(other.import_file(dir.file("me.izwi-voice.json")), "me");
  EXPECT_EQ(other.import_file(dir.file("me.izwi-voice.json"), "copy"), "copy");
  EXPECT_THROW(other.import_file(dir.file("me.izwi-voice.json")), Error);  // exists
  EXPECT_EQ(other.get("copy").consent, "me, myself");
  EXPECT_EQ(model().synthesize("Hi.", other.load("copy", model()), options()).samples,
            model().synthesize("Hi.", store.load("me", model()), options()).samples);
  std::ofstream(dir.file("bad.json")) << "{\"format\": \"something else\"}";
  EXPECT_THROW(other.import_file(dir.file("bad.json")), Error);
  std::ofstream(dir.file("notjson.json")) << "RIFF....";
  EXPECT_THROW(other.import_file(dir.file("notjson.json")), Error);
}

TEST_F(VoicesFixture, NamesAreValidatedAndNeverCollideSilently) {
  VoiceStore store(dir.file("data"));
  for (const char* bad : {"", "../etc", "a/b", ".hidden", "x y", "..", "\xc3\xa9"})
    EXPECT_THROW(VoiceStore::check_name(bad), Error) << bad;
  store.add("me", model(), ref, "", "");
  const std::string first_audio = store.get("me").audio_path;
  try {
    store.add("me", model(), ref, kTranscript, "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
  }
  store.add("me", model(), ref, kTranscript, "", /*replace=*/true);
  EXPECT_EQ(store.get("me").transcript, kTranscript);
  EXPECT_FALSE(fs::exists(first_audio));  // the replaced media is gone after the commit
  store.remove("me");
  EXPECT_FALSE(store.contains("me"));
  EXPECT_THROW(store.remove("me"), Error);
  EXPECT_THROW(store.load("me", model()), Error);
}

TEST_F(VoicesFixture, UnfinishedWritesAreSweptAndNeverVisible) {
  {
    VoiceStore store(dir.file("data"));
    store.add("kept", model(), ref, "", "");
  }
  // A crash after the media was written but before the row was committed leaves a folder no row
  // uses.
  fs::create_directories(dir.file("data/voices/ghost.0123456789abcdef"));
  std::ofstream(dir.file("data/voices/ghost.0123456789abcdef/reference.wav")) << "partial";
  VoiceStore store(dir.file("data"));
  EXPECT_FALSE(fs::exists(dir.file("data/voices/ghost.0123456789abcdef")));
  EXPECT_FALSE(store.contains("ghost"));
  EXPECT_TRUE(fs::exists(store.get("kept").audio_path));
}

// `izwi serve` (here: this process) saving voices while `izwi voices` commands
// (other processes) open the same store: opening sweeps leftover media, and
// must never take a write in progress (media written, row not committed yet)
// for one.
TEST_F(VoicesFixture, AnotherProcessOpeningTheStoreNeverSweepsAWriteInProgress) {
  const std::string data = dir.file("data");
  VoiceStore store(data);
  std::atomic<bool> stop{false};
  std::atomic<int> opened{0};
  std::thread other([&] {
    while (!stop.load()) {
      const auto r = test::run_izwi_env("IZWI_DATA_DIR=" + data + " ", "voices list");
      EXPECT_EQ(r.status, 0) << r.output;
      opened.fetch_add(1);
    }
  });
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    std::string name = "voice-";
    name += std::to_string(i);
    store.add(name, model(), ref, "", "consent");
  }
  stop.store(true);
  other.join();
  EXPECT_GE(opened.load(), 5);
  const auto voices = store.list();
  EXPECT_EQ(voices.size(), static_cast<size_t>(n));
  int missing = 0;
  for (const auto& p : voices) missing += !fs::exists(p.audio_path);
  EXPECT_EQ(missing, 0) << "voices whose audio another process swept away";
  // A leftover of a writer that died is still swept.
  fs::create_directories(dir.file("data/voices/ghost.0123456789abcdef"));
  VoiceStore again(data);
  EXPECT_FALSE(fs::exists(dir.file("data/voices/ghost.0123456789abcdef")));
}

TEST_F(VoicesFixture, CliAddListShowExportImportAndTtsWithVoice) {
  write_audio(dir.file("ref.wav"), ref, SampleFormat::kFloat32);
  const std::string env = "IZWI_DATA_DIR=" + dir.file("data") + " ";
  const std::string m = " -m " + test::golden_model();
  auto r = test::run_izwi_env(env, "voices add me --audio " + dir.file("ref.wav") + " --text '" +
                                       kTranscript + "' --consent 'Ann, today'" + m);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--voice me"), std::string::npos) << r.output;
  r = test::run_izwi_env(env, "voices add me --audio " + dir.file("ref.wav") + m);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  r = test::run_izwi_env(env, "voices list");
  EXPECT_NE(r.output.find("me "), std::string::npos) << r.output;
  r = test::run_izwi_env(env, "voices show me");
  EXPECT_NE(r.output.find("Ann, today"), std::string::npos) << r.output;

  // The saved voice speaks exactly like cloning from the clip directly.
  const std::string tts = "tts 'Hello there.' --language english --seed 7 --max-new-tokens 14" + m;
  r = test::run_izwi_env(env, tts + " --voice me -o " + dir.file("saved.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env(env, tts + " -s me -o " + dir.file("saved2.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env(env, tts + " -s " + dir.file("ref.wav") + " --reference-text '" +
                                  kTranscript + "' -o " + dir.file("direct.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto direct = read_npy(dir.file("direct.npy")).as_f32();
  EXPECT_EQ(read_npy(dir.file("saved.npy")).as_f32(), direct);
  EXPECT_EQ(read_npy(dir.file("saved2.npy")).as_f32(), direct);

  r = test::run_izwi_env(env, "voices export me " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env("IZWI_DATA_DIR=" + dir.file("other") + " ",
                         "voices import " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env(env, "voices rm me");
  EXPECT_EQ(r.status, 0);
  r = test::run_izwi_env(env, tts + " --voice me -o " + dir.file("x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no saved voice named 'me'"), std::string::npos) << r.output;
  r = test::run_izwi_env(env, "voices add ../evil --audio " + dir.file("ref.wav") + m);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("invalid voice name"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace izwi
