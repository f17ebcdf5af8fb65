// `izwi serve` end to end: the real binary on a free loopback port with the
// tiny golden models, driven by real clients — curl (the product page's
// command), the official OpenAI Node SDK, cpp-httplib and raw sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "cli_run.h"
#include "fake_hub.h"
#include "ffmpeg_encode.h"
#include "izwi/izwi.h"
#include "pg_server.h"
#include "server/server.h"
#include "server_process.h"
#include "test_util.h"

namespace izwi {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::best_correlation;
using test::max_abs_diff;
using test::ServerProcess;

std::string fixed3(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<float> pcm16(const std::string& bytes) {
  std::vector<float> out(bytes.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int16_t v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    out[i] = v / 32767.0f;
  }
  return out;
}

// Runs a shell command; returns {exit status, stdout+stderr}.
test::RunResult shell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

// The store every test shares: the tiny golden checkpoints installed under
// the product page's names (through a real pull from a stand-in hub).
class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = new test::TempDir();
    test::FakeHub hub{
        {{"Qwen/Qwen3-TTS-12Hz-0.6B-Base", test::golden_model()},
         {"Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice", test::data_path("golden-customvoice/model")}}};
    StoreOptions o;
    o.models_dir = store_->file("models");
    o.endpoint = hub.endpoint();
    ModelStore(o).pull("qwen3-tts-0.6b-customvoice");
  }
  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
  }
  void SetUp() override {
    Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
    write_audio(dir_.file("reference.wav"), ref);
  }

  std::vector<std::string> env() const {
    std::vector<std::string> e = {"IZWI_MODELS_DIR=" + store_->file("models"),
                                  "IZWI_DATA_DIR=" + dir_.file("data")};
    if (!database_.empty()) e.push_back("IZWI_DATABASE_URL=" + database_);
    return e;
  }
  std::string env_prefix() const {
    return "IZWI_MODELS_DIR=" + store_->file("models") + " IZWI_DATA_DIR=" + dir_.file("data") +
           (database_.empty() ? "" : " IZWI_DATABASE_URL=" + database_) + " IZWI_OFFLINE=1 ";
  }
  // Saved voices in this PostgreSQL database instead of SQLite in dir_ (for the servers
  // and the CLI runs that follow).
  void use_postgres() {
    static test::PgServer server;
    database_ = server.new_database("server");
  }
  void voices_api_and_the_cli_share_one_store();
  std::unique_ptr<ServerProcess> serve(std::vector<std::string> args = {}, bool wait_ready = true) {
    if (std::find(args.begin(), args.end(), "--max-audio-seconds") == args.end())
      args.insert(args.end(), {"--max-audio-seconds", "1.5"});
    auto s = std::make_unique<ServerProcess>(env(), args, dir_.file("server.log"), wait_ready);
    EXPECT_TRUE(s->started()) << s->log();
    return s;
  }
  test::RunResult izwi(const std::string& args) const {
    return test::run_izwi_env(env_prefix(), args);
  }
  std::string reference_b64() const {
    const std::string bytes = slurp(dir_.file("reference.wav"));
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
      const uint32_t v =
          (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
      for (int k = 3; k >= 0; --k) out += t[(v >> (6 * k)) & 63];
    }
    if (i < bytes.size()) {
      uint32_t v = uint8_t(bytes[i]) << 16;
      if (i + 1 < bytes.size()) v |= uint8_t(bytes[i + 1]) << 8;
      out += t[(v >> 18) & 63];
      out += t[(v >> 12) & 63];
      out += i + 1 < bytes.size() ? t[(v >> 6) & 63] : '=';
      out += '=';
    }
    return out;
  }
  httplib::Result post_json(const ServerProcess& s, const json& body,
                            const httplib::Headers& headers = {}) {
    return s.client().Post("/v1/audio/speech", headers, body.dump(), "application/json");
  }

  static test::TempDir* store_;
  test::TempDir dir_;
  std::string database_;  // PostgreSQL URL for saved voices ("" = SQLite in dir_)
};
test::TempDir* ServerTest::store_ = nullptr;

void expect_error(const httplib::Result& r, int status, const std::string& code,
                  const std::string& what) {
  ASSERT_TRUE(r) << what;
  EXPECT_EQ(r->status, status) << what << ": " << r->body;
  const json j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r->body;
  const json& e = j["error"];
  EXPECT_EQ(e["code"], code) << what << ": " << r->body;
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << what;
  EXPECT_TRUE(e["type"].is_string()) << what;
  EXPECT_TRUE(e.contains("param")) << what;
}

// The product page's curl command, verbatim apart from host and port, gives
// the same samples as `izwi tts` with the seed the server used.
TEST_F(ServerTest, ProductPageCurlCommandMatchesTheCli) {
  auto s = serve();
  const std::string cmd = "cd " + dir_.path().string() + " && curl -sS -X POST " + s->url() +
                          "/v1/audio/speech \\\n"
                          "  -F \"model=qwen3-tts-0.6b-customvoice\" \\\n"
                          "  -F \"input=Hello, this is my cloned voice\" \\\n"
                          "  -F \"reference_audio=@reference.wav\" \\\n"
                          "  --output cloned.wav";
  const auto r = shell(cmd);
  ASSERT_EQ(r.status, 0) << r.output;
  const Audio served = read_audio(dir_.file("cloned.wav"));
  EXPECT_EQ(served.sample_rate, 24000);
  ASSERT_GT(served.samples.size(), 0u);
  // The response says it is synthetic speech, with which model and voice.
  const auto mark = parse_provenance(read_audio_tags(dir_.file("cloned.wav")));
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->model, "qwen3-tts-0.6b-customvoice");
  EXPECT_EQ(mark->voice, "reference audio");
  std::smatch m;
  const std::string log = s->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(POST /v1/audio/speech 200 .* seed=(\d+))")))
      << log;
  const auto cli = izwi(
      "tts \"Hello, this is my cloned voice\" --model qwen3-tts-0.6b-customvoice "
      "--speaker " +
      dir_.file("reference.wav") + " --seed " + m[1].str() + " --max-seconds 1.5 --output " +
      dir_.file("cli.wav"));
  ASSERT_EQ(cli.status, 0) << cli.output;
  EXPECT_EQ(read_audio(dir_.file("cli.wav")).samples, served.samples);
}

// The official OpenAI Node SDK: a saved voice as mp3 (by name and as the SDK's
// custom-voice object), and SSE streaming.
TEST_F(ServerTest, OpenAiNodeSdkSpeaksWithASavedVoice) {
  const std::string sdk_dir = std::string(IZWI_SOURCE_DIR) + "/tests/e2e/openai";
  ASSERT_TRUE(fs::exists(sdk_dir + "/node_modules/openai"))
      << "the OpenAI SDK is not installed: run `npm ci` in " << sdk_dir
      << " (scripts/test.sh does)";
  auto add = izwi("voices add narrator --audio " + dir_.file("reference.wav") +
                  " --model qwen3-tts-0.6b-base --consent 'test fixture'");
  ASSERT_EQ(add.status, 0) << add.output;
  auto s = serve();
  fs::create_directories(dir_.file("sdk"));
  const auto r = shell("node " + sdk_dir + "/speech.mjs " + s->url() + "/v1 " + dir_.file("sdk") +
                       " qwen3-tts-0.6b-customvoice narrator");
  ASSERT_EQ(r.status, 0) << r.output << s->log();
  std::printf("OpenAI SDK %s", r.output.c_str());
  const Audio wav = read_audio(dir_.file("sdk/voice.wav"));
  const Audio mp3 = read_audio(dir_.file("sdk/voice.mp3"));
  const Audio aac = read_audio(dir_.file("sdk/voice.aac"));
  ASSERT_GT(wav.samples.size(), 0u);
  EXPECT_EQ(mp3.sample_rate, 24000);
  EXPECT_NEAR(mp3.duration(), wav.duration(), 0.1);
  EXPECT_EQ(aac.sample_rate, 24000);
  EXPECT_NEAR(aac.duration(), wav.duration(), 0.1);
  for (const char* f : {"sdk/voice.wav", "sdk/voice.mp3", "sdk/voice.aac"}) {
    const auto mark = parse_provenance(read_audio_tags(dir_.file(f)));
    ASSERT_TRUE(mark.has_value()) << f;
    EXPECT_EQ(mark->voice, "narrator") << f;
  }
  EXPECT_GT(best_correlation(mp3.samples, wav.samples, 2400), 0.8)
      << "mp3 decodes to the same speech";
  EXPECT_GT(best_correlation(aac.samples, wav.samples, 2400), 0.8)
      << "aac decodes to the same speech";
  // SSE deltas joined are the non-streamed PCM (streamed decoding agrees with
  // the whole-clip decode within the golden tolerance, here after 16-bit rounding).
  const auto whole = pcm16(slurp(dir_.file("sdk/whole.pcm")));
  const auto sse = pcm16(slurp(dir_.file("sdk/sse.pcm")));
  EXPECT_EQ(whole.size(), wav.samples.size());
  // The SDK's custom-voice reference {id: "narrator"} is the saved voice.
  EXPECT_EQ(slurp(dir_.file("sdk/voice-id.pcm")), slurp(dir_.file("sdk/whole.pcm")));
  EXPECT_LE(max_abs_diff(sse, whole), 2e-3);
  const json done = json::parse(slurp(dir_.file("sdk/sse.json")));
  EXPECT_EQ(done["type"], "speech.audio.done");
  EXPECT_GT(done["usage"]["output_tokens"].get<int>(), 0);
  EXPECT_EQ(done["izwi"]["seed"], 7);
}

// The speaker similarity of a take is the same number in the CLI's summary,
// the API's header and the SSE done event; presets have none.
TEST_F(ServerTest, SpeakerSimilarityIsOneNumberEverywhere) {
  auto s = serve();
  json body = {{"model", "qwen3-tts-0.6b-base"},
               {"input", "How close is this voice?"},
               {"reference_audio", reference_b64()},
               {"seed", 21}};
  const auto whole = post_json(*s, body);
  ASSERT_TRUE(whole && whole->status == 200) << (whole ? whole->body : "no response");
  const std::string header = whole->get_header_value("X-Izwi-Speaker-Similarity");
  ASSERT_FALSE(header.empty());
  const double value = std::stod(header);
  EXPECT_GE(value, -1.0);
  EXPECT_LE(value, 1.0);
  body["stream_format"] = "sse";
  const auto sse = post_json(*s, body);
  ASSERT_TRUE(sse && sse->status == 200);
  const size_t at = sse->body.find("speech.audio.done");
  ASSERT_NE(at, std::string::npos);
  const size_t start = sse->body.rfind("data: ", at) + 6;
  const json done = json::parse(sse->body.substr(start, sse->body.find("\n\n", at) - start));
  EXPECT_EQ(fixed3(done["izwi"]["speaker_similarity"].get<double>()), header);
  const auto cli = izwi("tts \"How close is this voice?\" --model qwen3-tts-0.6b-base --speaker " +
                        dir_.file("reference.wav") + " --seed 21 --output " + dir_.file("c.wav"));
  ASSERT_EQ(cli.status, 0) << cli.output;
  EXPECT_NE(cli.output.find("speaker similarity " + header), std::string::npos) << cli.output;
  // A preset voice has no x-vector to compare with.
  const auto preset = post_json(
      *s, {{"model", "qwen3-tts-0.6b-customvoice"}, {"input", "Hi."}, {"voice", "serena"}});
  ASSERT_TRUE(preset && preset->status == 200) << (preset ? preset->body : "no response");
  EXPECT_FALSE(preset->has_header("X-Izwi-Speaker-Similarity"));
}

