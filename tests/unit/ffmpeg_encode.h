// Test helper: real M4A/WebM/ADTS files written by FFmpeg's own encoders and
// muxers (the peer izwi's container reader is checked against; no ffmpeg
// binary is needed, only the libraries izwi links).
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
}

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace izwi::test {

// Encodes mono `samples` at `rate` with `encoder` ("aac", "libopus") into
// `path` with `muxer` ("ipod" = .m4a, "webm", "adts"). "" on success, else why.
inline std::string ffmpeg_encode(const std::vector<float>& samples, int rate, const char* encoder,
                                 const char* muxer, const std::string& path) {
  av_log_set_level(AV_LOG_QUIET);  // the encoder's statistics lines
  const AVCodec* codec = avcodec_find_encoder_by_name(encoder);
  if (!codec) return std::string("no encoder ") + encoder;
  AVFormatContext* oc = nullptr;
  if (avformat_alloc_output_context2(&oc, nullptr, muxer, path.c_str()) < 0)
    return std::string("no muxer ") + muxer;
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  std::string why;
  AVStream* st = avformat_new_stream(oc, nullptr);
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  const AVSampleFormat fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  ctx->sample_fmt = fmt;
  ctx->sample_rate = rate;
  av_channel_layout_default(&ctx->ch_layout, 1);
  ctx->bit_rate = 96000;
  ctx->time_base = AVRational{1, rate};
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  const auto drain = [&]() {
    while (avcodec_receive_packet(ctx, pkt) == 0) {
      av_packet_rescale_ts(pkt, ctx->time_base, st->time_base);
      pkt->stream_index = 0;
      av_interleaved_write_frame(oc, pkt);
    }
  };
  if (avcodec_open2(ctx, codec, nullptr) < 0) {
    why = "encoder refused the settings";
  } else if (avcodec_parameters_from_context(st->codecpar, ctx) < 0 ||
             avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE) < 0) {
    why = "cannot open the output";
  } else {
    st->time_base = ctx->time_base;
    if (avformat_write_header(oc, nullptr) < 0) why = "header";
    const int n = ctx->frame_size > 0 ? ctx->frame_size : 1024;
    for (size_t at = 0; why.empty() && at < samples.size(); at += static_cast<size_t>(n)) {
      frame->nb_samples = n;
      frame->format = fmt;
      frame->sample_rate = rate;
      av_channel_layout_default(&frame->ch_layout, 1);
      av_frame_get_buffer(frame, 0);
      const size_t take = std::min(samples.size() - at, static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {  // zero-padded to a whole frame
        const float x = static_cast<size_t>(i) < take ? samples[at + static_cast<size_t>(i)] : 0.f;
        if (fmt == AV_SAMPLE_FMT_S16 || fmt == AV_SAMPLE_FMT_S16P)
          reinterpret_cast<int16_t*>(frame->data[0])[i] =
              static_cast<int16_t>(std::clamp(x, -1.f, 1.f) * 32767.f);
        else
          reinterpret_cast<float*>(frame->data[0])[i] = x;  // FLT or FLTP: mono is one plane
      }
      frame->pts = static_cast<int64_t>(at);
      if (avcodec_send_frame(ctx, frame) < 0) why = "encoding failed";
      av_frame_unref(frame);
      drain();
    }
    avcodec_send_frame(ctx, nullptr);
    drain();
    av_write_trailer(oc);
    avio_closep(&oc->pb);
  }
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  avformat_free_context(oc);
  return why;
}

}  // namespace izwi::test
