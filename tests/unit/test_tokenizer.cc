// The text tokenizer against the official slow Qwen2Tokenizer: every line of
// the real-vocabulary golden file, the tiny golden model's strings, properties
// over random text, and error handling.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "izwi/tokenizer.h"
#include "test_util.h"
#include "text/bpe.h"
#include "text/unicode.h"

namespace izwi {
namespace {

const TextTokenizer& qwen() {
  static auto tok = TextTokenizer::load(test::data_path("qwen3-tts/text-tokenizer"));
  return *tok;
}

TEST(Tokenizer, EveryGoldenLineFromTheOfficialTokenizerMatches) {
  std::ifstream in(test::data_path("tokenizer/expected.jsonl"));
  std::string line;
  int n = 0, templated = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    const std::string text = j["text"];
    SCOPED_TRACE(text);
    EXPECT_EQ(qwen().encode(text), j["ids"].get<std::vector<int32_t>>());
    templated += j.value("template", false);
    ++n;
  }
  EXPECT_EQ(n, 68);
  EXPECT_EQ(templated, 34);
}

TEST(Tokenizer, TinyGoldenModelStringsMatch) {
  auto tok = TextTokenizer::load(test::golden_model());
  const auto m = nlohmann::json::parse(std::ifstream(test::data_path("golden/manifest.json")));
  int n = 0;
  for (const auto& s : m["text_tokenizer"]["strings"]) {
    SCOPED_TRACE(s["text"].get<std::string>());
    EXPECT_EQ(tok->encode(s["text"].get<std::string>()), s["ids"].get<std::vector<int32_t>>());
    ++n;
  }
  EXPECT_EQ(n, 11);
  EXPECT_EQ(tok->token_id("<tts_pad>"), 503);
  EXPECT_EQ(tok->token_id("assistant"), 502);
}

TEST(Tokenizer, SpecialTokensAreNeverSplitAndDecodeVerbatim) {
  const auto ids = qwen().encode("a<|im_end|>b<|im_start|>");
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[1], 151645);
  EXPECT_EQ(ids[3], 151644);
  EXPECT_EQ(qwen().decode(ids), "a<|im_end|>b<|im_start|>");
  EXPECT_EQ(qwen().token_id("<|endoftext|>"), 151643);
  EXPECT_GE(qwen().vocab_size(), 151646);
}

TEST(Tokenizer, NfcNormalisesBeforeTokenizing) {
  // "e" + combining acute and precomposed "é" give the same ids.
  EXPECT_EQ(qwen().encode("caf\x65\xcc\x81"), qwen().encode("caf\xc3\xa9"));
}

