// MP3 (MPEG audio layer I-III) reading with libmpg123, its printouts off.
//
// libsndfile decodes MP3 through libmpg123 too, but leaves the decoder's own
// messages on: a damaged upload would print "Note: Illegal Audio-MPEG-Header"
// lines into the server's (JSON) log and the CLI's output. So izwi opens MPEG
// streams itself, with the flags libsndfile uses (no resampling, float output,
// gapless, no "Frankenstein" streams) plus MPG123_QUIET; the samples are the
// same (tests/unit/test_audio.cc compares the two).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct mpg123_handle_struct;

namespace izwi::audio {

// Whether a stream is MPEG audio: it starts with an MPEG frame header, or with
// an ID3v2 tag not followed by another container (a FLAC or WAV file may carry
// an ID3v2 tag; libsndfile reads those), or it is named *.mp3 (`named_mp3`) and
// no container claims it (libsndfile would try it as MPEG). `head`: the first
// `n` bytes; `after_tag`: the 4 bytes after an ID3v2 tag (nullptr: none there).
bool starts_like_mpeg(const unsigned char* head, size_t n, const unsigned char* after_tag,
                      bool named_mp3);
// The same for a whole stream in memory.
bool starts_like_mpeg(const unsigned char* data, size_t n, bool named_mp3);
// Bytes of an ID3v2 tag at the start of `head` (10-byte header included), 0 if none.
size_t id3v2_length(const unsigned char* head, size_t n);

// Throws the error for a file no decoder reads: `why`, and the formats izwi
// reads (audio_file.cc; the MPEG reader says the same).
[[noreturn]] void unreadable_audio(const std::string& name, const std::string& why);

// One open MPEG stream decoding to float. Throws Error (kInvalidFormat) when
// libmpg123 finds no frame.
class MpegReader {
 public:
  static std::unique_ptr<MpegReader> open_file(const std::string& path);
  // `data` must outlive the reader.
  static std::unique_ptr<MpegReader> open_memory(const void* data, size_t size,
                                                 const std::string& name);
  ~MpegReader();
  MpegReader(const MpegReader&) = delete;
  MpegReader& operator=(const MpegReader&) = delete;

  int sample_rate() const { return rate_; }
  int channels() const { return channels_; }
  // Reads up to `frames` frames (interleaved) into `dst`; 0 at the end. A
  // stream that breaks off mid-way ends there (what decoded is kept).
  long read(float* dst, long frames);

 private:
  struct Memory;
  MpegReader(const std::string& name);
  void start();  // reads the format once opened

  std::string name_;
  mpg123_handle_struct* handle_ = nullptr;
  std::unique_ptr<Memory> memory_;
  int rate_ = 0, channels_ = 0;
  bool done_ = false;
};

}  // namespace izwi::audio
