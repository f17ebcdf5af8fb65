// WAV headers and sample encoding for audio written while it is generated.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "izwi/audio.h"

namespace izwi {

namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}

// LIST/INFO with the non-empty tags: each a NUL-terminated string padded to an
// even size. Empty without tags.
std::string info_chunk(const AudioTags& tags) {
  const std::pair<const char*, const std::string*> fields[] = {{"INAM", &tags.title},
                                                               {"IART", &tags.artist},
                                                               {"ICMT", &tags.comment},
                                                               {"ISFT", &tags.software},
                                                               {"ICRD", &tags.date}};
  std::string body = "INFO";
  for (const auto& [id, value] : fields) {
    if (value->empty()) continue;
    std::string text = *value + '\0';
    if (text.size() % 2) text.push_back('\0');
    body += id;
    put_u32(body, static_cast<uint32_t>(value->size() + 1));
    body += text;
  }
  if (body.size() == 4) return {};
  std::string s = "LIST";
  put_u32(s, static_cast<uint32_t>(body.size()));
  return s + body;
}

// RIFF/WAVE with a 16-byte fmt chunk (PCM 16 or IEEE float 32), mono, then the
// tags' LIST chunk (if any), then data. riff_bytes: 0 for "unknown".
std::string header(int sample_rate, SampleFormat f, uint32_t data_bytes, bool known,
                   const AudioTags& tags) {
  const uint16_t bits = f == SampleFormat::kPcm16 ? 16 : 32;
  const uint16_t tag = f == SampleFormat::kPcm16 ? 1 : 3;
  const std::string list = info_chunk(tags);
  const uint64_t before_data = 4 + 8 + 16 + list.size() + 8;  // "WAVE", fmt, LIST, data header
  std::string s = "RIFF";
  put_u32(s, known
                 ? static_cast<uint32_t>(std::min<uint64_t>(before_data + data_bytes, 0xFFFFFFFFu))
                 : std::numeric_limits<uint32_t>::max());
  s += "WAVEfmt ";
  put_u32(s, 16);
  put_u16(s, tag);
  put_u16(s, 1);
  put_u32(s, static_cast<uint32_t>(sample_rate));
  put_u32(s, static_cast<uint32_t>(sample_rate) * bits / 8);
  put_u16(s, bits / 8);
  put_u16(s, bits);
  s += list;
  s += "data";
  put_u32(s, data_bytes);
  return s;
}

}  // namespace

std::string wav_stream_header(int sample_rate, SampleFormat f, const AudioTags& tags) {
  return header(sample_rate, f, std::numeric_limits<uint32_t>::max(), false, tags);
}

std::string wav_header(int sample_rate, SampleFormat f, size_t samples, const AudioTags& tags) {
  const uint64_t bytes = samples * (f == SampleFormat::kPcm16 ? 2 : 4);
  const uint64_t limit = 0xFFFFFFFFu - 36 - info_chunk(tags).size();
  return header(sample_rate, f, static_cast<uint32_t>(std::min<uint64_t>(bytes, limit)), true,
                tags);
}

std::string encode_samples(const float* x, size_t n, SampleFormat f) {
  std::string out;
  if (f == SampleFormat::kFloat32) {
    out.resize(n * 4);
    std::memcpy(out.data(), x, n * 4);  // x86-64 and every target we build for are little endian
    return out;
  }
  out.resize(n * 2);
  for (size_t i = 0; i < n; ++i) {
    // As libsndfile converts with clipping on (write_audio): scale to 32 bits,
    // round, keep the top 16. Streamed and whole files then hold the same samples.
    const double c = std::isnan(x[i]) ? 0.0 : std::clamp(static_cast<double>(x[i]), -1.0, 1.0);
    const double scaled = c * 2147483648.0;
    const int32_t v32 =
        scaled >= 2147483647.0 ? INT32_MAX : static_cast<int32_t>(std::lrint(scaled));
    const auto v = static_cast<int16_t>(v32 >> 16);
    out[2 * i] = static_cast<char>(v & 0xff);
    out[2 * i + 1] = static_cast<char>((static_cast<uint16_t>(v) >> 8) & 0xff);
  }
  return out;
}

}  // namespace izwi
