// Saved voice profiles: reuse gives exactly the audio of cloning directly,
// embeddings per model size, export/import, names, crash-safe storage, CLI —
// on both backends: the embedded SQLite store and a real PostgreSQL server
// (tests/pg_server.h). What only files can show (WAL, swept folders, the
// unversioned schema's migration) is tested on SQLite alone.
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_run.h"
#include "izwi/izwi.h"
#include "pg_server.h"
#include "store/blob.h"
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

// One PostgreSQL server per test process (started on first use).
test::PgServer& pg() {
  static auto server = std::make_unique<test::PgServer>();
  return *server;
}

// The same tests on each backend. A "store label" names one store: a folder
// for SQLite, a database of its own for PostgreSQL.
struct BackendTest : VoicesFixture, ::testing::WithParamInterface<std::string> {
  std::map<std::string, std::string> urls;
  bool postgres() const { return GetParam() == "postgresql"; }
  std::string url(const std::string& label) {
    auto it = urls.find(label);
    if (it == urls.end()) it = urls.emplace(label, pg().new_database(label)).first;
    return it->second;
  }
  VoiceStoreOptions where(const std::string& label) {
    VoiceStoreOptions o;
    if (postgres())
      o.database = url(label);
    else
      o.data_dir = dir.file(label);
    return o;
  }
  // The environment that points an izwi command at the store.
  std::string env(const std::string& label) {
    return postgres() ? "IZWI_DATABASE_URL=" + url(label) + " "
                      : "IZWI_DATA_DIR=" + dir.file(label) + " ";
  }
  // The stored audio of a voice, as audio (throws if it is missing or unreadable).
  static Audio stored_audio(const VoiceStore& store, const std::string& name) {
    const std::string wav = store.audio(name);
    return read_audio_memory(wav.data(), wav.size(), name);
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST_P(BackendTest, ReuseGivesExactlyTheAudioOfCloningDirectly) {
  VoiceStore store(where("data"));
  for (const std::string& transcript : {std::string(kTranscript), std::string()}) {
    SCOPED_TRACE(transcript.empty() ? "x-vector only" : "ICL");
    const std::string name = transcript.empty() ? "plain" : "icl";
    const VoiceProfile p = store.add(name, model(), ref, transcript, "Ann, 2026-11-25, in writing");
    EXPECT_EQ(p.consent, "Ann, 2026-11-25, in writing");
    EXPECT_EQ(p.transcript, transcript);
    EXPECT_EQ(stored_audio(store, name).samples.size(), ref.samples.size());
    EXPECT_EQ(p.audio_path.empty(), postgres());  // a file only beside SQLite
    const Voice direct = model().clone_voice(ref, transcript);
    const Voice saved = store.load(name, model());
    EXPECT_EQ(saved.xvector, direct.xvector);
    EXPECT_EQ(saved.reference_codes.values, direct.reference_codes.values);
    EXPECT_EQ(saved.reference_text_ids, direct.reference_text_ids);
    EXPECT_EQ(model().synthesize("Hello there, friend.", saved, options()).samples,
              model().synthesize("Hello there, friend.", direct, options()).samples);
  }
  EXPECT_EQ(store.list().size(), 2u);
  // Survives reopening (what was acknowledged is stored).
  VoiceStore again(where("data"));
  EXPECT_EQ(again.get("icl").transcript, kTranscript);
  EXPECT_EQ(again.schema_version(), 2);
  if (!postgres()) {
    EXPECT_TRUE(fs::exists(dir.file("data/voices.db-wal")));  // WAL mode is on
  }
}

TEST_P(BackendTest, RenameMovesTheWholeProfile) {
  VoiceStore store(where("data"));
  store.add("before", model(), ref, kTranscript, "Ann");
  store.add("taken", model(), ref, "", "Bob");
  const auto samples = model().synthesize("Hi.", store.load("before", model()), options()).samples;
  // A taken name is never overwritten, whichever way it is reached; the
  // error's kind lets each front end say how to go on.
  for (const auto& taking :
       std::vector<std::function<void()>>{[&] { store.rename("before", "taken"); },
                                          [&] { store.add("taken", model(), ref, "", "Cy"); }}) {
    try {
      taking();
      ADD_FAILURE() << "a taken name was overwritten";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kExists) << e.what();
    }
  }
  EXPECT_EQ(store.get("taken").consent, "Bob");
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

TEST_P(BackendTest, EmbeddingsAreComputedOnceForEachModelSize) {
  // The same tiny weights under another size label stand in for a 1.7B model.
  fs::copy(test::golden_model(), dir.file("big"), fs::copy_options::recursive);
  auto cfg = nlohmann::json::parse(std::ifstream(dir.file("big/config.json")));
  const std::string small_size = cfg["tts_model_size"];
  cfg["tts_model_size"] = small_size == "1b7" ? "0b6" : "1b7";
  std::ofstream(dir.file("big/config.json")) << cfg.dump();
  auto big = TtsModel::load(dir.file("big"));
  VoiceStore store(where("data"));
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

TEST_P(BackendTest, ExportImportRoundTripsExactly) {
  VoiceStore store(where("data"));
  store.add("me", model(), ref, kTranscript, "me, myself");
  store.export_file("me", dir.file("me.izwi-voice.json"));
  const auto j = nlohmann::json::parse(std::ifstream(dir.file("me.izwi-voice.json")));
  EXPECT_EQ(j["format"], "izwi-voice");
  EXPECT_EQ(j["transcript"], kTranscript);
  VoiceStore other(where("elsewhere"));
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

TEST_P(BackendTest, NamesAreValidatedAndNeverCollideSilently) {
  VoiceStore store(where("data"));
  // Letters and digits of any script; no spaces, slashes, symbols or a second
  // spelling of the same name (an accent as a separate combining mark).
  const std::string too_long(65, 'a');
  for (const std::string bad : {"", "../etc", "a/b", ".hidden", "x y", "..", "_x", "\xff\xfe",
                                "smile\xf0\x9f\x98\x80", "Jose\xcc\x81",
                                "\xcc\x81"
                                "a",
                                too_long.c_str()})
    EXPECT_THROW(VoiceStore::check_name(bad), Error) << bad;
  for (const char* good :
       {"grandma", "\xc3\xa9", "Jos\xc3\xa9", "\xe5\xb0\x8f\xe6\x98\x8e",
        "\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0",
        "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\x82\xe0\xa4\xa6\xe0\xa5\x80", "v2.final-take_3"})
    EXPECT_NO_THROW(VoiceStore::check_name(good)) << good;
  try {
    VoiceStore::check_name("Jose\xcc\x81");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Unicode NFC"), std::string::npos) << e.what();
  }
  // A name in another script is stored, found, spoken with and renamed like any
  // other (SQLite and PostgreSQL).
  const std::string xiaoming = "\xe5\xb0\x8f\xe6\x98\x8e";  // 小明
  store.add(xiaoming, model(), ref, "", "");
  EXPECT_TRUE(store.contains(xiaoming));
  EXPECT_EQ(store.get(xiaoming).name, xiaoming);
  EXPECT_EQ(model().synthesize("Hi.", store.load(xiaoming, model()), options()).samples.empty(),
            false);
  store.rename(xiaoming, "Jos\xc3\xa9");
  EXPECT_FALSE(store.contains(xiaoming));
  EXPECT_TRUE(store.contains("Jos\xc3\xa9"));
  store.remove("Jos\xc3\xa9");
  store.add("me", model(), ref, "", "");
  const std::string first_revision = store.get("me").revision;
  try {
    store.add("me", model(), ref, kTranscript, "");
    FAIL();
  } catch (const Error& e) {
    // The library names the clash; the CLI and the API say how to go on.
    EXPECT_EQ(e.kind(), ErrorKind::kExists);
    EXPECT_NE(std::string(e.what()).find("a voice named 'me' already exists"), std::string::npos);
  }
  store.add("me", model(), ref, kTranscript, "", /*replace=*/true);
  EXPECT_EQ(store.get("me").transcript, kTranscript);
  EXPECT_NE(store.get("me").revision, first_revision);
  EXPECT_EQ(stored_audio(store, "me").samples.size(), ref.samples.size());
  if (!postgres()) {  // the replaced media is gone after the commit
    const std::string first_audio = dir.file("data/" + first_revision);
    EXPECT_FALSE(fs::exists(first_audio)) << first_audio;
  }
  store.remove("me");
  EXPECT_FALSE(store.contains("me"));
  EXPECT_THROW(store.remove("me"), Error);
  EXPECT_THROW(store.load("me", model()), Error);
}

TEST(VoiceBlobs, AreLittleEndianWhateverTheHost) {
  EXPECT_EQ(store::to_le_bytes(std::vector<int32_t>{1, -2}),
            std::string("\x01\x00\x00\x00\xfe\xff\xff\xff", 8));
  EXPECT_EQ(store::to_le_bytes(std::vector<float>{1.0f}), std::string("\x00\x00\x80\x3f", 4));
  EXPECT_EQ(store::from_le_bytes<int32_t>(std::string("\x01\x00\x00\x00\xfe\xff\xff\xff", 8)),
            (std::vector<int32_t>{1, -2}));
  EXPECT_TRUE(store::from_le_bytes<float>(std::string("\x00\x00", 2)).empty());  // a torn value
}

// A store written before the schema had a version (version 0) opens at
// the current version (through 1, then 2): its voices intact, a write then in progress still
// protected.
TEST_F(VoicesFixture, AnUnversionedStoreIsMigratedWithItsVoicesIntact) {
  {
    VoiceStore store(dir.file("data"));
    store.add("old", model(), ref, kTranscript, "Ann");
  }
  const std::string pending_folder = "voices/half.0123456789abcdef";
  fs::create_directories(dir.file("data/" + pending_folder));
  {
    // Back to version 0's tables (what an older izwi wrote).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("data/voices.db").c_str(), &db), SQLITE_OK);
    const std::string sql =
        "DROP TABLE izwi_schema; DROP TABLE pending_writes; DROP TABLE job_items; DROP TABLE jobs;"
        "CREATE TABLE pending_media(folder TEXT PRIMARY KEY, pid INTEGER NOT NULL,"
        " started INTEGER NOT NULL);"
        "INSERT INTO pending_media VALUES('" +
        pending_folder + "', " + std::to_string(getpid()) + ", strftime('%s','now'));";
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }
  VoiceStore store(dir.file("data"));
  EXPECT_EQ(store.schema_version(), 2);
  EXPECT_EQ(store.get("old").consent, "Ann");
  EXPECT_TRUE(store.verify().empty());
  EXPECT_TRUE(fs::exists(dir.file("data/" + pending_folder)));  // its writer is alive: kept
  const Voice v = store.load("old", model());
  EXPECT_EQ(v.xvector, model().clone_voice(ref, kTranscript).xvector);
}

// PostgreSQL restarted under a running store: the next calls reconnect.
TEST(PostgresVoices, AStoreReconnectsAfterTheServerRestarts) {
  const std::string url = pg().new_database("restart");
  VoiceStore store(VoiceStoreOptions{"", url, 2});
  Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
  store.add("before", VoicesFixture::model(), ref, "", "Ann");
  pg().stop();
  pg().start();
  EXPECT_EQ(store.get("before").consent, "Ann");
  store.add("after", VoicesFixture::model(), ref, "", "Bob");
  EXPECT_EQ(store.list().size(), 2u);
  // A URL that is not PostgreSQL, and a server that is not there, say so.
  try {
    VoiceStore bad(VoiceStoreOptions{"", "mysql://x@127.0.0.1/db", 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("postgresql://"), std::string::npos) << e.what();
  }
  // A server that has never answered is given about 2 s (a wrong URL, or one
  // not started yet), not the 15 s of a restart: 7 tries at 50 ms doubling,
  // where a restart's patience made 20.
  const int free_port = test::PgServer::free_port();
  for (const std::string& bad_url :
       {"postgresql://izwi@127.0.0.1:" + std::to_string(free_port) + "/db",
        pg().url("no_such_database")}) {
    SCOPED_TRACE(bad_url);
    try {
      VoiceStore bad(VoiceStoreOptions{"", bad_url, 1});
      FAIL();
    } catch (const Error& e) {
      const std::string what = e.what();
      const size_t after = what.find("(after ");
      ASSERT_NE(after, std::string::npos) << what;
      EXPECT_LE(std::stoi(what.substr(after + 7)), 8) << what;
    }
  }
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
// What replicas rely on: a voice one process commits is at once usable by
// another store on the same database, and speaks the same.
TEST_P(BackendTest, TwoStoresOnOneDatabaseShareVoicesAtOnce) {
  VoiceStore a(where("data"));
  VoiceStore b(where("data"));
  a.add("shared", model(), ref, kTranscript, "Ann");
  ASSERT_TRUE(b.contains("shared"));
  EXPECT_EQ(model().synthesize("Hi.", b.load("shared", model()), options()).samples,
            model().synthesize("Hi.", a.load("shared", model()), options()).samples);
  b.set_consent("shared", "Ann, again");
  EXPECT_EQ(a.get("shared").consent, "Ann, again");
  b.remove("shared");
  EXPECT_FALSE(a.contains("shared"));
  EXPECT_THROW(a.audio("shared"), Error);
}

TEST_P(BackendTest, AnotherProcessOpeningTheStoreNeverSweepsAWriteInProgress) {
  VoiceStore store(where("data"));
  const std::string other_env = env("data");
  std::atomic<bool> stop{false};
  std::atomic<int> opened{0};
  std::thread other([&] {
    while (!stop.load()) {
      const auto r = test::run_izwi_env(other_env, "voices list");
      EXPECT_EQ(r.status, 0) << r.output;
      opened.fetch_add(1);
    }
  });
  // At least 40 writes, and on until the other process has opened the store
  // five times (a loaded machine starts processes slowly; a fixed count of
  // writes could end before it had opened the store at all).
  int n = 0;
  for (; n < 40 || (opened.load() < 5 && n < 2000); ++n) {
    std::string name = "voice-";
    name += std::to_string(n);
    store.add(name, model(), ref, "", "consent");
  }
  stop.store(true);
  other.join();
  EXPECT_GE(opened.load(), 5);
  const auto voices = store.list();
  EXPECT_EQ(voices.size(), static_cast<size_t>(n));
  int missing = 0;
  for (const auto& p : voices) {
    try {
      missing += stored_audio(store, p.name).samples.empty();
    } catch (const Error&) {
      ++missing;
    }
  }
  EXPECT_EQ(missing, 0) << "voices whose audio another process swept away";
  EXPECT_TRUE(store.verify().empty());
  if (!postgres()) {
    // A leftover of a writer that died is still swept.
    fs::create_directories(dir.file("data/voices/ghost.0123456789abcdef"));
    VoiceStore again(where("data"));
    EXPECT_FALSE(fs::exists(dir.file("data/voices/ghost.0123456789abcdef")));
  }
}

// `izwi voices add` with a transcript leaves the decoder's state after the
// reference beside the model; `izwi tts --voice` reads it, and speaks the same
// samples as when it has to decode the reference itself.
TEST(CliVoices, AddKeepsTheReferenceStateThatTtsReads) {
  test::TempDir dir;
  const fs::path model = dir.path() / "model";
  fs::copy(test::golden_model(), model, fs::copy_options::recursive);
  fs::remove_all(model / ".izwi-cache");  // what other tests' runs kept
  const fs::path kept = model / "speech_tokenizer" / ".izwi-cache" / "codec-prefix";
  fs::remove_all(kept.parent_path());
  write_audio(dir.file("ref.wav"), Audio{test::load_f32("spk_in_wav"), 24000, 1},
              SampleFormat::kFloat32);
  const std::string env = "IZWI_DATA_DIR=" + dir.file("data") + " ";
  const std::string m = " -m " + model.string();
  auto r = test::run_izwi_env(env, "voices add me --audio " + dir.file("ref.wav") + " --text '" +
                                       kTranscript + "' --consent 'Ann, today'" + m);
  ASSERT_EQ(r.status, 0) << r.output;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(kept)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);

  auto speak = [&](const std::string& out) {
    auto t = test::run_izwi_env(env,
                                "tts 'Spoken in a kept voice.' --voice me --stream --seed 3 "
                                "--max-new-tokens 12 --sample-format f32 -o " +
                                    dir.file(out) + m);
    EXPECT_EQ(t.status, 0) << t.output;
    std::ifstream in(dir.file(out), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string from_file = speak("kept.raw");
  fs::remove_all(kept.parent_path());
  const std::string decoded = speak("decoded.raw");
  EXPECT_FALSE(from_file.empty());
  EXPECT_EQ(from_file, decoded);
  EXPECT_TRUE(fs::exists(kept));  // and that run kept it again
}

// `izwi voices import` prepares a voice with a transcript as `voices add`
// does: with the model it names, or izwi tts's default model if installed;
// --no-prepare leaves it to the first request.
TEST(CliVoices, ImportKeepsTheReferenceStateForTheModel) {
  test::TempDir dir;
  const fs::path model = dir.path() / "model";
  fs::copy(test::golden_model(), model, fs::copy_options::recursive);
  const fs::path kept = model / "speech_tokenizer" / ".izwi-cache" / "codec-prefix";
  write_audio(dir.file("ref.wav"), Audio{test::load_f32("spk_in_wav"), 24000, 1},
              SampleFormat::kFloat32);
  const std::string env = "IZWI_DATA_DIR=" + dir.file("data") +
                          " IZWI_MODELS_DIR=" + dir.file("no-models") + " IZWI_OFFLINE=1 ";
  const std::string m = " -m " + model.string();
  auto r = test::run_izwi_env(env, "voices add me --audio " + dir.file("ref.wav") + " --text '" +
                                       kTranscript + "' --consent 'Ann, today'" + m);
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env(env, "voices export me " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  // The file as -o, or by default NAME.izwi-voice.json here: the same export.
  r = test::run_izwi_env(env, "voices export me -o " + dir.file("me-o.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env("cd " + dir.path().string() + " && " + env, "voices export me");
  ASSERT_EQ(r.status, 0) << r.output;
  auto bytes = [&](const char* name) {
    std::ifstream in(dir.file(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes("me-o.json"), bytes("me.json"));
  EXPECT_EQ(bytes("me.izwi-voice.json"), bytes("me.json"));
  // "-" is stdout for export and stdin for import, so a voice can go down a
  // pipe (to ssh, say); the status line goes to stderr, not into the file
  // (where import would find it after the JSON and refuse the file).
  r = test::run_izwi_env(env, "voices export me - | " + env + IZWI_BINARY +
                                  " voices import - --name piped --no-prepare");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("imported voice 'piped'"), std::string::npos) << r.output;
  r = test::run_izwi_env("echo '{}' | " + env, "voices import -");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("stdin is not an izwi voice file"), std::string::npos) << r.output;
  // -o /dev/stdout with stdout appended to a file: after what it held.
  std::ofstream(dir.file("log.txt")) << "earlier\n";
  r = test::run_izwi_env(env, "voices export piped -o /dev/stdout 2>" + dir.file("err.txt") +
                                  " >> " + dir.file("log.txt") + " && cat " + dir.file("err.txt"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("exported voice 'piped' to /dev/stdout"), std::string::npos) << r.output;
  const std::string log = bytes("log.txt");
  ASSERT_EQ(log.rfind("earlier\n{", 0), 0u) << log.substr(0, 100);
  EXPECT_NE(log.find("\"name\": \"piped\""), std::string::npos);
  EXPECT_EQ(log.back(), '\n');
  // Both ways at once is refused before anything is written.
  r = test::run_izwi_env("cd " + dir.path().string() + " && " + env,
                         "voices export me x.json -o y.json");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("excludes"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("x.json")) || fs::exists(dir.file("y.json")));
  auto kept_files = [&] {
    size_t files = 0;
    if (fs::exists(kept))
      for (const auto& e : fs::directory_iterator(kept)) files += e.is_regular_file();
    return files;
  };
  fs::remove_all(kept.parent_path());
  // No model named and the default not installed: imported, with a note.
  r = test::run_izwi_env(env, "voices import --name a " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("not prepared"), std::string::npos) << r.output;
  r = test::run_izwi_env(env,
                         "voices import --name b --no-prepare" + m + " " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(kept_files(), 0u);
  r = test::run_izwi_env(env, "voices import --name c" + m + " " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("prepared it for"), std::string::npos) << r.output;
  EXPECT_EQ(kept_files(), 1u);
  // A model that is not there is refused before anything is imported.
  r = test::run_izwi_env(
      env, "voices import --name d -m " + dir.file("nowhere") + " " + dir.file("me.json"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(test::run_izwi_env(env, "voices show d").status, 0);
}

TEST_P(BackendTest, CliAddListShowExportImportAndTtsWithVoice) {
  write_audio(dir.file("ref.wav"), ref, SampleFormat::kFloat32);
  const std::string env = this->env("data");
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
  r = test::run_izwi_env(env, "db status");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("schema:  version 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 voices"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(postgres() ? "PostgreSQL postgresql://" : dir.file("data")),
            std::string::npos)
      << r.output;
  r = test::run_izwi_env(env, "db migrate");
  EXPECT_EQ(r.status, 0) << r.output;
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
  // The same codes; the audio bit for bit where the decoder's sums do not
  // depend on how the stream is cut into blocks (f32, bf16). Winograd's tiles
  // start where each block starts, so the saved decoder state (the reference
  // decoded once, then the new frames) rounds differently from one decode of
  // both: by about 1e-5, within the golden tolerance.
  const bool winograd = cpu_kernels().find("winograd") != std::string::npos;
  for (const char* name : {"saved.npy", "saved2.npy"}) {
    const auto saved = read_npy(dir.file(name)).as_f32();
    if (winograd)
      EXPECT_TRUE(test::within_golden_tolerance(saved, direct)) << name;
    else
      EXPECT_EQ(saved, direct) << name;
  }

  r = test::run_izwi_env(env, "voices export me " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env(this->env("other"), "voices import " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  // Importing or renaming onto a taken name says what each command can do about it.
  r = test::run_izwi_env(this->env("other"), "voices import " + dir.file("me.json"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("a voice named 'me' already exists; --force replaces it, --name NEW "
                          "keeps both"),
            std::string::npos)
      << r.output;
  r = test::run_izwi_env(this->env("other"), "voices import --name me2 " + dir.file("me.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env(this->env("other"), "voices rename me2 me");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("a voice named 'me' already exists; pick another name, or remove that "
                          "one first (izwi voices rm me)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("--force"), std::string::npos) << "rename has no --force";
  // A typo is answered with the closest saved voice, for --voice and -s alike.
  r = test::run_izwi_env(env, tts + " --voice mee -o " + dir.file("x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no saved voice named 'mee'; did you mean 'me'?"), std::string::npos)
      << r.output;
  r = test::run_izwi_env(env, tts + " -s ME -o " + dir.file("x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("(did you mean 'me'?)"), std::string::npos) << r.output;
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
