#include "audio/container_reader.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "audio/mpeg_reader.h"
#include "core/error.h"

namespace izwi::audio {

namespace {

constexpr Container kMp4{"mov,mp4,m4a,3gp,3g2,mj2",
                         "MP4/M4A audio (AAC or ALAC, as phones and many recorders make)"};
constexpr Container kMatroska{"matroska,webm", "WebM/Matroska (as browsers record)"};
constexpr Container kAmr{"amr", "AMR (a phone recording)"};
constexpr Container kAsf{"asf", "WMA (Windows Media)"};
constexpr Container kAdts{"aac", "raw AAC (ADTS)"};
constexpr Container kOgg{"ogg", "Ogg (Opus, Vorbis or FLAC)"};

std::string av_message(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

// The bytes in memory as FFmpeg's I/O: reads and seeks within them.
struct Bytes {
  const unsigned char* data;
  int64_t size;
  int64_t pos = 0;

  static int read(void* self, uint8_t* buf, int want) {
    auto* b = static_cast<Bytes*>(self);
    const int64_t n = std::min<int64_t>(want, b->size - b->pos);
    if (n <= 0) return AVERROR_EOF;
    std::memcpy(buf, b->data + b->pos, static_cast<size_t>(n));
    b->pos += n;
    return static_cast<int>(n);
  }
  static int64_t seek(void* self, int64_t offset, int whence) {
    auto* b = static_cast<Bytes*>(self);
    if (whence == AVSEEK_SIZE) return b->size;
    whence &= ~AVSEEK_FORCE;
    const int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? b->pos : b->size;
    if (base + offset < 0 || base + offset > b->size) return -1;
    return b->pos = base + offset;
  }
};

}  // namespace

bool starts_like_adts(const unsigned char* p, size_t n) {
  // A 12-bit sync word with MPEG "layer" bits 00, which MPEG audio (and so
  // starts_like_mpeg) never uses.
  return n >= 2 && p[0] == 0xff && (p[1] & 0xf6) == 0xf0;
}

const Container* find_container(const unsigned char* data, size_t n) {
  const size_t tag = id3v2_length(data, n);
  return find_container(data, n, tag > 0 && n >= tag + 4 ? data + tag : nullptr);
}

const Container* find_container(const unsigned char* head, size_t n,
                                const unsigned char* after_tag) {
  const auto starts = [&](size_t at, const char* magic, size_t len) {
    return n >= at + len && std::memcmp(head + at, magic, len) == 0;
  };
  if (starts(4, "ftyp", 4)) return &kMp4;
  if (starts(0, "\x1a\x45\xdf\xa3", 4)) return &kMatroska;
  if (starts(0, "#!AMR", 5)) return &kAmr;
  if (starts(0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11", 8)) return &kAsf;
  if (starts_like_adts(head, n)) return &kAdts;
  // Every Ogg stream: libsndfile 1.2.0 leaks its vorbis_info on an Ogg Vorbis
  // stream with damaged headers (about 5.7 KB per crafted upload), and the
  // first page cannot tell which reader a stream will reach (libogg skips a
  // damaged page, so a page saying Opus can be followed by Vorbis). FFmpeg
  // does not leak; it decodes Opus at 48 kHz, whatever rate was encoded.
  if (starts(0, "OggS", 4)) return &kOgg;
  // FFmpeg skips an ID3v2 tag before any stream; izwi tags its AAC that way.
  if (after_tag && id3v2_length(head, n) > 0) {
    if (starts_like_adts(after_tag, 4)) return &kAdts;
    if (std::memcmp(after_tag, "OggS", 4) == 0) return &kOgg;
  }
  return nullptr;
}

struct ContainerReader::Impl {
  std::string name;
  std::string path;  // a file FFmpeg reads itself; "" for bytes in memory
  const Container* container = nullptr;
  Bytes bytes{nullptr, 0};
  AVIOContext* io = nullptr;
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  SwrContext* swr = nullptr;
  int swr_format = -1;  // the sample format `swr` converts from
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  int stream = -1;
  // As the stream declared them when opened: the caller sizes its buffers by
  // them, so a frame that differs (a decoder may revise them) is an error.
  int channels = 0, sample_rate = 0;
  bool demuxed_all = false, decoded_all = false;
  std::vector<float> pending;  // decoded, interleaved, not yet handed out
  size_t pending_at = 0;
  // MP4 keeps the clip's true length (its edit list: AAC's priming before it,
  // the last frame's padding after it). FFmpeg skips the priming but hands out
  // the padding, so reading stops at the length (-1: no such limit).
  int64_t length = -1;
  int64_t handed = 0;  // frames read so far

  ~Impl() {
    av_frame_free(&frame);
    av_packet_free(&packet);
    swr_free(&swr);
    avcodec_free_context(&codec);
    avformat_close_input(&format);
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }

  [[noreturn]] void fail_with(const std::string& why) const {
    unreadable_audio(name, std::string("it is ") + container->description + ", but " + why);
  }

  void open() {
    // FFmpeg prints to stderr by default; its messages would land in the
    // server's JSON log. Errors come back as codes, reported here.
    static std::once_flag quiet;
    std::call_once(quiet, [] { av_log_set_level(AV_LOG_QUIET); });
    if (!path.empty()) {
      // "file:" so that a name with a colon is never taken for a protocol.
      open_format(("file:" + path).c_str());
      return;
    }
    constexpr int kIoBuffer = 1 << 16;
    auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBuffer));
    if (!buffer) fail(ErrorKind::kInternal, "out of memory opening '", name, "'");
    io = avio_alloc_context(buffer, kIoBuffer, 0, &bytes, &Bytes::read, nullptr, &Bytes::seek);
    if (!io) {
      av_free(buffer);
      fail(ErrorKind::kInternal, "out of memory opening '", name, "'");
    }
    format = avformat_alloc_context();
    if (!format) fail(ErrorKind::kInternal, "out of memory opening '", name, "'");
    format->pb = io;
    format->flags |= AVFMT_FLAG_CUSTOM_IO;
    open_format(nullptr);
  }

  // Opens `format` (bytes through `io`, or the file at `url`) and its decoder.
  void open_format(const char* url) {
    const AVInputFormat* demuxer = av_find_input_format(container->demuxer);
    if (!demuxer) fail_with(std::string("this FFmpeg has no '") + container->demuxer + "' reader");
    if (int err = avformat_open_input(&format, url, demuxer, nullptr); err < 0) {
      format = nullptr;  // freed by avformat_open_input
      fail_with("FFmpeg could not open it (" + av_message(err) + "; damaged or cut short?)");
    }
    if (int err = avformat_find_stream_info(format, nullptr); err < 0)
      fail_with("FFmpeg could not read its streams (" + av_message(err) + ")");
    const AVCodec* decoder = nullptr;
    stream = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, &decoder, 0);
    if (stream == AVERROR_STREAM_NOT_FOUND) fail_with("it holds no audio track");
    if (stream < 0 || !decoder)
      fail_with("its audio codec is not one this FFmpeg decodes (" +
                std::string(avcodec_get_name(
                    stream >= 0 ? format->streams[stream]->codecpar->codec_id : AV_CODEC_ID_NONE)) +
                ")");
    codec = avcodec_alloc_context3(decoder);
    if (!codec) fail(ErrorKind::kInternal, "out of memory opening '", name, "'");
    if (int err = avcodec_parameters_to_context(codec, format->streams[stream]->codecpar); err < 0)
      fail_with("its audio parameters are unreadable (" + av_message(err) + ")");
    codec->thread_count = 1;  // one small clip; the engine owns the cores
    if (int err = avcodec_open2(codec, decoder, nullptr); err < 0)
      fail_with(std::string("the ") + decoder->name + " decoder refused it (" + av_message(err) +
                ")");
    channels = codec->ch_layout.nb_channels;
    sample_rate = codec->sample_rate;
    if (container == &kMp4) length = mp4_length(*format->streams[stream]);
    packet = av_packet_alloc();
    frame = av_frame_alloc();
    if (!packet || !frame) fail(ErrorKind::kInternal, "out of memory opening '", name, "'");
  }

