#include "audio/aac_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "audio/id3_tag.h"
#include "core/error.h"

namespace izwi::audio {

namespace {

// Speech from a 24 kHz model: 64 kbit/s mono AAC-LC is transparent enough and
// about a sixth of 16-bit WAV.
constexpr int64_t kBitRate = 64000;

std::string av_message(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

}  // namespace

struct AacEncoder::Impl {
  AacContainer container = AacContainer::kAdts;
  AVCodecContext* codec = nullptr;
  AVFormatContext* muxer = nullptr;
  AVIOContext* io = nullptr;
  AVStream* stream = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  std::string out;             // muxed bytes not yet handed out (M4A: the whole file)
  int64_t at = 0;              // M4A: where the muxer writes next (it seeks back)
  std::vector<float> pending;  // samples short of a whole frame
  int64_t next_pts = 0;        // in samples
  bool finished = false;

  ~Impl() {
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    avformat_free_context(muxer);  // not `io`: custom I/O is ours to free
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }

  static int write_bytes(void* self, uint8_t* data, int size) {
    Impl& m = *static_cast<Impl*>(self);
    const auto n = static_cast<size_t>(size);
    if (m.container == AacContainer::kAdts) {
      m.out.append(reinterpret_cast<const char*>(data), n);
      return size;
    }
    const auto at = static_cast<size_t>(m.at);
    if (m.out.size() < at + n) m.out.resize(at + n);
    std::memcpy(m.out.data() + at, data, n);
    m.at += size;
    return size;
  }

  // M4A only: the MP4 muxer goes back to write the sizes of what it wrote.
  static int64_t seek(void* self, int64_t offset, int whence) {
    Impl& m = *static_cast<Impl*>(self);
    const auto size = static_cast<int64_t>(m.out.size());
    switch (whence & ~AVSEEK_FORCE) {
      case AVSEEK_SIZE:
        return size;
      case SEEK_SET:
        break;
      case SEEK_CUR:
        offset += m.at;
        break;
      case SEEK_END:
        offset += size;
        break;
      default:
        return AVERROR(EINVAL);
    }
    if (offset < 0) return AVERROR(EINVAL);
    m.at = offset;
    return offset;
  }

  [[noreturn]] static void failed(const char* what, int err) {
    fail(ErrorKind::kInternal, "AAC encoding failed: ", what, " (", av_message(err), ")");
  }

  // Packets the encoder has ready go to the muxer.
  void drain() {
    for (;;) {
      const int err = avcodec_receive_packet(codec, packet);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) failed("the encoder stopped", err);
      av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
      packet->stream_index = 0;
      const int w = av_write_frame(muxer, packet);
      av_packet_unref(packet);
      if (w < 0) failed("the muxer refused a packet", w);
    }
  }

  // Encodes `n` samples as one frame (n <= frame_size; short only for the last).
  void encode(const float* samples, size_t n) {
    frame->nb_samples = static_cast<int>(n);
    frame->format = codec->sample_fmt;
    frame->sample_rate = codec->sample_rate;
    if (int err = av_channel_layout_copy(&frame->ch_layout, &codec->ch_layout); err < 0)
      failed("no frame", err);
    if (int err = av_frame_get_buffer(frame, 0); err < 0) failed("no frame buffer", err);
    std::memcpy(frame->data[0], samples, n * sizeof(float));  // mono: one plane
    frame->pts = next_pts;
    next_pts += static_cast<int64_t>(n);
    const int err = avcodec_send_frame(codec, frame);
    av_frame_unref(frame);
    if (err < 0) failed("the encoder refused a frame", err);
    drain();
  }

