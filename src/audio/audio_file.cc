// Audio file reading and writing through libsndfile (MP3 reading through
// libmpg123 directly: audio/mpeg_reader.h says why; M4A, WebM and the like
// through FFmpeg: audio/container_reader.h).
#include <sndfile.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "audio/container_reader.h"
#include "audio/mpeg_reader.h"
#include "audio/sndfile_util.h"
#include "core/error.h"
#include "izwi/audio.h"
#include "izwi/output_file.h"

namespace izwi {

namespace {

using audio::SndHandle;

constexpr sf_count_t kMaxFrames = static_cast<sf_count_t>(48000) * 3600 * 2;  // 2 h at 48 kHz

// libsndfile virtual I/O over a read-only buffer.
struct MemoryReader {
  const unsigned char* data;
  sf_count_t size;
  sf_count_t pos = 0;

  static sf_count_t get_len(void* self) { return static_cast<MemoryReader*>(self)->size; }
  static sf_count_t seek(sf_count_t offset, int whence, void* self) {
    auto* m = static_cast<MemoryReader*>(self);
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
    const sf_count_t p = base + offset;
    if (p < 0 || p > m->size) return -1;
    m->pos = p;
    return m->pos;
  }
  static sf_count_t read(void* dst, sf_count_t count, void* self) {
    auto* m = static_cast<MemoryReader*>(self);
    const sf_count_t n = std::max<sf_count_t>(0, std::min(count, m->size - m->pos));
    std::memcpy(dst, m->data + m->pos, static_cast<size_t>(n));
    m->pos += n;
    return n;
  }
  static sf_count_t write(const void*, sf_count_t, void*) { return 0; }
  static sf_count_t tell(void* self) { return static_cast<MemoryReader*>(self)->pos; }
};

// libsndfile virtual I/O onto a file that remembers the first failed write.
// libsndfile's own file I/O does not always pass one on: an MP3 or Ogg encoder
// flushes its last pages in sf_close, which reports nothing, so a full disk
// left a truncated file that was called written.
struct FileWriter {
  FILE* file;
  int error = 0;  // errno of the first failure