// A phone's voice memo (AAC in M4A, written here by FFmpeg's encoder) clones
// through the product page's multipart upload and the CLI, and reads as the
// WAV it was made from.
TEST_F(ServerTest, APhoneMemoInM4aClonesLikeItsWav) {
  const Audio ref = read_audio(dir_.file("reference.wav"));
  ASSERT_EQ(test::ffmpeg_encode(ref.samples, ref.sample_rate, "aac", "ipod", dir_.file("memo.m4a")),
            "");
  auto s = serve();
  httplib::Client c("127.0.0.1", s->port());
  c.set_read_timeout(60);
  httplib::MultipartFormDataItems form = {
      {"model", "qwen3-tts-0.6b-base", "", ""},
      {"input", "From a voice memo.", "", ""},
      // A fixed seed: the tiny test model stops after under 0.5 s for about
      // one seed in 24, and a take that short has no similarity to report.
      {"seed", "7", "", ""},
      {"reference_audio", slurp(dir_.file("memo.m4a")), "memo.m4a", "audio/mp4"}};
  const auto r = c.Post("/v1/audio/speech", form);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "audio/wav");
  EXPECT_FALSE(r->get_header_value("X-Izwi-Speaker-Similarity").empty());
  EXPECT_GT(read_audio_memory(r->body.data(), r->body.size()).samples.size(), 0u);
  const auto cli = izwi("tts \"From a voice memo.\" --model qwen3-tts-0.6b-base --seed 7 -s " +
                        dir_.file("memo.m4a") + " -o " + dir_.file("memo-clone.wav"));
  ASSERT_EQ(cli.status, 0) << cli.output;
  // The binary reads the memo as the clip it was made from: the same length,
  // level and loudness (AAC at 96 kbit/s; the encoder's padding adds < 50 ms).
  json report[2];
  for (int i = 0; i < 2; ++i) {
    const auto e = izwi("voice inspect --json " + dir_.file(i ? "memo.m4a" : "reference.wav"));
    ASSERT_EQ(e.status, 0) << e.output;
    report[i] = json::parse(e.output.substr(e.output.find('{')));
  }
  EXPECT_EQ(report[1]["sample_rate"], report[0]["sample_rate"]);
  EXPECT_NEAR(report[1]["duration_s"].get<double>(), report[0]["duration_s"].get<double>(), 0.05);
  EXPECT_NEAR(report[1]["rms_dbfs"].get<double>(), report[0]["rms_dbfs"].get<double>(), 0.3);
  EXPECT_NEAR(report[1]["loudness_lufs"].get<double>(), report[0]["loudness_lufs"].get<double>(),
              0.3);
}

// A long text: spoken in chunks, streamed over SSE with the same samples as
// the whole response, the chunk count in both.
TEST_F(ServerTest, LongTextsAreSpokenInChunksStreamedOrWhole) {
  auto s = serve({"--max-audio-seconds", "0"});
  const std::string text =
      "The first paragraph has one sentence. And a second one.\n\n"
      "The second paragraph follows after a pause.\n\nA third paragraph ends it.";
  json body = {{"model", "qwen3-tts-0.6b-base"},
               {"input", text},
               {"reference_audio", reference_b64()},
               {"response_format", "pcm"},
               {"seed", 4}};
  const auto whole = post_json(*s, body);
  ASSERT_TRUE(whole && whole->status == 200) << (whole ? whole->body : "no response");
  const size_t chunks = chunk_text(text, "auto").size();
  EXPECT_EQ(chunks, 3u);
  EXPECT_EQ(whole->get_header_value("X-Izwi-Chunks"), std::to_string(chunks));
  body["stream_format"] = "sse";
  const auto sse = post_json(*s, body);
  ASSERT_TRUE(sse && sse->status == 200);
  std::string pcm;
  json done;
  for (size_t at = sse->body.find("data: "); at != std::string::npos;
       at = sse->body.find("data: ", at + 1)) {
    const json ev = json::parse(sse->body.substr(at + 6, sse->body.find("\n\n", at) - at - 6));
    if (ev["type"] == "speech.audio.delta") pcm += base64_decode(ev["audio"].get<std::string>());
    if (ev["type"] == "speech.audio.done") done = ev;
  }
  EXPECT_EQ(done["izwi"]["chunks"], chunks);
  EXPECT_EQ(pcm, whole->body);
  // Three chunks with two paragraph pauses between them.
  EXPECT_GT(pcm.size(), 2 * static_cast<size_t>(0.65 * 24000) * 2);
}

// Every 64-bit seed is taken as it is (the CLI's seeds included), from JSON and
// from a form, and reported back in X-Izwi-Seed.
TEST_F(ServerTest, SeedsUpTo64BitsAreTakenAsGiven) {
  auto s = serve({"--max-audio-seconds", "0.5"});
  httplib::Client c("127.0.0.1", s->port());
  c.set_read_timeout(60);
  const json body = {{"input", "Seeds."},
                     {"reference_audio", reference_b64()},
                     {"response_format", "pcm"},
                     {"seed", std::numeric_limits<uint64_t>::max()}};
  const auto big = post_json(*s, body);
  ASSERT_TRUE(big && big->status == 200) << (big ? big->body : "no response");
  EXPECT_EQ(big->get_header_value("X-Izwi-Seed"), "18446744073709551615");
  httplib::MultipartFormDataItems form = {
      {"input", "Seeds.", "", ""},
      {"response_format", "pcm", "", ""},
      {"seed", "18446744073709551615", "", ""},
      {"reference_audio", slurp(dir_.file("reference.wav")), "reference.wav", "audio/wav"}};
  const auto from_form = c.Post("/v1/audio/speech", form);
  ASSERT_TRUE(from_form && from_form->status == 200) << (from_form ? from_form->body : "none");
  EXPECT_EQ(from_form->get_header_value("X-Izwi-Seed"), "18446744073709551615");
  EXPECT_EQ(from_form->body, big->body);
  // A whole number written as a float is the same seed.
  json as_float = body;
  as_float["seed"] = 5.0;
  const auto five = post_json(*s, as_float);
  ASSERT_TRUE(five && five->status == 200) << (five ? five->body : "no response");
  EXPECT_EQ(five->get_header_value("X-Izwi-Seed"), "5");
}

// Streamed audio: bytes arrive while the clip is generated, and equal the
// non-streamed response.
TEST_F(ServerTest, StreamedAudioArrivesBeforeTheEndAndEqualsTheWholeResponse) {
  auto s = serve({"--max-audio-seconds", "6"});
  const json body = {{"model", "qwen3-tts-0.6b-base"},
                     {"input", "Streaming test."},
                     {"reference_audio", reference_b64()},
                     {"response_format", "pcm"},
                     {"seed", 11}};
  const auto whole = post_json(*s, body);
  ASSERT_TRUE(whole && whole->status == 200) << (whole ? whole->body : "no response");
  EXPECT_EQ(whole->get_header_value("Content-Type"), "audio/pcm");
  EXPECT_EQ(whole->get_header_value("X-Izwi-Seed"), "11");

  json streamed_body = body;
  streamed_body["stream_format"] = "audio";
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/audio/speech";
  req.body = streamed_body.dump();
  req.set_header("Content-Type", "application/json");
  std::string got;
  std::vector<double> arrivals;
  const auto t0 = std::chrono::steady_clock::now();
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    arrivals.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    got.append(d, n);
    return true;
  };
  httplib::Response res;
  httplib::Error err;
  auto c = s->client();
  ASSERT_TRUE(c.send(req, res, err)) << httplib::to_string(err);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.get_header_value("Transfer-Encoding"), "chunked");
  ASSERT_GE(arrivals.size(), 3u) << "audio came in one piece";
  std::printf(
      "streamed %.2f s of audio: first bytes after %.1f ms, last after %.1f ms, %zu chunks\n",
      got.size() / 2 / 24000.0, 1e3 * arrivals.front(), 1e3 * arrivals.back(), arrivals.size());
  EXPECT_LT(arrivals.front(), arrivals.back());
  EXPECT_LE(max_abs_diff(pcm16(got), pcm16(whole->body)), 2e-3);
}

TEST_F(ServerTest, EveryResponseFormatDecodesToTheSameSpeech) {
  auto s = serve();
  json body = {{"input", "Formats."}, {"reference_audio", reference_b64()}, {"seed", 3}};
  body["response_format"] = "wav";
  const auto wav = post_json(*s, body);
  ASSERT_TRUE(wav && wav->status == 200);
  const Audio ref = read_audio_memory(wav->body.data(), wav->body.size());
  const std::map<std::string, std::string> types = {{"mp3", "audio/mpeg"},
                                                    {"flac", "audio/flac"},
                                                    {"opus", "audio/ogg; codecs=opus"},
                                                    {"aac", "audio/aac"}};
  for (const auto& [fmt, type] : types) {
    for (const bool stream : {false, true}) {
      json b = body;
      b["response_format"] = fmt;
      if (stream) b["stream_format"] = "audio";
      const auto r = post_json(*s, b);
      ASSERT_TRUE(r && r->status == 200) << fmt;
      EXPECT_EQ(r->get_header_value("Content-Type"), type);
      // Opus decodes at 48 kHz (FFmpeg), so compare at the WAV's rate.
      const Audio a =
          resample(read_audio_memory(r->body.data(), r->body.size(), fmt), ref.sample_rate);
      if (fmt == "flac") {
        ASSERT_EQ(a.samples.size(), ref.samples.size()) << fmt << (stream ? " streamed" : "");
        EXPECT_LE(max_abs_diff(a.samples, ref.samples), stream ? 2e-3 : 1e-4) << fmt;
      } else {
        EXPECT_NEAR(a.duration(), ref.duration(), 0.1) << fmt << (stream ? " streamed" : "");
        EXPECT_GT(best_correlation(a.samples, ref.samples, 2400), 0.7)
            << fmt << (stream ? " streamed" : "") << " " << a.samples.size() << " vs "
            << ref.samples.size();
      }
    }
  }
  // speed changes the tempo: half as long at 2x, the same at 1.0 (untouched).
  body["speed"] = 2.0;
  const auto fast = post_json(*s, body);
  ASSERT_TRUE(fast && fast->status == 200);
  const Audio f = read_audio_memory(fast->body.data(), fast->body.size());
  EXPECT_NEAR(f.duration(), ref.duration() / 2, 0.08);
  body["speed"] = 1.0;
  const auto same = post_json(*s, body);
  EXPECT_EQ(read_audio_memory(same->body.data(), same->body.size()).samples,
            read_audio_memory(wav->body.data(), wav->body.size()).samples);
}

