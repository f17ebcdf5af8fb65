// The embedded voice backend: records in SQLite (WAL, synchronous=FULL) at
// <dir>/voices.db, reference audio in files under <dir>/voices/<name>.<id>/.
// One connection per VoiceBackend, guarded by a mutex: SQLite serialises the
// calls anyway, and a transaction must not interleave with another thread's.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <type_traits>

#include "core/error.h"
#include "core/file_util.h"
#include "store/blob.h"
#include "store/pending_write.h"
#include "store/sqlite_db.h"
#include "store/voice_backend.h"

namespace izwi::store {

namespace fs = std::filesystem;

namespace {

void fsync_path(const fs::path& p, int flags) {
  const int fd = ::open(p.c_str(), flags);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

constexpr const char* kCreateV1 =
    "CREATE TABLE voices("
    " name TEXT PRIMARY KEY, created_at TEXT NOT NULL, consent TEXT NOT NULL DEFAULT '',"
    " transcript TEXT NOT NULL DEFAULT '', transcript_ids BLOB, audio_file TEXT NOT NULL,"
    " sample_rate INTEGER NOT NULL, duration_s REAL NOT NULL,"
    " codes_frames INTEGER NOT NULL DEFAULT 0, codes_codebooks INTEGER NOT NULL DEFAULT 0,"
    " codes BLOB, report_json TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE embeddings("
    " name TEXT NOT NULL REFERENCES voices(name) ON DELETE CASCADE, model_size TEXT NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY(name, model_size));"
    "CREATE TABLE pending_writes("
    " key TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started INTEGER NOT NULL);"
    "CREATE TABLE izwi_schema(version INTEGER NOT NULL);"
    "INSERT INTO izwi_schema(version) VALUES(1);";

// Version 2: the job queue (store/job_backend.h).
constexpr const char* kCreateV2 =
    "CREATE TABLE jobs(id TEXT PRIMARY KEY, created_at TEXT NOT NULL, created REAL NOT NULL,"
    " params TEXT NOT NULL, cancelled INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE job_items("
    " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,"
    " input TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'queued', worker TEXT NOT NULL DEFAULT '',"
    " lease_until REAL NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, output BLOB,"
    " duration_s REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY(job_id, idx));"
    "CREATE INDEX job_items_waiting ON job_items(status, lease_until);"
    "UPDATE izwi_schema SET version = 2;";

class SqliteRepository final : public VoiceRepository, SqliteConnection {
 public:
  explicit SqliteRepository(const std::string& path) : SqliteConnection(path) { migrate(); }
  std::string describe() const override { return "SQLite " + path_; }

  int schema_version() override {
    std::lock_guard<std::mutex> lock(mu_);
    return version();
  }

  std::optional<VoiceRecord> find(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return row(name);
  }

  std::vector<std::string> names() override {
    std::lock_guard<std::mutex> lock(mu_);
    return strings("SELECT name FROM voices ORDER BY name", {});
  }

  std::vector<std::string> embedding_sizes(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return strings("SELECT model_size FROM embeddings WHERE name = ? ORDER BY model_size", {name});
  }

  std::optional<std::vector<float>> embedding(const std::string& name,
                                              const std::string& size) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s = prepare("SELECT data FROM embeddings WHERE name = ? AND model_size = ?");
    bind_text(s.get(), 1, name);
    bind_text(s.get(), 2, size);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    return from_le_bytes<float>(blob(s.get(), 0));
  }

  void put_embedding(const std::string& name, const std::string& size,
                     const std::vector<float>& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    insert_embedding(name, size, e);
  }

  void begin_media(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt p = prepare("INSERT INTO pending_writes(key, host, pid, started) VALUES(?,?,?,?)");
    bind_text(p.get(), 1, key);
    bind_text(p.get(), 2, host_name());
    sqlite3_bind_int64(p.get(), 3, static_cast<int64_t>(getpid()));
    sqlite3_bind_int64(p.get(), 4, static_cast<int64_t>(std::time(nullptr)));
    step_done(p.get());
  }

  void abandon_media(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    forget_pending(key);
  }

  std::optional<std::string> commit(const VoiceRecord& r, const Embeddings& embeddings,
                                    bool replace) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction([&]() -> std::optional<std::string> {
      std::optional<VoiceRecord> old = row(r.name);
      if (old && !replace) fail(ErrorKind::kExists, "a voice named '", r.name, "' already exists");
      Stmt del = prepare("DELETE FROM voices WHERE name = ?");
      bind_text(del.get(), 1, r.name);
      step_done(del.get());
      Stmt ins = prepare(
          "INSERT INTO voices(name, created_at, consent, transcript, transcript_ids, audio_file, "
          "sample_rate, duration_s, codes_frames, codes_codebooks, codes, report_json) "
          "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
      bind_text(ins.get(), 1, r.name);
      bind_text(ins.get(), 2, r.created_at);
      bind_text(ins.get(), 3, r.consent);
      bind_text(ins.get(), 4, r.transcript);
      bind_blob(ins.get(), 5, to_le_bytes(r.transcript_ids));
      bind_text(ins.get(), 6, r.media);
      sqlite3_bind_int(ins.get(), 7, r.sample_rate);
      sqlite3_bind_double(ins.get(), 8, r.duration_s);
      sqlite3_bind_int64(ins.get(), 9, r.frames);
      sqlite3_bind_int(ins.get(), 10, r.codebooks);
      bind_blob(ins.get(), 11, to_le_bytes(r.codes));
      bind_text(ins.get(), 12, r.report_json);
      step_done(ins.get());
      for (const auto& [size, e] : embeddings) insert_embedding(r.name, size, e);
      forget_pending(r.media);
      if (!old) return std::nullopt;
      return old->media;
    });
  }

  std::optional<std::string> remove(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction([&]() -> std::optional<std::string> {
      std::optional<VoiceRecord> old = row(name);
      if (!old) return std::nullopt;
      Stmt s = prepare("DELETE FROM voices WHERE name = ?");
      bind_text(s.get(), 1, name);
      step_done(s.get());
      return old->media;
    });
  }

  void rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> lock(mu_);
    transaction([&] {
      if (!row(from)) fail(ErrorKind::kNotFound, "no saved voice named '", from, "'");
      if (row(to)) fail(ErrorKind::kExists, "a voice named '", to, "' already exists");
      Stmt copy = prepare(
          "INSERT INTO voices(name, created_at, consent, transcript, transcript_ids, audio_file, "
          "sample_rate, duration_s, codes_frames, codes_codebooks, codes, report_json) "
          "SELECT ?, created_at, consent, transcript, transcript_ids, audio_file, sample_rate, "
          "duration_s, codes_frames, codes_codebooks, codes, report_json FROM voices WHERE name = "
          "?");
      bind_text(copy.get(), 1, to);
      bind_text(copy.get(), 2, from);
      step_done(copy.get());
      Stmt move = prepare("UPDATE embeddings SET name = ? WHERE name = ?");
      bind_text(move.get(), 1, to);
      bind_text(move.get(), 2, from);
      step_done(move.get());
      Stmt del = prepare("DELETE FROM voices WHERE name = ?");
      bind_text(del.get(), 1, from);
      step_done(del.get());
      return 0;
    });
  }