  void failed() {
    if (!error) error = errno ? errno : EIO;
  }
  static sf_count_t get_len(void* self) {
    auto* w = static_cast<FileWriter*>(self);
    const off_t here = ftello(w->file);
    if (here < 0 || fseeko(w->file, 0, SEEK_END) != 0) return -1;
    const off_t end = ftello(w->file);
    fseeko(w->file, here, SEEK_SET);
    return end;
  }
  static sf_count_t seek(sf_count_t offset, int whence, void* self) {
    auto* w = static_cast<FileWriter*>(self);
    if (fseeko(w->file, offset, whence) != 0) return -1;
    return ftello(w->file);
  }
  static sf_count_t read(void* dst, sf_count_t count, void* self) {
    auto* w = static_cast<FileWriter*>(self);
    return static_cast<sf_count_t>(std::fread(dst, 1, static_cast<size_t>(count), w->file));
  }
  static sf_count_t write(const void* src, sf_count_t count, void* self) {
    auto* w = static_cast<FileWriter*>(self);
    const size_t n = std::fwrite(src, 1, static_cast<size_t>(count), w->file);
    if (n != static_cast<size_t>(count)) w->failed();
    return static_cast<sf_count_t>(n);
  }
  static sf_count_t tell(void* self) { return ftello(static_cast<FileWriter*>(self)->file); }
};

// Mixes decoded blocks to mono. `read(dst, frames)` fills `dst` with up to
// `frames` interleaved frames and returns how many, <= 0 at the end.
template <class Read>
Audio decode(int channels, int sample_rate, const std::string& name, Read read) {
  if (channels <= 0 || channels > 64)
    fail(ErrorKind::kInvalidFormat, "'", name, "' declares ", channels, " audio channels");
  if (sample_rate < 1000 || sample_rate > 768000)
    fail(ErrorKind::kInvalidFormat, "'", name, "' declares an implausible sample rate of ",
         sample_rate, " Hz");
  Audio a;
  a.sample_rate = sample_rate;
  a.source_channels = channels;
  // Read in blocks: the frame count in a header may be wrong (truncated files,
  // streams), so trust what actually decodes.
  constexpr long kBlock = 1 << 15;
  std::vector<float> block(static_cast<size_t>(kBlock) * channels);
  for (;;) {
    const long got = read(block.data(), kBlock);
    if (got <= 0) break;
    for (long i = 0; i < got; ++i) {
      double s = 0;
      for (int c = 0; c < channels; ++c) s += block[static_cast<size_t>(i) * channels + c];
      a.samples.push_back(static_cast<float>(s / channels));
    }
    if (static_cast<sf_count_t>(a.samples.size()) > kMaxFrames)
      fail(ErrorKind::kInvalidArgument, "'", name,
           "' is too long (over 2 hours); use a clip of 5-30 seconds");
  }
  if (a.samples.empty())
    fail(ErrorKind::kInvalidArgument, "'", name, "' contains no audio samples");
  for (float& s : a.samples)
    if (!std::isfinite(s))
      s = 0.0f;  // float WAVs can carry NaN/Inf; never let them reach the model
  return a;
}

// No check of info.frames: streams say "unknown" with a huge count. The
// samples that actually decode are counted.
Audio decode(SNDFILE* f, const SF_INFO& info, const std::string& name) {
  return decode(info.channels, info.samplerate, name, [f](float* dst, long frames) {
    return static_cast<long>(sf_readf_float(f, dst, frames));
  });
}

// A reader of our own (MpegReader, ContainerReader): channels(), sample_rate(),
// read(dst, frames).
template <class Reader>
Audio decode_with(Reader& r, const std::string& name) {
  return decode(r.channels(), r.sample_rate(), name,
                [&r](float* dst, long frames) { return r.read(dst, frames); });
}

// A file's first bytes, and the 4 after an ID3v2 tag it starts with: what
// decides which reader takes it.
struct FileHead {
  unsigned char head[audio::kHeadBytes] = {}, after_tag[4] = {};
  size_t n = 0;
  bool tagged = false;  // an ID3v2 tag with 4 bytes after it
  const unsigned char* after() const { return tagged ? after_tag : nullptr; }
};

FileHead read_head(const std::string& path) {
  FileHead h;
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(h.head), sizeof h.head);
  h.n = static_cast<size_t>(in.gcount());
  if (const size_t tag = audio::id3v2_length(h.head, h.n); tag > 0) {
    in.clear();
    in.seekg(static_cast<std::streamoff>(tag));
    in.read(reinterpret_cast<char*>(h.after_tag), sizeof h.after_tag);
    h.tagged = in.gcount() == sizeof h.after_tag;
  }
  return h;
}

// Whether the file at `path` is MPEG audio, by its first bytes `h` (and name).
bool is_mpeg_file(const std::string& path, const FileHead& h) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return audio::starts_like_mpeg(h.head, h.n, h.after(), ext == ".mp3");
}

// Called once the file is known to exist and to be a file (or for bytes in
// memory): libsndfile's "File does not exist or is not a regular file" then
// means its MPEG decoder found no frame, which would send the user looking for
// the wrong fault.
[[noreturn]] void unreadable(const std::string& name, SNDFILE* f) {
  std::string why = sf_strerror(f);
  if (why.rfind("File does not exist", 0) == 0)
    why = "no audio stream found in it (damaged, or not the format its name says?)";
  audio::unreadable_audio(name, why);
}

// libsndfile reading the bytes `m` covers (`m` outlives the handle).
SndHandle open_memory(MemoryReader& m, SF_INFO& info, const std::string& name) {
  SF_VIRTUAL_IO io{MemoryReader::get_len, MemoryReader::seek, MemoryReader::read,
                   MemoryReader::write, MemoryReader::tell};  // copied by libsndfile
  SndHandle f(sf_open_virtual(&io, SFM_READ, &info, &m));
  if (!f) unreadable(name, nullptr);
  return f;
}

// The container FFmpeg reads for a file with first bytes `h`, or nullptr.
const audio::Container* container_of(const FileHead& h) {
  return audio::find_container(h.head, h.n, h.after());
}

}  // namespace

void audio::unreadable_audio(const std::string& name, const std::string& why) {
  fail(ErrorKind::kInvalidFormat, "cannot read '", name, "' as audio: ", why,
       " (supported: WAV, FLAC, OGG/Vorbis, Opus, MP3, M4A/AAC, WebM, AMR, WMA)");
}