  // The track's length in samples where its packets agree with it (they hold
  // at most three frames more: priming and padding), so that a damaged index
  // cuts nothing; else -1.
  int64_t mp4_length(const AVStream& st) const {
    const int64_t frame = st.codecpar->frame_size;
    if (st.duration <= 0 || st.nb_frames <= 0 || frame <= 0 || sample_rate <= 0) return -1;
    const int64_t samples = av_rescale_q(st.duration, st.time_base, AVRational{1, sample_rate});
    const int64_t coded = st.nb_frames * frame;
    return samples <= coded && coded - samples <= 3 * frame ? samples : -1;
  }

  // Appends one decoded frame to `pending` as interleaved float.
  void convert(const AVFrame& f) {
    const int ch = channels;
    if (f.ch_layout.nb_channels != ch || f.sample_rate != sample_rate)
      fail_with("its channels or sample rate change mid-stream (" + std::to_string(ch) + " at " +
                std::to_string(sample_rate) + " Hz declared, " +
                std::to_string(f.ch_layout.nb_channels) + " at " + std::to_string(f.sample_rate) +
                " Hz decoded)");
    if (f.nb_samples <= 0) return;
    if (!swr || swr_format != f.format) {
      swr_free(&swr);
      AVChannelLayout layout;
      av_channel_layout_default(&layout, ch);  // the same on both sides: no remixing
      const auto fmt = static_cast<AVSampleFormat>(f.format);
      if (swr_alloc_set_opts2(&swr, &layout, AV_SAMPLE_FMT_FLT, f.sample_rate, &layout, fmt,
                              f.sample_rate, 0, nullptr) < 0 ||
          swr_init(swr) < 0)
        fail_with(std::string("its sample format (") + av_get_sample_fmt_name(fmt) +
                  ") cannot be converted");
      swr_format = f.format;
    }
    const size_t at = pending.size();
    pending.resize(at + static_cast<size_t>(f.nb_samples) * static_cast<size_t>(ch));
    uint8_t* out = reinterpret_cast<uint8_t*>(pending.data() + at);
    const int got = swr_convert(swr, &out, f.nb_samples,
                                const_cast<const uint8_t**>(f.extended_data), f.nb_samples);
    if (got < 0) fail_with("its samples could not be converted (" + av_message(got) + ")");
    pending.resize(at + static_cast<size_t>(got) * static_cast<size_t>(ch));
  }

