// The shared voice backend: records, pending writes and reference audio all
// in PostgreSQL, so any number of `izwi serve` replicas see the same voices
// the moment one commits. Every call is one transaction from the pool.
#include <unistd.h>

#include <ctime>

#include "core/error.h"
#include "store/blob.h"
#include "store/pending_write.h"
#include "store/pg_pool.h"
#include "store/voice_backend.h"

namespace izwi::store {

namespace {

// Version 1. Embeddings follow a renamed voice (ON UPDATE CASCADE).
constexpr const char* kCreateV1 =
    "CREATE TABLE voices("
    " name text PRIMARY KEY, created_at text NOT NULL, consent text NOT NULL DEFAULT '',"
    " transcript text NOT NULL DEFAULT '', transcript_ids bytea NOT NULL, media text NOT NULL,"
    " sample_rate integer NOT NULL, duration_s double precision NOT NULL,"
    " codes_frames bigint NOT NULL DEFAULT 0, codes_codebooks integer NOT NULL DEFAULT 0,"
    " codes bytea NOT NULL, report_json text NOT NULL DEFAULT '{}');"
    "CREATE TABLE embeddings("
    " name text NOT NULL REFERENCES voices(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    " model_size text NOT NULL, data bytea NOT NULL, PRIMARY KEY(name, model_size));"
    "CREATE TABLE pending_writes("
    " key text PRIMARY KEY, host text NOT NULL, pid bigint NOT NULL, started bigint NOT NULL);"
    "CREATE TABLE voice_media(key text PRIMARY KEY, data bytea NOT NULL);"
    "CREATE TABLE izwi_schema(version integer NOT NULL);"
    "INSERT INTO izwi_schema(version) VALUES(1);";

// Version 2: the job queue (store/job_backend.h). Times are the database
// server's (epoch seconds), so workers on machines with skewed clocks agree
// on when a lease ends.
constexpr const char* kCreateV2 =
    "CREATE TABLE jobs(id text PRIMARY KEY, created_at text NOT NULL,"
    " created double precision NOT NULL, params text NOT NULL,"
    " cancelled boolean NOT NULL DEFAULT false);"
    "CREATE TABLE job_items("
    " job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx integer NOT NULL,"
    " input text NOT NULL, status text NOT NULL DEFAULT 'queued', worker text NOT NULL DEFAULT '',"
    " lease_until double precision NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0,"
    " output bytea, duration_s double precision NOT NULL DEFAULT 0, error text NOT NULL DEFAULT '',"
    " seq bigserial NOT NULL, PRIMARY KEY(job_id, idx));"
    // A claim reads one end of one of these: the oldest queued utterance, or
    // the running one whose lease ended first (measured: a join ordered by
    // job over a million items managed 3 claims/s; these, thousands).
    "CREATE INDEX job_items_queued ON job_items(seq) WHERE status = 'queued';"
    "CREATE INDEX job_items_leased ON job_items(lease_until) WHERE status = 'running';"
    "UPDATE izwi_schema SET version = 2;";

constexpr const char* kSelectVoice =
    "SELECT name, created_at, consent, transcript, transcript_ids, media, sample_rate, "
    "duration_s, codes_frames, codes_codebooks, codes, report_json FROM voices WHERE name = $1";

VoiceRecord record(const PgResult& r, int i) {
  VoiceRecord v;
  v.name = r.text(i, 0);
  v.created_at = r.text(i, 1);
  v.consent = r.text(i, 2);
  v.transcript = r.text(i, 3);
  v.transcript_ids = from_le_bytes<int32_t>(r.bytes(i, 4));
  v.media = r.text(i, 5);
  v.sample_rate = static_cast<int>(r.integer(i, 6));
  v.duration_s = r.real(i, 7);
  v.frames = r.integer(i, 8);
  v.codebooks = static_cast<int>(r.integer(i, 9));
  v.codes = from_le_bytes<int32_t>(r.bytes(i, 10));
  v.report_json = r.text(i, 11);
  return v;
}

class PgRepository final : public VoiceRepository {
 public:
  explicit PgRepository(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {
    pool_->check_connection();
    migrate();
  }

  std::string describe() const override { return "PostgreSQL " + redact_url(pool_->url()); }

  int schema_version() override {
    int v = 0;
    pool_->transaction([&](PgTransaction& t) { v = version(t); });
    return v;
  }

  std::optional<VoiceRecord> find(const std::string& name) override {
    std::optional<VoiceRecord> out;
    pool_->transaction([&](PgTransaction& t) {
      const PgResult r = t.exec(kSelectVoice, {{name}});
      if (r.rows() > 0) out = record(r, 0);
    });
    return out;
  }

  std::vector<std::string> names() override {
    return column("SELECT name FROM voices ORDER BY name COLLATE \"C\"", {});
  }

  std::vector<std::string> embedding_sizes(const std::string& name) override {
    return column(
        "SELECT model_size FROM embeddings WHERE name = $1 ORDER BY model_size COLLATE \"C\"",
        {{name}});
  }

  std::optional<std::vector<float>> embedding(const std::string& name,
                                              const std::string& size) override {
    std::optional<std::vector<float>> out;
    pool_->transaction([&](PgTransaction& t) {
      const PgResult r = t.exec("SELECT data FROM embeddings WHERE name = $1 AND model_size = $2",
                                {{name}, {size}});
      if (r.rows() > 0) out = from_le_bytes<float>(r.bytes(0, 0));
    });
    return out;
  }

  void put_embedding(const std::string& name, const std::string& size,
                     const std::vector<float>& e) override {
    pool_->transaction([&](PgTransaction& t) { insert_embedding(t, name, size, e); });
  }

  void begin_media(const std::string& key) override {
    pool_->transaction([&](PgTransaction& t) {
      t.exec(
          "INSERT INTO pending_writes(key, host, pid, started) VALUES($1, $2, $3, $4)",
          {{key}, {host_name()}, {std::to_string(getpid())}, {std::to_string(std::time(nullptr))}});
    });
  }

  void abandon_media(const std::string& key) override {
    pool_->transaction(
        [&](PgTransaction& t) { t.exec("DELETE FROM pending_writes WHERE key = $1", {{key}}); });
  }

  std::optional<std::string> commit(const VoiceRecord& r, const Embeddings& embeddings,
                                    bool replace) override {
    std::optional<std::string> replaced;
    pool_->transaction([&](PgTransaction& t) {
      replaced.reset();
      const PgResult old =
          t.exec("SELECT media FROM voices WHERE name = $1 FOR UPDATE", {{r.name}});
      if (old.rows() > 0) {
        if (!replace) fail(ErrorKind::kExists, "a voice named '", r.name, "' already exists");
        replaced = old.text(0, 0);
        t.exec("DELETE FROM voices WHERE name = $1", {{r.name}});
      }
      t.exec(
          "INSERT INTO voices(name, created_at, consent, transcript, transcript_ids, media, "
          "sample_rate, duration_s, codes_frames, codes_codebooks, codes, report_json) "
          "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
          {{r.name},
           {r.created_at},
           {r.consent},
           {r.transcript},
           PgParam::bytes(to_le_bytes(r.transcript_ids)),
           {r.media},
           {std::to_string(r.sample_rate)},
           {pg_number(r.duration_s)},
           {std::to_string(r.frames)},
           {std::to_string(r.codebooks)},
           PgParam::bytes(to_le_bytes(r.codes)),
           {r.report_json}});
      for (const auto& [size, e] : embeddings) insert_embedding(t, r.name, size, e);
      t.exec("DELETE FROM pending_writes WHERE key = $1", {{r.media}});
    });
    return replaced;
  }

  std::optional<std::string> remove(const std::string& name) override {
    std::optional<std::string> media;
    pool_->transaction([&](PgTransaction& t) {
      const PgResult r = t.exec("DELETE FROM voices WHERE name = $1 RETURNING media", {{name}});
      media = r.rows() > 0 ? std::optional<std::string>(r.text(0, 0)) : std::nullopt;
    });
    return media;
  }

  void rename(const std::string& from, const std::string& to) override {
    pool_->transaction([&](PgTransaction& t) {
      if (t.exec("SELECT 1 FROM voices WHERE name = $1 FOR UPDATE", {{from}}).rows() == 0)
        fail(ErrorKind::kNotFound, "no saved voice named '", from, "'");
      if (t.exec("SELECT 1 FROM voices WHERE name = $1", {{to}}).rows() > 0)
        fail(ErrorKind::kExists, "a voice named '", to, "' already exists");
      t.exec("UPDATE voices SET name = $2 WHERE name = $1", {{from}, {to}});
    });
  }

  bool set_consent(const std::string& name, const std::string& consent) override {
    bool changed = false;
    pool_->transaction([&](PgTransaction& t) {
      changed =
          t.exec("UPDATE voices SET consent = $2 WHERE name = $1", {{name}, {consent}}).affected() >
          0;
    });
    return changed;
  }

  std::set<std::string> media_in_use() override {
    std::set<std::string> used;
    pool_->transaction([&](PgTransaction& t) {
      used.clear();
      // Pending writes first, records second. Under READ COMMITTED each
      // statement sees what was committed before it began, so a write that
      // commits between the two is still seen (as a record). The other order
      // lost it: not yet a record at the first statement, no longer pending at
      // the second, and its audio was swept (seen in CI).
      const PgResult p = t.exec("SELECT key, host, pid, started FROM pending_writes FOR UPDATE");
      const int64_t now = static_cast<int64_t>(std::time(nullptr));
      for (int i = 0; i < p.rows(); ++i) {
        const PendingWrite w{p.text(i, 0), p.text(i, 1), p.integer(i, 2), p.integer(i, 3)};
        if (pending_write_alive(w, now))
          used.insert(w.key);
        else
          t.exec("DELETE FROM pending_writes WHERE key = $1", {{w.key}});
      }
      const PgResult v = t.exec("SELECT media FROM voices");
      for (int i = 0; i < v.rows(); ++i) used.insert(v.text(i, 0));
    });
    return used;
  }

  bool ping() override { return pool_->ping(); }

  std::vector<std::string> check() override {
    // PostgreSQL checks its own pages; what izwi can check is that every
    // record's media and every embedding's voice exist.
    std::vector<std::string> problems;
    pool_->transaction([&](PgTransaction& t) {
      problems.clear();
      const PgResult r = t.exec(
          "SELECT v.name FROM voices v LEFT JOIN voice_media m ON m.key = v.media "
          "WHERE m.key IS NULL ORDER BY v.name");
      for (int i = 0; i < r.rows(); ++i)
        problems.push_back("database: voice '" + r.text(i, 0) + "' has no stored audio");
    });
    return problems;
  }

 private:
  static int version(PgTransaction& t) {
    if (t.exec("SELECT to_regclass('izwi_schema') IS NOT NULL").text(0, 0) != "t") return 0;
    const PgResult r = t.exec("SELECT max(version) FROM izwi_schema");
    return r.rows() > 0 && !r.null(0, 0) ? static_cast<int>(r.integer(0, 0)) : 0;
  }

  // Creates or upgrades the schema. An advisory lock makes replicas starting
  // together take turns; the second finds the work done.
  void migrate() {
    pool_->transaction([&](PgTransaction& t) {
      t.exec("SELECT pg_advisory_xact_lock(7274319)");  // 'izwi' schema migrations
      const int v = version(t);
      if (v > kSchemaVersion)
        fail(ErrorKind::kInvalidFormat, "the voice database ", redact_url(pool_->url()),
             " has schema version ", v, "; this izwi knows up to ", kSchemaVersion,
             " (upgrade izwi)");
      if (v == 0) t.exec(kCreateV1);
      if (v <= 1) t.exec(kCreateV2);
    });
  }

  static void insert_embedding(PgTransaction& t, const std::string& name, const std::string& size,
                               const std::vector<float>& e) {
    t.exec(
        "INSERT INTO embeddings(name, model_size, data) "
        "SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM voices WHERE name = $1) "
        "ON CONFLICT (name, model_size) DO UPDATE SET data = EXCLUDED.data",
        {{name}, {size}, PgParam::bytes(to_le_bytes(e))});
  }

  std::vector<std::string> column(const char* sql, const std::vector<PgParam>& params) {
    std::vector<std::string> out;
    pool_->transaction([&](PgTransaction& t) {
      out.clear();
      const PgResult r = t.exec(sql, params);
      for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    });
    return out;
  }

  std::shared_ptr<PgPool> pool_;
};

class PgMedia final : public MediaStore {
 public:
  explicit PgMedia(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  std::string new_key(const std::string& voice) override {
    return new_media_key(voice, "reference.wav");
  }

  void put(const std::string& key, const std::string& bytes) override {
    pool_->transaction([&](PgTransaction& t) {
      t.exec(
          "INSERT INTO voice_media(key, data) VALUES($1, $2) "
          "ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data",
          {{key}, PgParam::bytes(bytes)});
    });
  }

  std::string get(const std::string& key) override {
    std::optional<std::string> out;
    pool_->transaction([&](PgTransaction& t) {
      const PgResult r = t.exec("SELECT data FROM voice_media WHERE key = $1", {{key}});
      if (r.rows() > 0) out = r.bytes(0, 0);
    });
    if (!out) fail(ErrorKind::kNotFound, "no stored audio '", key, "' in the voice database");
    return *out;
  }

  void remove(const std::string& key) override {
    pool_->transaction(
        [&](PgTransaction& t) { t.exec("DELETE FROM voice_media WHERE key = $1", {{key}}); });
  }

  std::vector<std::string> keys() override {
    std::vector<std::string> out;
    pool_->transaction([&](PgTransaction& t) {
      out.clear();
      const PgResult r = t.exec("SELECT key FROM voice_media");
      for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    });
    return out;
  }

  std::string local_path(const std::string&) const override { return ""; }

 private:
  std::shared_ptr<PgPool> pool_;
};

}  // namespace

VoiceBackend open_postgres_backend(const std::string& url, int max_connections) {
  auto pool = std::make_shared<PgPool>(url, max_connections);
  VoiceBackend b;
  b.repository = std::make_unique<PgRepository>(pool);
  b.media = std::make_unique<PgMedia>(pool);
  b.jobs = make_postgres_jobs(pool);
  return b;
}

}  // namespace izwi::store
