// The model store against a real HTTP server on loopback that serves the hub's
// URL layout with the tiny golden checkpoints: pull, resume, checksum
// mismatch, 401/404, a full disk, offline mode; and the CLI using names.
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "cli_run.h"
#include "fake_hub.h"
#include "izwi/izwi.h"
#include "test_util.h"

namespace izwi {
namespace {

namespace fs = std::filesystem;

struct StoreFixture : ::testing::Test {
  test::TempDir dir;
  test::FakeHub hub{
      {{"test/tiny", test::golden_model()},
       {"test/private", test::golden_model()},
       {"Qwen/Qwen3-TTS-12Hz-0.6B-Base", test::golden_model()},
       {"Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice", test::data_path("golden-customvoice/model")}}};

  StoreOptions options() const {
    StoreOptions o;
    o.models_dir = dir.file("models");
    o.endpoint = hub.endpoint();
    return o;
  }
  std::string env() const {
    return "IZWI_MODELS_DIR=" + dir.file("models") + " HF_ENDPOINT=" + hub.endpoint() +
           " IZWI_OFFLINE= HF_TOKEN= HF_TOKEN_PATH= HF_HOME=" + dir.file("hf-home") + " ";
  }
  test::RunResult izwi(const std::string& args) const { return test::run_izwi_env(env(), args); }
};

bool same_tree(const fs::path& a, const fs::path& b) {
  for (const auto& e : fs::recursive_directory_iterator(a)) {
    if (!e.is_regular_file()) continue;
    const fs::path other = b / fs::relative(e.path(), a);
    if (!fs::exists(other) || test::FakeHub::sha256sum(e.path()) != test::FakeHub::sha256sum(other))
      return false;
  }
  return true;
}

TEST_F(StoreFixture, PullInstallsAnExactCopyAndListsIt) {
  ModelStore store(options());
  EXPECT_FALSE(store.info("test/tiny").installed);
  std::vector<PullProgress> seen;
  store.pull("test/tiny", [&](const PullProgress& p) { seen.push_back(p); });
  const ModelInfo m = store.info("test/tiny");
  ASSERT_TRUE(m.installed);
  EXPECT_TRUE(same_tree(test::golden_model(), m.path));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done, seen.back().total);
  // Bytes as stored, never compressed.
  EXPECT_EQ(hub.accept_encoding(), "identity");
  EXPECT_GT(seen.back().total, 7u * 1000 * 1000);
  bool listed = false;
  for (const auto& x : store.list()) listed |= x.name == "test/tiny" && x.installed;
  EXPECT_TRUE(listed);
  EXPECT_FALSE(fs::exists(dir.file("models/.partial/hub--test-tiny")));
  // The pulled model works.
  auto model = TtsModel::load(m.path);
  EXPECT_TRUE(model->can_clone());
  store.pull("test/tiny");  // already installed: nothing to do
  store.remove("test/tiny");
  EXPECT_FALSE(store.info("test/tiny").installed);
  EXPECT_THROW(store.remove("test/tiny"), Error);
}

// `izwi pull` killed with SIGKILL at random moments of a (slowed) download:
// after each kill no model is visible unless it is complete and exact, and a
// pull after the kills finishes (resuming what they left) with an exact copy.
TEST_F(StoreFixture, KilledPullsNeverLeaveAHalfModelVisible) {
  hub.chunk_delay_ms = 3;  // ~7 MB in 64 KiB pieces: about a third of a second per pull
  std::mt19937 rng(15);
  int killed = 0, finished = 0;
  const int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    const std::string cmd = "exec env " + env() + IZWI_BINARY + " pull test/tiny > /dev/null 2>&1";
    killed += test::run_and_kill(
        cmd, std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 500)(rng)));
    ModelStore store(options());
    const ModelInfo m = store.info("test/tiny");
    bool listed = false;
    for (const auto& x : store.list()) listed |= x.name == "test/tiny" && x.installed;
    EXPECT_EQ(listed, m.installed);
    if (m.installed) {
      // Only a finished pull may be visible, and then exactly.
      EXPECT_TRUE(same_tree(test::golden_model(), m.path)) << "round " << round;
      ++finished;
      store.remove("test/tiny");  // the next round downloads again
    } else {
      EXPECT_FALSE(fs::exists(dir.file("models/hub--test-tiny"))) << "round " << round;
    }
  }
  const auto r = izwi("pull test/tiny");
  ASSERT_EQ(r.status, 0) << r.output;
  ModelStore store(options());
  ASSERT_TRUE(store.info("test/tiny").installed);
  EXPECT_TRUE(same_tree(test::golden_model(), store.info("test/tiny").path));
  EXPECT_FALSE(fs::exists(dir.file("models/.partial/hub--test-tiny")));
  EXPECT_GE(killed, kRounds / 2) << "the kills came too late to test anything";
  int ranged = 0;
  for (const auto& q : hub.requests()) ranged += q.find(" bytes=") != std::string::npos;
  std::printf(
      "[kill -9 pull] %d rounds: %d killed mid-pull, %d finished first; %d resumed "
      "with Range\n",
      kRounds, killed, finished, ranged);
}

