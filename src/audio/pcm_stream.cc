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

// RIFF/WAVE with a 16-byte fmt chunk (PCM 16 or IEEE float 32), mono.
std::string header(int sample_rate, SampleFormat f, uint32_t data_bytes, uint32_t riff_bytes) {
  const uint16_t bits = f == SampleFormat::kPcm16 ? 16 : 32;
  const uint16_t tag = f == SampleFormat::kPcm16 ? 1 : 3;
  std::string s = "RIFF";
  put_u32(s, riff_bytes);
  s += "WAVEfmt ";
  put_u32(s, 16);
  put_u16(s, tag);
  put_u16(s, 1);
  put_u32(s, static_cast<uint32_t>(sample_rate));
  put_u32(s, static_cast<uint32_t>(sample_rate) * bits / 8);
  put_u16(s, bits / 8);
  put_u16(s, bits);
  s += "data";
  put_u32(s, data_bytes);
  return s;
}

}  // namespace

std::string wav_stream_header(int sample_rate, SampleFormat f) {
  const uint32_t unknown = std::numeric_limits<uint32_t>::max();
  return header(sample_rate, f, unknown, unknown);
}

std::string wav_header(int sample_rate, SampleFormat f, size_t samples) {
  const uint64_t bytes = samples * (f == SampleFormat::kPcm16 ? 2 : 4);
  const auto data = static_cast<uint32_t>(std::min<uint64_t>(bytes, 0xFFFFFFFFu - 36));
  return header(sample_rate, f, data, data + 36);
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
