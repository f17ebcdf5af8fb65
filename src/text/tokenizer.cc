// TextTokenizer: file loading, added-token splitting, BPE with a piece cache.
#include "izwi/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "core/json_util.h"
#include "text/bpe.h"
#include "text/pretokenizer.h"
#include "text/unicode.h"

namespace izwi {

namespace fs = std::filesystem;

struct TextTokenizer::Impl {
  std::unordered_map<std::string, int32_t> vocab;      // byte-level token -> id
  std::vector<std::string> id_to_token;                // id -> token text ("" if unused)
  std::vector<bool> is_added;                          // id -> added token (decoded verbatim)
  std::vector<std::pair<std::string, int32_t>> added;  // added tokens, longest first
  std::array<bool, 256> added_first{};                 // bytes that start an added token
  std::array<int32_t, 256> byte_ids{};                 // id of each byte symbol
  text::BpeMerges merges;
  text::PreTokenizer pretokenizer;

  mutable std::mutex cache_mu;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;  // piece -> ids

  void set_token(int32_t id, const std::string& tok, bool added_token) {
    if (id < 0)
      fail(ErrorKind::kInvalidFormat, "tokenizer: negative id ", id, " for token '", tok, "'");
    if (static_cast<size_t>(id) >= id_to_token.size()) {
      id_to_token.resize(static_cast<size_t>(id) + 1);
      is_added.resize(static_cast<size_t>(id) + 1);
    }
    id_to_token[id] = tok;
    is_added[id] = added_token;
  }

  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
    const std::string key(piece);
    {
      std::lock_guard<std::mutex> lock(cache_mu);
      auto it = cache.find(key);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> ids;
    ids.reserve(piece.size());
    for (unsigned char b : piece) ids.push_back(byte_ids[b]);
    merges.apply(ids);
    out.insert(out.end(), ids.begin(), ids.end());
    if (piece.size() <= 256) {  // long pieces are rare and would bloat the cache
      std::lock_guard<std::mutex> lock(cache_mu);
      if (cache.size() > 100000) cache.clear();
      cache.emplace(key, std::move(ids));
    }
  }

  void encode_plain(std::string_view chunk, std::vector<int32_t>& out) const {
    for (std::string_view piece : pretokenizer.split(chunk)) encode_piece(piece, out);
  }

  void finish_loading(const std::string& where) {
    const auto& symbols = text::byte_symbols();
    for (int b = 0; b < 256; ++b) {
      auto it = vocab.find(symbols[b]);
      if (it == vocab.end())
        fail(ErrorKind::kInvalidFormat, where, ": the vocabulary lacks byte symbol ", b,
             "; not a byte-level BPE vocabulary");
      byte_ids[b] = it->second;
    }
    std::sort(added.begin(), added.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& a : added) added_first[static_cast<unsigned char>(a.first[0])] = true;
  }

  void add_merge_line(const std::string& left, const std::string& right, int32_t rank,
                      const std::string& where) {
    auto l = vocab.find(left), r = vocab.find(right), m = vocab.find(left + right);
    if (l == vocab.end() || r == vocab.end() || m == vocab.end())
      fail(ErrorKind::kInvalidFormat, where, ": merge ", rank + 1, " ('", left, " ", right,
           "') uses a token missing from the vocabulary");
    merges.add(l->second, r->second, m->second, rank);
  }
};

namespace {

void read_added_tokens(TextTokenizer::Impl& t, const nlohmann::json& decoder,
                       const std::string& where) {
  if (!decoder.is_object())
    fail(ErrorKind::kInvalidFormat, where, ": 'added_tokens_decoder' is not an object");
  for (auto& [id_str, info] : decoder.items()) {
    int32_t id;
    try {
      id = std::stoi(id_str);
    } catch (...) {
      fail(ErrorKind::kInvalidFormat, where, ": added token id '", id_str, "' is not a number");
    }
    const std::string content = info.value("content", "");
    if (content.empty())
      fail(ErrorKind::kInvalidFormat, where, ": added token ", id, " has no content");
    t.set_token(id, content, true);
    t.added.emplace_back(content, id);
  }
}

std::unique_ptr<TextTokenizer::Impl> load_vocab_merges(const fs::path& dir) {
  auto t = std::make_unique<TextTokenizer::Impl>();
  const std::string vocab_path = (dir / "vocab.json").string();
  const nlohmann::json vocab = load_json_file(vocab_path);
  if (!vocab.is_object())
    fail(ErrorKind::kInvalidFormat, vocab_path, ": expected a JSON object of token -> id");
  for (auto& [tok, id] : vocab.items()) {
    if (!id.is_number_integer())
      fail(ErrorKind::kInvalidFormat, vocab_path, ": id of '", tok, "' is not an integer");
    t->vocab.emplace(tok, id.get<int32_t>());
    t->set_token(id.get<int32_t>(), tok, false);
  }
  const std::string merges_path = (dir / "merges.txt").string();
  std::ifstream in(merges_path);
  if (!in) fail(ErrorKind::kNotFound, "cannot open '", merges_path, "'");
  std::string line;
  int32_t rank = 0;
  bool first = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first && line.rfind("#version", 0) == 0) {
      first = false;
      continue;
    }
    first = false;
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size())
      fail(ErrorKind::kInvalidFormat, merges_path, ": line ", rank + 2,
           " is not a 'left right' merge");
    t->add_merge_line(line.substr(0, sp), line.substr(sp + 1), rank++, merges_path);
  }
  const fs::path cfg = dir / "tokenizer_config.json";
  if (fs::exists(cfg)) {
    const nlohmann::json j = load_json_file(cfg.string());
    if (j.contains("added_tokens_decoder"))
      read_added_tokens(*t, j["added_tokens_decoder"], cfg.string());
  }
  t->finish_loading(vocab_path);
  return t;
}