// More requests than --max-concurrent + --queue: the extra ones get 429 with
// Retry-After at once; the admitted ones all finish.
TEST_F(ServerTest, OverloadIsTurnedAwayWithoutHurtingAdmittedRequests) {
  auto s = serve(
      {"--max-concurrent", "1", "--queue", "1", "--max-audio-seconds", "600", "--threads", "1"});
  const json body = {{"input", "A long request."},
                     {"reference_audio", reference_b64()},
                     {"response_format", "pcm"},
                     {"min_seconds", 40},
                     {"max_seconds", 40}};
  std::vector<std::future<int>> admitted;
  std::atomic<int> started{0};
  auto launch = [&] {
    return std::async(std::launch::async, [&] {
      ++started;
      auto r = post_json(*s, body);
      return r ? r->status : -1;
    });
  };
  auto wait_metric = [&](const std::string& line) {
    for (int i = 0; i < 500; ++i) {
      auto m = s->client().Get("/metrics");
      if (m && m->body.find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  admitted.push_back(launch());
  ASSERT_TRUE(wait_metric("izwi_generations_running 1")) << s->log();
  admitted.push_back(launch());
  ASSERT_TRUE(wait_metric("izwi_queue_depth 1")) << s->log();
  int rejected = 0;
  for (int i = 0; i < 3; ++i) {
    const auto r = post_json(*s, body);
    expect_error(r, 429, "queue_full", "over the queue");
    if (r) {
      EXPECT_FALSE(r->get_header_value("Retry-After").empty());
    }
    rejected += r && r->status == 429;
  }
  EXPECT_EQ(rejected, 3);
  for (auto& f : admitted) EXPECT_EQ(f.get(), 200);
  auto m = s->client().Get("/metrics");
  ASSERT_TRUE(m) << s->log();
  EXPECT_NE(
      m->body.find(
          "izwi_http_requests_total{route=\"/v1/audio/speech\",method=\"POST\",status=\"429\"} 3"),
      std::string::npos)
      << m->body;
}

// Opens a connection, sends a request and hangs up after `wait_ms`.
void send_and_hang_up(int port, const std::string& request, int wait_ms) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  close(fd);
}

TEST_F(ServerTest, ADisconnectingClientCancelsItsGenerationAndFreesItsSlot) {
  auto s = serve(
      {"--max-concurrent", "1", "--queue", "0", "--max-audio-seconds", "600", "--threads", "1"});
  for (const bool stream : {false, true}) {
    json body = {{"input", "Nobody will listen."},
                 {"reference_audio", reference_b64()},
                 {"response_format", "pcm"},
                 {"min_seconds", 300},
                 {"max_seconds", 300}};
    if (stream) body["stream_format"] = "audio";
    const std::string b = body.dump();
    const std::string request =
        "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: "
        "application/json\r\nContent-Length: " +
        std::to_string(b.size()) + "\r\n\r\n" + b;
    const size_t log_start = s->log().size();
    const auto t0 = std::chrono::steady_clock::now();
    send_and_hang_up(s->port(), request, 300);
    // The slot comes back, and the log says the client left (499) with less
    // than the 300 s of audio asked for: the generation was cancelled.
    std::smatch m;
    const std::regex cancelled(R"(POST /v1/audio/speech 499 [0-9.]+s audio=([0-9.]+)s)");
    bool freed = false;
    std::string log;
    for (int i = 0; i < 2000 && !freed; ++i) {
      auto metrics = s->client().Get("/metrics");
      log = s->log().substr(log_start);
      freed = metrics && metrics->body.find("izwi_generations_running 0") != std::string::npos &&
              std::regex_search(log, m, cancelled);
      if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(freed) << (stream ? "streamed: " : "whole: ") << log;
    EXPECT_LT(std::stod(m[1]), 300.0) << log;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s request: slot free %.2f s after the client connected (%s s of audio made)\n",
                stream ? "streamed" : "whole", secs, m[1].str().c_str());
    const auto ok = post_json(
        *s, {{"input", "Next."}, {"reference_audio", reference_b64()}, {"max_seconds", 0.5}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
  }
}

TEST_F(ServerTest, ErrorsHaveTheirStatusAndTheOpenAiShape) {
  auto s = serve({"--max-upload-mb", "1", "--max-text-chars", "50", "--max-job-chars", "40"});
  const std::string ref = reference_b64();
  auto c = s->client();
  // The limits count characters (code points) for speech and jobs alike: a CJK
  // character is one, not its three UTF-8 bytes.
  std::string cjk;
  for (int i = 0; i < 51; ++i) cjk += "\u8bed";
  const auto long_cjk = post_json(*s, {{"input", cjk}, {"reference_audio", ref}});
  expect_error(long_cjk, 400, "input_too_long", "51 CJK characters");
  EXPECT_NE(long_cjk->body.find("has 51 characters"), std::string::npos) << long_cjk->body;
  // A job of 40 passes the length check (and then lacks a voice); 41 do not.
  const std::string forty = cjk.substr(0, 40 * 3);
  expect_error(c.Post("/v1/jobs", json{{"inputs", {forty}}}.dump(), "application/json"), 400,
               "missing_voice", "a job of 40 CJK characters");
  const auto long_job =
      c.Post("/v1/jobs", json{{"inputs", {forty, "\u8bed"}}}.dump(), "application/json");
  expect_error(long_job, 400, "input_too_long", "a job of 41 CJK characters");
  EXPECT_NE(long_job->body.find("has 41 characters"), std::string::npos) << long_job->body;
  expect_error(
      post_json(*s, {{"model", "qwen3-tts-9b-base"}, {"input", "x"}, {"reference_audio", ref}}),
      404, "model_not_found", "unknown model");
  const auto typo =
      post_json(*s, {{"model", "qwen3-tts-0.6-base"}, {"input", "x"}, {"reference_audio", ref}});
  expect_error(typo, 404, "model_not_found", "a misspelled model");
  EXPECT_NE(typo->body.find("(did you mean 'qwen3-tts-0.6b-base'?)"), std::string::npos)
      << typo->body;
  const auto missing =
      post_json(*s, {{"model", "qwen3-tts-1.7b-base"}, {"input", "x"}, {"reference_audio", ref}});
  expect_error(missing, 404, "model_not_found", "model not installed");
  EXPECT_NE(missing->body.find("izwi pull qwen3-tts-1.7b-base"), std::string::npos);
  expect_error(post_json(*s, {{"model", "../../etc"}, {"input", "x"}, {"reference_audio", ref}}),
               404, "model_not_found", "path as a model name");
  expect_error(post_json(*s, {{"reference_audio", ref}}), 400, "missing_input", "missing input");
  expect_error(post_json(*s, {{"input", "   "}, {"reference_audio", ref}}), 400, "missing_input",
               "empty input");
  expect_error(post_json(*s, {{"input", std::string(51, 'a')}, {"reference_audio", ref}}), 400,
               "input_too_long", "text over the limit");
  expect_error(post_json(*s, {{"input", "x"}}), 400, "missing_voice", "no voice at all");
  for (const json& voice : {json(5), json{{"name", "me"}}, json{{"id", 5}}})
    expect_error(post_json(*s, {{"input", "x"}, {"voice", voice}}), 400, "invalid_value",
                 "voice " + voice.dump());
  expect_error(post_json(*s, {{"input", "x"}, {"voice", "alloy"}}), 400, "voice_not_found",
               "unknown voice");
  expect_error(post_json(*s, {{"input", "x"}, {"reference_audio", "bm90IGF1ZGlv"}}), 400,
               "invalid_audio", "undecodable audio");
  expect_error(post_json(*s, {{"input", "x"}, {"reference_audio", "%%%%"}}), 400, "invalid_base64",
               "bad base64");
  {
    // A phone's voice memo (M4A) is named, with how to convert it.
    httplib::MultipartFormDataItems memo = {{"input", "x", "", ""},
                                            {"reference_audio",
                                             std::string("\0\0\0\x20"
                                                         "ftypM4A \0\0\0\0M4A mp42isom",
                                                         28) +
                                                 std::string(4000, '\x55'),
                                             "memo.m4a", "audio/mp4"}};
    const auto r = c.Post("/v1/audio/speech", memo);
    expect_error(r, 400, "invalid_audio", "an M4A upload");
    EXPECT_NE(r->body.find("it is MP4/M4A audio"), std::string::npos) << r->body;
  }
  Audio blip{std::vector<float>(2400, 0.1f), 24000, 1};
  write_audio(dir_.file("blip.wav"), blip);
  httplib::MultipartFormDataItems short_clip = {
      {"input", "x", "", ""},
      {"reference_audio", slurp(dir_.file("blip.wav")), "blip.wav", "audio/wav"}};
  expect_error(c.Post("/v1/audio/speech", short_clip), 400, "invalid_reference_audio",
               "clip too short");
  expect_error(
      post_json(*s, {{"input", "x"}, {"reference_audio", ref}, {"response_format", "m4a"}}), 400,
      "unsupported_response_format", "m4a");
  expect_error(post_json(*s, {{"input", "x"}, {"reference_audio", ref}, {"speed", 9}}), 400,
               "invalid_value", "speed out of range");
  expect_error(post_json(*s, {{"input", "x"}, {"reference_audio", ref}, {"seed", "abc"}}), 400,
               "invalid_value", "seed not a number");
  // A seed is never wrapped or clamped: a negative, fractional or too large one is refused.
  for (const json& seed : {json(-1), json(1.5), json(1e30)})
    expect_error(post_json(*s, {{"input", "x"}, {"reference_audio", ref}, {"seed", seed}}), 400,
                 "invalid_value", "seed " + seed.dump());
  for (const char* seed : {"-1", "18446744073709551616", "5x"}) {
    httplib::MultipartFormDataItems form = {{"input", "x", "", ""}, {"seed", seed, "", ""}};
    expect_error(c.Post("/v1/audio/speech", form), 400, "invalid_value",
                 std::string("multipart seed ") + seed);
  }
  // A misspelt field is named rather than dropped; a part sent twice could be
  // either, so it is refused; other unknown fields (another server's extras)
  // are ignored.
  const auto typo_field = post_json(*s, {{"input", "x"}, {"reference_audio", ref}, {"sped", 1.5}});
  expect_error(typo_field, 400, "unknown_field", "'sped'");
  EXPECT_NE(typo_field->body.find("unknown field 'sped' (did you mean 'speed'?)"),
            std::string::npos)
      << typo_field->body;
  {
    httplib::MultipartFormDataItems form = {
        {"input", "x", "", ""}, {"refrence_audio", slurp(dir_.file("blip.wav")), "b.wav", ""}};
    const auto r = c.Post("/v1/audio/speech", form);
    expect_error(r, 400, "unknown_field", "'refrence_audio'");
    EXPECT_NE(r->body.find("did you mean 'reference_audio'?"), std::string::npos) << r->body;
    form = {{"input", "one", "", ""}, {"input", "two", "", ""}};
    expect_error(c.Post("/v1/audio/speech", form), 400, "duplicate_field", "'input' twice");
    form = {{"name", "x", "", ""}, {"audio", "a", "a.wav", ""}, {"audio", "b", "b.wav", ""}};
    expect_error(c.Post("/v1/voices", form), 400, "duplicate_field", "a voice's 'audio' twice");
  }
  // JSON parsers keep one of two values for a repeated key without a word.
  const auto twice =
      c.Post("/v1/audio/speech", R"({"input": "Hello.", "voice": "alloy", "input": "Goodbye."})",
             "application/json");
  expect_error(twice, 400, "duplicate_field", "'input' twice in JSON");
  EXPECT_NE(twice->body.find("'input' appears twice in one JSON object"), std::string::npos)
      << twice->body;
  expect_error(post_json(*s, {{"input", "x"}, {"lang_code", "a"}, {"voice", "alloy"}}), 400,
               "voice_not_found", "an unknown field unlike any izwi reads, ignored");
  expect_error(c.Post("/v1/audio/speech", "{\"input\": ", "application/json"), 400, "invalid_json",
               "bad JSON");
  expect_error(c.Post("/v1/audio/speech", "input=x", "text/plain"), 400, "unsupported_content_type",
               "neither JSON nor multipart");
  httplib::MultipartFormDataItems big = {
      {"input", "x", "", ""},
      {"reference_audio", std::string(2 << 20, 'a'), "big.wav", "audio/wav"}};
  expect_error(c.Post("/v1/audio/speech", big), 413, "request_too_large", "upload over the limit");
  expect_error(c.Get("/v1/nothing"), 404, "route_not_found", "unknown route");
  // A route asked with a method it does not take: 405, with the methods it does.
  const auto get_speech = c.Get("/v1/audio/speech");
  expect_error(get_speech, 405, "method_not_allowed", "GET on the speech route");
  EXPECT_EQ(get_speech->get_header_value("Allow"), "POST");
  const auto put_voice = c.Put("/v1/voices/nobody", "{}", "application/json");
  expect_error(put_voice, 405, "method_not_allowed", "PUT on a voice");
  for (const char* m : {"GET", "PATCH", "DELETE"})
    EXPECT_NE(put_voice->get_header_value("Allow").find(m), std::string::npos) << m;
  expect_error(c.Post("/", "x", "text/plain"), 405, "method_not_allowed", "POST on the Web UI");
  // A request that is not HTTP: cpp-httplib's 400, in the same shape, saying what HTTP needs.
  {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(s->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const std::string request = "NOT HTTP\r\n\r\n";
    send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      got.append(buf, static_cast<size_t>(n));
    close(fd);
    EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
    EXPECT_NE(got.find("\"bad_http_request\""), std::string::npos) << got;
    EXPECT_NE(got.find("could not be read as HTTP/1.1"), std::string::npos) << got;
  }
  expect_error(c.Get("/v1/voices/nobody"), 404, "voice_not_found", "unknown voice id");
  expect_error(c.Get("/v1/voices/..%2F..%2Fetc"), 404, "route_not_found", "a path as a voice id");
  expect_error(c.Get("/v1/voices/.hidden"), 400, "invalid_voice_id", "a bad voice id");
  expect_error(c.Delete("/v1/voices/nobody"), 404, "voice_not_found", "delete unknown voice");
  // Other spellings of a path through a voice id: encoded, double-encoded, NUL,
  // look-alike dots. Each is refused, none reaches a file.
  for (const char* id : {"%2e%2e", "..", "%252e%252e%252fetc", "x%00y", "%EF%BC%8E%EF%BC%8E",
                         "%2Fetc%2Fpasswd", "a%5C..%5Cb"}) {
    for (const char* tail : {"", "/audio"}) {
      const auto r = c.Get(std::string("/v1/voices/") + id + tail);
      ASSERT_TRUE(r) << id;
      EXPECT_GE(r->status, 400) << id << tail;
      EXPECT_LT(r->status, 500) << id << tail;
    }
    const auto d = c.Delete(std::string("/v1/voices/") + id);
    ASSERT_TRUE(d) << id;
    EXPECT_GE(d->status, 400) << id;
    EXPECT_LT(d->status, 500) << id;
  }
}

TEST_F(ServerTest, ApiKeyCorsAndBindDefaults) {
  {
    auto s = serve();
    EXPECT_EQ(s->host(), "127.0.0.1");  // loopback unless --host says otherwise
    auto r = s->client().Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);                                   // no key configured: open
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));  // CORS off by default
    auto pre = s->client().Options("/v1/audio/speech");
    EXPECT_FALSE(pre && pre->has_header("Access-Control-Allow-Origin"));
  }
  auto s = serve({"--api-key", "s3cret", "--cors", "http://localhost:5173"});
  SCOPED_TRACE(s->log());
  auto c = s->client();
  expect_error(c.Get("/v1/models"), 401, "invalid_api_key", "no key");
  expect_error(c.Get("/v1/models", {{"Authorization", "Bearer wrong"}}), 401, "invalid_api_key",
               "wrong key");
  expect_error(c.Get("/v1/voices", {{"Authorization", "s3cret"}}), 401, "invalid_api_key",
               "not Bearer");
  auto ok = c.Get("/v1/models", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(c.Get("/healthz")->status, 200);  // probes need no key
  auto pre = c.Options("/v1/audio/speech", {{"Origin", "http://localhost:5173"},
                                            {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
            std::string::npos);
  // IZWI_API_KEY does the same as --api-key.
  auto envs = env();
  envs.push_back("IZWI_API_KEY=from-env");
  ServerProcess e(envs, {}, dir_.file("env.log"));
  ASSERT_TRUE(e.started()) << e.log();
  EXPECT_EQ(e.client().Get("/v1/models")->status, 401);
  EXPECT_EQ(e.client().Get("/v1/models", {{"Authorization", "Bearer from-env"}})->status, 200);
}

// A second server on a taken port stops with a reason, before loading a model,
// rather than sharing the port (cpp-httplib's default SO_REUSEPORT let both
// run, the kernel splitting the requests between them); a --host that is not
// this machine's says so too.
TEST_F(ServerTest, ATakenPortOrAForeignHostIsRefusedWithAReason) {
  auto s = serve();
  // `timeout`: with the fault, the second server would run until stopped.
  const auto taken =
      test::run_izwi_env(env_prefix() + "timeout 60 ", "serve --port " + std::to_string(s->port()));
  EXPECT_EQ(taken.status, 1) << taken.output;
  EXPECT_NE(taken.output.find("cannot listen on 127.0.0.1:" + std::to_string(s->port()) +
                              ": the port is taken"),
            std::string::npos)
      << taken.output;
  EXPECT_EQ(taken.output.find("loaded"), std::string::npos) << taken.output;
  EXPECT_EQ(s->client().Get("/healthz")->status, 200);  // the first one still serves

  const auto foreign = test::run_izwi_env(env_prefix() + "timeout 60 ",
                                          "serve --port 0 --host 192.0.2.1");  // TEST-NET-1
  EXPECT_EQ(foreign.status, 1) << foreign.output;
  EXPECT_NE(foreign.output.find("'192.0.2.1' is not an address of this machine"), std::string::npos)
      << foreign.output;
  const auto unresolved = test::run_izwi_env(env_prefix() + "timeout 60 ",
                                             "serve --port 0 --host no-such-host.invalid");
  EXPECT_EQ(unresolved.status, 1) << unresolved.output;
  EXPECT_NE(unresolved.output.find("does not resolve to an address"), std::string::npos)
      << unresolved.output;
}

// --host ::1: served on IPv6 loopback, its URL printed with the address in brackets.
TEST_F(ServerTest, AnIpv6HostIsServedAndPrintedInBrackets) {
  auto s = serve({"--host", "::1"}, false);
  if (!s->started() && s->log().find("cannot listen") != std::string::npos)
    GTEST_SKIP() << "no IPv6 loopback here: " << s->log();
  ASSERT_TRUE(s->started()) << s->log();
  EXPECT_EQ(s->host(), "[::1]") << s->log();
  httplib::Client c("::1", s->port());
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
}

// Every route in /openapi.json exists, and every route the server has is documented.
TEST_F(ServerTest, OpenApiDocumentMatchesTheRoutes) {
  auto s = serve();
  auto r = s->client().Get("/openapi.json");
  ASSERT_TRUE(r && r->status == 200);
  const json doc = json::parse(r->body);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  std::set<std::string> documented, served;
  for (const auto& [path, ops] : doc["paths"].items())
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      for (char& ch : m) ch = static_cast<char>(std::toupper(ch));
      documented.insert(m + " " + path);
      // Probe it: a documented route never answers "no such route".
      std::string p = std::regex_replace(path, std::regex(R"(\{id\})"), "nobody");
      httplib::Result res = m == "GET"      ? s->client().Get(p)
                            : m == "DELETE" ? s->client().Delete(p)
                            : m == "PATCH"  ? s->client().Patch(p, "{}", "application/json")
                                            : s->client().Post(p, "{}", "application/json");
      ASSERT_TRUE(res) << m << " " << p;
      EXPECT_EQ(res->body.find("route_not_found"), std::string::npos) << m << " " << p;
    }
  for (const auto& route : server::routes()) served.insert(route.method + " " + route.path);
  EXPECT_EQ(documented, served);
}

// The CLI and the running server share the voice store: each sees the other's writes.
TEST_F(ServerTest, VoicesApiAndTheCliShareOneStore) {
  voices_api_and_the_cli_share_one_store();
}

// Every /v1/voices route and `izwi voices` command the same with PostgreSQL.
TEST_F(ServerTest, VoicesApiAndTheCliShareOnePostgresStore) {
  use_postgres();
  voices_api_and_the_cli_share_one_store();
}

// Replicas: two servers on one PostgreSQL database. A voice created through
// one is used at once by the other, and speaks the same there.
// The job queue in one process (SQLite, izwi serve --worker): a job of three
// utterances is spoken in the background, each exactly as the speech API
// speaks it; the whole job's audio is the three in order; bad jobs are 4xx.
TEST_F(ServerTest, AJobIsSpokenInTheBackgroundLikeSpeechRequests) {
  ASSERT_EQ(izwi("voices add narrator --audio " + dir_.file("reference.wav") +
                 " --model qwen3-tts-0.6b-base --consent 'test fixture'")
                .status,
            0);
  auto s = serve({"--worker", "--max-audio-seconds", "0.8"});
  auto c = s->client();
  // (The last utterance names the voice as the OpenAI SDKs' custom-voice object.)
  const json job = {{"inputs",
                     {"Hello there.",
                      "How are you?",
                      {{"input", "Bye."}, {"seed", 9}, {"voice", {{"id", "narrator"}}}}}},
                    {"voice", "narrator"},
                    {"model", "qwen3-tts-0.6b-customvoice"},
                    {"seed", 5}};
  auto made = c.Post("/v1/jobs", job.dump(), "application/json");
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 202) << made->body;
  const std::string id = json::parse(made->body)["id"];
  EXPECT_EQ(made->get_header_value("Location"), "/v1/jobs/" + id);
  json st;
  for (int i = 0; i < 600; ++i) {
    auto r = c.Get("/v1/jobs/" + id);
    ASSERT_TRUE(r && r->status == 200);
    st = json::parse(r->body);
    if (st["status"] == "done" || st["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(st["status"], "done") << st.dump() << s->log();
  EXPECT_EQ(st["progress"]["done"], 3);
  // Utterance i: the speech API with the same voice, text and seed (seed + i, or its own).
  const std::vector<std::pair<std::string, int>> expected = {
      {"Hello there.", 5}, {"How are you?", 6}, {"Bye.", 9}};
  std::vector<float> joined;
  for (int i = 0; i < 3; ++i) {
    auto item = c.Get("/v1/jobs/" + id + "/audio?index=" + std::to_string(i));
    ASSERT_TRUE(item && item->status == 200) << (item ? item->body : "");
    auto speech = post_json(*s, {{"input", expected[i].first},
                                 {"voice", "narrator"},
                                 {"model", "qwen3-tts-0.6b-customvoice"},
                                 {"response_format", "wav"},
                                 {"seed", expected[i].second}});
    ASSERT_TRUE(speech && speech->status == 200);
    const auto got = read_audio_memory(item->body.data(), item->body.size()).samples;
    const auto want = read_audio_memory(speech->body.data(), speech->body.size()).samples;
    EXPECT_LE(max_abs_diff(got, want), 1e-4) << "utterance " << i;  // 16-bit WAVs of the same take
    EXPECT_EQ(got.size(), want.size()) << "utterance " << i;
    joined.insert(joined.end(), got.begin(), got.end());
  }
  auto whole = c.Get("/v1/jobs/" + id + "/audio");
  ASSERT_TRUE(whole && whole->status == 200);
  EXPECT_EQ(read_audio_memory(whole->body.data(), whole->body.size()).samples, joined);
  // Each utterance and the whole job say they are synthetic speech, in what
  // voice, as the speech API's files do (read back from disk, as a user would).
  const auto last = c.Get("/v1/jobs/" + id + "/audio?index=2");
  ASSERT_TRUE(last && last->status == 200);
  for (const auto& [name, body] :
       {std::pair{"utterance.wav", last->body}, std::pair{"job.wav", whole->body}}) {
    std::ofstream(dir_.file(name), std::ios::binary) << body;
    const auto mark = parse_provenance(read_audio_tags(dir_.file(name)));
    ASSERT_TRUE(mark.has_value()) << name;
    EXPECT_EQ(mark->voice, "narrator") << name;
    EXPECT_EQ(mark->model, "qwen3-tts-0.6b-customvoice") << name;
    EXPECT_EQ(parse_provenance(read_audio_tags_memory(body.data(), body.size()))->created,
              mark->created);
  }
  auto spoken = c.Get("/metrics");  // this replica's worker spoke the three
  ASSERT_TRUE(spoken);
  EXPECT_NE(spoken->body.find("izwi_job_utterance_seconds_count 3"), std::string::npos)
      << spoken->body;
  // A long text becomes its chunks; cancelling stops what has not started.
  auto long_job = c.Post("/v1/jobs",
                         json{{"input", "First sentence here. Second one.\n\nA new paragraph."},
                              {"voice", "narrator"},
                              {"model", "qwen3-tts-0.6b-customvoice"}}
                             .dump(),
                         "application/json");
  ASSERT_TRUE(long_job && long_job->status == 202) << long_job->body;
  const std::string long_id = json::parse(long_job->body)["id"];
  EXPECT_EQ(json::parse(long_job->body)["progress"]["total"], 2);  // two paragraphs
  auto cancelled = c.Delete("/v1/jobs/" + long_id);
  ASSERT_TRUE(cancelled && cancelled->status == 200);
  EXPECT_EQ(json::parse(cancelled->body)["status"], "cancelled");
  // Bad jobs.
  expect_error(c.Post("/v1/jobs", "not json", "application/json"), 400, "invalid_json", "not JSON");
  expect_error(c.Post("/v1/jobs", json{{"voice", "narrator"}}.dump(), "application/json"), 400,
               "missing_input", "no input");
  expect_error(c.Post("/v1/jobs", json{{"inputs", {"a", ""}}, {"voice", "narrator"}}.dump(),
                      "application/json"),
               400, "missing_input", "an empty utterance");
  expect_error(c.Post("/v1/jobs", json{{"inputs", {"a"}}}.dump(), "application/json"), 400,
               "missing_voice", "no voice");
  const auto typo =
      c.Post("/v1/jobs", json{{"input", "a"}, {"voices", "narrator"}}.dump(), "application/json");
  expect_error(typo, 400, "unknown_field", "'voices'");
  EXPECT_NE(typo->body.find("unknown field 'voices' (did you mean 'voice'?)"), std::string::npos)
      << typo->body;
  const auto nested = c.Post(
      "/v1/jobs",
      json{{"inputs", {"a", {{"input", "b"}, {"langauge", "english"}}}}, {"voice", "narrator"}}
          .dump(),
      "application/json");
  expect_error(nested, 400, "unknown_field", "'langauge' in an utterance");
  EXPECT_NE(nested->body.find("'langauge' in inputs[1] (did you mean 'language'?)"),
            std::string::npos)
      << nested->body;
  // A key sent twice in one utterance: either text could be the one meant.
  expect_error(
      c.Post("/v1/jobs", R"({"voice": "narrator", "inputs": [{"input": "a", "input": "b"}]})",
             "application/json"),
      400, "duplicate_field", "'input' twice in an utterance");
  expect_error(c.Get("/v1/jobs/job_000000000000000000000000"), 404, "job_not_found", "no such job");
  expect_error(c.Get("/v1/jobs/%2e%2e%2fetc%2fpasswd"), 404, "route_not_found",
               "a path, not an id");
  expect_error(c.Get("/v1/jobs/" + id + "/audio?index=7"), 400, "invalid_value", "index");
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("izwi_job_utterances_waiting 0"), std::string::npos);
}

// A save that runs out of room (here a file-size limit the server inherits, as
// a full disk would): 507 insufficient_storage, nothing half saved, smaller
// saves still work; the CLI says the same and exits 1.
TEST_F(ServerTest, OutOfStorageIs507AndSavesNothingHalfWay) {
  // 20 s of the reference: saved as 24 kHz float, 1.9 MB, past a 1 MB limit.
  std::vector<float> clip, one = test::load_f32("spk_in_wav");
  while (clip.size() < 20u * 24000) clip.insert(clip.end(), one.begin(), one.end());
  write_audio(dir_.file("long.wav"), Audio{clip, 24000, 1}, SampleFormat::kPcm16);
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG rather than a kill
  struct rlimit small = old;
  small.rlim_cur = 1 << 20;
  auto with_limit = [&](const auto& f) {
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    f();  // children started here inherit the limit
    setrlimit(RLIMIT_FSIZE, &old);
  };
  std::unique_ptr<ServerProcess> s;
  with_limit([&] { s = serve(); });
  auto form = [&](const std::string& name, const std::string& file) {
    return httplib::MultipartFormDataItems{{"name", name, "", ""},
                                           {"audio", slurp(dir_.file(file)), file, "audio/wav"},
                                           {"consent", "the speaker, 2026-12-04", "", ""}};
  };
  expect_error(s->client().Post("/v1/voices", form("long", "long.wav")), 507,
               "insufficient_storage", "a save past the limit");
  EXPECT_EQ(s->client().Get("/v1/voices/long")->status, 404);
  for (const auto& e : std::filesystem::directory_iterator(dir_.file("data/voices")))
    ADD_FAILURE() << "left behind: " << e.path();
  auto made = s->client().Post("/v1/voices", form("short", "reference.wav"));
  ASSERT_TRUE(made);
  EXPECT_EQ(made->status, 201) << made->body;
  test::RunResult cli;
  with_limit([&] { cli = izwi("voices add long --audio " + dir_.file("long.wav")); });
  EXPECT_EQ(cli.status, 1) << cli.output;
  EXPECT_NE(cli.output.find("File too large"), std::string::npos) << cli.output;
  std::signal(SIGXFSZ, old_handler);
}

TEST_F(ServerTest, TwoServersOnOneDatabaseShareVoices) {
  use_postgres();
  auto a = serve();
  auto b = serve();
  httplib::MultipartFormDataItems form = {
      {"name", "shared", "", ""},
      {"audio", slurp(dir_.file("reference.wav")), "reference.wav", "audio/wav"},
      {"consent", "the speaker, 2026-12-02", "", ""}};
  auto made = a->client().Post("/v1/voices", form);
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 201) << made->body;
  auto seen = b->client().Get("/v1/voices/shared");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->status, 200) << seen->body;
  const json body = {
      {"input", "Hi."}, {"voice", "shared"}, {"response_format", "wav"}, {"seed", 3}};
  auto on_a = post_json(*a, body);
  auto on_b = post_json(*b, body);
  ASSERT_TRUE(on_a && on_b);
  ASSERT_EQ(on_a->status, 200) << on_a->body;
  ASSERT_EQ(on_b->status, 200) << on_b->body << b->log();
  EXPECT_EQ(read_audio_memory(on_a->body.data(), on_a->body.size()).samples,
            read_audio_memory(on_b->body.data(), on_b->body.size()).samples);
  auto del = b->client().Delete("/v1/voices/shared");
  ASSERT_TRUE(del && del->status == 200);
  expect_error(a->client().Get("/v1/voices/shared"), 404, "voice_not_found", "deleted on b");
}

void ServerTest::voices_api_and_the_cli_share_one_store() {
  auto s = serve();
  auto c = s->client();
  // Made by the CLI, seen by the server.
  ASSERT_EQ(izwi("voices add from-cli --audio " + dir_.file("reference.wav") +
                 " --model qwen3-tts-0.6b-base")
                .status,
            0);
  auto list = c.Get("/v1/voices");
  ASSERT_TRUE(list && list->status == 200);
  EXPECT_NE(list->body.find("\"from-cli\""), std::string::npos);
  // Made over HTTP (multipart, with transcript and consent), seen by the CLI.
  httplib::MultipartFormDataItems form = {
      {"name", "from-api", "", ""},
      {"audio", slurp(dir_.file("reference.wav")), "reference.wav", "audio/wav"},
      {"transcript", "Some words spoken here.", "", ""},
      {"consent", "the speaker, 2026-11-30", "", ""}};
  auto made = c.Post("/v1/voices", form);
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 201) << made->body;
  const json v = json::parse(made->body);
  EXPECT_EQ(v["id"], "from-api");
  EXPECT_EQ(v["mode"], "icl");
  EXPECT_TRUE(v["reference"].is_object());
  auto cli_list = izwi("voices list");
  EXPECT_NE(cli_list.output.find("from-api"), std::string::npos) << cli_list.output;
  expect_error(c.Post("/v1/voices", form), 409, "voice_exists", "same name again");
  // JSON with base64 audio.
  auto j = c.Post("/v1/voices", json{{"name", "b64"}, {"audio", reference_b64()}}.dump(),
                  "application/json");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, 201) << j->body;
  // A name in another script: made over HTTP, found by its percent-encoded URL,
  // spoken with, exported under its own name (RFC 5987), listed by the CLI.
  const std::string xiaoming = "\xe5\xb0\x8f\xe6\x98\x8e";  // 小明
  auto cjk = c.Post(
      "/v1/voices",
      json{{"name", xiaoming}, {"audio", reference_b64()}, {"consent", "the speaker"}}.dump(),
      "application/json");
  ASSERT_TRUE(cjk);
  ASSERT_EQ(cjk->status, 201) << cjk->body;
  EXPECT_EQ(json::parse(cjk->body)["id"], xiaoming);
  auto by_url = c.Get("/v1/voices/%E5%B0%8F%E6%98%8E");
  ASSERT_TRUE(by_url);
  EXPECT_EQ(by_url->status, 200) << by_url->body;
  auto cjk_speech =
      post_json(*s, {{"input", "Hi."}, {"voice", xiaoming}, {"response_format", "wav"}});
  ASSERT_TRUE(cjk_speech);
  EXPECT_EQ(cjk_speech->status, 200) << cjk_speech->body;
  // (curl: cpp-httplib's client decodes percent escapes in header values.)
  const auto headers =
      shell("curl -s -D - -o /dev/null " + s->url() + "/v1/voices/%E5%B0%8F%E6%98%8E/export");
  EXPECT_NE(headers.output.find("Content-Disposition: attachment; "
                                "filename=\"voice.izwi-voice.json\"; "
                                "filename*=UTF-8''%E5%B0%8F%E6%98%8E.izwi-voice.json\r\n"),
            std::string::npos)
      << headers.output;
  EXPECT_NE(izwi("voices list").output.find(xiaoming), std::string::npos);
  expect_error(c.Post("/v1/voices", json{{"name", "two words"}, {"audio", reference_b64()}}.dump(),
                      "application/json"),
               400, "invalid_value", "a space in a name");
  // One voice, its audio, export, import under a new name.
  auto one = c.Get("/v1/voices/from-api");
  ASSERT_TRUE(one && one->status == 200);
  auto audio = c.Get("/v1/voices/from-api/audio");
  ASSERT_TRUE(audio && audio->status == 200);
  EXPECT_EQ(read_audio_memory(audio->body.data(), audio->body.size()).sample_rate, 24000);
  auto exported = c.Get("/v1/voices/from-api/export");
  ASSERT_TRUE(exported && exported->status == 200);
  auto imported = c.Post("/v1/voices/import?name=copy", exported->body, "application/json");
  ASSERT_TRUE(imported);
  EXPECT_EQ(imported->status, 201) << imported->body;
  const auto not_a_voice =
      c.Post("/v1/voices/import", "{\"not\": \"a voice\"}", "application/json");
  expect_error(not_a_voice, 400, "invalid_voice_file", "not a voice file");
  // Named as what was sent, not as a file on the server.
  EXPECT_NE(not_a_voice->body.find("the uploaded file is not an izwi voice file"),
            std::string::npos)
      << not_a_voice->body;
  // Speech with the imported voice, then deleted by the API and gone for the CLI.
  const json with_copy = {
      {"input", "Hi."}, {"voice", "copy"}, {"response_format", "wav"}, {"seed", 5}};
  auto speech = post_json(*s, with_copy);
  ASSERT_TRUE(speech);
  EXPECT_EQ(speech->status, 200) << speech->body;
  // Replacing the voice (the server keeps loaded voices) changes what it sounds like.
  Audio reversed = read_audio(dir_.file("reference.wav"));
  std::reverse(reversed.samples.begin(), reversed.samples.end());
  write_audio(dir_.file("reversed.wav"), reversed);
  ASSERT_EQ(izwi("voices add copy --force --audio " + dir_.file("reversed.wav") +
                 " --model qwen3-tts-0.6b-base --consent 'test fixture'")
                .status,
            0);
  auto replaced = post_json(*s, with_copy);
  ASSERT_TRUE(replaced && replaced->status == 200);
  // (Compared as samples: each file's synthetic-speech mark holds its own time.)
  const auto samples = [](const httplib::Result& r) {
    return read_audio_memory(r->body.data(), r->body.size()).samples;
  };
  EXPECT_NE(samples(replaced), samples(speech));
  EXPECT_EQ(samples(post_json(*s, with_copy)), samples(replaced));  // and stays the same after
  // Rename over HTTP (the CLI sees the new name), refusing a taken name.
  auto renamed =
      c.Patch("/v1/voices/from-api", json{{"name", "renamed"}}.dump(), "application/json");
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->status, 200) << renamed->body;
  EXPECT_NE(izwi("voices list").output.find("renamed"), std::string::npos);
  const auto taken =
      c.Patch("/v1/voices/renamed", json{{"name", "copy"}, {"consent", "changed"}}.dump(),
              "application/json");
  expect_error(taken, 409, "voice_exists", "rename onto a taken name");
  EXPECT_NE(taken->body.find("already exists; pick another name, or delete that voice first"),
            std::string::npos)
      << taken->body;
  EXPECT_NE(json::parse(c.Get("/v1/voices/renamed")->body)["consent"], "changed")
      << "a refused rename changes nothing";
  auto del = c.Delete("/v1/voices/from-cli");
  ASSERT_TRUE(del && del->status == 200);
  EXPECT_EQ(izwi("voices list").output.find("from-cli"), std::string::npos);
  // A typo in a voice name is answered with the closest saved voice.
  const auto typo = c.Get("/v1/voices/renamd");
  expect_error(typo, 404, "voice_not_found", "a misspelled voice");
  EXPECT_NE(typo->body.find("did you mean 'renamed'?"), std::string::npos) << typo->body;
  const auto typo_speech =
      post_json(*s, {{"input", "Hi."}, {"voice", "Renamed2"}, {"response_format", "wav"}});
  expect_error(typo_speech, 400, "voice_not_found", "speech with a misspelled voice");
  EXPECT_NE(typo_speech->body.find("unknown voice 'Renamed2' (did you mean 'renamed'?)"),
            std::string::npos)
      << typo_speech->body;
  // Removed by the CLI, gone for the server.
  ASSERT_EQ(izwi("voices rm b64").status, 0);
  expect_error(c.Get("/v1/voices/b64"), 404, "voice_not_found", "removed by the CLI");
  EXPECT_EQ(izwi("voices verify").status, 0);
}