TEST_F(StoreFixture, ADroppedConnectionIsResumedWithARangeRequest) {
  hub.cut_file = "model.safetensors";
  hub.cut_at_bytes = 1 << 20;
  hub.cuts_remaining = 10;  // more than the automatic retries: the first pull fails
  ModelStore store(options());
  try {
    store.pull("test/tiny");
    FAIL() << "expected the pull to fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pull again to resume"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(store.info("test/tiny").installed);  // nothing that looks complete
  EXPECT_FALSE(fs::exists(dir.file("models/hub--test-tiny")));
  const fs::path part = dir.file("models/.partial/hub--test-tiny/model.safetensors.part");
  ASSERT_TRUE(fs::exists(part));
  EXPECT_GE(fs::file_size(part), 1u << 20);

  hub.cuts_remaining = 0;
  store.pull("test/tiny");
  ASSERT_TRUE(store.info("test/tiny").installed);
  EXPECT_TRUE(same_tree(test::golden_model(), store.info("test/tiny").path));
  bool resumed = false;
  for (const auto& r : hub.requests())
    resumed |= r.rfind("model.safetensors bytes=", 0) == 0 && r != "model.safetensors bytes=0-";
  EXPECT_TRUE(resumed) << "no Range request was made";
}

TEST_F(StoreFixture, OneCutIsRetriedWithinTheSamePull) {
  hub.cut_file = "speech_tokenizer/model.safetensors";
  hub.cuts_remaining = 1;
  ModelStore store(options());
  store.pull("test/tiny");
  EXPECT_TRUE(same_tree(test::golden_model(), store.info("test/tiny").path));
}

TEST_F(StoreFixture, ChecksumMismatchInstallsNothing) {
  hub.corrupt.insert("model.safetensors");
  ModelStore store(options());
  try {
    store.pull("test/tiny");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is corrupt: SHA-256"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(store.info("test/tiny").installed);
  EXPECT_FALSE(fs::exists(dir.file("models/.partial/hub--test-tiny/model.safetensors.part")));
  EXPECT_FALSE(fs::exists(dir.file("models/.partial/hub--test-tiny/model.safetensors")));
}

TEST_F(StoreFixture, PrivateRepositoriesNeedAToken) {
  hub.private_repo = "test/private";
  hub.token = "secret";
  ModelStore store(options());
  try {
    store.pull("test/private");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("set HF_TOKEN"), std::string::npos) << e.what();
  }
  StoreOptions wrong = options();
  wrong.token = "not-it";
  try {
    ModelStore(wrong).pull("test/private");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the token lacks access to test/private (HTTP 403)"),
              std::string::npos)
        << e.what();
  }
  StoreOptions with_token = options();
  with_token.token = "secret";
  ModelStore authed(with_token);
  authed.pull("test/private");
  EXPECT_TRUE(authed.info("test/private").installed);
}

// With HF_TOKEN unset, the token huggingface-cli login saved is used.
TEST_F(StoreFixture, TheSavedHuggingFaceTokenIsUsed) {
  hub.private_repo = "test/private";
  hub.token = "saved-secret";
  auto r = izwi("pull test/private");
  EXPECT_EQ(r.status, 1) << r.output;
  fs::create_directories(dir.file("hf-home"));
  std::ofstream(dir.file("hf-home/token")) << "saved-secret\n";
  r = izwi("pull test/private");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(StoreFixture, GatedAndMissingModelsSayWhatToDo) {
  hub.gated_repo = "test/tiny";
  try {
    ModelStore(options()).pull("test/tiny");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test/tiny is gated (HTTP 401, GatedRepo): accept its "
                                         "licence on " +
                                         hub.endpoint() + "/test/tiny"),
              std::string::npos)
        << e.what();
  }
  StoreOptions with_token = options();
  with_token.token = "any";
  try {
    ModelStore(with_token).pull("test/nothing-here");
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("no such model: test/nothing-here"), std::string::npos) << m;
    EXPECT_NE(m.find("HTTP 404, RepoNotFound"), std::string::npos) << m;
    EXPECT_EQ(m.find("if it is private"), std::string::npos) << m;
  }
}

