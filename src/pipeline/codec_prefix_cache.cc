#include "pipeline/codec_prefix_cache.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>

#include "core/safetensors.h"
#include "core/safetensors_writer.h"
#include "izwi/error.h"
#include "kernels/ops.h"

namespace izwi::pipeline {

namespace fs = std::filesystem;

namespace {

// Bump when the state's tensors or their meaning change.
constexpr const char* kLayoutVersion = "1";

std::string arithmetic(const Codec& codec) {
  if (codec.decoder->bf16()) return std::string("bf16-") + ops::bf16_convolution_kernel();
  // Suffixes mark changes that round differently (2026-12-04): ".2" the
  // transposed convolutions by Winograd too, ".3" / "f32.2" SnakeBeta's sin^2
  // on AVX2 (kernels/cpu/vec_avx2.cc).
  return codec.decoder->winograd() ? "f32-winograd.3" : "f32.2";
}

// FNV-1a over the codes: only names the file; the codes inside are compared.
std::string codes_hash(const AudioCodes& codes) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t v : codes.values)
    for (int b = 0; b < 4; ++b) {
      h ^= (static_cast<uint32_t>(v) >> (8 * b)) & 0xffu;
      h *= 1099511628211ull;
    }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The state's vectors under their names, in one order for writing and reading.
template <typename Fn>
void for_each_part(codec::DecoderStream& s, Fn&& fn) {
  fn("pre_conv", s.pre_conv);
  for (size_t l = 0; l < s.k.size(); ++l) {
    fn("layers." + std::to_string(l) + ".k", s.k[l]);
    fn("layers." + std::to_string(l) + ".v", s.v[l]);
  }
  for (size_t i = 0; i < s.upsample_dw.size(); ++i)
    fn("upsample." + std::to_string(i) + ".dwconv", s.upsample_dw[i]);
  fn("first_conv", s.first_conv);
  for (size_t i = 0; i < s.blocks.size(); ++i) {
    const std::string b = "blocks." + std::to_string(i);
    fn(b + ".upsample_tail", s.blocks[i].upsample_tail);
    for (size_t u = 0; u < s.blocks[i].conv1.size(); ++u)
      fn(b + ".units." + std::to_string(u) + ".conv1", s.blocks[i].conv1[u]);
  }
  fn("final_conv", s.final_conv);
}

std::vector<float> floats(const SafetensorsFile& f, const std::string& name) {
  const Tensor t = f.get(name);
  const float* p = t.f32();
  return std::vector<float>(p, p + t.numel());
}

std::vector<int32_t> ints(const SafetensorsFile& f, const std::string& name) {
  const Tensor t = f.get(name);
  const int32_t* p = t.i32();
  return std::vector<int32_t>(p, p + t.numel());
}

// Of more than kMaxCodecPrefixFiles, removes those used least recently.
void prune(const fs::path& dir) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors")
      files.emplace_back(fs::last_write_time(e.path(), ec), e.path());
  if (files.size() <= kMaxCodecPrefixFiles) return;
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + kMaxCodecPrefixFiles < files.size(); ++i) fs::remove(files[i].second, ec);
}

}  // namespace

std::string codec_prefix_path(const Codec& codec, const AudioCodes& codes) {
  return (fs::path(codec.dir) / ".izwi-cache" / "codec-prefix" /
          (codes_hash(codes) + "-" + arithmetic(codec) + ".safetensors"))
      .string();
}

std::optional<CodecPrefix> read_codec_prefix(const Codec& codec, const AudioCodes& codes) {
  const std::string path = codec_prefix_path(codec, codes);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  try {
    const SafetensorsFile f(path);
    const auto& meta = f.metadata();
    const auto get = [&](const char* k) {
      auto it = meta.find(k);
      return it == meta.end() ? std::string() : it->second;
    };
    if (get("izwi_layout") != kLayoutVersion || get("izwi_arithmetic") != arithmetic(codec) ||
        get("izwi_source") != codec.source || ints(f, "codes") != codes.values)
      return std::nullopt;
    codec::ChunkedStreamState st;
    st.total = std::stoll(get("total"));
    st.started_at = std::stoll(get("started_at"));
    st.recent = ints(f, "recent");
    st.stream = codec.decoder->new_stream();
    st.stream.frames = std::stoll(get("stream_frames"));
    for_each_part(st.stream,
                  [&](const std::string& name, std::vector<float>& v) { v = floats(f, name); });
    CodecPrefix p{codec::ChunkedStream(*codec.decoder, std::move(st)), floats(f, "tail")};
    if (p.tail.size() != kCodecPrefixTail ||
        !std::all_of(p.tail.begin(), p.tail.end(), [](float v) { return std::isfinite(v); }))
      return std::nullopt;
    fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // used: kept longest
    return p;
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable or not a state of this decoder: decode again, replace it
  }
}

bool write_codec_prefix(const Codec& codec, const AudioCodes& codes, const CodecPrefix& prefix) {
  const fs::path path = codec_prefix_path(codec, codes);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return false;
  codec::ChunkedStreamState st = prefix.state.state();
  const auto G = static_cast<int64_t>(codes.num_codebooks);
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.emplace_back("codes", Tensor::owned_i32({codes.frames, G}, codes.values));
  tensors.emplace_back(
      "recent", Tensor::owned_i32({static_cast<int64_t>(st.recent.size()) / G, G}, st.recent));
  tensors.emplace_back("tail",
                       Tensor::owned_f32({static_cast<int64_t>(prefix.tail.size())}, prefix.tail));
  for_each_part(st.stream, [&](const std::string& name, std::vector<float>& v) {
    const auto n = static_cast<int64_t>(v.size());
    tensors.emplace_back(name, Tensor::owned_f32({n}, std::move(v)));
  });
  try {
    write_safetensors(path.string(), tensors,
                      {{"izwi_layout", kLayoutVersion},
                       {"izwi_arithmetic", arithmetic(codec)},
                       {"izwi_source", codec.source},
                       {"total", std::to_string(st.total)},
                       {"started_at", std::to_string(st.started_at)},
                       {"stream_frames", std::to_string(st.stream.frames)}});
  } catch (const Error&) {
    return false;  // write_safetensors removes its partial file
  }
  prune(path.parent_path());
  return true;
}

}  // namespace izwi::pipeline