  // What is ready to hand out: ADTS as it comes, M4A only when finished.
  std::string take() {
    avio_flush(io);
    if (container == AacContainer::kM4a && !finished) return {};
    return std::exchange(out, {});
  }
};

AacEncoder::AacEncoder(int sample_rate, const AudioTags& tags, AacContainer container)
    : impl_(std::make_unique<Impl>()) {
  static std::once_flag quiet;  // the encoder's statistics lines would reach the server's log
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_QUIET); });
  Impl& m = *impl_;
  m.container = container;
  const bool m4a = container == AacContainer::kM4a;
  const AVCodec* aac = avcodec_find_encoder_by_name("aac");
  if (!aac) fail(ErrorKind::kInternal, "this FFmpeg has no AAC encoder");
  bool rate_ok = false;
  std::string rates;
  for (const int* r = aac->supported_samplerates; r && *r; ++r) {
    rate_ok = rate_ok || *r == sample_rate;
    rates += (rates.empty() ? "" : ", ") + std::to_string(*r);
  }
  if (!rate_ok)
    fail(ErrorKind::kInvalidArgument, "cannot write aac at ", sample_rate, " Hz (AAC supports ",
         rates, " Hz)");

  m.codec = avcodec_alloc_context3(aac);
  m.packet = av_packet_alloc();
  m.frame = av_frame_alloc();
  if (!m.codec || !m.packet || !m.frame) fail(ErrorKind::kInternal, "out of memory");
  m.codec->sample_fmt = AV_SAMPLE_FMT_FLTP;
  m.codec->sample_rate = sample_rate;
  av_channel_layout_default(&m.codec->ch_layout, 1);
  m.codec->bit_rate = kBitRate;
  m.codec->profile = FF_PROFILE_AAC_LOW;
  m.codec->time_base = AVRational{1, sample_rate};
  m.codec->thread_count = 1;  // the engine owns the cores
  m.codec->flags |= AV_CODEC_FLAG_BITEXACT;
  if (m4a) m.codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;  // MP4 keeps the config in its index
  if (int err = avcodec_open2(m.codec, aac, nullptr); err < 0)
    Impl::failed("the encoder refused mono AAC-LC", err);

  const char* muxer = m4a ? "ipod" : "adts";
  if (int err = avformat_alloc_output_context2(&m.muxer, nullptr, muxer, nullptr); err < 0)
    Impl::failed(m4a ? "no M4A (ipod) muxer" : "no ADTS muxer", err);
  m.muxer->flags |= AVFMT_FLAG_BITEXACT;  // no "Lavf" encoder tag of its own
  constexpr int kIoBuffer = 1 << 12;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBuffer));
  if (!buffer) fail(ErrorKind::kInternal, "out of memory");
  m.io = avio_alloc_context(buffer, kIoBuffer, 1, &m, nullptr, &Impl::write_bytes,
                            m4a ? &Impl::seek : nullptr);
  if (!m.io) {
    av_free(buffer);
    fail(ErrorKind::kInternal, "out of memory");
  }
  m.muxer->pb = m.io;
  m.muxer->flags |= AVFMT_FLAG_CUSTOM_IO;
  m.stream = avformat_new_stream(m.muxer, nullptr);
  if (!m.stream) fail(ErrorKind::kInternal, "out of memory");
  if (int err = avcodec_parameters_from_context(m.stream->codecpar, m.codec); err < 0)
    Impl::failed("no stream parameters", err);
  m.stream->time_base = m.codec->time_base;

  if (m4a) {
    // iTunes-style tags, UTF-8 as MP4 has them.
    const std::pair<const char*, const std::string*> fields[] = {{"title", &tags.title},
                                                                 {"artist", &tags.artist},
                                                                 {"comment", &tags.comment},
                                                                 {"encoding_tool", &tags.software},
                                                                 {"date", &tags.date}};
    for (const auto& [key, value] : fields)
      if (!value->empty()) av_dict_set(&m.muxer->metadata, key, value->c_str(), 0);
  } else {
    m.out = id3v2_tag(tags);  // the tag goes first (audio/id3_tag.h says why not FFmpeg's)
  }
  // M4A: the edit list counts in the movie's timescale, 1000 by default: in
  // samples instead, so the clip's length comes back to the sample.
  AVDictionary* options = nullptr;
  if (m4a) av_dict_set_int(&options, "movie_timescale", sample_rate, 0);
  const int err = avformat_write_header(m.muxer, &options);
  av_dict_free(&options);
  if (err < 0)
    Impl::failed(m4a ? "the M4A muxer refused the stream" : "the ADTS muxer refused the stream",
                 err);
}

AacEncoder::~AacEncoder() = default;

std::string AacEncoder::write(const float* samples, size_t n) {
  Impl& m = *impl_;
  if (m.finished) fail(ErrorKind::kInvalidArgument, "audio encoder used after finish()");
  // Clipped as the PCM formats are: the decoder would return what the encoder
  // was given, peaks past full scale included.
  for (size_t i = 0; i < n; ++i)
    m.pending.push_back(std::isfinite(samples[i]) ? std::clamp(samples[i], -1.0f, 1.0f) : 0.0f);
  // Whole frames go; the rest waits (removed once: a whole clip is one call).
  const auto frame = static_cast<size_t>(m.codec->frame_size);
  size_t at = 0;
  for (; m.pending.size() - at >= frame; at += frame) m.encode(m.pending.data() + at, frame);
  m.pending.erase(m.pending.begin(), m.pending.begin() + static_cast<long>(at));
  return m.take();
}

std::string AacEncoder::finish() {
  Impl& m = *impl_;
  if (m.finished) return {};
  m.finished = true;
  if (!m.pending.empty()) m.encode(m.pending.data(), m.pending.size());
  if (int err = avcodec_send_frame(m.codec, nullptr); err < 0) Impl::failed("flush", err);
  m.drain();
  if (int err = av_write_trailer(m.muxer); err < 0) Impl::failed("trailer", err);
  return m.take();
}

}  // namespace izwi::audio