// A saved voice is a real person's: the server speaks with it only once a
// consent note is recorded, unless its operator allows otherwise. An uploaded
// clip (the product page's form) is the caller's own responsibility.
// The codec decoder's states kept after saved voices' references (files under
// each installed model's speech_tokenizer/.izwi-cache/codec-prefix).
std::vector<fs::path> kept_reference_states(const fs::path& models) {
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(models))
    if (e.is_regular_file() && e.path().parent_path().filename() == "codec-prefix")
      found.push_back(e.path());
  return found;
}

// A voice saved over HTTP is prepared as `izwi voices add` prepares it: the
// decoder's state after its reference is computed and kept when it is saved,
// so its first speech request does not decode the reference first.
TEST_F(ServerTest, SavingAVoiceKeepsItsReferenceStateForTheFirstRequest) {
  const fs::path models = store_->file("models");
  for (const auto& f : kept_reference_states(models)) fs::remove(f);
  auto s = serve();
  const auto save = [&](const std::string& name, const std::string& transcript) {
    httplib::MultipartFormDataItems form = {
        {"name", name, "", ""},
        {"audio", slurp(dir_.file("reference.wav")), "reference.wav", "audio/wav"},
        {"consent", "the speaker, 2026-12-03", "", ""}};
    if (!transcript.empty()) form.push_back({"transcript", transcript, "", ""});
    auto r = s->client().Post("/v1/voices", form);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body << s->log();
  };
  save("plain", "");  // x-vector only: nothing to prepare
  EXPECT_TRUE(kept_reference_states(models).empty());
  save("kept", "Some words spoken here.");
  const auto kept = kept_reference_states(models);
  ASSERT_EQ(kept.size(), 1u) << s->log();

  // The kept state gives the audio that decoding the reference gives.
  const json body = {{"input", "Hi."}, {"voice", "kept"}, {"response_format", "pcm"}, {"seed", 5}};
  auto from_state = post_json(*s, body);
  ASSERT_TRUE(from_state);
  ASSERT_EQ(from_state->status, 200) << from_state->body;
  auto again = serve();  // a new process: nothing in memory
  fs::remove(kept[0]);
  auto decoded = post_json(*again, body);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->status, 200) << decoded->body;
  EXPECT_FALSE(from_state->body.empty());
  EXPECT_EQ(from_state->body, decoded->body);
}

