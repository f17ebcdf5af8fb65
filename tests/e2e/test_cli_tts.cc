// `izwi tts` end to end: the golden generate_text_* cases from their real
// strings (tokenizer -> prompt -> talker -> code predictor -> codec), and the
// same cases through the library API for the token ids.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <tuple>
#include <utility>
#include <vector>

#include "cli_run.h"
#include "fifo_reader.h"
#include "izwi/izwi.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::load_f32;
using test::load_i64;
using test::max_abs_diff;
using test::run_izwi;
using test::within_golden_tolerance;

struct TextCase {
  std::string name, language;
  bool icl;
};

nlohmann::json manifest_case(const std::string& name) {
  const auto m = nlohmann::json::parse(std::ifstream(test::data_path("golden/manifest.json")));
  return m["cases"]["generate_text_" + name];
}

class TtsTextGolden : public ::testing::TestWithParam<TextCase> {
 protected:
  void SetUp() override {
    Audio ref{load_f32("spk_in_wav"), 24000, 1};
    write_audio(dir_.file("ref.wav"), ref, SampleFormat::kFloat32);
  }
  test::TempDir dir_;
};

TEST_P(TtsTextGolden, BinaryReproducesCodesAndWaveform) {
  const TextCase c = GetParam();
  const auto m = manifest_case(c.name);
  std::string args = "tts " + test::shell_quote(m["text"].get<std::string>()) + " -m " +
                     test::golden_model() + " -s " + dir_.file("ref.wav") + " --language " +
                     c.language + " --weights bf16 --codec f32 --greedy --max-new-tokens 12 -o " +
                     dir_.file("out.npy") + " --codes-out " + dir_.file("codes.npy");
  if (c.icl) args += " --reference-text " + test::shell_quote(m["ref_text"].get<std::string>());
  const auto r = run_izwi(args);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("RTF"), std::string::npos);
  const std::string p = "gen_text_" + c.name + "_";
  EXPECT_EQ(read_npy(dir_.file("codes.npy")).as_i64(), load_i64(p + "codes"));
  EXPECT_TRUE(
      within_golden_tolerance(read_npy(dir_.file("out.npy")).as_f32(), load_f32(p + "wav")));
}

TEST_P(TtsTextGolden, ApiUsesTheOfficialTokenIds) {
  const TextCase c = GetParam();
  const auto m = manifest_case(c.name);
  auto model = TtsModel::load(test::golden_model());
  const Voice v = model->clone_voice(read_audio(dir_.file("ref.wav")),
                                     c.icl ? m["ref_text"].get<std::string>() : "");
  const std::string p = "gen_text_" + c.name + "_";
  EXPECT_TRUE(within_golden_tolerance(v.xvector, load_f32(p + "spk_embedding")));
  if (c.icl) {
    EXPECT_EQ(std::vector<int64_t>(v.reference_text_ids.begin(), v.reference_text_ids.end()),
              load_i64(p + "ref_ids"));
    EXPECT_EQ(
        std::vector<int64_t>(v.reference_codes.values.begin(), v.reference_codes.values.end()),
        load_i64(p + "ref_code"));
  }
  SynthesisOptions o;
  o.language = c.language;
  o.greedy = true;
  o.max_new_tokens = 12;
  int frames_seen = 0;
  o.on_frame = [&](const FrameProgress& f) {
    EXPECT_EQ(f.frame, frames_seen++);
    return true;
  };
  const SynthesisResult r = model->synthesize(m["text"].get<std::string>(), v, o);
  EXPECT_EQ(std::vector<int64_t>(r.text_ids.begin(), r.text_ids.end()), load_i64(p + "input_ids"));
  EXPECT_EQ(std::vector<int64_t>(r.codes.values.begin(), r.codes.values.end()),
            load_i64(p + "codes"));
  EXPECT_EQ(frames_seen, r.codes.frames);
  EXPECT_EQ(r.talker_steps, 12);
  EXPECT_FALSE(r.stopped_on_eos);

  // Streamed: the blocks, decoded while frames are generated (for ICL on the
  // voice's cached codec state after its reference), are the official waveform.
  for (int block : {1, 5}) {
    SCOPED_TRACE("block " + std::to_string(block));
    SynthesisOptions so = o;
    so.on_frame = nullptr;
    so.first_block_frames = 2;
    so.block_frames = block;
    std::vector<float> streamed;
    int blocks = 0;
    so.on_audio = [&](const float* s, int64_t n) {
      streamed.insert(streamed.end(), s, s + n);
      ++blocks;
      return true;
    };
    const SynthesisResult sr = model->synthesize(m["text"].get<std::string>(), v, so);
    EXPECT_EQ(sr.codes.values, r.codes.values);
    // The stream starts at the frame boundary; the official ICL cut can fall
    // one sample earlier, and the result carries that sample.
    ASSERT_GE(sr.samples.size(), streamed.size());
    ASSERT_LE(sr.samples.size() - streamed.size(), 1u);
    EXPECT_TRUE(std::equal(streamed.begin(), streamed.end(),
                           sr.samples.end() - static_cast<std::ptrdiff_t>(streamed.size())));
    EXPECT_EQ(blocks, 1 + (11 - 2 + block - 1) / block);  // 11 frames: 2, then blocks
    EXPECT_TRUE(within_golden_tolerance(sr.samples, load_f32(p + "wav")));
  }
}

