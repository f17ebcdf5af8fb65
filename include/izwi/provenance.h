// izwi — provenance: every file izwi writes says it is synthetic speech.
//
// The mark travels in the file's own tags (izwi/audio.h, AudioTags): WAV
// LIST/INFO, FLAC and Ogg comments, an ID3v2 tag before MP3 and AAC, so any player or tag reader
// shows it, and `izwi inspect-output FILE` reads it back:
//   title    Synthetic speech
//   artist   Synthetic voice (<voice>)
//   comment  Synthetic speech made by izwi 0.1.0 | model: <model> | voice: <voice> | created: <UTC>
//   software izwi 0.1.0
//   date     <UTC, ISO 8601>
#pragma once

#include <optional>
#include <string>

#include "izwi/audio.h"

namespace izwi {

struct Provenance {
  std::string software;  // "izwi 0.1.0"
  std::string model;     // the model's name (or checkpoint directory)
  std::string voice;     // a saved voice's id, a preset speaker, or "reference audio"
  std::string created;   // ISO 8601 UTC, "2026-12-01T06:45:00Z"
};

// Now, as ISO 8601 UTC to the second.
std::string utc_timestamp();
// The provenance of a file made now by this izwi.
Provenance synthetic_speech(const std::string& model, const std::string& voice);
// The tags that carry it ('|' in a field is written as '/': it separates fields).
AudioTags provenance_tags(const Provenance& p);
// izwi's provenance from a file's tags; nullopt when the comment is not izwi's.
std::optional<Provenance> parse_provenance(const AudioTags& tags);

}  // namespace izwi
