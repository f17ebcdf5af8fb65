// izwi — saved voice profiles.
//
// A profile keeps everything cloning needs, so reuse skips all reference
// processing: the prepared reference audio (24 kHz mono), its codec codes, the
// transcript and its token ids, and the speaker embedding for each model size
// (computed the first time a profile is used with another size).
//
// Where profiles live: by default in IZWI_DATA_DIR, else $XDG_DATA_HOME/izwi,
// else ~/.local/share/izwi: `voices.db` (SQLite, WAL) and
// `voices/<name>.<id>/reference.wav` beside it. With a PostgreSQL URL
// (VoiceStoreOptions::database, else IZWI_DATABASE_URL) everything — records,
// audio, embeddings — is in that database, shared by every process using it.
// Writes are ordered so that a crash at any point loses nothing acknowledged
// and never leaves a half-written profile, with any number of processes at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "izwi/reference.h"
#include "izwi/tts.h"

namespace izwi {

struct VoiceProfile {
  std::string name;
  std::string created_at;                // UTC, ISO 8601
  std::string consent;                   // who agreed, when (free text)
  std::string transcript;                // empty: x-vector-only cloning
  double duration_s = 0;                 // of the stored reference audio
  std::vector<std::string> model_sizes;  // sizes with a stored speaker embedding
  std::string audio_path;                // the stored reference audio's file ("" in a database)
  std::string revision;                  // changes with every save of the name
  std::string report_json;               // ReferenceReport of the original clip
};

struct VoiceStoreOptions {
  std::string data_dir;  // SQLite + files; empty: from the environment (see above)
  // postgresql://user@host:port/db (or postgres://); empty: IZWI_DATABASE_URL, else SQLite.
  std::string database;
  int max_connections = 4;  // PostgreSQL connections this store opens at most
};

class VoiceStore {
 public:
  // `data_dir` empty: from the environment (see above). Opening creates or
  // migrates the schema and removes media left by interrupted writes. One
  // store may be used from many threads at once.
  explicit VoiceStore(const std::string& data_dir = "");
  explicit VoiceStore(const VoiceStoreOptions& options);
  ~VoiceStore();
  VoiceStore(const VoiceStore&) = delete;
  VoiceStore& operator=(const VoiceStore&) = delete;

  // Where the voices are, for people: a folder, or "PostgreSQL host:port/db" (no password).
  const std::string& dir() const;
  // Whether the database answers now (PostgreSQL: one quick query, no
  // retries; SQLite: always). For readiness checks.
  bool reachable() const;
  // The schema version of the database (see docs/ARCHITECTURE.md, "Voice storage").
  int schema_version() const;

  // Names: 1-64 characters of letters, digits, '_', '-', '.', starting with a
  // letter or digit. An existing name is an error unless `replace`.
  static void check_name(const std::string& name);

  // Checks and prepares the clip, clones it with `model` (a Base model) and saves it.
  VoiceProfile add(const std::string& name, const TtsModel& model, const Audio& audio,
                   const std::string& transcript, const std::string& consent, bool replace = false,
                   const ReferenceOptions& reference = {});
  // Saves an already cloned voice (made by `model`).
  VoiceProfile save(const std::string& name, const TtsModel& model, const Voice& voice,
                    const std::string& consent, bool replace = false);

  bool contains(const std::string& name) const;
  std::vector<VoiceProfile> list() const;
  VoiceProfile get(const std::string& name) const;
  void remove(const std::string& name);
  // Gives a voice another name (its audio, codes and embeddings go with it).
  void rename(const std::string& name, const std::string& new_name);
  // Records who agreed to the cloning, and when (free text; empty clears it).
  // The server refuses to speak with a saved voice that has none unless its
  // operator allows it (izwi serve --allow-unconsented-voices).
  void set_consent(const std::string& name, const std::string& consent);

  // Checks the store: SQLite's integrity_check, and for every voice its audio
  // file (readable, as long as recorded), its codes (frames x codebooks) and
  // its embeddings. Returns the problems found (empty: all is well).
  std::vector<std::string> verify() const;

  // The stored reference audio (a WAV file's bytes).
  std::string audio(const std::string& name) const;

  // The voice for `model`: stored codes and ids, and the stored embedding for
  // its size, computed from the stored audio (and saved) the first time.
  Voice load(const std::string& name, const TtsModel& model);

  // One self-contained file (JSON; format in README) that `import_file` reads
  // back on any machine. Returns the imported name.
  void export_file(const std::string& name, const std::string& path) const;
  std::string import_file(const std::string& path, const std::string& new_name = "",
                          bool replace = false);
  // The same from and to memory (an upload, a download, stdin and stdout);
  // `what` names the file in errors ("'me.json'", "the uploaded file").
  std::string export_voice(const std::string& name) const;
  std::string import_voice(std::string_view file, const std::string& what,
                           const std::string& new_name = "", bool replace = false);

  struct Impl;

 private:
  friend class JobQueue;  // the job queue lives in the same database
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi
