// Audio encoded in memory, whole or while it is made (HTTP responses, pipes).
#include <sndfile.h>

#include <algorithm>
#include <cstring>

#include "audio/aac_encoder.h"
#include "audio/id3_tag.h"
#include "audio/sndfile_util.h"
#include "core/error.h"
#include "izwi/audio.h"

namespace izwi {

namespace {

// libsndfile virtual I/O onto a growing buffer. Bytes before `sent` have been
// handed out already; writes that land there (header rewrites after a seek back)
// change only the buffer, which matters for whole files, not for streams.
struct MemoryWriter {
  std::string data;
  sf_count_t pos = 0;
  size_t sent = 0;

  static sf_count_t get_len(void* self) {
    return static_cast<sf_count_t>(static_cast<MemoryWriter*>(self)->data.size());
  }
  static sf_count_t seek(sf_count_t offset, int whence, void* self) {
    auto* m = static_cast<MemoryWriter*>(self);
    const sf_count_t base = whence == SEEK_SET   ? 0
                            : whence == SEEK_CUR ? m->pos
                                                 : static_cast<sf_count_t>(m->data.size());
    if (base + offset < 0) return -1;
    m->pos = base + offset;
    return m->pos;
  }
  static sf_count_t read(void* dst, sf_count_t count, void* self) {
    auto* m = static_cast<MemoryWriter*>(self);
    const auto size = static_cast<sf_count_t>(m->data.size());
    const sf_count_t n = std::max<sf_count_t>(0, std::min(count, size - m->pos));
    if (n > 0) std::memcpy(dst, m->data.data() + m->pos, static_cast<size_t>(n));
    m->pos += n;
    return n;
  }
  static sf_count_t write(const void* src, sf_count_t count, void* self) {
    auto* m = static_cast<MemoryWriter*>(self);
    const auto end = static_cast<size_t>(m->pos + count);
    if (end > m->data.size()) m->data.resize(end);
    std::memcpy(m->data.data() + m->pos, src, static_cast<size_t>(count));
    m->pos += count;
    return count;
  }
  static sf_count_t tell(void* self) { return static_cast<MemoryWriter*>(self)->pos; }

  std::string take() {
    std::string out = data.substr(std::min(sent, data.size()));
    sent = std::max(sent, data.size());
    return out;
  }
};

// The length in bytes of the MPEG audio frame whose header starts `p`, or 0.
size_t mpeg_frame_length(const unsigned char* p, size_t n) {
  if (n < 4 || p[0] != 0xFF || (p[1] & 0xE0) != 0xE0) return 0;
  const int version = (p[1] >> 3) & 3;  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const int layer = (p[1] >> 1) & 3;    // 1: layer III
  const int bitrate_index = p[2] >> 4, rate_index = (p[2] >> 2) & 3, padding = (p[2] >> 1) & 1;
  if (version == 1 || layer != 1 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3)
    return 0;
  static const int kV1[] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
  static const int kV2[] = {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
  static const int kRates[] = {44100, 48000, 32000};
  const int kbps = version == 3 ? kV1[bitrate_index] : kV2[bitrate_index];
  const int rate = kRates[rate_index] / (version == 3 ? 1 : version == 2 ? 2 : 4);
  return static_cast<size_t>((version == 3 ? 144000 : 72000) * kbps / rate + padding);
}

// LAME opens an MP3 with a blank frame (a header, then zeros) that becomes the
// "Xing"/"Info" frame when the file is closed (by seeking back). A stream
// cannot be rewritten, and decoders misread the blank frame (mpg123 drops
// audio after it), so a stream leaves it out: what remains is plain MPEG audio.
size_t blank_frame_length(const std::string& head) {
  const auto* p = reinterpret_cast<const unsigned char*>(head.data());
  const size_t len = mpeg_frame_length(p, head.size());
  if (len == 0 || len > head.size()) return 0;
  for (size_t i = 4; i < len; ++i)
    if (p[i] != 0) return 0;
  return len;
}

audio::AacContainer aac_container(AudioFormat format) {
  return format == AudioFormat::kM4a ? audio::AacContainer::kM4a : audio::AacContainer::kAdts;
}

}  // namespace

struct AudioEncoder::Impl {
  AudioFormat format;
  SampleFormat sample_format;
  int sample_rate;
  AudioTags tags;
  bool header_sent = false;
  std::string id3;  // MP3: the tag that goes out first (audio/id3_tag.h)
  MemoryWriter memory;
  audio::SndHandle file;                   // libsndfile's compressed formats
  std::unique_ptr<audio::AacEncoder> aac;  // AAC (ADTS or M4A), through FFmpeg

