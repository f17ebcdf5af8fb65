// Checkpoint, .npy and config loading: good files load, bad files fail with an
// error that names the problem.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/json_util.h"
#include "core/safetensors.h"
#include "core/safetensors_writer.h"
#include "fifo_reader.h"
#include "izwi/base64.h"
#include "izwi/error.h"
#include "izwi/izwi.h"
#include "izwi/json_keys.h"
#include "izwi/npy.h"
#include "models/qwen3_tts/codec_config.h"
#include "test_util.h"

namespace izwi {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_ERROR_CONTAINS(stmt, text)                                   \
  do {                                                                      \
    const std::string msg_ = error_of([&] { stmt; });                       \
    EXPECT_NE(msg_.find(text), std::string::npos) << "error was: " << msg_; \
  } while (0)

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(Safetensors, ReadsGoldenSpeechTokenizer) {
  Checkpoint ck = Checkpoint::open(test::golden_model() + "/speech_tokenizer");
  EXPECT_EQ(ck.names().size(), 358u);
  Tensor t = ck.get("decoder.pre_conv.conv.weight", {64, 32, 3});
  EXPECT_EQ(t.dtype, DType::kF32);
  EXPECT_EQ(t.numel(), 64 * 32 * 3);
}

TEST(Safetensors, ShapeMismatchNamesBothShapes) {
  Checkpoint ck = Checkpoint::open(test::golden_model() + "/speech_tokenizer");
  EXPECT_ERROR_CONTAINS(ck.get("decoder.pre_conv.conv.weight", {64, 32, 5}),
                        "expected shape [64, 32, 5], got [64, 32, 3]");
  EXPECT_ERROR_CONTAINS(ck.get("decoder.no_such_tensor"),
                        "tensor 'decoder.no_such_tensor' not found");
}

TEST(Safetensors, RoundTripsAllDtypesThroughWriter) {
  TempDir dir;
  Tensor a = Tensor::owned_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto half = std::make_shared<std::vector<uint16_t>>(
      std::vector<uint16_t>{f32_to_bf16(1.5f), f32_to_bf16(-2.0f)});
  Tensor b;
  b.dtype = DType::kBF16;
  b.shape = {2};
  b.data = half->data();
  b.owner = std::shared_ptr<const void>(half, half->data());
  write_safetensors(dir.file("m.safetensors"), {{"z.a", a}, {"b", b}});
  SafetensorsFile f(dir.file("m.safetensors"));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"b", "z.a"}));
  EXPECT_EQ(f.get("z.a").f32()[5], 6.0f);
  EXPECT_EQ(f.get("b").to_f32().f32()[1], -2.0f);
  // Header length is padded to a multiple of 8, as the format asks.
  const std::string raw = read_bytes(dir.file("m.safetensors"));
  uint64_t hlen;
  std::memcpy(&hlen, raw.data(), 8);
  EXPECT_EQ(hlen % 8, 0u);
}

TEST(Safetensors, ShardedIndexIsReadAsOneCheckpoint) {
  TempDir dir;
  write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                    {{"a", Tensor::owned_f32({1}, {1})}});
  write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                    {{"b", Tensor::owned_f32({2}, {2, 3})}});
  nlohmann::json idx = {
      {"weight_map",
       {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}}}};
  write_bytes(dir.file("model.safetensors.index.json"), idx.dump());
  Checkpoint ck = Checkpoint::open(dir.path().string());
  EXPECT_EQ(ck.get("b", {2}).f32()[1], 3.0f);
  EXPECT_EQ(ck.get("a", {1}).f32()[0], 1.0f);
}