Audio read_audio(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    fail(ErrorKind::kNotFound, "audio file '", path, "' does not exist");
  if (std::filesystem::is_directory(path, ec))
    fail(ErrorKind::kInvalidArgument, "'", path, "' is a directory, not an audio file");
  const FileHead head = read_head(path);
  if (is_mpeg_file(path, head)) {
    auto r = audio::MpegReader::open_file(path);
    return decode_with(*r, path);
  }
  if (const audio::Container* c = container_of(head)) {
    audio::ContainerReader r(path, *c);
    return decode_with(r, path);
  }
  SF_INFO info{};
  SndHandle f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f) unreadable(path, nullptr);
  return decode(f.get(), info, path);
}

Audio read_audio_memory(const void* data, size_t size, const std::string& name) {
  if (size == 0) fail(ErrorKind::kInvalidArgument, "'", name, "' is empty (0 bytes)");
  if (audio::starts_like_mpeg(static_cast<const unsigned char*>(data), size, false)) {
    auto r = audio::MpegReader::open_memory(data, size, name);
    return decode_with(*r, name);
  }
  if (const audio::Container* c =
          audio::find_container(static_cast<const unsigned char*>(data), size)) {
    audio::ContainerReader r(static_cast<const unsigned char*>(data), size, *c, name);
    return decode_with(r, name);
  }
  MemoryReader m{static_cast<const unsigned char*>(data), static_cast<sf_count_t>(size)};
  SF_INFO info{};
  SndHandle f = open_memory(m, info, name);
  return decode(f.get(), info, name);
}

AudioFormat parse_audio_format(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!n.empty() && n[0] == '.') n.erase(0, 1);
  if (n == "wav") return AudioFormat::kWav;
  if (n == "flac") return AudioFormat::kFlac;
  if (n == "ogg" || n == "vorbis") return AudioFormat::kOgg;
  if (n == "opus") return AudioFormat::kOpus;
  if (n == "mp3") return AudioFormat::kMp3;
  if (n == "aac") return AudioFormat::kAac;
  if (n == "m4a") return AudioFormat::kM4a;
  if (n == "raw" || n == "pcm") return AudioFormat::kRaw;
  fail(ErrorKind::kInvalidArgument, "unknown audio format '", name,
       "' (use wav, flac, ogg, opus, mp3, aac, m4a or raw)");
}

AudioFormat audio_format_from_path(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext.empty())
    fail(ErrorKind::kInvalidArgument, "'", path,
         "' has no extension; name it .wav, .flac, .ogg, .opus, .mp3, .aac, .m4a or .raw");
  return parse_audio_format(ext);
}

const char* audio_format_name(AudioFormat format) {
  switch (format) {
    case AudioFormat::kWav:
      return "wav";
    case AudioFormat::kFlac:
      return "flac";
    case AudioFormat::kOgg:
      return "ogg";
    case AudioFormat::kOpus:
      return "opus";
    case AudioFormat::kMp3:
      return "mp3";
    case AudioFormat::kRaw:
      return "raw";
    case AudioFormat::kAac:
      return "aac";
    case AudioFormat::kM4a:
      return "m4a";
  }
  return "?";
}

SF_INFO audio::write_info(AudioFormat format, SampleFormat sample_format, int sample_rate) {
  if (sample_rate <= 0)
    fail(ErrorKind::kInvalidArgument, "cannot write audio with sample rate ", sample_rate);
  SF_INFO info{};
  info.channels = 1;
  info.samplerate = sample_rate;
  const int pcm = sample_format == SampleFormat::kFloat32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16;
  switch (format) {
    case AudioFormat::kWav:
      info.format = SF_FORMAT_WAV | pcm;
      break;
    case AudioFormat::kFlac:
      info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
      break;
    case AudioFormat::kOgg:
      info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
      break;
    case AudioFormat::kOpus:
      info.format = SF_FORMAT_OGG | SF_FORMAT_OPUS;
      break;
    case AudioFormat::kMp3:
      info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
      break;
    case AudioFormat::kRaw:
      info.format = SF_FORMAT_RAW | pcm | SF_ENDIAN_LITTLE;
      break;
    case AudioFormat::kAac:
    case AudioFormat::kM4a:
      fail(ErrorKind::kInternal, "AAC is written by FFmpeg, not libsndfile");
  }
  if (!sf_format_check(&info))
    fail(ErrorKind::kInvalidArgument, "cannot write ", audio_format_name(format), " at ",
         sample_rate, " Hz",
         format == AudioFormat::kOpus ? " (Opus supports 8, 12, 16, 24 and 48 kHz)" : "");
  return info;
}