// An imported voice is prepared the same way, with the server's default model.
TEST_F(ServerTest, ImportingAVoiceKeepsItsReferenceState) {
  const fs::path models = store_->file("models");
  auto s = serve();
  auto c = s->client();
  const auto created = c.Post(
      "/v1/voices", httplib::MultipartFormDataItems{
                        {"name", "exported", "", ""},
                        {"audio", slurp(dir_.file("reference.wav")), "reference.wav", "audio/wav"},
                        {"transcript", "Some words spoken here.", "", ""},
                        {"consent", "the speaker, 2026-12-04", "", ""}});
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : s->log());
  const auto exported = c.Get("/v1/voices/exported/export");
  ASSERT_TRUE(exported && exported->status == 200);
  for (const auto& f : kept_reference_states(models)) fs::remove(f);
  const auto imported =
      c.Post("/v1/voices/import?name=imported", exported->body, "application/json");
  ASSERT_TRUE(imported && imported->status == 201) << (imported ? imported->body : s->log());
  EXPECT_EQ(kept_reference_states(models).size(), 1u) << s->log();
}

TEST_F(ServerTest, SavedVoicesNeedAConsentNote) {
  ASSERT_EQ(izwi("voices add unconsented --audio " + dir_.file("reference.wav") +
                 " --model qwen3-tts-0.6b-base")
                .status,
            0);
  const json body = {{"input", "Hi."}, {"voice", "unconsented"}, {"seed", 2}};
  {
    auto s = serve();
    auto refused = post_json(*s, body);
    expect_error(refused, 403, "consent_required", "no consent note");
    EXPECT_NE(refused->body.find("--allow-unconsented-voices"), std::string::npos);
    EXPECT_NE(refused->body.find("izwi voices consent unconsented"), std::string::npos);
    // Recording it over the API lifts the refusal.
    auto c = s->client();
    auto patched = c.Patch("/v1/voices/unconsented",
                           json{{"consent", "the speaker, 2026-12-01"}}.dump(), "application/json");
    ASSERT_TRUE(patched && patched->status == 200) << (patched ? patched->body : "no reply");
    EXPECT_EQ(json::parse(patched->body)["consent"], "the speaker, 2026-12-01");
    auto spoken = post_json(*s, body);
    ASSERT_TRUE(spoken);
    EXPECT_EQ(spoken->status, 200) << spoken->body;
    // Cleared again by the CLI: refused again.
    ASSERT_EQ(izwi("voices consent unconsented ''").status, 0);
    expect_error(post_json(*s, body), 403, "consent_required", "consent cleared");
  }
  {
    auto s = serve({"--allow-unconsented-voices"});
    auto spoken = post_json(*s, body);
    ASSERT_TRUE(spoken);
    EXPECT_EQ(spoken->status, 200) << spoken->body;
  }
  // The CLI speaks with it but warns, naming the fix.
  const auto cli = izwi("tts Hi. --voice unconsented --max-seconds 0.5 -o " + dir_.file("w.wav"));
  EXPECT_EQ(cli.status, 0) << cli.output;
  EXPECT_NE(cli.output.find("has no consent note"), std::string::npos) << cli.output;
  EXPECT_EQ(izwi("voices consent nobody 'x'").status, 1);  // no such voice
}