TEST(Safetensors, BadFilesGiveClearErrors) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(SafetensorsFile(dir.file("missing.safetensors")), "cannot open");
  write_bytes(dir.file("tiny"), "abc");
  EXPECT_ERROR_CONTAINS(SafetensorsFile(dir.file("tiny")), "fewer than the 8-byte header length");
  write_bytes(dir.file("huge_header"), std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + "{}");
  EXPECT_ERROR_CONTAINS(SafetensorsFile(dir.file("huge_header")), "does not fit");
  std::string garbage(8, '\0');
  garbage[0] = 4;
  write_bytes(dir.file("garbage"), garbage + "nope");
  EXPECT_ERROR_CONTAINS(SafetensorsFile(dir.file("garbage")), "malformed safetensors header");

  // Truncated: cut the golden file in half.
  const std::string full = read_bytes(test::golden_model() + "/speech_tokenizer/model.safetensors");
  write_bytes(dir.file("cut.safetensors"), full.substr(0, full.size() / 2));
  EXPECT_ERROR_CONTAINS(SafetensorsFile(dir.file("cut.safetensors")), "truncated");

  // A dtype izwi cannot read.
  const std::string h = R"({"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(h.size());
  write_bytes(dir.file("f8"), bytes + h + "x");
  EXPECT_ERROR_CONTAINS(SafetensorsFile(dir.file("f8")), "has dtype F8_E4M3");

  // Offsets that disagree with the shape.
  const std::string h2 = R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}})";
  bytes[0] = static_cast<char>(h2.size());
  write_bytes(dir.file("short"), bytes + h2 + std::string(8, '\0'));
  EXPECT_ERROR_CONTAINS(SafetensorsFile(dir.file("short")), "needs 16");

  EXPECT_ERROR_CONTAINS(Checkpoint::open(dir.path().string()), "no 'model.safetensors'");
}

TEST(Npy, RoundTripsAndReadsGolden) {
  TempDir dir;
  const std::vector<int64_t> codes = {1, 2, 3, 4, 5, 6};
  write_npy(dir.file("c.npy"), {3, 2}, codes.data());
  NpyArray a = read_npy(dir.file("c.npy"));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(a.as_i64(), codes);
  const std::vector<float> f = {0.5f, -1.0f};
  write_npy(dir.file("f.npy"), {2}, f.data());
  EXPECT_EQ(read_npy(dir.file("f.npy")).as_f32(), f);
  const std::vector<int32_t> i32 = {7};
  write_npy(dir.file("i.npy"), {1}, i32.data());
  EXPECT_EQ(read_npy(dir.file("i.npy")).as_i64(), std::vector<int64_t>{7});

  NpyArray g = read_npy(test::golden_vec("dec_ref_codes"));
  EXPECT_EQ(g.shape, (std::vector<int64_t>{17, 16}));
  EXPECT_EQ(g.type, NpyArray::Type::kI64);
}

TEST(Npy, BadFilesGiveClearErrors) {
  TempDir dir;
  write_bytes(dir.file("x.npy"), "hello world");
  EXPECT_ERROR_CONTAINS(read_npy(dir.file("x.npy")), "not a .npy file");
  const std::string good = read_bytes(test::golden_vec("dec_ref_codes"));
  write_bytes(dir.file("cut.npy"), good.substr(0, good.size() - 10));
  EXPECT_ERROR_CONTAINS(read_npy(dir.file("cut.npy")), "truncated");
  std::string u8 = good;
  u8.replace(u8.find("<i8"), 3, "|u1");
  write_bytes(dir.file("u8.npy"), u8);
  EXPECT_ERROR_CONTAINS(read_npy(dir.file("u8.npy")), "element type '|u1'");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  write_bytes(dir.file("f.npy"), fortran);
  EXPECT_ERROR_CONTAINS(read_npy(dir.file("f.npy")), "Fortran order");
  EXPECT_ERROR_CONTAINS(read_npy(test::golden_vec("dec_ref_wav")).as_i64(), "integer");
}

namespace fs = std::filesystem;

TEST(OutputFile, ALinkKeepsPointingAtTheFileItReplaces) {
  TempDir dir;
  write_bytes(dir.file("take1.wav"), "old");
  fs::create_symlink("take1.wav", dir.file("latest.wav"));  // relative, as `ln -s` makes
  fs::create_symlink(dir.file("later.wav"), dir.file("dangling.wav"));
  for (const char* name : {"latest.wav", "dangling.wav"}) {
    OutputFile out(dir.file(name));
    out.write("new ");
    out.write(name);
    out.commit();
    EXPECT_TRUE(fs::is_symlink(dir.file(name))) << name;
  }
  EXPECT_EQ(read_bytes(dir.file("take1.wav")), "new latest.wav");
  EXPECT_EQ(read_bytes(dir.file("later.wav")), "new dangling.wav");
  EXPECT_FALSE(fs::exists(dir.file("take1.wav.partial")));
}