void audio::set_tags(SNDFILE* f, const AudioTags& tags) {
  const std::pair<int, const std::string*> fields[] = {{SF_STR_TITLE, &tags.title},
                                                       {SF_STR_ARTIST, &tags.artist},
                                                       {SF_STR_COMMENT, &tags.comment},
                                                       {SF_STR_SOFTWARE, &tags.software},
                                                       {SF_STR_DATE, &tags.date}};
  for (const auto& [id, value] : fields)
    if (!value->empty() && sf_set_string(f, id, value->c_str()) != 0)
      fail(ErrorKind::kInternal, "cannot tag the audio: ", sf_strerror(f));
}

namespace {

// The tags libsndfile reads from an open file.
AudioTags sndfile_tags(SNDFILE* f) {
  const auto get = [f](int id) {
    const char* v = sf_get_string(f, id);
    return std::string(v ? v : "");
  };
  return AudioTags{get(SF_STR_TITLE), get(SF_STR_ARTIST), get(SF_STR_COMMENT), get(SF_STR_SOFTWARE),
                   get(SF_STR_DATE)};
}

}  // namespace

AudioTags read_audio_tags(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(ErrorKind::kNotFound, "audio file '", path, "' does not exist or is not a file");
  // libsndfile reads the tags; a damaged MPEG stream is refused first, by the
  // quiet decoder, as libsndfile's would print its complaints.
  const FileHead head = read_head(path);
  if (is_mpeg_file(path, head)) audio::MpegReader::open_file(path);
  if (const audio::Container* c = container_of(head))
    return audio::ContainerReader(path, *c).tags();
  SF_INFO info{};
  SndHandle f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f) unreadable(path, nullptr);
  return sndfile_tags(f.get());
}

AudioTags read_audio_tags_memory(const void* data, size_t size, const std::string& name) {
  if (size == 0) fail(ErrorKind::kInvalidArgument, "'", name, "' is empty (0 bytes)");
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (audio::starts_like_mpeg(bytes, size, false)) audio::MpegReader::open_memory(data, size, name);
  if (const audio::Container* c = audio::find_container(bytes, size))
    return audio::ContainerReader(bytes, size, *c, name).tags();
  MemoryReader m{bytes, static_cast<sf_count_t>(size)};
  SF_INFO info{};
  return sndfile_tags(open_memory(m, info, name).get());
}

void write_audio(const std::string& path, const Audio& audio, AudioFormat format,
                 SampleFormat sample_format, const AudioTags& tags) {
  OutputFile out(path);
  if (out.in_place() || format == AudioFormat::kAac || format == AudioFormat::kM4a ||
      format == AudioFormat::kMp3) {
    // A pipe or device cannot seek back to finish a header: encoded whole first.
    // AAC and M4A (FFmpeg) and MP3 (its ID3 tag in front) are put together in
    // memory (audio_encoder.cc).
    out.write(encode_audio(audio, format, sample_format, tags));
    out.commit();
    return;
  }
  FileWriter w{out.stream()};
  SF_INFO info = audio::write_info(format, sample_format, audio.sample_rate);
  {
    SF_VIRTUAL_IO io{FileWriter::get_len, FileWriter::seek, FileWriter::read, FileWriter::write,
                     FileWriter::tell};
    SndHandle f(sf_open_virtual(&io, SFM_WRITE, &info, &w));
    if (!f) fail(ErrorKind::kIo, "writing '", path, "' failed: ", sf_strerror(nullptr));
    // PCM output: clip rather than wrap values outside [-1, 1].
    sf_command(f.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
    if (format != AudioFormat::kRaw) audio::set_tags(f.get(), tags);
    const sf_count_t n = static_cast<sf_count_t>(audio.samples.size());
    if (sf_writef_float(f.get(), audio.samples.data(), n) != n && !w.error)
      fail(ErrorKind::kIo, "writing '", path, "' failed: ", sf_strerror(f.get()));
  }  // sf_close: the encoder's last bytes
  if (w.error) out.failed(w.error);
  out.commit();
}

void write_audio(const std::string& path, const Audio& audio, SampleFormat sample_format,
                 const AudioTags& tags) {
  write_audio(path, audio, audio_format_from_path(path), sample_format, tags);
}

}  // namespace izwi