TEST_F(ServerTest, ModelsListInstalledModelsWithPresetsAndCloning) {
  auto s = serve();
  auto r = s->client().Get("/v1/models");
  ASSERT_TRUE(r && r->status == 200);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "list");
  std::map<std::string, json> by_id;
  for (const auto& m : j["data"]) by_id[m["id"]] = m;
  ASSERT_TRUE(by_id.count("qwen3-tts-0.6b-base")) << r->body;
  ASSERT_TRUE(by_id.count("qwen3-tts-0.6b-customvoice")) << r->body;
  EXPECT_TRUE(by_id["qwen3-tts-0.6b-base"]["can_clone"].get<bool>());
  EXPECT_TRUE(by_id["qwen3-tts-0.6b-base"]["default"].get<bool>());
  EXPECT_TRUE(by_id["qwen3-tts-0.6b-customvoice"]["can_clone"].get<bool>());  // via its Base
  EXPECT_TRUE(by_id["qwen3-tts-0.6b-customvoice"]["has_presets"].get<bool>());
  EXPECT_FALSE(by_id["qwen3-tts-0.6b-customvoice"]["speakers"].empty());
  // A preset speaker of the CustomVoice model through the OpenAI `voice` field.
  const std::string speaker = by_id["qwen3-tts-0.6b-customvoice"]["speakers"][0];
  auto sp = post_json(*s, {{"model", "qwen3-tts-0.6b-customvoice"},
                           {"input", "Hi."},
                           {"voice", speaker},
                           {"response_format", "wav"}});
  ASSERT_TRUE(sp);
  EXPECT_EQ(sp->status, 200) << sp->body;
}

// With --max-concurrent 3, requests that run at the same time have their frames
// made together (one weight read for all): each still gets exactly the audio
// it gets alone, streamed or whole, and /metrics shows the batches and the
// streamed ones' audio blocks decoded on the codec thread.
TEST_F(ServerTest, ConcurrentRequestsAreBatchedAndEachGetsItsOwnAudio) {
  auto s = serve({"--max-concurrent", "3", "--threads", "2", "--max-audio-seconds", "5"});
  std::vector<json> bodies;
  for (int i = 0; i < 3; ++i) {
    json b = {{"model", "qwen3-tts-0.6b-base"},
              {"input", "Request number " + std::to_string(i) + " at the same time."},
              {"reference_audio", reference_b64()},
              {"response_format", "pcm"},
              {"min_seconds", 4},  // long enough to overlap however the requests start
              {"seed", 40 + i}};
    if (i != 2) b["stream_format"] = "audio";  // two streamed: their blocks use the codec thread
    bodies.push_back(b);
  }
  std::string alone[3], together[3];
  for (int i = 0; i < 3; ++i) {
    auto r = post_json(*s, bodies[i]);
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    alone[i] = r->body;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&, i] {
      auto r = post_json(*s, bodies[i]);
      if (r && r->status == 200) together[i] = r->body;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(together[i].empty()) << i;
    EXPECT_EQ(together[i], alone[i]) << i;
  }
  const std::string m = s->client().Get("/metrics")->body;
  std::smatch largest;
  ASSERT_TRUE(std::regex_search(
      m, largest, std::regex(R"(izwi_batch_largest\{model="qwen3-tts-0.6b-base"\} ([0-9]+))")))
      << m;
  EXPECT_GE(std::stoi(largest[1]), 2) << m;
  std::smatch blocks;
  ASSERT_TRUE(std::regex_search(
      m, blocks,
      std::regex(R"(izwi_codec_thread_blocks_total\{model="qwen3-tts-0.6b-base"\} ([0-9]+))")))
      << m;
  EXPECT_GE(std::stoi(blocks[1]), 1) << m;
}

TEST_F(ServerTest, HealthReadinessAndMetrics) {
  auto s = serve();
  auto c = s->client();
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  // The Web UI is in the binary.
  auto ui = c.Get("/");
  ASSERT_TRUE(ui && ui->status == 200);
  EXPECT_NE(ui->body.find("<nav"), std::string::npos);
  EXPECT_EQ(c.Get("/assets/main.js")->get_header_value("Content-Type"),
            "text/javascript; charset=utf-8");
  ASSERT_EQ(post_json(*s, {{"input", "Count me."}, {"reference_audio", reference_b64()}})->status,
            200);
  const std::string m = c.Get("/metrics")->body;
  for (const char* want :
       {"izwi_http_requests_total{route=\"/v1/audio/speech\",method=\"POST\",status=\"200\"} 1",
        "izwi_http_request_duration_seconds_bucket{route=\"/v1/audio/speech\",le=\"+Inf\"} 1",
        "izwi_real_time_factor_count 1", "izwi_time_to_first_audio_seconds_count 0",
        "izwi_queue_depth 0", "izwi_model_loaded{model=\"qwen3-tts-0.6b-base\"} 1"})
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  EXPECT_EQ(m.find("izwi_audio_seconds_total 0\n"), std::string::npos);
  // One log line per request, with route, status and the audio's numbers.
  EXPECT_TRUE(std::regex_search(
      s->log(), std::regex(R"(POST /v1/audio/speech 200 [0-9.]+s audio=[0-9.]+s rtf=[0-9.]+)")))
      << s->log();
}