// A mirror that ignores Range sends whole files (200): a half-downloaded file
// starts over instead of failing every later pull.
TEST_F(StoreFixture, AServerThatIgnoresRangeRestartsTheFile) {
  hub.cut_file = "model.safetensors";
  hub.cuts_remaining = 10;
  ModelStore store(options());
  EXPECT_THROW(store.pull("test/tiny"), Error);
  const fs::path part = dir.file("models/.partial/hub--test-tiny/model.safetensors.part");
  ASSERT_TRUE(fs::exists(part));
  hub.cuts_remaining = 0;
  hub.ignore_range = true;
  store.pull("test/tiny");
  EXPECT_TRUE(same_tree(test::golden_model(), store.info("test/tiny").path));
  bool asked_range = false;
  for (const auto& r : hub.requests())
    asked_range |= r.rfind("model.safetensors bytes=", 0) == 0 && r != "model.safetensors bytes=0-";
  EXPECT_TRUE(asked_range);
}

TEST_F(StoreFixture, BusyAndFailingAnswersAreRetried) {
  hub.busy_answers = 1;   // 429, Retry-After: 1
  hub.error_answers = 2;  // then 503 twice
  ModelStore store(options());
  const auto t0 = std::chrono::steady_clock::now();
  store.pull("test/tiny");
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.95);
  EXPECT_TRUE(store.info("test/tiny").installed);
  store.remove("test/tiny");
  hub.error_answers = 100;  // down for good: the pull gives up with the status
  try {
    store.pull("test/tiny");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 503"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("try again later"), std::string::npos) << e.what();
  }
}