TEST(OutputFile, APipeIsWrittenInPlaceAndStaysAPipe) {
  TempDir dir;
  const std::string fifo = dir.file("to-player.wav");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  {
    test::FifoReader reader(fifo);
    OutputFile out(fifo);
    EXPECT_TRUE(out.in_place());
    out.write("every byte, as it is made");
    out.commit();  // no fsync (EINVAL on a pipe), no rename
    EXPECT_EQ(reader.stop(), "every byte, as it is made");
  }
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_FALSE(fs::exists(fifo + ".partial"));
  // write_audio too, whose WAV header needs its sizes: encoded whole first.
  test::FifoReader again(fifo);
  const Audio tone{std::vector<float>(2400, 0.25f), 24000, 1};
  write_audio(fifo, tone, AudioFormat::kWav);
  EXPECT_TRUE(again.stop() == encode_audio(tone, AudioFormat::kWav));
  EXPECT_TRUE(fs::is_fifo(fifo));
}

// `-o /dev/stdout >> log`: the file stdout is open on is written through
// stdout, after what it held, not replaced (which would drop the earlier
// lines) nor reopened (which would overwrite them).
TEST(OutputFile, TheFileStdoutIsOnIsAppendedToThroughStdout) {
  TempDir dir;
  write_bytes(dir.file("log.txt"), "earlier\n");
  std::fflush(stdout);
  const int saved = dup(STDOUT_FILENO);
  const int log = open(dir.file("log.txt").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(log, 0);
  ASSERT_EQ(dup2(log, STDOUT_FILENO), STDOUT_FILENO);
  close(log);
  for (const std::string& name : {std::string("/dev/stdout"), dir.file("log.txt")}) {
    OutputFile out(name);
    EXPECT_TRUE(out.in_place()) << name;
    out.write("written to " + name + "\n");
    out.commit();
  }
  dup2(saved, STDOUT_FILENO);
  close(saved);
  EXPECT_EQ(read_bytes(dir.file("log.txt")),
            "earlier\nwritten to /dev/stdout\nwritten to " + dir.file("log.txt") + "\n");
  EXPECT_FALSE(fs::exists(dir.file("log.txt.partial")));
}

TEST(OutputFile, UncommittedOrFailedLeavesTheOldFile) {
  TempDir dir;
  write_bytes(dir.file("keep.wav"), "the good take");
  {
    OutputFile out(dir.file("keep.wav"));
    out.write("half of a new one");
  }  // destroyed uncommitted: an exception, an interrupt
  EXPECT_EQ(read_bytes(dir.file("keep.wav")), "the good take");
  EXPECT_FALSE(fs::exists(dir.file("keep.wav.partial")));
  {
    OutputFile out(dir.file("keep.wav"));
    out.failed(ENOSPC);
    EXPECT_ERROR_CONTAINS(out.commit(), "writing '" + dir.file("keep.wav") + "' failed: No space");
  }
  EXPECT_EQ(read_bytes(dir.file("keep.wav")), "the good take");
  EXPECT_FALSE(fs::exists(dir.file("keep.wav.partial")));
  EXPECT_ERROR_CONTAINS(OutputFile{dir.path().string()}, "is a folder");
  EXPECT_ERROR_CONTAINS(OutputFile{""}, "no file name");  // not a ".partial" in the cwd
}

TEST(CodecConfig, ParsesGoldenAndReleasedConfigs) {
  auto tiny = SpeechTokenizerConfig::load(test::golden_model() + "/speech_tokenizer/config.json");
  EXPECT_EQ(tiny.decoder.latent_dim, 64);
  EXPECT_EQ(tiny.decoder.sliding_window, 8);
  EXPECT_EQ(tiny.encoder.frame_rate, 12.5f);  // tiny spelling "frame_rate"
  EXPECT_EQ(tiny.encoder.downsample_kernel(), 4);
  auto real = SpeechTokenizerConfig::load(
      test::data_path("qwen3-tts/Qwen3-TTS-12Hz-1.7B-Base/speech_tokenizer/config.json"));
  EXPECT_EQ(real.encoder.frame_rate, 12.5f);  // released spelling "_frame_rate"
  EXPECT_EQ(real.decoder.decoder_dim, 1536);
  EXPECT_EQ(real.decoder.total_upsample(), 1920);
  EXPECT_EQ(real.encoder.codebook_dim, 256);
}

TEST(CodecConfig, BadConfigsNameTheKey) {
  TempDir dir;
  nlohmann::json j =
      nlohmann::json::parse(read_bytes(test::golden_model() + "/speech_tokenizer/config.json"));
  auto write = [&](const nlohmann::json& v) {
    write_bytes(dir.file("config.json"), v.dump());
    return dir.file("config.json");
  };
  auto bad = j;
  bad.erase("decoder_config");
  EXPECT_ERROR_CONTAINS(SpeechTokenizerConfig::load(write(bad)), "missing key 'decoder_config'");
  bad = j;
  bad["decoder_config"]["latent_dim"] = "big";
  EXPECT_ERROR_CONTAINS(SpeechTokenizerConfig::load(write(bad)),
                        "key 'latent_dim' has an unexpected type");
  bad = j;
  bad["decoder_config"]["upsample_rates"] = {8, 5, 4, 4};
  EXPECT_ERROR_CONTAINS(SpeechTokenizerConfig::load(write(bad)), "decode_upsample_rate is 1920");
  bad = j;
  bad["model_type"] = "mimi";
  EXPECT_ERROR_CONTAINS(SpeechTokenizerConfig::load(write(bad)),
                        "expected 'qwen3_tts_tokenizer_12hz'");
  bad = j;
  bad["decoder_config"]["num_hidden_layers"] = -1;
  EXPECT_ERROR_CONTAINS(SpeechTokenizerConfig::load(write(bad)), "must be a positive integer");
  write_bytes(dir.file("config.json"), "{ not json");
  EXPECT_ERROR_CONTAINS(SpeechTokenizerConfig::load(dir.file("config.json")), "is not valid JSON");
}

TEST(Base64, RoundTripsAndRejectsWhatIsNotBase64) {
  for (size_t n = 0; n < 70; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes += static_cast<char>((i * 37 + n) & 0xff);
    const std::string text = base64_encode(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    EXPECT_EQ(base64_decode(text), bytes);
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");  // RFC 4648 section 10 style
  EXPECT_EQ(base64_decode("aGVs\nbG8=\r\n"), "hello");
  for (const char* bad : {"aGVsbG8", "aGV=bG8=", "a===", "aGVs!G8=", "====="})
    EXPECT_THROW(base64_decode(bad), Error) << bad;
}

// Minor page faults (pages the kernel had to map and zero) taken by `fn`, in
// the process (RUSAGE_SELF) or in the calling thread alone (RUSAGE_THREAD).
long minor_faults_of(const std::function<void()>& fn, int who = RUSAGE_SELF) {
  rusage before{}, after{};
  getrusage(who, &before);
  fn();
  getrusage(who, &after);
  return after.ru_minflt - before.ru_minflt;
}

// `count` blocks the size of the codec's largest signals (12 MB), alive at
// once, written through, then freed.
void audio_sized_blocks(size_t count) {
  constexpr size_t kBlock = size_t{12} << 20;
  volatile char sink = 0;
  std::vector<std::unique_ptr<char[]>> blocks;
  for (size_t i = 0; i < count; ++i) {
    blocks.emplace_back(new char[kBlock]);
    std::memset(blocks.back().get(), static_cast<int>(i + 1), kBlock);
    for (size_t b = 0; b < kBlock; b += 4096) sink = static_cast<char>(sink + blocks.back()[b]);
  }
}

TEST(Allocator, FreedAudioSizedBlocksAreReusedWithoutPageFaults) {
  if (test::kAddressSanitizer) GTEST_SKIP() << "AddressSanitizer brings its own allocator";
  ASSERT_TRUE(configure_allocator());
  // 48 MB, past what glibc's default trimming keeps once they are freed.
  const auto round = [] { audio_sized_blocks(4); };
  round();  // the heap grows once
  const long faults = minor_faults_of(round);
  // With glibc's defaults every round maps the 48 MB afresh: ~12 000 faults of 4 KB.
  EXPECT_LT(faults, 1000) << "freed blocks were returned to the system and mapped again";
}

// The pool's threads decode several streams' blocks at once (pipeline/session.cc).
// glibc gives each thread an arena of its own, made of 64 MB heaps, and frees
// a heap that empties whatever the trim threshold: 72 MB alive in a thread
// came back as fresh pages every round (four q4 streams: ~500 faults a step).
TEST(Allocator, WorkerThreadsReuseFreedBlocksToo) {
  if (test::kAddressSanitizer) GTEST_SKIP() << "AddressSanitizer brings its own allocator";
  ASSERT_TRUE(configure_allocator());
  long faults = -1;
  std::thread worker([&] {
    const auto round = [] { audio_sized_blocks(6); };
    round();
    faults = minor_faults_of(round, RUSAGE_THREAD);
  });
  worker.join();
  EXPECT_LT(faults, 1000) << "a worker's freed blocks were returned to the system and mapped again";
}

// nlohmann's get<int>() casts a float to int, undefined behaviour out of range
// (UBSan caught 1e32 in a fuzzed config.json, 1e55 in a safetensors shape).
TEST(JsonGet, IntegersMustBeWholeAndInRange) {
  using nlohmann::json;
  EXPECT_EQ(izwi::json_get<int>(json(7)), 7);
  EXPECT_EQ(izwi::json_get<std::vector<int64_t>>(json::parse("[1, -2, 3]")),
            (std::vector<int64_t>{1, -2, 3}));
  EXPECT_THROW(izwi::json_get<int>(json::parse("1e32")), json::type_error);
  EXPECT_THROW(izwi::json_get<int>(json::parse("2.5")), json::type_error);
  EXPECT_THROW(izwi::json_get<int>(json::parse("3000000000")), json::type_error);
  EXPECT_THROW(izwi::json_get<uint32_t>(json::parse("-1")), json::type_error);
  EXPECT_THROW(izwi::json_get<std::vector<int64_t>>(json::parse("[1, 1.11e55]")), json::type_error);
  EXPECT_THROW((izwi::json_get<std::map<std::string, int>>(json::parse(R"({"a": 1e32})"))),
               json::type_error);
  EXPECT_EQ(izwi::json_get<double>(json::parse("1e32")), 1e32);  // floats stay floats
  // Through a config view the error names the file and key.
  const json cfg = json::parse(R"({"hidden_size": 1e32})");
  try {
    izwi::JsonView(cfg, "config.json").get<int>("hidden_size");
    FAIL();
  } catch (const izwi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: key 'hidden_size'"), std::string::npos)
        << e.what();
  }
}

// A key repeated in one object is found at any depth; the same key in two
// objects, or a key repeated as a value, is not a repeat.
TEST(JsonKeys, FindsAKeyOneObjectRepeats) {
  EXPECT_EQ(izwi::repeated_json_key(R"({"text": "a", "voice": "v", "text": "b"})"), "text");
  EXPECT_EQ(izwi::repeated_json_key(R"({"inputs": [{"x": 1}, {"y": 2, "y": 3}]})"), "y");
  EXPECT_EQ(izwi::repeated_json_key(R"({"a": {"b": {"c": 1, "c": {}}}})"), "c");
  EXPECT_EQ(izwi::repeated_json_key(R"({"a": {"k": 1}, "b": {"k": 1}, "k": "k"})"), "");
  EXPECT_EQ(izwi::repeated_json_key(R"([{"k": 1}, {"k": 2}])"), "");
  EXPECT_EQ(izwi::repeated_json_key(R"({"a": {"b": 1}, "b": 2})"), "");  // after a nested object
  EXPECT_EQ(izwi::repeated_json_key(R"({"a": 1,)"), "");                 // not JSON: not ours
  EXPECT_EQ(izwi::repeated_json_key(""), "");
}

// "Did you mean" for names: the closest within one edit per three letters
// typed (1 to 3), case folded; an exact name or a far one is no suggestion.
// Distances by hand: alcie/alice 1 (a swap), kitten/sitting 3, kitten/sittin 2.
TEST(DidYouMean, SuggestsOnlyACloseName) {
  const std::vector<std::string> voices = {"bob", "alice", "serena"};
  EXPECT_EQ(closest_name("alcie", voices), "alice");
  EXPECT_EQ(closest_name("serna", voices), "serena");
  EXPECT_EQ(closest_name("ALICE", voices), "alice");
  EXPECT_EQ(closest_name("bo", voices), "bob");
  EXPECT_EQ(closest_name("alice", voices), "");  // there: nothing to suggest
  EXPECT_EQ(closest_name("zzzzzz", voices), "");
  EXPECT_EQ(closest_name("x", voices), "");
  EXPECT_EQ(closest_name("kitten", {"sitting"}), "");
  EXPECT_EQ(closest_name("kitten", {"sitting", "sittin"}), "sittin");
  EXPECT_EQ(closest_name("anything", {}), "");
  EXPECT_EQ(closest_name("qwen3-tts-06b-base", {"qwen3-tts-1.7b-base", "qwen3-tts-0.6b-base"}),
            "qwen3-tts-0.6b-base");
  EXPECT_EQ(did_you_mean("alcie", voices), " (did you mean 'alice'?)");
  EXPECT_EQ(did_you_mean("zzzzzz", voices), "");
}

}  // namespace
}  // namespace izwi