  // Decodes until something is pending or the stream is over.
  void decode_more() {
    while (!decoded_all) {
      const int err = avcodec_receive_frame(codec, frame);
      if (err == 0) {
        convert(*frame);
        av_frame_unref(frame);
        return;
      }
      if (err == AVERROR_EOF) {
        decoded_all = true;
        return;
      }
      if (err != AVERROR(EAGAIN)) fail_with("decoding failed (" + av_message(err) + ")");
      if (demuxed_all) {
        decoded_all = true;  // flushed and drained
        return;
      }
      const int r = av_read_frame(format, packet);
      if (r < 0) {
        demuxed_all = true;
        avcodec_send_packet(codec, nullptr);  // flush: the decoder's last frames
        continue;
      }
      // A damaged packet is skipped, as MP3 readers skip a bad frame; a stream
      // with nothing decodable is refused (no samples) by the caller.
      if (packet->stream_index == stream) avcodec_send_packet(codec, packet);
      av_packet_unref(packet);
    }
  }
};

ContainerReader::ContainerReader(const unsigned char* data, size_t size, const Container& container,
                                 const std::string& name)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = name;
  impl_->container = &container;
  impl_->bytes = Bytes{data, static_cast<int64_t>(size)};
  impl_->open();
}

ContainerReader::ContainerReader(const std::string& path, const Container& container)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = path;
  impl_->path = path;
  impl_->container = &container;
  impl_->open();
}

ContainerReader::~ContainerReader() = default;

int ContainerReader::channels() const {
  return impl_->codec->ch_layout.nb_channels;
}
int ContainerReader::sample_rate() const {
  return impl_->codec->sample_rate;
}

AudioTags ContainerReader::tags() const {
  // The container's own tags, else the audio track's (where Ogg keeps its comments).
  const auto get = [this](const char* key) {
    const AVDictionaryEntry* e = av_dict_get(impl_->format->metadata, key, nullptr, 0);
    if (!e) e = av_dict_get(impl_->format->streams[impl_->stream]->metadata, key, nullptr, 0);
    return std::string(e && e->value ? e->value : "");
  };
  // Ogg comments name the software SOFTWARE (libsndfile) and the codec library
  // "encoder" (the vendor string); ID3v2's TSSE is "encoder".
  const std::string software = get("software");
  return AudioTags{get("title"), get("artist"), get("comment"),
                   software.empty() ? get("encoder") : software, get("date")};
}

long ContainerReader::read(float* dst, long frames) {
  Impl& m = *impl_;
  const size_t ch = static_cast<size_t>(channels());
  while (m.pending.size() - m.pending_at < ch && !m.decoded_all) {
    m.pending.erase(m.pending.begin(), m.pending.begin() + static_cast<long>(m.pending_at));
    m.pending_at = 0;
    m.decode_more();
  }
  size_t available = (m.pending.size() - m.pending_at) / ch;
  if (m.length >= 0)
    available = std::min(available, static_cast<size_t>(std::max<int64_t>(0, m.length - m.handed)));
  const size_t n = std::min(available, static_cast<size_t>(frames));
  std::copy_n(m.pending.begin() + static_cast<long>(m.pending_at), n * ch, dst);
  m.pending_at += n * ch;
  m.handed += static_cast<int64_t>(n);
  return static_cast<long>(n);
}

}  // namespace izwi::audio
