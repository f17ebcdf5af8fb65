#include <sndfile.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "izwi/audio.h"

namespace izwi {

namespace {

struct SndCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndHandle = std::unique_ptr<SNDFILE, SndCloser>;

std::string lower_ext(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

}  // namespace

Audio read_audio(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    fail(ErrorKind::kNotFound, "audio file '", path, "' does not exist");
  SF_INFO info{};
  SndHandle f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f) {
    fail(ErrorKind::kInvalidFormat, "cannot read '", path, "' as audio: ", sf_strerror(nullptr),
         " (supported: WAV, FLAC, OGG/Vorbis, Opus, MP3)");
  }
  if (info.channels <= 0 || info.samplerate <= 0)
    fail(ErrorKind::kInvalidFormat, "'", path, "' declares ", info.channels, " channels at ",
         info.samplerate, " Hz");
  if (info.frames <= 0) fail(ErrorKind::kInvalidArgument, "'", path, "' contains no audio samples");
  if (info.frames > static_cast<sf_count_t>(24000) * 3600 * 4)
    fail(ErrorKind::kInvalidArgument, "'", path, "' is longer than 4 hours of audio");
  std::vector<float> interleaved(static_cast<size_t>(info.frames) * info.channels);
  const sf_count_t got = sf_readf_float(f.get(), interleaved.data(), info.frames);
  if (got <= 0) fail(ErrorKind::kInvalidFormat, "'", path, "': no samples could be decoded");
  Audio a;
  a.sample_rate = info.samplerate;
  a.source_channels = info.channels;
  a.samples.resize(static_cast<size_t>(got));
  for (sf_count_t i = 0; i < got; ++i) {
    double s = 0;
    for (int c = 0; c < info.channels; ++c)
      s += interleaved[static_cast<size_t>(i) * info.channels + c];
    a.samples[i] = static_cast<float>(s / info.channels);
  }
  return a;
}

void write_audio(const std::string& path, const Audio& audio, SampleFormat format) {
  const std::string ext = lower_ext(path);
  SF_INFO info{};
  info.channels = 1;
  info.samplerate = audio.sample_rate;
  if (ext == ".wav") {
    info.format =
        SF_FORMAT_WAV | (format == SampleFormat::kFloat32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16);
  } else if (ext == ".flac") {
    info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  } else {
    fail(ErrorKind::kInvalidArgument, "cannot write '", path, "': unknown audio extension '", ext,
         "' (use .wav or .flac)");
  }
  if (audio.sample_rate <= 0)
    fail(ErrorKind::kInvalidArgument, "cannot write audio with sample rate ", audio.sample_rate);
  const std::string tmp = path + ".partial" + ext;
  {
    SndHandle f(sf_open(tmp.c_str(), SFM_WRITE, &info));
    if (!f) fail(ErrorKind::kIo, "cannot create '", path, "': ", sf_strerror(nullptr));
    // PCM output: clip rather than wrap values outside [-1, 1].
    sf_command(f.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
    const sf_count_t n = static_cast<sf_count_t>(audio.samples.size());
    if (sf_writef_float(f.get(), audio.samples.data(), n) != n) {
      const std::string why = sf_strerror(f.get());
      f.reset();
      std::remove(tmp.c_str());
      fail(ErrorKind::kIo, "writing '", path, "' failed: ", why, " (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(ErrorKind::kIo, "cannot write '", path, "': ", ec.message());
  }
}

}  // namespace izwi