TEST(CliTts, ReadsTextFromStdinAndSpeaksLongTextsInChunks) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  std::ofstream(d.file("text.txt")) << "Hello from a file.";
  const std::string base = "tts - -m " + test::golden_model() + " -s " + d.file("ref.wav") +
                           " --language english --greedy --max-new-tokens 6 -o " +
                           d.file("out.wav");
  auto r = test::run_izwi(base + " < " + d.file("text.txt"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GT(read_audio(d.file("out.wav")).samples.size(), 0u);
  std::string long_text;
  for (int i = 0; i < 2000; ++i) long_text += "many words here. ";
  std::ofstream(d.file("long.txt")) << long_text;
  r = test::run_izwi(base + " < " + d.file("long.txt"));
  ASSERT_EQ(r.status, 0) << r.output;
  const size_t n = chunk_text(long_text, "english").size();
  EXPECT_GT(n, 100u);
  EXPECT_NE(r.output.find(", " + std::to_string(n) + " chunks)"), std::string::npos) << r.output;
  // In one piece (--chunk-chars 0) it is more than the model takes at once.
  r = test::run_izwi(base + " --chunk-chars 0 < " + d.file("long.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("split it into paragraphs"), std::string::npos) << r.output;
  std::ofstream(d.file("empty.txt")) << "  \n ";
  r = test::run_izwi(base + " < " + d.file("empty.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no text to speak"), std::string::npos) << r.output;
}

// A long text streamed to a file holds only the chunk being spoken: peak
// memory does not grow with the length of the text (or of the audio).
TEST(CliTts, LongTextsStreamInBoundedMemory) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  // About three minutes of reading (450 words); the long one is eight of them.
  std::string para;
  for (int i = 0; i < 45; ++i)
    para += "Sentence number " + std::to_string(i) + " says a few more words here. ";
  std::string book;
  for (int i = 0; i < 8; ++i) book += para + "\n\n";
  std::ofstream(d.file("short.txt")) << para;
  std::ofstream(d.file("long.txt")) << book;
  const std::string base = "tts - -m " + test::golden_model() + " -s " + d.file("ref.wav") +
                           " --language english --seed 5 --max-new-tokens 40 --chunk-chars 120 "
                           "--codec f32 -q --stream -o ";
  const auto small = test::run_izwi_peak_memory(base + d.file("short.wav") + " < " +
                                                d.file("short.txt") + " 2>/dev/null");
  const auto large = test::run_izwi_peak_memory(base + d.file("long.wav") + " < " +
                                                d.file("long.txt") + " 2>/dev/null");
  ASSERT_EQ(small.status, 0);
  ASSERT_EQ(large.status, 0);
  const double short_s = read_audio(d.file("short.wav")).duration();
  const double long_s = read_audio(d.file("long.wav")).duration();
  EXPECT_GT(long_s, 7 * short_s);
  EXPECT_GT(long_s, 400);  // over 400 s of audio: 38 MB as floats, were it kept
  // Not under AddressSanitizer: its quarantine grows with the run (+8.0 MiB in
  // one run, just over the bound); the release build checks this.
  if (!test::kAddressSanitizer) {
    EXPECT_LT(large.max_rss_kib - small.max_rss_kib, 8 * 1024)
        << small.max_rss_kib << " KiB for " << short_s << " s, " << large.max_rss_kib << " KiB for "
        << long_s << " s";
  }
}

// An -s that is plainly meant as a file but names none (a URL, a path with a
// folder, a folder) says so before the model (here one that does not exist)
// loads; a bare "name.wav" may be a saved voice, so it is looked up first.
TEST(CliTts, AMissingReferenceFileIsNamedAsSuch) {
  test::TempDir d;
  const std::vector<std::pair<std::string, std::string>> early = {
      {"https://example.com/ref.wav",
       "'https://example.com/ref.wav' is a URL: izwi clones from a local file; download it "
       "first, e.g. curl -L -o reference.wav 'https://example.com/ref.wav'"},
      {d.file("gone/ref.wav"), "no reference audio file '" + d.file("gone/ref.wav") +
                                   "': the folder '" + d.file("gone") + "' does not exist"},
      {d.file("ref.wav"),
       "no reference audio file '" + d.file("ref.wav") + "' (in " + d.path().string() + ")"},
      {d.path().string(),
       "' is a folder: give the audio file in it, e.g. -s " + d.file("reference.wav")},
  };
  for (const auto& [speaker, message] : early) {
    SCOPED_TRACE(speaker);
    const auto r = run_izwi("tts Hello -m " + d.file("no-model") + " -s '" + speaker + "' -o " +
                            d.file("a.wav"));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("no-model"), std::string::npos) << r.output;
  }
  // A bare name with an audio extension: a saved voice of that name is used;
  // without one, the missing file is named (after the store was asked).
  const std::string env = "cd " + d.path().string() + " && IZWI_DATA_DIR=" + d.file("data") + " ";
  Audio ref{load_f32("spk_in_wav"), 24000, 1};
  write_audio(d.file("clip.wav"), ref);
  const std::string model = " -m " + test::golden_model();
  auto r = test::run_izwi_env(env, "tts Hello" + model + " -s take.wav -o a.wav");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("no reference audio file 'take.wav' (in "), std::string::npos)
      << r.output;
  r = test::run_izwi_env(env, "voices add take.wav --audio clip.wav --text Hello" + model);
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_izwi_env(env, "tts Hello" + model + " -s take.wav --max-new-tokens 3 -o a.wav");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::filesystem::is_regular_file(d.file("a.wav")));
}

