// Audio in the containers libsndfile and libmpg123 do not read, through
// FFmpeg's libavformat / libavcodec: MP4/M4A (AAC, ALAC: a phone's voice memo),
// WebM/Matroska (Opus, Vorbis: a browser's recording), raw AAC (ADTS), AMR,
// WMA, and all Ogg (libsndfile leaks on damaged Ogg Vorbis, and a stream's
// first page cannot promise what follows). The demuxer is chosen from the
// stream's first bytes, never by FFmpeg's prober (which would take a text file
// for a "tty" video), and FFmpeg's own log lines are off.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "izwi/audio.h"

namespace izwi::audio {

// Bytes that tell every container apart: an Ogg page header with a full
// segment table, and the first 8 bytes of its packet.
constexpr size_t kHeadBytes = 300;

// A container izwi reads through FFmpeg, by its first bytes.
struct Container {
  const char* demuxer;      // FFmpeg's name for it
  const char* description;  // for messages: "MP4/M4A audio (AAC or ALAC, ...)"
};
// nullptr when `head` (the first `n` bytes; kHeadBytes tell every case) starts
// like none of them.
// `after_tag`: the 4 bytes after an ID3v2 tag that `head` starts with (nullptr:
// none), where an AAC stream (izwi's own among them) may begin.
const Container* find_container(const unsigned char* head, size_t n,
                                const unsigned char* after_tag);
// The same for a whole stream in memory.
const Container* find_container(const unsigned char* data, size_t n);
// Whether `p` starts with an ADTS frame's sync word.
bool starts_like_adts(const unsigned char* p, size_t n);

// One open stream (its first audio track) decoding to interleaved float32 at
// its own rate and channel count. Throws Error (kInvalidFormat) naming `name`
// when FFmpeg cannot open or decode it.
class ContainerReader {
 public:
  // `data` must outlive the reader.
  ContainerReader(const unsigned char* data, size_t size, const Container& container,
                  const std::string& name);
  // A file, read by FFmpeg as it decodes (a long video is not loaded whole).
  ContainerReader(const std::string& path, const Container& container);
  ~ContainerReader();
  ContainerReader(const ContainerReader&) = delete;
  ContainerReader& operator=(const ContainerReader&) = delete;

  int channels() const;
  int sample_rate() const;
  // The container's tags (ID3v2 before AAC, MP4 and Matroska tags; FFmpeg's
  // "encoder" is the software); empty fields where it has none.
  AudioTags tags() const;
  // Up to `frames` interleaved frames into `dst`; 0 at the end.
  long read(float* dst, long frames);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi::audio
