// izwi — audio files and resampling.
//
// Reading goes through libsndfile (WAV PCM 8/16/24/32 and float, FLAC),
// libmpg123 (MP3) and FFmpeg (Ogg Opus/Vorbis, M4A, WebM, AAC, AMR, WMA), from a
// path or from bytes in memory; channels are mixed to mono. Writing: libsndfile,
// and FFmpeg for AAC and M4A. Resampling uses libsoxr at high quality.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace izwi {

struct Audio {
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  int sample_rate = 0;
  int source_channels = 1;  // channel count of the file before the mono mix
  double duration() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

// kAac: AAC-LC in ADTS frames (a .aac file, OpenAI's response_format "aac").
// kM4a: the same AAC-LC in an MP4 file (.m4a, what phones make); not a stream.
enum class AudioFormat { kWav, kFlac, kOgg, kOpus, kMp3, kRaw, kAac, kM4a };
enum class SampleFormat { kPcm16, kFloat32 };

// Text a file carries about itself: WAV LIST/INFO (INAM, IART, ICMT, ISFT,
// ICRD), FLAC and Ogg (Vorbis, Opus) comments, an ID3v2.4 tag (UTF-8) before
// MP3 and AAC, iTunes-style tags in M4A. Empty fields are not written; raw PCM
// has none.
struct AudioTags {
  std::string title, artist, comment, software, date;
  bool empty() const {
    return title.empty() && artist.empty() && comment.empty() && software.empty() && date.empty();
  }
};
// The tags of an audio file (empty fields where it has none).
AudioTags read_audio_tags(const std::string& path);
// The same for a file's bytes in memory; `name` is used in errors.
AudioTags read_audio_tags_memory(const void* data, size_t size,
                                 const std::string& name = "<memory>");

// Throws izwi::Error naming the file and what is wrong (not audio, truncated, empty, ...).
Audio read_audio(const std::string& path);
// Same, from the bytes of a file (e.g. an HTTP upload); `name` is used in errors.
Audio read_audio_memory(const void* data, size_t size, const std::string& name = "<memory>");

// The format for a file name: .wav .flac .ogg .opus .mp3 .aac .m4a .raw/.pcm; throws for others.
AudioFormat audio_format_from_path(const std::string& path);
// "wav", "flac", "ogg", "opus", "mp3", "aac", "m4a", "raw"; throws for others.
AudioFormat parse_audio_format(const std::string& name);
const char* audio_format_name(AudioFormat format);

// Writes mono audio through a temporary file renamed into place. `sample_format`
// applies to WAV and raw (16-bit PCM or 32-bit float little endian); FLAC is
// 16-bit; OGG/Vorbis, Opus, MP3, AAC and M4A are lossy. Opus needs 8/12/16/24/48 kHz.
// AAC (64 kbit/s, FFmpeg's encoder) decodes with 1024 samples of encoder delay
// in front, as any ADTS stream; M4A, the same AAC in MP4, decodes to exactly the
// clip (its edit list gives the delay; src/audio/aac_encoder.h).
void write_audio(const std::string& path, const Audio& audio, AudioFormat format,
                 SampleFormat sample_format = SampleFormat::kPcm16, const AudioTags& tags = {});
// Format chosen from the extension.
void write_audio(const std::string& path, const Audio& audio,
                 SampleFormat sample_format = SampleFormat::kPcm16, const AudioTags& tags = {});

// Streaming output (audio written while it is made, e.g. to a pipe or an HTTP
// response). A WAV header for a mono stream of unknown length: the RIFF and data
// sizes say "as long as it goes" (0xFFFFFFFF), which players and ffmpeg accept.
// With tags, a LIST/INFO chunk comes before the data (same length in both headers).
std::string wav_stream_header(int sample_rate, SampleFormat sample_format,
                              const AudioTags& tags = {});
// The same header with the real sizes, for a stream of `samples` once it ended.
std::string wav_header(int sample_rate, SampleFormat sample_format, size_t samples,
                       const AudioTags& tags = {});
// Samples as little-endian bytes: 16-bit PCM (clipped to [-1, 1], rounded) or float32.
std::string encode_samples(const float* samples, size_t n, SampleFormat sample_format);

// A whole file's bytes in memory (what write_audio would write), with real sizes.
std::string encode_audio(const Audio& audio, AudioFormat format,
                         SampleFormat sample_format = SampleFormat::kPcm16,
                         const AudioTags& tags = {});
// The MIME type of a format ("audio/wav", "audio/mpeg", "audio/flac", ...).
const char* audio_content_type(AudioFormat format);

// Encodes audio as it is made: write() returns the bytes ready to send, finish()
// the rest. WAV gets a streaming header (see wav_stream_header); the compressed
// formats go through libsndfile, whose end-of-stream header rewrites (FLAC's
// total length, MP3's LAME tag) are dropped, as for any non-seekable output:
// decoders read such streams as "length unknown"; AAC through FFmpeg (ADTS
// needs no rewrite). M4A cannot stream: write() returns nothing and finish()
// the whole file (its index follows the audio).
class AudioEncoder {
 public:
  AudioEncoder(AudioFormat format, int sample_rate,
               SampleFormat sample_format = SampleFormat::kPcm16, const AudioTags& tags = {});
  ~AudioEncoder();
  AudioEncoder(const AudioEncoder&) = delete;
  AudioEncoder& operator=(const AudioEncoder&) = delete;
  std::string write(const float* samples, size_t n);
  std::string finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Tempo without pitch (librubberband): speed 2 plays twice as fast at the same
// pitch. Fed in blocks of any size; the output has the input's rate and about
// 1/speed of its length. Speed 1 passes samples through untouched.
class TempoChanger {
 public:
  static constexpr double kMinSpeed = 0.25, kMaxSpeed = 4.0;
  TempoChanger(int sample_rate, double speed);
  ~TempoChanger();
  TempoChanger(const TempoChanger&) = delete;
  TempoChanger& operator=(const TempoChanger&) = delete;
  // The output ready so far; `final` marks the last block and flushes the rest.
  std::vector<float> process(const float* samples, size_t n, bool final = false);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};
// A whole clip at another tempo (one TempoChanger over it).
Audio change_tempo(const Audio& audio, double speed);

// High-quality resampling (libsoxr, HQ); returns `audio` unchanged if the rate matches.
Audio resample(const Audio& audio, int target_rate);

}  // namespace izwi
