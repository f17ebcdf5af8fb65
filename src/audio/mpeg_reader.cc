#include "audio/mpeg_reader.h"

#include <mpg123.h>

#include <algorithm>
#include <cstring>

#include "audio/container_reader.h"
#include "core/error.h"

namespace izwi::audio {
namespace {

// An MPEG audio frame header, as libsndfile tells one: the 11-bit sync, and a
// version, layer, bitrate and sample rate that are not the reserved values.
bool frame_header(const unsigned char* p) {
  return p[0] == 0xFF && (p[1] & 0xE0) == 0xE0 && (p[1] & 0x18) != 0x08 && (p[1] & 0x06) != 0 &&
         (p[2] & 0xF0) != 0xF0 && (p[2] & 0x0C) != 0x0C;
}

// The magic numbers of the containers libsndfile reads besides MPEG.
bool other_container(const unsigned char* p, size_t n) {
  if (n < 4) return false;
  static const char* const kMagic[] = {"RIFF", "RIFX", "RF64", "FORM", "fLaC", "OggS",
                                       "caff", ".snd", "dns.", "riff", "wvpk", "BW64"};
  return std::any_of(std::begin(kMagic), std::end(kMagic),
                     [&](const char* m) { return std::memcmp(p, m, 4) == 0; });
}

[[noreturn]] void no_stream(const std::string& name) {
  unreadable_audio(name, "no audio stream found in it (damaged, or not the format its name says?)");
}

}  // namespace

size_t id3v2_length(const unsigned char* head, size_t n) {
  if (n < 10 || std::memcmp(head, "ID3", 3) != 0) return 0;
  // Size: four 7-bit bytes ("syncsafe"), not counting the header or a footer.
  size_t size = 0;
  for (int i = 6; i < 10; ++i) size = (size << 7) | (head[i] & 0x7F);
  const bool footer = (head[5] & 0x10) != 0;
  return 10 + size + (footer ? 10 : 0);
}

bool starts_like_mpeg(const unsigned char* head, size_t n, const unsigned char* after_tag,
                      bool named_mp3) {
  if (n >= 4 && frame_header(head)) return true;
  // After an ID3v2 tag, what follows decides; a tag with nothing after it is
  // MPEG's to refuse.
  if (id3v2_length(head, n) > 0)
    return !(after_tag && (other_container(after_tag, 4) || starts_like_adts(after_tag, 4)));
  return named_mp3 && !other_container(head, n);
}

bool starts_like_mpeg(const unsigned char* data, size_t n, bool named_mp3) {
  const size_t tag = id3v2_length(data, n);
  return starts_like_mpeg(data, n, tag > 0 && n >= tag + 4 ? data + tag : nullptr, named_mp3);
}

// libmpg123's reader callbacks over a buffer (as libsndfile's virtual I/O).
struct MpegReader::Memory {
  const unsigned char* data;
  size_t size;
  size_t pos = 0;

  static mpg123_ssize_t read(void* self, void* dst, size_t count) {
    auto* m = static_cast<Memory*>(self);
    const size_t k = std::min(count, m->size - m->pos);
    std::memcpy(dst, m->data + m->pos, k);
    m->pos += k;
    return static_cast<mpg123_ssize_t>(k);
  }
  static off_t seek(void* self, off_t offset, int whence) {
    auto* m = static_cast<Memory*>(self);
    const off_t base = whence == SEEK_SET   ? 0
                       : whence == SEEK_CUR ? static_cast<off_t>(m->pos)
                                            : static_cast<off_t>(m->size);
    const off_t p = base + offset;
    if (p < 0 || p > static_cast<off_t>(m->size)) return -1;
    m->pos = static_cast<size_t>(p);
    return p;
  }
};

MpegReader::MpegReader(const std::string& name) : name_(name) {
  int err = MPG123_OK;
  handle_ = mpg123_new(nullptr, &err);
  if (!handle_)
    fail(ErrorKind::kInternal, "cannot start the MP3 decoder: ", mpg123_plain_strerror(err));
  // As libsndfile sets it up (the stream's own rate, float samples, encoder
  // delay and padding removed, one stream per file), with printouts off.
  mpg123_param(handle_, MPG123_REMOVE_FLAGS, MPG123_AUTO_RESAMPLE, 0);
  mpg123_param(handle_, MPG123_ADD_FLAGS,
               MPG123_QUIET | MPG123_FORCE_FLOAT | MPG123_GAPLESS | MPG123_NO_FRANKENSTEIN, 0);
}

MpegReader::~MpegReader() {
  if (handle_) {
    mpg123_close(handle_);
    mpg123_delete(handle_);
  }
}

std::unique_ptr<MpegReader> MpegReader::open_file(const std::string& path) {
  std::unique_ptr<MpegReader> r(new MpegReader(path));
  if (mpg123_open(r->handle_, path.c_str()) != MPG123_OK) no_stream(path);
  r->start();
  return r;
}

std::unique_ptr<MpegReader> MpegReader::open_memory(const void* data, size_t size,
                                                    const std::string& name) {
  std::unique_ptr<MpegReader> r(new MpegReader(name));
  r->memory_ = std::make_unique<Memory>(Memory{static_cast<const unsigned char*>(data), size});
  if (mpg123_replace_reader_handle(r->handle_, Memory::read, Memory::seek, nullptr) != MPG123_OK ||
      mpg123_open_handle(r->handle_, r->memory_.get()) != MPG123_OK)
    no_stream(name);
  r->start();
  return r;
}

void MpegReader::start() {
  long rate = 0;
  int channels = 0, encoding = 0;
  if (mpg123_getformat(handle_, &rate, &channels, &encoding) != MPG123_OK) no_stream(name_);
  if (encoding != MPG123_ENC_FLOAT_32) {
    mpg123_format_none(handle_);
    if (mpg123_format(handle_, rate, channels, MPG123_ENC_FLOAT_32) != MPG123_OK) no_stream(name_);
  }
  rate_ = static_cast<int>(rate);
  channels_ = channels;
}

long MpegReader::read(float* dst, long frames) {
  const size_t want = static_cast<size_t>(frames) * static_cast<size_t>(channels_) * sizeof(float);
  size_t have = 0;
  while (!done_ && have < want) {
    size_t got = 0;
    const int status =
        mpg123_read(handle_, reinterpret_cast<unsigned char*>(dst) + have, want - have, &got);
    have += got;
    // MPG123_OK: more to come. Anything else (the end, a format change mid-way
    // (not one stream), damage it cannot resync past) ends the stream here.
    if (status != MPG123_OK) done_ = true;
  }
  return static_cast<long>(have / (static_cast<size_t>(channels_) * sizeof(float)));
}

}  // namespace izwi::audio