TEST_F(ServerTest, JsonLogsOneObjectPerRequest) {
  auto s = serve({"--log-format", "json"});
  s->client().Get("/healthz");
  // Damaged MP3 uploads (an ID3 tag, or an MPEG frame header, then noise) are
  // refused without the MP3 decoder's own printouts in the log.
  std::mt19937 rng(7);
  std::string noise;
  for (int i = 0; i < 20000; ++i) noise.push_back(static_cast<char>(rng()));
  for (const std::string& head : {std::string("ID3\x03\0\0\0\0\0\x10", 10) + std::string(16, ' '),
                                  std::string("\xff\xfb\x90\x64", 4)}) {
    const httplib::MultipartFormDataItems items = {
        {"input", "Damaged.", "", ""},
        {"reference_audio", head + noise, "damaged.mp3", "audio/mpeg"}};
    expect_error(s->client().Post("/v1/audio/speech", items), 400, "invalid_audio", "damaged MP3");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  bool found = false;
  std::istringstream lines(s->log());
  for (std::string l; std::getline(lines, l);) {
    const json j = json::parse(l, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << l;
    found |= j.value("route", "") == "/healthz" && j.value("status", 0) == 200;
  }
  EXPECT_TRUE(found) << s->log();
}

// SIGTERM: stop accepting, let a running request finish, exit 0.
TEST_F(ServerTest, SigtermLetsTheRunningRequestFinishAndExitsZero) {
  auto s = serve({"--max-audio-seconds", "600", "--threads", "1", "--grace-seconds", "60"});
  auto running = std::async(std::launch::async, [&] {
    auto r = post_json(*s, {{"input", "Finish me."},
                            {"reference_audio", reference_b64()},
                            {"response_format", "pcm"},
                            {"min_seconds", 20},
                            {"max_seconds", 20}});
    return r ? r->status : -1;
  });
  for (int i = 0; i < 500 && s->client().Get("/metrics")->body.find("izwi_generations_running 1") ==
                                 std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const int port = s->port();
  auto stopped = std::async(std::launch::async, [&] { return s->stop(SIGTERM); });
  EXPECT_EQ(running.get(), 200);
  EXPECT_EQ(stopped.get(), 0) << s->log();
  httplib::Client after("127.0.0.1", port);
  EXPECT_FALSE(after.Get("/healthz"));  // no longer accepting
  EXPECT_NE(s->log().find("SIGTERM"), std::string::npos);
}

// --memory-budget-mb: a request whose estimate exceeds the budget is refused
// with 413 before any work; ones that fit are admitted with their estimate,
// which the JSON log reports.
TEST_F(ServerTest, TheMemoryBudgetRefusesWhatCannotFitAndAdmitsTheRest) {
  {
    auto s = serve({"--memory-budget-mb", "1"});
    const auto r = post_json(*s, {{"input", "Too big for the budget."},
                                  {"reference_audio", reference_b64()},
                                  {"max_seconds", 5}});
    expect_error(r, 413, "request_too_large", "a request over the memory budget");
    EXPECT_NE(r->body.find("--memory-budget-mb"), std::string::npos) << r->body;
  }
  auto s = serve({"--memory-budget-mb", "64", "--max-concurrent", "2", "--log-format", "json"});
  auto one = [&](int seed) {
    return std::async(std::launch::async, [&, seed] {
      const auto r = post_json(*s, {{"input", "Within the budget."},
                                    {"reference_audio", reference_b64()},
                                    {"max_seconds", 2},
                                    {"seed", seed}});
      return r ? r->status : -1;
    });
  };
  auto a = one(1), b = one(2);
  EXPECT_EQ(a.get(), 200);
  EXPECT_EQ(b.get(), 200);
  int logged = 0;
  std::istringstream lines(s->log());
  for (std::string l; std::getline(lines, l);) {
    const json j = json::parse(l, nullptr, false);
    if (j.is_discarded() || j.value("route", "") != "/v1/audio/speech") continue;
    ++logged;
    EXPECT_GT(j.value("memory_estimate_bytes", size_t{0}), 0u) << l;
    EXPECT_LE(j.value("memory_estimate_bytes", size_t{0}), size_t{64} << 20) << l;
  }
  EXPECT_EQ(logged, 2) << s->log();
  // -1: no budget, nothing estimated.
  auto unlimited = serve({"--memory-budget-mb", "-1"});
  const auto r = post_json(
      *unlimited,
      {{"input", "No budget."}, {"reference_audio", reference_b64()}, {"max_seconds", 1}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

// --max-header-kb: a request whose line and headers are too large gets 431
// before its body is read, with Connection: close, and its unread body is
// never answered as a request of its own. Within the limit, the same request
// is served.
TEST_F(ServerTest, OversizedHeadersAre431AndTheConnectionCloses) {
  auto s = serve({"--max-header-kb", "16"});
  auto exchange = [&](const std::string& request) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(s->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string got;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      timeval tv{10, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
        got.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return got;  // all the server sent before it closed (or 10 s passed)
  };
  const std::string body = json{{"input", "x"}, {"voice", "nobody"}}.dump();
  auto request = [&](int headers, bool close) {
    std::string r = "POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (close) r += "Connection: close\r\n";
    for (int i = 0; i < headers; ++i)
      r += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
    return r + "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  // 40 KiB of headers, on a keep-alive connection: the server says it closes.
  const std::string big = exchange(request(40, false));
  EXPECT_EQ(big.rfind("HTTP/1.1 431 ", 0), 0u) << big;
  EXPECT_NE(big.find("Connection: close\r\n"), std::string::npos) << big;
  EXPECT_NE(big.find("request_header_fields_too_large"), std::string::npos) << big;
  EXPECT_NE(big.find("--max-header-kb"), std::string::npos) << big;
  EXPECT_EQ(big.find("HTTP/1.1", 5), std::string::npos) << "a second response: " << big;
  // 10 KiB of headers: within the limit, answered (400: no such voice).
  const std::string fits = exchange(request(10, true));
  EXPECT_EQ(fits.rfind("HTTP/1.1 400 ", 0), 0u) << fits.substr(0, 200);
}

// --max-request-seconds: a generation past its time stops; a whole response
// is a 504, a stream ends with an error event carrying the same code.
TEST_F(ServerTest, ARequestPastItsTimeLimitStopsWith504) {
  auto s = serve({"--max-request-seconds", "0.5", "--threads", "1", "--max-audio-seconds", "0"});
  // 20 minutes of audio: the tiny test model speaks 120 s in under half a
  // second on one Zen 5 core, so a shorter request could finish in time.
  const json body = {{"input", "This takes longer than half a second."},
                     {"reference_audio", reference_b64()},
                     {"min_seconds", 1200},
                     {"max_seconds", 1200}};
  const auto t0 = std::chrono::steady_clock::now();
  const auto whole = post_json(*s, body);
  expect_error(whole, 504, "request_timeout", "a whole response past its time");
  EXPECT_NE(whole->body.find("--max-request-seconds"), std::string::npos) << whole->body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  json streamed = body;
  streamed["stream_format"] = "sse";
  const auto sse = post_json(*s, streamed);
  ASSERT_TRUE(sse);
  EXPECT_EQ(sse->status, 200);  // the headers went out before the time ran out
  EXPECT_NE(sse->body.find("\"request_timeout\""), std::string::npos) << sse->body.substr(0, 300);
  EXPECT_EQ(sse->body.find("speech.audio.done"), std::string::npos);
  // A short request within the limit is served as usual.
  const auto quick = post_json(
      *s, {{"input", "Quick."}, {"reference_audio", reference_b64()}, {"max_seconds", 0.2}});
  ASSERT_TRUE(quick);
  EXPECT_EQ(quick->status, 200) << quick->body;
}

// A stream in flight at SIGTERM is not cut: it runs to its done event and a
// well-formed end of the chunked body, and only then does the server exit.
TEST_F(ServerTest, SigtermLetsAStreamInFlightFinishWithItsDoneEvent) {
  auto s = serve({"--max-audio-seconds", "600", "--threads", "1", "--grace-seconds", "60"});
  auto running = std::async(std::launch::async, [&] {
    return post_json(*s, {{"input", "Finish my stream."},
                          {"reference_audio", reference_b64()},
                          {"stream_format", "sse"},
                          {"min_seconds", 8},
                          {"max_seconds", 8}});
  });
  for (int i = 0; i < 500 && s->client().Get("/metrics")->body.find("izwi_generations_running 1") ==
                                 std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(s->stop(SIGTERM), 0) << s->log();
  const auto r = running.get();
  ASSERT_TRUE(r) << "the stream was cut: " << s->log();  // httplib fails on a cut chunked body
  EXPECT_EQ(r->status, 200);
  const size_t done = r->body.find("\"speech.audio.done\"");
  ASSERT_NE(done, std::string::npos) << r->body.substr(0, 300);
  EXPECT_NE(r->body.find("speech.audio.delta"), std::string::npos);
  EXPECT_EQ(r->body.find("\"error\""), std::string::npos);
}

TEST_F(ServerTest, AGracePeriodThatRunsOutCancelsTheGeneration) {
  auto s = serve({"--max-audio-seconds", "600", "--threads", "1", "--grace-seconds", "0.2"});
  auto running = std::async(std::launch::async, [&] {
    auto r = post_json(*s, {{"input", "Too long."},
                            {"reference_audio", reference_b64()},
                            {"response_format", "pcm"},
                            {"min_seconds", 500},
                            {"max_seconds", 500}});
    return r ? r->status : -1;
  });
  for (int i = 0; i < 500 && s->client().Get("/metrics")->body.find("izwi_generations_running 1") ==
                                 std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(s->stop(SIGTERM, 30), 0) << s->log();
  EXPECT_EQ(running.get(), 503);
  EXPECT_NE(s->log().find("cancelling 1 generation"), std::string::npos) << s->log();
}

// --allow-pull: a model a request names is downloaded on first use (here from
// a stand-in hub), then served; without the flag it is a 404 naming `izwi pull`.
TEST_F(ServerTest, AllowPullDownloadsAModelOnFirstUse) {
  test::FakeHub hub{{{"test/tiny", test::golden_model()}}};
  auto envs = env();
  envs.push_back("HF_ENDPOINT=" + hub.endpoint());
  envs.push_back("IZWI_OFFLINE=");
  ServerProcess s(envs, {"--allow-pull", "--max-audio-seconds", "1"}, dir_.file("pull.log"));
  ASSERT_TRUE(s.started()) << s.log();
  const json body = {
      {"model", "test/tiny"}, {"input", "Pulled."}, {"reference_audio", reference_b64()}};
  auto r = s.client().Post("/v1/audio/speech", body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body << s.log();
  EXPECT_TRUE(fs::exists(store_->file("models/hub--test-tiny")));
  fs::remove_all(store_->file("models/hub--test-tiny"));
}

// The reference check the Web UI shows before cloning: the same report and
// verdict as cloning itself.
TEST_F(ServerTest, ReferenceReportSaysWhetherAClipIsUsable) {
  auto s = serve();
  auto c = s->client();
  httplib::MultipartFormDataItems good = {
      {"audio", slurp(dir_.file("reference.wav")), "reference.wav", "audio/wav"}};
  auto r = c.Post("/v1/audio/reference-report", good);
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  const json j = json::parse(r->body);
  EXPECT_TRUE(j["usable"].get<bool>()) << r->body;
  const ReferenceReport direct = inspect_reference(read_audio(dir_.file("reference.wav")));
  EXPECT_NEAR(j["duration_s"].get<double>(), direct.duration_s, 1e-6);
  EXPECT_EQ(j["issues"].size(), direct.issues.size());
  Audio blip{std::vector<float>(2400, 0.1f), 24000, 1};
  auto bad = c.Post("/v1/audio/reference-report",
                    json{{"audio", base64_encode(encode_audio(blip, AudioFormat::kWav))}}.dump(),
                    "application/json");
  ASSERT_TRUE(bad && bad->status == 200);
  const json b = json::parse(bad->body);
  EXPECT_FALSE(b["usable"].get<bool>());
  EXPECT_FALSE(b["error"].get<std::string>().empty());
  expect_error(
      c.Post("/v1/audio/reference-report", "{\"audio\": \"bm90IGF1ZGlv\"}", "application/json"),
      400, "invalid_audio", "not audio");
}

// The model catalogue with install state, and a pull with progress events.
TEST_F(ServerTest, ModelsCanBeListedWithTheCatalogueAndPulledWithProgress) {
  test::FakeHub hub{{{"test/pulled", test::golden_model()}}};
  auto envs = env();
  envs.push_back("HF_ENDPOINT=" + hub.endpoint());
  envs.push_back("IZWI_OFFLINE=");
  ServerProcess s(envs, {}, dir_.file("catalogue.log"));
  ASSERT_TRUE(s.started()) << s.log();
  auto all = s.client().Get("/v1/models?all=true");
  ASSERT_TRUE(all && all->status == 200);
  bool saw_available = false;
  const json catalogue = json::parse(all->body);
  for (const auto& m : catalogue["data"])
    saw_available |= m["id"] == "qwen3-tts-1.7b-base" && !m["installed"].get<bool>() &&
                     !m["approx_size"].get<std::string>().empty();
  EXPECT_TRUE(saw_available) << all->body;
  auto pull =
      s.client().Post("/v1/models/pull", json{{"model", "test/pulled"}}.dump(), "application/json");
  ASSERT_TRUE(pull && pull->status == 200);
  EXPECT_EQ(pull->get_header_value("Content-Type"), "text/event-stream");
  int progress = 0;
  bool done = false;
  std::istringstream events(pull->body);
  for (std::string line; std::getline(events, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    const json ev = json::parse(line.substr(6));
    progress += ev["type"] == "progress";
    done |= ev["type"] == "done";
  }
  EXPECT_GT(progress, 1) << pull->body;
  EXPECT_TRUE(done) << pull->body;
  auto installed = s.client().Get("/v1/models");
  EXPECT_NE(installed->body.find("\"test/pulled\""), std::string::npos) << installed->body;
  fs::remove_all(store_->file("models/hub--test-pulled"));
  expect_error(
      s.client().Post("/v1/models/pull", json{{"model", "../etc"}}.dump(), "application/json"), 400,
      "invalid_value", "a path as a model");
}

TEST_F(ServerTest, AMissingDefaultModelStopsTheServerWithAPullHint) {
  ServerProcess s(env(), {"--model", "qwen3-tts-1.7b-base"}, dir_.file("missing.log"), false);
  EXPECT_FALSE(s.started());
  EXPECT_EQ(s.stop(SIGTERM, 10), 1);
  EXPECT_NE(s.log().find("izwi pull qwen3-tts-1.7b-base"), std::string::npos) << s.log();
}

}  // namespace
}  // namespace izwi

namespace izwi {
namespace {

// kill -9 at random moments while voices are created, replaced and deleted
// through the API: after each restart every acknowledged voice is there with
// exactly its audio, a deleted one is gone, an operation the kill cut short
// left the old or the new state (never a half), and the store checks out.
TEST_F(ServerTest, KillNineNeverLosesAnAcknowledgedVoice) {
  // Two reference clips whose stored (prepared) audio differs.
  const Audio ref = read_audio(dir_.file("reference.wav"));
  Audio flipped = ref;  // the same clip upside down: same checks, other samples
  for (float& x : flipped.samples) x = -x;
  write_audio(dir_.file("reference-b.wav"), flipped);
  const std::string clip[2] = {base64_encode(slurp(dir_.file("reference.wav"))),
                               base64_encode(slurp(dir_.file("reference-b.wav")))};
  std::vector<float> stored[2];
  {
    auto s = serve();
    auto c = s->client();
    for (int v = 0; v < 2; ++v) {
      const std::string name = "probe-" + std::to_string(v);
      auto r =
          c.Post("/v1/voices", json{{"name", name}, {"audio", clip[v]}, {"consent", "test"}}.dump(),
                 "application/json");
      ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no response");
      const std::string wav = c.Get("/v1/voices/" + name + "/audio")->body;
      stored[v] = read_audio_memory(wav.data(), wav.size()).samples;
      ASSERT_TRUE(c.Delete("/v1/voices/" + name) && true);
    }
    ASSERT_NE(stored[0], stored[1]);
  }

  const int kNames = 4, kRounds = 8;
  // What each voice may be after a restart: 0 absent, 1 clip 0, 2 clip 1.
  std::vector<std::set<int>> possible(kNames, std::set<int>{0});
  std::mt19937 rng(20261201);
  int acknowledged = 0, cut_short = 0;
  for (int round = 0; round <= kRounds; ++round) {  // the last start only checks
    auto s = serve();
    ASSERT_TRUE(s->started());
    // The state now, as the restarted server reports it.
    auto c = s->client();
    for (int i = 0; i < kNames; ++i) {
      const std::string name = "v" + std::to_string(i);
      auto g = c.Get("/v1/voices/" + name + "/audio");
      ASSERT_TRUE(g) << "the server did not answer after restart " << round;
      int state = -1;
      if (g->status == 404) state = 0;
      if (g->status == 200) {
        // Samples, not bytes: libsndfile's PEAK chunk carries the time of writing.
        const auto got = read_audio_memory(g->body.data(), g->body.size()).samples;
        state = got == stored[0] ? 1 : got == stored[1] ? 2 : 9;
      }
      ASSERT_TRUE(possible[i].count(state))
          << name << " is in state " << state << " after round " << round;
      possible[i] = {state};
    }
    if (round == kRounds) break;
    // Operations until the kill, which comes 50-500 ms in.
    const int delay_ms = std::uniform_int_distribution<int>(50, 500)(rng);
    std::thread killer([&s, delay_ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      s->stop(SIGKILL);
    });
    for (;;) {
      const int i = std::uniform_int_distribution<int>(0, kNames - 1)(rng);
      const std::string name = std::string("v").append(
          std::to_string(i));  // not "v" + ...: GCC 12 warns falsely (-Wrestrict)
      const bool remove = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
      const int v = std::uniform_int_distribution<int>(0, 1)(rng);
      httplib::Result r =
          remove
              ? c.Delete("/v1/voices/" + name)
              : c.Post(
                    "/v1/voices",
                    json{{"name", name}, {"audio", clip[v]}, {"consent", "test"}, {"replace", true}}
                        .dump(),
                    "application/json");
      const int target = remove ? 0 : v + 1;
      if (!r) {  // cut short by the kill: either state
        possible[i].insert(target);
        ++cut_short;
        break;
      }
      ASSERT_TRUE(r->status == 201 || r->status == 200 || (remove && r->status == 404))
          << r->status << " " << r->body;
      possible[i] = {target};
      ++acknowledged;
    }
    killer.join();
  }
  const auto verify = izwi("voices verify");
  EXPECT_EQ(verify.status, 0) << verify.output;
  EXPECT_NE(verify.output.find("ok:"), std::string::npos) << verify.output;
  EXPECT_GT(acknowledged, kRounds);
  std::printf("[kill -9] %d rounds, %d acknowledged operations checked, %d cut short\n", kRounds,
              acknowledged, cut_short);
}

// `izwi voices add` killed at random moments: the store never shows a half
// voice and checks out after each kill.
TEST_F(ServerTest, KilledVoicesCommandsLeaveNoHalfVoice) {
  std::mt19937 rng(7);
  for (int round = 0; round < 6; ++round) {
    const std::string cmd = "exec env " + env_prefix() + IZWI_BINARY + " voices add cli-" +
                            std::to_string(round % 2) + " --audio " + dir_.file("reference.wav") +
                            " --consent test --force > /dev/null 2>&1";
    test::run_and_kill(cmd,
                       std::chrono::milliseconds(std::uniform_int_distribution<int>(10, 400)(rng)));
    const auto verify = izwi("voices verify");
    ASSERT_EQ(verify.status, 0) << "after round " << round << ": " << verify.output;
  }
}

}  // namespace
}  // namespace izwi

namespace izwi {
namespace {

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

size_t open_fds(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Concurrent streamed synthesis for a fixed time on the tiny model: no failure
// but documented 429s, memory and file descriptors back where they were after
// warm-up. (A longer run: IZWI_LOAD_SECONDS=300; figures in the output.)
TEST_F(ServerTest, LoadLeavesNoFailuresLeaksOrOpenFiles) {
  auto s = serve({"--max-concurrent", "2", "--queue", "4", "--max-audio-seconds", "1.0"});
  auto c = s->client();
  auto made = c.Post(
      "/v1/voices", json{{"name", "loadv"}, {"audio", reference_b64()}, {"consent", "test"}}.dump(),
      "application/json");
  ASSERT_TRUE(made && made->status == 201) << (made ? made->body : "no response");
  auto request = [&](int seed, double* ttfa) -> int {
    httplib::Client k("127.0.0.1", s->port());
    k.set_read_timeout(60, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/audio/speech";
    req.set_header("Content-Type", "application/json");
    req.body = json{
        {"input", "A sentence for the load test."},
        {"voice", "loadv"},
        {"stream_format", "audio"},
        {"response_format", "pcm"},
        {"seed",
         seed}}.dump();
    const auto t0 = std::chrono::steady_clock::now();
    bool first = true;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      if (first && ttfa)
        *ttfa = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      first = false;
      return true;
    };
    auto r = k.send(req);
    return r ? r->status : -1;
  };
  ASSERT_EQ(request(0, nullptr), 200);
  const char* env_seconds = std::getenv("IZWI_LOAD_SECONDS");
  const double seconds = env_seconds ? std::atof(env_seconds) : 6.0;
  const int clients = 8;
  std::mutex mu;
  std::vector<double> latency, ttfa;
  int ok = 0, busy = 0, failed = 0;
  std::vector<int> served_by(clients, 0);  // measured run: requests answered with audio, per client
  // `clients` threads sending requests back to back for `span` seconds, and
  // until each has had at least `min_served` requests answered with audio (at
  // most a minute more): a warm-up measured in time alone was cut short when
  // CI's other jobs slowed the server, and its memory was still growing after.
  auto run = [&](double span, bool record, int min_served) {
    std::vector<std::thread> threads;
    const auto now = std::chrono::steady_clock::now();
    const auto end = now + std::chrono::duration<double>(span);
    const auto cap = end + std::chrono::seconds(60);
    for (int t = 0; t < clients; ++t)
      threads.emplace_back([&, t] {
        int served = 0;
        for (int i = 0;; ++i) {
          const auto at = std::chrono::steady_clock::now();
          if (at >= cap || (at >= end && served >= min_served)) break;
          double first = -1;
          const auto t0 = std::chrono::steady_clock::now();
          const int status = request(t * 100000 + i, &first);
          const double took =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          served += status == 200;
          std::lock_guard<std::mutex> lock(mu);
          if (status == 429) std::this_thread::sleep_for(std::chrono::milliseconds(50));
          if (!record) {
            failed += status != 200 && status != 429;
            continue;
          }
          if (status == 200) {
            ++ok;
            ++served_by[t];
            latency.push_back(took);
            ttfa.push_back(first);
          } else if (status == 429) {
            ++busy;
          } else {
            ++failed;
          }
        }
      });
    for (auto& t : threads) t.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  };
  // Warm-up under the same load: every worker thread and allocator arena in use.
  run(3.0, false, 2);
  const long rss_warm = rss_kib(s->pid());
  const size_t fds_warm = open_fds(s->pid());
  run(seconds, true, 1);
  const long rss_after = rss_kib(s->pid());
  const size_t fds_after = open_fds(s->pid());
  std::printf(
      "[load] %d clients for %.0f s: %d ok, %d x 429, %d failed; latency p50 %.3f p95 %.3f p99 "
      "%.3f s; first audio p50 %.3f p95 %.3f s; RSS %ld -> %ld KiB (%+.1f%%); fds %zu -> %zu\n",
      clients, seconds, ok, busy, failed, percentile(latency, 0.5), percentile(latency, 0.95),
      percentile(latency, 0.99), percentile(ttfa, 0.5), percentile(ttfa, 0.95), rss_warm, rss_after,
      100.0 * static_cast<double>(rss_after - rss_warm) / static_cast<double>(rss_warm), fds_warm,
      fds_after);
  EXPECT_EQ(failed, 0);
  // Under a sanitizer (IZWI_TEST_SLOW) requests are many times slower and
  // TSan's shadow memory grows with every address touched: throughput and RSS
  // say nothing there, the failures and descriptors still do.
  const bool sanitizer = std::getenv("IZWI_TEST_SLOW") != nullptr;
  // Every client was served in the end, however busy the machine: the queue
  // and the 429s do not starve anyone (a client still waiting after the run's
  // extra minute would show here as 0).
  for (int t = 0; t < clients; ++t) EXPECT_GE(served_by[t], 1) << "client " << t;
  EXPECT_GT(busy, 0);  // 8 clients for 2 slots and 4 places in the queue
  // Under ASan freed memory waits in its quarantine (up to 256 MB) before it
  // is reused, so the server's RSS grows without a leak (+10.7 % seen in CI
  // with clang's ASan); LeakSanitizer checks for leaks there instead.
  if (!sanitizer && !test::kAddressSanitizer) {
    EXPECT_LE(rss_after, rss_warm + rss_warm / 20 + 4096);  // within 5 % (+ 4 MiB)
  }
  EXPECT_EQ(fds_after, fds_warm);
}

// A client reading its stream very slowly and one sending its request a byte
// at a time do not hold up the others.
TEST_F(ServerTest, SlowClientsDoNotBlockOthers) {
  auto s = serve({"--max-concurrent", "2", "--max-audio-seconds", "3"});
  // Both slow clients keep going until the others have been served (however
  // long that takes on a loaded machine), then give up; "done" means one of
  // them got to its end first, which would prove nothing.
  std::atomic<bool> others_served{false}, slow_reader_done{false}, slow_upload_done{false};
  std::thread reader([&] {
    httplib::Client k("127.0.0.1", s->port());
    k.set_read_timeout(120, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/audio/speech";
    req.set_header("Content-Type", "application/json");
    req.body = json{
        {"input", "Read me slowly."},
        {"reference_audio", reference_b64()},
        {"stream_format", "audio"},
        {"response_format",
         "pcm"}}.dump();
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      return !others_served.load();
    };
    if (k.send(req)) slow_reader_done = true;
  });
  std::thread uploader([&] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(s->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      const std::string body = json{
          {"input", "Sent a byte at a time. " + std::string(4000, 'x')},
          {"voice", "x"}}.dump();
      const std::string head =
          "POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          "Content-Type: application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n";
      const std::string all = head + body;
      size_t sent = 0;
      for (; sent < all.size() && !others_served; ++sent) {
        if (send(fd, &all[sent], 1, MSG_NOSIGNAL) != 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
      }
      slow_upload_done = sent == all.size();
    }
    close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Others are served meanwhile.
  for (int i = 0; i < 3; ++i) {
    auto r = post_json(*s, {{"input", "Not held up."},
                            {"reference_audio", reference_b64()},
                            {"response_format", "pcm"},
                            {"seed", i}});
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  }
  const bool reader_first = slow_reader_done, upload_first = slow_upload_done;
  others_served = true;
  reader.join();
  uploader.join();
  EXPECT_FALSE(reader_first) << "the slow reader finished first: the test proves nothing";
  EXPECT_FALSE(upload_first) << "the slow upload finished first: the test proves nothing";
}

}  // namespace
}  // namespace izwi