  bool set_consent(const std::string& name, const std::string& consent) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt update = prepare("UPDATE voices SET consent = ? WHERE name = ?");
    bind_text(update.get(), 1, consent);
    bind_text(update.get(), 2, name);
    step_done(update.get());
    return sqlite3_changes(db_.get()) > 0;
  }

  std::set<std::string> media_in_use() override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction([&] {
      std::set<std::string> used;
      for (const std::string& k : strings("SELECT audio_file FROM voices", {})) used.insert(k);
      Stmt p = prepare("SELECT key, host, pid, started FROM pending_writes");
      std::vector<std::string> stale;
      const int64_t now = static_cast<int64_t>(std::time(nullptr));
      while (sqlite3_step(p.get()) == SQLITE_ROW) {
        PendingWrite w{text(p.get(), 0), text(p.get(), 1), sqlite3_column_int64(p.get(), 2),
                       sqlite3_column_int64(p.get(), 3)};
        if (pending_write_alive(w, now))
          used.insert(w.key);
        else
          stale.push_back(w.key);
      }
      for (const std::string& k : stale) forget_pending(k);
      return used;
    });
  }

  bool ping() override { return true; }  // a local file: there whenever the store opened

  std::vector<std::string> check() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> problems;
    for (const std::string& line : strings("PRAGMA integrity_check", {}))
      if (line != "ok") problems.push_back("database: " + line);
    return problems;
  }

 private:
  int version() const {
    if (strings("SELECT name FROM sqlite_master WHERE type='table' AND name='izwi_schema'", {})
            .empty())
      return 0;
    const auto v = strings("SELECT version FROM izwi_schema", {});
    return v.empty() ? 0 : std::stoi(v.front());
  }

  // Creates the schema, or brings an older one up to kSchemaVersion, in one
  // transaction (two processes opening at once: the second finds it done).
  void migrate() {
    transaction([&] {
      const bool has_voices =
          !strings("SELECT name FROM sqlite_master WHERE type='table' AND name='voices'", {})
               .empty();
      int v = version();
      if (!has_voices) {
        exec(kCreateV1);
        v = 1;
      }
      if (v > kSchemaVersion)
        fail(ErrorKind::kInvalidFormat, "the voice store '", path_, "' has schema version ", v,
             "; this izwi knows up to ", kSchemaVersion, " (upgrade izwi)");
      if (v == 0) {
        // Version 0 (before the version table): pending writes were recorded
        // by folder without a host, and blobs were the host's byte order —
        // little-endian on every machine izwi ran on, which version 1 makes the rule.
        exec(
            "CREATE TABLE pending_writes(key TEXT PRIMARY KEY, host TEXT NOT NULL,"
            " pid INTEGER NOT NULL, started INTEGER NOT NULL)");
        if (!strings("SELECT name FROM sqlite_master WHERE type='table' AND name='pending_media'",
                     {})
                 .empty()) {
          Stmt copy = prepare(
              "INSERT INTO pending_writes(key, host, pid, started) "
              "SELECT folder || '/reference.wav', ?, pid, started FROM pending_media");
          bind_text(copy.get(), 1, host_name());
          step_done(copy.get());
          exec("DROP TABLE pending_media");
        }
        exec(
            "CREATE TABLE izwi_schema(version INTEGER NOT NULL); INSERT INTO izwi_schema "
            "VALUES(1)");
        v = 1;
      }
      if (v == 1) exec(kCreateV2);
      return 0;
    });
  }

  std::optional<VoiceRecord> row(const std::string& name) const {
    Stmt s = prepare(
        "SELECT name, created_at, consent, transcript, transcript_ids, audio_file, sample_rate, "
        "duration_s, codes_frames, codes_codebooks, codes, report_json FROM voices WHERE name = ?");
    bind_text(s.get(), 1, name);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    VoiceRecord r;
    r.name = text(s.get(), 0);
    r.created_at = text(s.get(), 1);
    r.consent = text(s.get(), 2);
    r.transcript = text(s.get(), 3);
    r.transcript_ids = from_le_bytes<int32_t>(blob(s.get(), 4));
    r.media = text(s.get(), 5);
    r.sample_rate = sqlite3_column_int(s.get(), 6);
    r.duration_s = sqlite3_column_double(s.get(), 7);
    r.frames = sqlite3_column_int64(s.get(), 8);
    r.codebooks = sqlite3_column_int(s.get(), 9);
    r.codes = from_le_bytes<int32_t>(blob(s.get(), 10));
    r.report_json = text(s.get(), 11);
    return r;
  }

  void insert_embedding(const std::string& name, const std::string& size,
                        const std::vector<float>& e) const {
    Stmt s = prepare(
        "INSERT OR REPLACE INTO embeddings(name, model_size, data) "
        "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM voices WHERE name = ?1)");
    bind_text(s.get(), 1, name);
    bind_text(s.get(), 2, size);
    bind_blob(s.get(), 3, to_le_bytes(e));
    step_done(s.get());
  }

  void forget_pending(const std::string& key) const {
    Stmt p = prepare("DELETE FROM pending_writes WHERE key = ?");
    bind_text(p.get(), 1, key);
    step_done(p.get());
  }
};