// --stream / -o -: audio written while it is generated, to a pipe or a file.
// Wrong option values fail when the command line is read: before the model
// (here one that does not exist) loads and before speech is made that could
// not be written. Each says what was expected and what arrived.
TEST(CliTts, BadOptionsFailBeforeTheModelLoads) {
  test::TempDir d;
  const std::string base = "tts Hello -m " + d.file("no-model") + " -s " + d.file("ref.wav") + " ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-o " + d.file("missing/a.wav"), "--output: cannot write '" + d.file("missing/a.wav") +
                                            "': the folder '" + d.file("missing") +
                                            "' does not exist"},
      {"-o " + d.path().string(),
       "--output: '" + d.path().string() + "' is a folder: name a file in it"},
      {"-o a.wav --codes-out " + d.file("missing/c.npy"), "--codes-out: cannot write"},
      {"-o a.wav --codes-out -", "--codes-out: this file cannot go to stdout ('-')"},
      {"-o a.wav --temperature -1", "--temperature: expected 0 or more, got -1"},
      {"-o a.wav --cp-temperature -2", "--cp-temperature: expected a number above 0, got -2"},
      {"-o a.wav --top-p 1.5", "--top-p: expected a number above 0 and at most 1, got 1.5"},
      {"-o a.wav --top-k -1", "--top-k: expected 0 or more, got -1"},
      {"-o a.wav --max-seconds -3", "--max-seconds: expected 0 or more, got -3"},
      {"-o a.wav --seed -1",
       "--seed: expected a whole number from 0 to 18446744073709551615, got -1"},
      {"-o a.wav --seed 18446744073709551616", "got 18446744073709551616 (leave --seed out"},
      // Never over what it reads or the other file it writes (relative, absolute, a link).
      {"-o " + d.file("ref.wav"), "is the reference clip: writing there would replace it"},
      {"-o " + d.file("link.wav"), "is the reference clip"},
      {"-o " + d.file("c.npy") + " --codes-out " + d.file("./c.npy"),
       "--codes-out and -o name the same file"},
  };
  std::ofstream(d.file("ref.wav")) << "a clip";
  std::filesystem::create_symlink(d.file("ref.wav"), d.file("link.wav"));
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(args);
    const auto r = test::run_izwi(base + args);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("no-model"), std::string::npos) << r.output;
  }
  // Only whitespace (an argument, or stdin): nothing to speak, said before loading.
  for (const std::string& text : {std::string("' '"), std::string("- < /dev/null")}) {
    const auto r = test::run_izwi("tts " + text + " -m " + d.file("no-model") + " -s " +
                                  d.file("ref.wav") + " -o a.wav");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("no text to speak"), std::string::npos) << r.output;
  }
  std::ifstream in(d.file("ref.wav"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "a clip");
}

