#include "audio/id3_tag.h"

#include <cstdint>

#include "core/error.h"

namespace izwi::audio {

namespace {

constexpr char kUtf8 = 3;  // ID3v2.4 text encoding byte

// ID3v2.4 sizes are "syncsafe": four bytes of 7 bits, so no byte looks like
// an MPEG sync word.
std::string syncsafe(size_t n) {
  if (n >= (size_t{1} << 28))
    fail(ErrorKind::kInvalidArgument, "an ID3v2 tag holds at most 256 MB; a field is ", n,
         " bytes");
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, n >>= 7) out[static_cast<size_t>(i)] = static_cast<char>(n & 0x7F);
  return out;
}

std::string frame(const char* id, const std::string& body) {
  return std::string(id, 4) + syncsafe(body.size()) + std::string(2, '\0') + body;
}

}  // namespace

std::string id3v2_tag(const AudioTags& tags) {
  if (tags.empty()) return {};
  std::string frames;
  const auto text = [&](const char* id, const std::string& value) {
    if (!value.empty()) frames += frame(id, kUtf8 + value);
  };
  text("TIT2", tags.title);
  text("TPE1", tags.artist);
  if (!tags.comment.empty())
    frames += frame("COMM", kUtf8 + std::string("eng") + '\0' + tags.comment);
  text("TSSE", tags.software);
  text("TDRC", tags.date);
  return std::string("ID3\x04\x00\x00", 6) + syncsafe(frames.size()) + frames;
}

}  // namespace izwi::audio