// Each key is a folder of its own (voices/<name>.<id>/reference.wav): a
// replaced voice's new audio never overwrites the old in place.
class FileMedia final : public MediaStore {
 public:
  explicit FileMedia(std::string dir) : dir_(std::move(dir)) {}

  std::string new_key(const std::string& voice) override {
    return new_media_key(voice, "reference.wav");
  }

  void put(const std::string& key, const std::string& bytes) override {
    const fs::path file = fs::path(dir_) / key;
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec)
      fail(ErrorKind::kIo, "cannot create '", file.parent_path().string(), "': ", ec.message());
    write_file_atomic(file.string(), bytes);  // fsynced; a failed write leaves nothing
    fsync_path(file.parent_path(), O_RDONLY | O_DIRECTORY);
    fsync_path(file.parent_path().parent_path(), O_RDONLY | O_DIRECTORY);
  }

  std::string get(const std::string& key) override {
    std::ifstream in(fs::path(dir_) / key, std::ios::binary);
    if (!in) fail(ErrorKind::kNotFound, "cannot open '", (fs::path(dir_) / key).string(), "'");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  void remove(const std::string& key) override {
    std::error_code ec;
    fs::remove_all((fs::path(dir_) / key).parent_path(), ec);
  }

  std::vector<std::string> keys() override {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::directory_iterator(fs::path(dir_) / "voices", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec))
      if (it->is_directory())
        out.push_back("voices/" + it->path().filename().string() + "/reference.wav");
    return out;
  }

  std::string local_path(const std::string& key) const override {
    return (fs::path(dir_) / key).string();
  }

 private:
  std::string dir_;
};

}  // namespace

VoiceBackend open_sqlite_backend(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "voices", ec);
  if (ec) fail(ErrorKind::kIo, "cannot create the voice store in '", dir, "': ", ec.message());
  VoiceBackend b;
  b.repository = std::make_unique<SqliteRepository>((fs::path(dir) / "voices.db").string());
  b.media = std::make_unique<FileMedia>(dir);
  b.jobs = make_sqlite_jobs((fs::path(dir) / "voices.db").string());
  return b;
}

}  // namespace izwi::store