// --temperature 0 is no sampling, as the HTTP API's temperature 0 is: the
// codes of --greedy, where a seeded sampled run differs from them.
TEST(CliTts, TemperatureZeroIsGreedy) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  const std::string base = "tts 'Zero means greedy.' -m " + test::golden_model() + " -s " +
                           d.file("ref.wav") + " --language english --max-new-tokens 8 -o " +
                           d.file("o.wav") + " --codes-out ";
  auto codes = [&](const std::string& name, const std::string& flags) {
    const auto r = test::run_izwi(base + d.file(name) + " " + flags);
    EXPECT_EQ(r.status, 0) << r.output;
    return read_npy(d.file(name)).as_i64();
  };
  const auto greedy = codes("greedy.npy", "--greedy");
  EXPECT_EQ(codes("zero.npy", "--temperature 0 --seed 5"), greedy);
  EXPECT_NE(codes("sampled.npy", "--seed 5"), greedy);
}

// --format wins over the file's name, and says so when the two disagree.
TEST(CliTts, FormatOverridesTheExtensionWithANote) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  const std::string base = "tts 'Named one way.' -m " + test::golden_model() + " -s " +
                           d.file("ref.wav") + " --language english --max-new-tokens 6 ";
  auto r = test::run_izwi(base + "--format mp3 -o " + d.file("take.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("note: '" + d.file("take.wav") +
                          "' will hold MP3 (--format mp3), though its name says WAV"),
            std::string::npos)
      << r.output;
  std::ifstream in(d.file("take.wav"), std::ios::binary);
  std::string head(4, '\0');
  in.read(head.data(), 4);
  EXPECT_EQ(head.substr(0, 3), "ID3") << "an MP3 (with its ID3 tag), not a WAV";
  // Agreeing or absent --format: no note.
  for (const std::string& flags : {"--format MP3 -o " + d.file("b.mp3"), "-o " + d.file("c.mp3")}) {
    r = test::run_izwi(base + flags);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("note: '"), std::string::npos) << r.output;
  }
}

TEST(CliTts, StreamsWavToStdoutAndToAFile) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  const std::string base = "tts 'Streaming to a pipe.' -m " + test::golden_model() + " -s " +
                           d.file("ref.wav") +
                           " --reference-text 'A reference.' --language english --seed 3 "
                           "--max-new-tokens 14 --sample-format f32 --codec f32 ";
  auto whole = test::run_izwi(base + "-o " + d.file("whole.wav"));
  ASSERT_EQ(whole.status, 0) << whole.output;
  // stdout through a pipe (cat), as `| aplay` would read it.
  const std::string cmd = std::string(IZWI_BINARY) + " " + base + "-o - 2>" + d.file("err.txt") +
                          " | cat > " + d.file("piped.wav");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(d.file("piped.wav"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 44u);
  EXPECT_EQ(bytes.substr(0, 4), "RIFF");
  // fmt, then the synthetic-speech mark (LIST/INFO), then open-ended data.
  // Walk the chunks: fmt, LIST, data.
  std::vector<std::string> chunks;
  size_t data = 12;
  while (data + 8 <= bytes.size() && bytes.compare(data, 4, "data") != 0) {
    chunks.push_back(bytes.substr(data, 4));
    uint32_t size = 0;
    std::memcpy(&size, bytes.data() + data + 4, 4);
    data += 8 + size + (size % 2);
  }
  EXPECT_EQ(chunks, (std::vector<std::string>{"fmt ", "LIST"}));
  ASSERT_LT(data + 8, bytes.size());
  EXPECT_NE(bytes.substr(0, data).find("Synthetic speech made by izwi"), std::string::npos);
  EXPECT_EQ(bytes.substr(data + 4, 4), std::string(4, '\xff'));  // data size: open-ended stream
  std::vector<float> piped((bytes.size() - data - 8) / 4);
  std::memcpy(piped.data(), bytes.data() + data + 8, piped.size() * 4);
  const Audio ref = read_audio(d.file("whole.wav"));
  // The stream starts at the frame boundary; the official ICL cut may keep one
  // more leading sample.
  ASSERT_LE(ref.samples.size() - piped.size(), 1u);
  const std::vector<float> tail(ref.samples.end() - static_cast<std::ptrdiff_t>(piped.size()),
                                ref.samples.end());
  // The exact decoder (--codec f32), so the stream must carry the same audio:
  // the Winograd one's sums depend on where blocks are cut (each stream within
  // the golden tolerance of the official audio: CodecGolden.Winograd*), so two
  // of its decodes may differ by up to twice that.
  EXPECT_LE(max_abs_diff(piped, tail), 1e-5);
  std::ifstream err(d.file("err.txt"));
  const std::string log((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("first audio"), std::string::npos) << log;

  // --stream to a file: a complete WAV with the real sizes.
  auto r = test::run_izwi(base + "--stream -o " + d.file("streamed.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_audio(d.file("streamed.wav")).samples, piped);
  EXPECT_FALSE(std::filesystem::exists(d.file("streamed.wav.partial")));

  // Every file carries the mark, read back by izwi inspect-output; a file izwi
  // did not make has none (exit 3).
  r = test::run_izwi("inspect-output " + d.file("streamed.wav") + " " + d.file("whole.wav"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("synthetic speech, made by izwi"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("voice    reference audio"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("model    " + test::golden_model()), std::string::npos) << r.output;
  r = test::run_izwi("inspect-output --json " + d.file("whole.wav") + " " + d.file("ref.wav"));
  EXPECT_EQ(r.status, 3) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('[')));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["provenance"]["voice"], "reference audio");
  EXPECT_TRUE(j[1]["provenance"].is_null());
  r = test::run_izwi("inspect-output " + d.file("err.txt"));
  EXPECT_EQ(r.status, 1) << r.output;  // not audio: an error naming the file
  EXPECT_NE(r.output.find("err.txt"), std::string::npos) << r.output;
  // One unreadable file among others: the others are still reported, exit 1.
  r = test::run_izwi("inspect-output --json " + d.file("err.txt") + " " + d.file("whole.wav"));
  EXPECT_EQ(r.status, 1) << r.output;
  const auto k = nlohmann::json::parse(r.output.substr(r.output.find("\n[") + 1));
  ASSERT_EQ(k.size(), 2u) << r.output;
  EXPECT_EQ(k[0]["file"], d.file("err.txt"));
  EXPECT_NE(k[0]["error"].get<std::string>().find("cannot read"), std::string::npos);
  EXPECT_EQ(k[1]["provenance"]["voice"], "reference audio");

  // The compressed formats stream too, to a file or through a pipe, and decode
  // to the same speech with the mark; .npy needs the whole clip and is refused.
  // `-o - --format F | cat > piped.F`; what it said on stderr.
  const auto through_a_pipe = [&](const std::string& format) {
    const std::string line = std::string(IZWI_BINARY) + " " + base + "-o - --format " + format +
                             " 2>" + d.file("err.txt") + " | cat > " + d.file("piped." + format);
    EXPECT_EQ(std::system(line.c_str()), 0) << format;
    std::ifstream said(d.file("err.txt"));
    return std::string(std::istreambuf_iterator<char>(said), {});
  };
  r = test::run_izwi(base + "--stream -o " + d.file("streamed.mp3"));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string aac_log = through_a_pipe("aac");
  EXPECT_NE(aac_log.find("first audio"), std::string::npos) << aac_log;
  // M4A cannot stream (its index follows the audio): a file is written when
  // whole, as any file is, and a pipe gets the whole file at the end, with a note.
  r = test::run_izwi(base + "--stream -o " + d.file("streamed.m4a"));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string m4a_log = through_a_pipe("m4a");
  EXPECT_NE(m4a_log.find("M4A cannot stream"), std::string::npos) << m4a_log;
  for (const char* name : {"streamed.mp3", "piped.aac", "streamed.m4a", "piped.m4a"}) {
    SCOPED_TRACE(name);
    const Audio a = read_audio(d.file(name));
    EXPECT_EQ(a.sample_rate, 24000);
    EXPECT_NEAR(a.duration(), static_cast<double>(piped.size()) / 24000, 0.1);
    // M4A says how long the clip is: exactly its samples come back.
    if (std::string(name).ends_with(".m4a")) {
      EXPECT_EQ(a.samples.size(), piped.size());
    }
    EXPECT_GT(test::best_correlation(a.samples, piped, 2400), 0.75);  // noise-like speech: lossy
    const auto mark = parse_provenance(read_audio_tags(d.file(name)));
    ASSERT_TRUE(mark.has_value());
    EXPECT_EQ(mark->voice, "reference audio");
  }
  r = test::run_izwi(base + "--stream -o " + d.file("x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("use an audio format"), std::string::npos) << r.output;
}

// A stream whose reader goes away, or whose disk fills, ends with an error that
// says so (exit 1), not with a summary of audio nobody received.
TEST(CliTts, AClosedPipeOrAFullDiskIsAnError) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  // 8 s of 16-bit audio (384 KB) is more than a pipe holds once `head` is gone.
  const std::string tts = std::string(IZWI_BINARY) + " tts 'Into a pipe.' -m " +
                          test::golden_model() + " -s " + d.file("ref.wav") +
                          " --language english --min-seconds 8 -o - 2>" + d.file("err.txt");
  auto run = [&](const std::string& redirect) {
    const std::string cmd =
        "bash -c " + test::shell_quote(tts + redirect + "; exit ${PIPESTATUS[0]}");
    const int raw = std::system(cmd.c_str());
    std::ifstream in(d.file("err.txt"));
    return std::make_pair(WEXITSTATUS(raw), std::string(std::istreambuf_iterator<char>(in), {}));
  };
  auto [status, err] = run(" | head -c 100 >/dev/null");
  EXPECT_EQ(status, 1) << err;
  EXPECT_NE(err.find("writing audio to stdout failed: Broken pipe (the reader closed the pipe)"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("s of audio in"), std::string::npos) << err;
  if (std::filesystem::exists("/dev/full")) {
    std::tie(status, err) = run(" >/dev/full");
    EXPECT_EQ(status, 1) << err;
    EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  }
}

// -o through a symbolic link replaces the file it points at and keeps the link;
// -o naming a pipe (a player reading it) writes into the pipe, whole or
// streamed, and leaves it a pipe: neither was replaced by a new file before.
TEST(CliTts, ALinkOrAPipeAsOutputIsWrittenThroughNotReplaced) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  const std::string base = "tts 'Through a link.' -m " + test::golden_model() + " -s " +
                           d.file("ref.wav") + " --language english --seed 5 --max-new-tokens 6 ";
  std::filesystem::create_symlink("take1.wav", d.file("latest.wav"));
  auto r =
      test::run_izwi(base + "-o " + d.file("latest.wav") + " --codes-out " + d.file("latest.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::filesystem::is_symlink(d.file("latest.wav")));
  EXPECT_EQ(read_audio(d.file("take1.wav")).samples.size(), 5u * 1920) << "five frames";

  const std::string fifo = d.file("player.wav");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const char* how : {"", "--stream "}) {
    SCOPED_TRACE(how);
    r = test::run_izwi(base + how + "-o " + d.file("file.wav"));  // what a file would hold
    ASSERT_EQ(r.status, 0) << r.output;
    test::FifoReader player(fifo);
    r = test::run_izwi(base + how + "-o " + fifo);
    const std::string& heard = player.stop();
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(std::filesystem::is_fifo(fifo));
    EXPECT_EQ(read_audio_memory(heard.data(), heard.size()).samples,
              read_audio(d.file("file.wav")).samples);
  }
}

// Ctrl-C (or SIGTERM) while speaking stops at the next frame: exit 130 (143),
// a message, and neither the output nor its temporary file, while a file of
// that name from before stays as it was. A batch stops too, and says how to
// go on.
TEST(CliTts, CtrlCStopsCleanlyAndLeavesTheOldFile) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  const std::string base = "tts 'A long one.' -m " + test::golden_model() + " -s " +
                           d.file("ref.wav") + " --language english --min-seconds 3000 ";
  for (const auto& [how, sig, status] :
       {std::tuple{"", SIGINT, 130}, std::tuple{"--stream ", SIGINT, 130},
        std::tuple{"--stream ", SIGTERM, 143}}) {
    SCOPED_TRACE(std::string(how) + strsignal(sig));
    std::ofstream(d.file("take.wav")) << "an earlier take";
    const auto r = test::run_izwi_and_signal(base + how + "-o " + d.file("take.wav"), sig,
                                             "generating: 2.0 s");
    EXPECT_EQ(r.status, status) << r.output;
    EXPECT_NE(r.output.find(std::string("stopped by ") + (sig == SIGINT ? "Ctrl-C" : "SIGTERM") +
                            "; '" + d.file("take.wav") + "' was not written"),
              std::string::npos)
        << r.output;
    std::ifstream in(d.file("take.wav"));
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "an earlier take");
    EXPECT_FALSE(std::filesystem::exists(d.file("take.wav.partial")));
  }
  std::ofstream(d.file("lines.txt")) << "First.\nSecond.\n";
  const auto r = test::run_izwi_and_signal("tts --input " + d.file("lines.txt") + " --out-dir " +
                                               d.file("out") + " -m " + test::golden_model() +
                                               " -s " + d.file("ref.wav") + " --min-seconds 3000",
                                           SIGINT, "speaking");
  EXPECT_EQ(r.status, 130) << r.output;
  EXPECT_NE(r.output.find("stopped by Ctrl-C: 0 texts spoken, 0 already there, of 2; the same "
                          "command goes on from there"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(std::filesystem::is_empty(d.file("out")));
}

// --min-similarity makes another take (the next seed) while the speaker
// similarity stays below it, at most --max-takes, and keeps the closest.
TEST(CliTts, MinSimilarityMakesMoreTakesAndKeepsTheClosest) {
  test::TempDir d;
  write_audio(d.file("ref.wav"), Audio{load_f32("spk_in_wav"), 24000, 1}, SampleFormat::kFloat32);
  const std::string base = "tts 'Take after take.' -m " + test::golden_model() + " -s " +
                           d.file("ref.wav") + " --language english --seed 40 --max-new-tokens 14 ";
  // Unreachable: three takes (seeds 40, 41, 42), a warning, the best one written.
  auto r = test::run_izwi(base + "--min-similarity 1 --max-takes 3 -o " + d.file("best.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("take 1: similarity"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("take 2: similarity"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("take 3: similarity"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no take reached similarity 1.000 in 3 tries"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(best ([0-9.]+)\))"))) << r.output;
  EXPECT_NE(r.output.find("speaker similarity " + m[1].str()), std::string::npos) << r.output;
  // Reached at once: one take, no retries.
  r = test::run_izwi(base + "--min-similarity -1 -o " + d.file("one.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("take 1:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("seed 40, speaker similarity"), std::string::npos) << r.output;
  // A stream cannot take back what it played.
  r = test::run_izwi(base + "--min-similarity 0.5 --stream -o " + d.file("s.wav"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("drop --stream"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(TextCases, TtsTextGolden,
                         ::testing::Values(TextCase{"xvec", "english", false},
                                           TextCase{"icl", "english", true},
                                           TextCase{"auto", "auto", false}),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace izwi