TEST(Tokenizer, InvalidUtf8NamesTheByteOffset) {
  for (const auto& [bad, offset] : std::vector<std::pair<std::string, int>>{{"abc\xff", 3},
                                                                            {"h\xc3", 1},
                                                                            {"ok \xed\xa0\x80", 3},
                                                                            {"\xe6\xa0 x", 0},
                                                                            {"\xc0\xaf", 0}}) {
    try {
      qwen().encode(bad);
      FAIL() << "no error for offset " << offset;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("at byte offset " + std::to_string(offset)),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Tokenizer, DecodeReplacesBrokenUtf8LikePython) {
  // One token holding half of a 3-byte character decodes to a single U+FFFD.
  const auto ids = qwen().encode("\xe6\xa0\xb9");  // U+6839
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(qwen().decode(ids), "\xe6\xa0\xb9");
  EXPECT_EQ(text::decode_utf8_lenient("a\xe6\xa0"), "a\xef\xbf\xbd");
  EXPECT_EQ(text::decode_utf8_lenient("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_THROW(qwen().decode({-1}), Error);
  EXPECT_THROW(qwen().decode({999999999}), Error);
}

std::string random_text(std::mt19937& rng, size_t n_chars) {
  // A mix that exercises every branch of the pre-tokenizer and NFC.
  static const std::vector<uint32_t> pool = {
      'a',     'Z',    'q',    ' ',    ' ',    '\n',    '\r',   '\t',  '\'',    's',
      'l',     'd',    '0',    '7',    '.',    ',',     '!',    '$',   '%',     '-',
      '<',     '|',    '>',    0xA0,   0x3000, 0x2028,  0x85,   0xE9,  0x301,   0x308,
      0x65,    0x4E2D, 0x6587, 0xAC00, 0x1100, 0x1161,  0x43F,  0x440, 0x1F600, 0x1F44D,
      0x1F3FD, 0x200D, 0xFF21, 0xFF10, 0x0663, 0x1D400, 0xFFFD, 0x7F,  0x1};
  std::string s;
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<uint32_t> any(0x20, 0x10FFFF);
  for (size_t i = 0; i < n_chars; ++i) {
    uint32_t cp = rng() % 8 == 0 ? any(rng) : pool[pick(rng)];
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';  // no surrogates in valid UTF-8
    if (rng() % 50 == 0) {
      s += rng() % 2 ? "<|im_start|>" : "<|im_end|>";
      continue;
    }
    text::append_utf8(s, cp);
  }
  return s;
}

TEST(TokenizerProperties, DecodeOfEncodeIsTheNfcText) {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 400; ++iter) {
    const std::string s = random_text(rng, 1 + rng() % 80);
    SCOPED_TRACE(iter);
    const auto ids = qwen().encode(s);
    ASSERT_EQ(qwen().decode(ids), text::nfc(s));
  }
}

TEST(TokenizerProperties, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  int rejected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    try {
      const auto ids = qwen().encode(s);
      EXPECT_EQ(qwen().decode(ids), text::nfc(s));  // it was valid UTF-8
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);  // most random byte strings are not UTF-8
}

// The slow reference algorithm, written plainly (O(n^2)): repeatedly merge every
// non-overlapping occurrence of the lowest-ranked adjacent pair, left to right.
std::vector<std::string> slow_bpe(const std::string& word,
                                  const std::map<std::pair<std::string, std::string>, int>& ranks) {
  std::vector<std::string> sym;
  for (char c : word) sym.emplace_back(1, c);
  for (;;) {
    int best = INT32_MAX;
    std::pair<std::string, std::string> pair;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = ranks.find({sym[i], sym[i + 1]});
      if (it != ranks.end() && it->second < best) best = it->second, pair = it->first;
    }
    if (best == INT32_MAX) return sym;
    std::vector<std::string> next;
    for (size_t i = 0; i < sym.size();) {
      if (i + 1 < sym.size() && sym[i] == pair.first && sym[i + 1] == pair.second) {
        next.push_back(sym[i] + sym[i + 1]);
        i += 2;
      } else {
        next.push_back(sym[i++]);
      }
    }
    sym = std::move(next);
  }
}

TEST(TokenizerProperties, LongPiecesMatchTheSlowAlgorithm) {
  // The tiny golden tokenizer: 245 merges learned on English.
  auto tok = TextTokenizer::load(test::golden_model());
  const auto vocab = nlohmann::json::parse(std::ifstream(test::golden_model() + "/vocab.json"));
  std::map<std::pair<std::string, std::string>, int> ranks;
  std::ifstream mf(test::golden_model() + "/merges.txt");
  std::string line;
  int rank = 0;
  while (std::getline(mf, line))
    if (!line.empty() && line[0] != '#')
      ranks[{line.substr(0, line.find(' ')), line.substr(line.find(' ') + 1)}] = rank++;
  std::mt19937 rng(5);
  const std::string letters = "eeeettaaoinshrdlucmfwypvbgkqjxz";
  for (int len : {1, 2, 3, 17, 500, 3000}) {
    std::string word;
    for (int i = 0; i < len; ++i) word.push_back(letters[rng() % letters.size()]);
    std::vector<int32_t> expect;
    for (const auto& sym : slow_bpe(word, ranks)) expect.push_back(vocab.at(sym).get<int32_t>());
    EXPECT_EQ(tok->encode(word), expect) << "length " << len;
  }
  // 100,000 letters in one piece: completes (no quadratic blow-up) and round-trips.
  std::string huge;
  for (int i = 0; i < 100000; ++i) huge.push_back(letters[rng() % letters.size()]);
  EXPECT_EQ(qwen().decode(qwen().encode(huge)), huge);
}

TEST(Bpe, RoundsMergeLeftmostOccurrencesLikeTheSlowAlgorithm) {
  // ids: a=0 b=1 aa=2 ab=3; merges: (a,a)->aa rank 0, (a,b)->ab rank 1.
  text::BpeMerges m;
  m.add(0, 0, 2, 0);
  m.add(0, 1, 3, 1);
  std::vector<int32_t> ids = {0, 0, 0};  // "aaa" -> "aa" "a"
  m.apply(ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 0}));
  ids = {0, 0, 0, 1};  // "aaab" -> rank 0 first: "aa" "a" "b", then "aa" "ab"
  m.apply(ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 3}));
  ids = {0, 0, 0, 0};
  m.apply(ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 2}));
}

TEST(Tokenizer, LoadsTokenizerJsonToo) {
  test::TempDir d;
  nlohmann::json vocab = nlohmann::json::parse(std::ifstream(test::golden_model() + "/vocab.json"));
  std::vector<std::string> merges;
  std::ifstream mf(test::golden_model() + "/merges.txt");
  std::string line;
  while (std::getline(mf, line))
    if (!line.empty() && line[0] != '#') merges.push_back(line);
  nlohmann::json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
      {"added_tokens",
       {{{"id", 500}, {"content", "<|im_start|>"}}, {{"id", 501}, {"content", "<|im_end|>"}}}}};
  std::ofstream(d.file("tokenizer.json")) << j.dump();
  auto from_json = TextTokenizer::load(d.path().string());
  auto from_files = TextTokenizer::load(test::golden_model());
  const std::string text = "<|im_start|>assistant\nThe weather is nice today, isn't it?<|im_end|>";
  EXPECT_EQ(from_json->encode(text), from_files->encode(text));
}

TEST(Tokenizer, MissingFilesSayWhatIsExpected) {
  test::TempDir d;
  try {
    TextTokenizer::load(d.path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected vocab.json and merges.txt"), std::string::npos);
  }
  std::ofstream(d.file("vocab.json")) << "{\"a\": 0}";
  std::ofstream(d.file("merges.txt")) << "#version: 0.2\na b\n";
  EXPECT_THROW(TextTokenizer::load(d.path().string()), Error);  // merge uses unknown tokens
}

}  // namespace
}  // namespace izwi