// A pull lists and downloads at one commit; when main moves between an
// interrupted pull and its resumption, the pull starts over at the new commit.
TEST_F(StoreFixture, APullIsPinnedToOneCommit) {
  hub.cut_file = "model.safetensors";
  hub.cuts_remaining = 10;
  ModelStore store(options());
  EXPECT_THROW(store.pull("test/tiny"), Error);
  for (const auto& rev : hub.listed_revisions()) EXPECT_EQ(rev, hub.sha());
  ASSERT_TRUE(fs::exists(dir.file("models/.partial/hub--test-tiny/model.safetensors.part")));

  const fs::path moved = test::data_path("golden-customvoice/model");
  hub.move_main("test/tiny", moved.string(), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
  hub.cuts_remaining = 0;
  store.pull("test/tiny");
  const std::string installed = store.info("test/tiny").path;
  EXPECT_TRUE(same_tree(moved, installed));
  for (const auto& e : fs::recursive_directory_iterator(installed)) {  // nothing of the old commit
    if (e.is_regular_file() && e.path().filename() != ".izwi-model.json") {
      EXPECT_TRUE(fs::exists(moved / fs::relative(e.path(), installed))) << e.path();
    }
  }
  std::ifstream manifest(installed + "/.izwi-model.json");
  const auto j = nlohmann::json::parse(manifest);
  EXPECT_EQ(j["sha"], "9c1185a5c5e9fc54612808977ee8f548b2258d31");
  EXPECT_EQ(j["revision"], "main");
}

TEST_F(StoreFixture, UnknownRepositoryAndUnknownName) {
  ModelStore store(options());
  try {
    store.pull("test/missing");
    FAIL();
  } catch (const Error& e) {
    // The hub answers 401 (not 404) without a token; izwi says what it means.
    EXPECT_NE(std::string(e.what()).find("no such model: test/missing"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("HTTP 401, RepoNotFound"), std::string::npos) << e.what();
  }
  try {
    store.info("qwen3-tts-9b");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known models: qwen3-tts-0.6b-base"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("did you mean"), std::string::npos) << e.what();
  }
  try {
    store.info("qwen3-tts-06b-base");  // a dot dropped
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "unknown model 'qwen3-tts-06b-base' (did you mean 'qwen3-tts-0.6b-base'?)"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(StoreFixture, AFullDiskStopsThePullBeforeItStarts) {
  StoreOptions o = options();
  o.free_space = [](const std::string&) -> uint64_t { return 1000; };
  ModelStore store(o);
  try {
    store.pull("test/tiny");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not enough disk space"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(store.info("test/tiny").installed);
  EXPECT_TRUE(hub.requests().empty());  // no file was downloaded
}

// IZWI_MODELS_DIR naming a file: pull says so before any download, list warns.
TEST_F(StoreFixture, AStoreThatIsAFileIsNamedAsTheProblem) {
  std::ofstream(dir.file("models")) << "not a folder";
  ModelStore store(options());
  try {
    store.pull("test/tiny");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + dir.file("models") +
                                         "' is a file, not a folder; set IZWI_MODELS_DIR"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(hub.requests().empty());
  const auto r = izwi("list");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: the store is a file, not a folder"), std::string::npos)
      << r.output;
  std::ifstream in(dir.file("models"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "not a folder");  // untouched
}

TEST_F(StoreFixture, OfflineModeSaysWhichPullToRun) {
  StoreOptions o = options();
  o.offline = true;
  ModelStore store(o);
  try {
    store.resolve("qwen3-tts-0.6b-base", false, true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run: izwi pull qwen3-tts-0.6b-base"), std::string::npos)
        << e.what();
  }
  const auto r = izwi("--offline tts hi -s x.wav -o " + dir.file("o.wav"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("izwi pull qwen3-tts-0.6b-base"), std::string::npos) << r.output;
}

TEST_F(StoreFixture, CliPullListInfoRm) {
  auto r = izwi("pull qwen3-tts-0.6b-base");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("installed qwen3-tts-0.6b-base"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pulling qwen3-tts-0.6b-base"), std::string::npos)
      << r.output;  // plain progress lines
  r = izwi("list");
  EXPECT_NE(r.output.find("qwen3-tts-0.6b-base          installed"), std::string::npos) << r.output;
  r = izwi("info qwen3-tts-0.6b-base");
  EXPECT_NE(r.output.find("Qwen/Qwen3-TTS-12Hz-0.6B-Base"), std::string::npos) << r.output;
  // What its config.json says (the fake hub serves the tiny checkpoint).
  EXPECT_NE(r.output.find("Base (clones a voice from reference audio)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("languages:   auto, chinese, english, spanish"), std::string::npos)
      << r.output;
  // A checkpoint directory, as --model takes: its preset speakers too.
  r = izwi("info " + test::data_path("golden-customvoice/model"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("CustomVoice (preset speakers)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("speakers:    dylan, eric, serena"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("clones:      no"), std::string::npos) << r.output;
  r = izwi("info " + dir.path().string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("is not a model directory (no config.json)"), std::string::npos)
      << r.output;
  r = izwi("rm qwen3-tts-0.6b-base");
  EXPECT_EQ(r.status, 0) << r.output;
  r = izwi("rm qwen3-tts-0.6b-base");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not installed"), std::string::npos);

  // On a terminal (script(1) gives it one): a bar, and at the end one line of
  // what was fetched, with no "0 kB/s, ETA --" (what the bar said at 100 %).
  const std::string cmd =
      "script -qec " +
      test::shell_quote(env() + std::string(IZWI_BINARY) + " pull qwen3-tts-0.6b-base") +
      " /dev/null 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string tty;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) tty.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << tty;
  EXPECT_NE(tty.find("\r\033[Kpulling qwen3-tts-0.6b-base ["), std::string::npos) << tty;
  EXPECT_NE(tty.find("\r\033[Kpulled qwen3-tts-0.6b-base [##############################] 100% "),
            std::string::npos)
      << tty;
  EXPECT_EQ(tty.find("ETA --"), std::string::npos) << tty;
  EXPECT_EQ(tty.find(" 0 kB/s"), std::string::npos) << tty;
  EXPECT_NE(tty.find("installed qwen3-tts-0.6b-base"), std::string::npos) << tty;
}

// The product page's commands, as written: pull a CustomVoice name, then clone
// with it from reference audio (its Base companion does the cloning).
TEST_F(StoreFixture, TheProductPageCommandsWork) {
  Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
  write_audio(dir.file("reference.wav"), ref);
  auto r = izwi("pull qwen3-tts-0.6b-customvoice");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("uses qwen3-tts-0.6b-base"), std::string::npos) << r.output;
  r = izwi("tts \"Hello, this is my cloned voice\" --model qwen3-tts-0.6b-customvoice --speaker " +
           dir.file("reference.wav") + " --output " + dir.file("cloned.wav") + " --max-seconds 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GT(read_audio(dir.file("cloned.wav")).samples.size(), 0u);
  // The same name with a preset speaker uses the CustomVoice checkpoint.
  r = izwi("tts Hello --model qwen3-tts-0.6b-customvoice --speaker serena --output " +
           dir.file("serena.wav") + " --max-seconds 1");
  ASSERT_EQ(r.status, 0) << r.output;
}

TEST_F(StoreFixture, TheDefaultModelIsPulledOnFirstUse) {
  Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
  write_audio(dir.file("ref.wav"), ref);
  const auto r = izwi("tts Hello -s " + dir.file("ref.wav") + " -o " + dir.file("out.wav") +
                      " --max-seconds 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("pulling qwen3-tts-0.6b-base"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir.file("models/qwen3-tts-0.6b-base/.izwi-model.json")));
}

}  // namespace
}  // namespace izwi
