// Where saved voices live, behind two interfaces the voice service
// (src/pipeline/voice_store.cc) builds on:
//  - VoiceRepository: the voice records (names, consent, transcript, codec
//    codes, speaker embeddings) and the record of media being written; SQLite
//    (embedded default) or PostgreSQL (shared by replicas).
//  - MediaStore: the reference audio bytes; files beside the SQLite database,
//    or a table in PostgreSQL so that every replica can read them.
// Neither knows about models: computing codes and embeddings is the service's.
//
// Write order (crash safety, several processes at once): the media key is
// recorded as pending, the bytes are written durably, then the record is
// committed in one transaction that also clears the pending entry. A sweep
// lists media keys first and reads the keys in use after, so a key it sees is
// either in use by then or a leftover.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/job_backend.h"

namespace izwi::store {

struct VoiceRecord {
  std::string name;
  std::string created_at;  // UTC, ISO 8601
  std::string consent;
  std::string transcript;
  std::vector<int32_t> transcript_ids;
  std::string media;  // the reference audio's key in the MediaStore
  int sample_rate = 0;
  double duration_s = 0;
  int64_t frames = 0;  // codes: frames x codebooks, frame-major
  int codebooks = 0;
  std::vector<int32_t> codes;
  std::string report_json = "{}";
};

// Speaker embeddings by model size ("0.6B", "1.7B"; x-vectors differ between sizes).
using Embeddings = std::vector<std::pair<std::string, std::vector<float>>>;

// Voice records. Each call is one transaction; every method may be called
// from any thread. Errors are izwi::Error (kIo for the database, with what it said).
class VoiceRepository {
 public:
  virtual ~VoiceRepository() = default;

  // "SQLite /path/voices.db" or "PostgreSQL host:port/db" (never a password).
  virtual std::string describe() const = 0;
  // The schema version the database is at (migrated on open to kSchemaVersion).
  virtual int schema_version() = 0;

  virtual std::optional<VoiceRecord> find(const std::string& name) = 0;
  virtual std::vector<std::string> names() = 0;                                   // sorted
  virtual std::vector<std::string> embedding_sizes(const std::string& name) = 0;  // sorted
  virtual std::optional<std::vector<float>> embedding(const std::string& name,
                                                      const std::string& size) = 0;
  // Stores an embedding computed later; nothing happens if the voice is gone meanwhile.
  virtual void put_embedding(const std::string& name, const std::string& size,
                             const std::vector<float>& e) = 0;

  // Media being written: recorded before the bytes are, so a sweep keeps it.
  virtual void begin_media(const std::string& key) = 0;
  virtual void abandon_media(const std::string& key) = 0;
  // Commits `r` (whose media's pending entry goes in the same transaction)
  // and its embeddings. An existing voice of the name is an error unless
  // `replace`; returns the replaced record's media key.
  virtual std::optional<std::string> commit(const VoiceRecord& r, const Embeddings& e,
                                            bool replace) = 0;
  // Returns the removed record's media key; nullopt if there was no such voice.
  virtual std::optional<std::string> remove(const std::string& name) = 0;
  // The record and its embeddings move together. Errors if `from` is missing or `to` exists.
  virtual void rename(const std::string& from, const std::string& to) = 0;
  virtual bool set_consent(const std::string& name, const std::string& consent) = 0;

  // Media keys in use: by a record, or by a write still in progress (its
  // process alive on this host, or younger than an hour on another). Entries
  // of writes that died are dropped. Read the pending writes before the
  // records (or both in one snapshot): a write that commits in between must
  // still be seen in one of the two.
  virtual std::set<std::string> media_in_use() = 0;
  // Whether the database answers now (one quick statement, no retries): what
  // a replica's readiness check asks.
  virtual bool ping() = 0;
  // The database's own consistency check; empty when all is well.
  virtual std::vector<std::string> check() = 0;
};

// Reference audio bytes by key.
class MediaStore {
 public:
  virtual ~MediaStore() = default;
  virtual std::string new_key(const std::string& voice) = 0;               // unique, never reused
  virtual void put(const std::string& key, const std::string& bytes) = 0;  // durable on return
  virtual std::string get(const std::string& key) = 0;                     // kNotFound if absent
  virtual void remove(const std::string& key) = 0;                         // absent: nothing to do
  virtual std::vector<std::string> keys() = 0;
  // The file holding the key's bytes ("" when they are not in a file).
  virtual std::string local_path(const std::string& key) const = 0;
};

struct VoiceBackend {
  std::unique_ptr<VoiceRepository> repository;
  std::unique_ptr<MediaStore> media;
  std::unique_ptr<JobRepository> jobs;  // the job queue, in the same database
};

// 1: voices, embeddings, pending writes. 2: jobs and their items.
constexpr int kSchemaVersion = 2;

// SQLite (WAL) at dir/voices.db with files under dir/voices/; creates both.
VoiceBackend open_sqlite_backend(const std::string& dir);
// PostgreSQL at a libpq URL (postgresql://user@host:port/db?…), at most
// `max_connections` connections at once from this process.
VoiceBackend open_postgres_backend(const std::string& url, int max_connections = 4);
// Whether a --database value names PostgreSQL (postgres:// or postgresql://).
bool is_postgres_url(const std::string& s);
// The URL with any password replaced by "***" (for messages and logs).
std::string redact_url(const std::string& url);

}  // namespace izwi::store
