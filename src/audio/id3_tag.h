// An ID3v2.4 tag for the front of an MP3 or AAC (ADTS) stream.
//
// The libraries' own writers fall short for izwi's provenance: FFmpeg's (5.1)
// puts a "comment" in a TXXX frame, which players and mediainfo show as a
// custom field rather than the comment, and LAME's (through libsndfile) writes
// UTF-8 text as Latin-1, so a voice named "小明" read back as "å°æ". The tag
// is five UTF-8 frames, written here:
//   TIT2 title, TPE1 artist, COMM comment (language "eng", no description),
//   TSSE software, TDRC date
// FFmpeg reads them back as title, artist, comment, encoder and date.
#pragma once

#include <string>

#include "izwi/audio.h"

namespace izwi::audio {

// The whole tag (10-byte header, frames, no padding); "" when `tags` is empty.
std::string id3v2_tag(const AudioTags& tags);

}  // namespace izwi::audio