  // WAV and raw streams are written by hand: libsndfile would need the length.
  bool by_hand() const { return format == AudioFormat::kWav || format == AudioFormat::kRaw; }
};

AudioEncoder::AudioEncoder(AudioFormat format, int sample_rate, SampleFormat sample_format,
                           const AudioTags& tags)
    : impl_(std::make_unique<Impl>()) {
  impl_->format = format;
  impl_->sample_format = sample_format;
  impl_->sample_rate = sample_rate;
  impl_->tags = tags;
  if (format == AudioFormat::kAac || format == AudioFormat::kM4a) {
    impl_->aac = std::make_unique<audio::AacEncoder>(sample_rate, tags, aac_container(format));
    return;
  }
  SF_INFO info = audio::write_info(format, sample_format, sample_rate);  // checks the combination
  if (impl_->by_hand()) return;
  SF_VIRTUAL_IO io{MemoryWriter::get_len, MemoryWriter::seek, MemoryWriter::read,
                   MemoryWriter::write, MemoryWriter::tell};
  impl_->file.reset(sf_open_virtual(&io, SFM_WRITE, &info, &impl_->memory));
  if (!impl_->file)
    fail(ErrorKind::kIo, "cannot start a ", audio_format_name(format),
         " encoder: ", sf_strerror(nullptr));
  sf_command(impl_->file.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
  if (format == AudioFormat::kMp3)
    impl_->id3 = audio::id3v2_tag(tags);  // LAME's own writes UTF-8 as Latin-1
  else
    audio::set_tags(impl_->file.get(), tags);
  if (format == AudioFormat::kMp3) {
    // A stream has no VBR header, and decoders size a header-less MP3 from its
    // first frame: only a constant bitrate makes that right.
    int mode = SF_BITRATE_MODE_CONSTANT;
    sf_command(impl_->file.get(), SFC_SET_BITRATE_MODE, &mode, sizeof mode);
  }
}

AudioEncoder::~AudioEncoder() = default;

std::string AudioEncoder::write(const float* samples, size_t n) {
  Impl& m = *impl_;
  if (m.by_hand()) {
    std::string out;
    if (m.format == AudioFormat::kWav && !m.header_sent)
      out = wav_stream_header(m.sample_rate, m.sample_format, m.tags);
    m.header_sent = true;
    return out + encode_samples(samples, n, m.sample_format);
  }
  if (m.aac) return m.aac->write(samples, n);
  if (!m.file) fail(ErrorKind::kInvalidArgument, "audio encoder used after finish()");
  const auto count = static_cast<sf_count_t>(n);
  if (sf_writef_float(m.file.get(), samples, count) != count)
    fail(ErrorKind::kIo, "encoding ", audio_format_name(m.format),
         " failed: ", sf_strerror(m.file.get()));
  if (m.format == AudioFormat::kMp3 && !m.header_sent) {
    // The ID3 tag goes out first; LAME's blank first frame does not go at all.
    m.header_sent = true;
    m.memory.sent = blank_frame_length(m.memory.data);
    return m.id3 + m.memory.take();
  }
  return m.memory.take();
}

std::string AudioEncoder::finish() {
  Impl& m = *impl_;
  if (m.by_hand()) {
    if (m.format == AudioFormat::kWav && !m.header_sent) {
      m.header_sent = true;
      return wav_stream_header(m.sample_rate, m.sample_format, m.tags);
    }
    return {};
  }
  if (m.aac) return m.aac->finish();
  m.file.reset();  // flushes the encoder
  if (m.format == AudioFormat::kMp3 && !m.header_sent) {
    m.header_sent = true;  // nothing written: the tag and a complete (empty) stream
    return m.id3 + m.memory.take();
  }
  return m.memory.take();
}

std::string encode_audio(const Audio& audio, AudioFormat format, SampleFormat sample_format,
                         const AudioTags& tags) {
  if (format == AudioFormat::kAac || format == AudioFormat::kM4a) {
    audio::AacEncoder aac(audio.sample_rate, tags, aac_container(format));
    std::string out = aac.write(audio.samples.data(), audio.samples.size());
    return out + aac.finish();
  }
  // The other formats through libsndfile, as write_audio: the same bytes as a file.
  const size_t n = audio.samples.size();
  SF_INFO info = audio::write_info(format, sample_format, audio.sample_rate);
  MemoryWriter memory;
  SF_VIRTUAL_IO io{MemoryWriter::get_len, MemoryWriter::seek, MemoryWriter::read,
                   MemoryWriter::write, MemoryWriter::tell};
  {
    audio::SndHandle f(sf_open_virtual(&io, SFM_WRITE, &info, &memory));
    if (!f)
      fail(ErrorKind::kIo, "cannot start a ", audio_format_name(format),
           " encoder: ", sf_strerror(nullptr));
    sf_command(f.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
    if (format != AudioFormat::kRaw && format != AudioFormat::kMp3) audio::set_tags(f.get(), tags);
    const auto count = static_cast<sf_count_t>(n);
    if (sf_writef_float(f.get(), audio.samples.data(), count) != count)
      fail(ErrorKind::kIo, "encoding ", audio_format_name(format),
           " failed: ", sf_strerror(f.get()));
  }
  // MP3's tag is ours: LAME's writes UTF-8 text as Latin-1 ("小明" came back as "å°æ").
  if (format == AudioFormat::kMp3) return audio::id3v2_tag(tags) + memory.data;
  return std::move(memory.data);
}

const char* audio_content_type(AudioFormat format) {
  switch (format) {
    case AudioFormat::kWav:
      return "audio/wav";
    case AudioFormat::kFlac:
      return "audio/flac";
    case AudioFormat::kOgg:
      return "audio/ogg";
    case AudioFormat::kOpus:
      return "audio/ogg; codecs=opus";
    case AudioFormat::kMp3:
      return "audio/mpeg";
    case AudioFormat::kRaw:
      return "audio/pcm";
    case AudioFormat::kAac:
      return "audio/aac";
    case AudioFormat::kM4a:
      return "audio/mp4";
  }
  return "application/octet-stream";
}

}  // namespace izwi