std::unique_ptr<TextTokenizer::Impl> load_tokenizer_json(const fs::path& path) {
  auto t = std::make_unique<TextTokenizer::Impl>();
  const std::string where = path.string();
  const nlohmann::json j = load_json_file(where);
  if (!j.contains("model") || !j["model"].contains("vocab") || !j["model"].contains("merges"))
    fail(ErrorKind::kInvalidFormat, where,
         ": expected model.vocab and model.merges (a BPE tokenizer.json)");
  if (j["model"].value("type", "BPE") != "BPE")
    fail(ErrorKind::kInvalidFormat, where, ": model type '", j["model"].value("type", ""),
         "' is not BPE");
  for (auto& [tok, id] : j["model"]["vocab"].items()) {
    t->vocab.emplace(tok, id.get<int32_t>());
    t->set_token(id.get<int32_t>(), tok, false);
  }
  int32_t rank = 0;
  for (const auto& m : j["model"]["merges"]) {
    std::string left, right;
    if (m.is_string()) {  // "left right"
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos)
        fail(ErrorKind::kInvalidFormat, where, ": merge '", s, "' has no space");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2) {  // ["left", "right"]
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      fail(ErrorKind::kInvalidFormat, where, ": merge ", rank, " is neither a string nor a pair");
    }
    t->add_merge_line(left, right, rank++, where);
  }
  if (j.contains("added_tokens"))
    for (const auto& a : j["added_tokens"]) {
      const int32_t id = a.at("id").get<int32_t>();
      const std::string content = a.at("content").get<std::string>();
      t->set_token(id, content, true);
      t->added.emplace_back(content, id);
    }
  t->finish_loading(where);
  return t;
}

}  // namespace

TextTokenizer::TextTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TextTokenizer::~TextTokenizer() = default;

std::unique_ptr<TextTokenizer> TextTokenizer::load(const std::string& dir_str) {
  const fs::path dir(dir_str);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail(ErrorKind::kNotFound, "tokenizer directory '", dir_str, "' does not exist");
  std::unique_ptr<Impl> impl;
  if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
    impl = load_vocab_merges(dir);
  } else if (fs::exists(dir / "tokenizer.json")) {
    impl = load_tokenizer_json(dir / "tokenizer.json");
  } else {
    fail(ErrorKind::kNotFound, "'", dir_str,
         "' has no text tokenizer: expected vocab.json and merges.txt (or tokenizer.json)");
  }
  return std::unique_ptr<TextTokenizer>(new TextTokenizer(std::move(impl)));
}

std::vector<int32_t> TextTokenizer::encode(std::string_view raw) const {
  text::check_utf8(raw);
  const std::string s = text::nfc(raw);
  std::vector<int32_t> out;
  out.reserve(s.size() / 3 + 4);
  // Added tokens are found first (earliest position, then longest) and never split.
  size_t chunk_start = 0;
  for (size_t i = 0; i < s.size();) {
    const std::pair<std::string, int32_t>* hit = nullptr;
    if (impl_->added_first[static_cast<unsigned char>(s[i])])
      for (const auto& a : impl_->added)
        if (s.compare(i, a.first.size(), a.first) == 0) {
          hit = &a;
          break;
        }
    if (!hit) {
      ++i;
      continue;
    }
    impl_->encode_plain(std::string_view(s).substr(chunk_start, i - chunk_start), out);
    out.push_back(hit->second);
    i += hit->first.size();
    chunk_start = i;
  }
  impl_->encode_plain(std::string_view(s).substr(chunk_start), out);
  return out;
}

std::string TextTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string text, bytes;
  auto flush = [&] {
    text += text::decode_utf8_lenient(bytes);
    bytes.clear();
  };
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size() ||
        impl_->id_to_token[id].empty())
      fail(ErrorKind::kInvalidArgument, "token id ", id, " is not in the vocabulary (0 .. ",
           vocab_size() - 1, ")");
    const std::string& tok = impl_->id_to_token[id];
    if (impl_->is_added[id]) {
      flush();
      text += tok;
      continue;
    }
    // Byte-level symbols back to bytes.
    for (size_t i = 0; i < tok.size();) {
      const unsigned char c = static_cast<unsigned char>(tok[i]);
      uint32_t cp;
      int len;
      if (c < 0x80)
        cp = c, len = 1;
      else if ((c & 0xE0) == 0xC0)
        cp = c & 0x1F, len = 2;
      else
        cp = c & 0x0F, len = 3;
      for (int k = 1; k < len && i + k < tok.size(); ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(tok[i + k]) & 0x3F);
      const int b = text::byte_of_symbol(cp);
      if (b < 0) fail(ErrorKind::kInvalidFormat, "vocabulary token ", id, " is not byte-level");
      bytes.push_back(static_cast<char>(b));
      i += static_cast<size_t>(len);
    }
  }
  flush();
  return text;
}

std::optional<int32_t> TextTokenizer::token_id(std::string_view token) const {
  for (const auto& a : impl_->added)
    if (a.first == token) return a.second;
  auto it = impl_->vocab.find(std::string(token));
  if (it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

int32_t TextTokenizer::vocab_size() const {
  return static_cast<int32_t>(impl_->id_to_token.size());
}

}  // namespace izwi
