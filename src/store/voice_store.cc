// Voice profiles in SQLite (WAL) with the reference audio in files beside it.
//
// Crash safety: media is written to a fresh folder first (fsynced), then the
// row is committed in one transaction; the old folder of a replaced profile is
// removed only after the commit. A folder no row points to is an unfinished or
// superseded write and is swept on open.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/file_util.h"
#include "izwi/base64.h"
#include "izwi/provenance.h"
#include "izwi/voices.h"
#include "pipeline/voice_cache.h"

namespace izwi {

namespace fs = std::filesystem;

namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

std::string env(const char* n) {
  const char* v = std::getenv(n);
  return v ? v : "";
}

template <typename T>
std::string to_blob(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <typename T>
std::vector<T> from_blob(const void* p, int bytes) {
  std::vector<T> v(static_cast<size_t>(bytes) / sizeof(T));
  if (bytes > 0) std::memcpy(v.data(), p, v.size() * sizeof(T));
  return v;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kNotFound, "cannot open '", path, "'");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void fsync_dir(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string random_suffix() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// The key a speaker embedding is stored under: the model size, as x-vectors
// differ between sizes.
std::string size_key(const TtsModel& model) {
  return model.model_size().empty() ? "unknown" : model.model_size();
}

}  // namespace

struct VoiceStore::Impl {
  std::string dir;
  std::unique_ptr<sqlite3, DbClose> db;

  Stmt prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql, -1, &s, nullptr) != SQLITE_OK)
      fail(ErrorKind::kInternal, "voice store: ", sqlite3_errmsg(db.get()));
    return Stmt(s);
  }
  void exec(const char* sql) const {
    char* err = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "?";
      sqlite3_free(err);
      fail(ErrorKind::kIo, "voice store (", dir, "): ", msg);
    }
  }
  void step_done(sqlite3_stmt* s) const {
    if (sqlite3_step(s) != SQLITE_DONE)
      fail(ErrorKind::kIo, "voice store: ", sqlite3_errmsg(db.get()), " (disk full?)");
  }
  static void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static void bind_blob(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string column_text(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

  struct Row {
    std::string name, created_at, consent, transcript, audio_file, report_json;
    std::vector<int32_t> transcript_ids, codes;
    int sample_rate = 0;
    double duration_s = 0;
    int64_t frames = 0;
    int codebooks = 0;
  };

  std::optional<Row> row(const std::string& name) const {
    Stmt s = prepare(
        "SELECT name, created_at, consent, transcript, transcript_ids, audio_file, sample_rate, "
        "duration_s, "
        "codes_frames, codes_codebooks, codes, report_json FROM voices WHERE name = ?");
    bind_text(s.get(), 1, name);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    Row r;
    r.name = column_text(s.get(), 0);
    r.created_at = column_text(s.get(), 1);
    r.consent = column_text(s.get(), 2);
    r.transcript = column_text(s.get(), 3);
    r.transcript_ids =
        from_blob<int32_t>(sqlite3_column_blob(s.get(), 4), sqlite3_column_bytes(s.get(), 4));
    r.audio_file = column_text(s.get(), 5);
    r.sample_rate = sqlite3_column_int(s.get(), 6);
    r.duration_s = sqlite3_column_double(s.get(), 7);
    r.frames = sqlite3_column_int64(s.get(), 8);
    r.codebooks = sqlite3_column_int(s.get(), 9);
    r.codes =
        from_blob<int32_t>(sqlite3_column_blob(s.get(), 10), sqlite3_column_bytes(s.get(), 10));
    r.report_json = column_text(s.get(), 11);
    return r;
  }

  std::vector<std::string> sizes(const std::string& name) const {
    Stmt s = prepare("SELECT model_size FROM embeddings WHERE name = ? ORDER BY model_size");
    bind_text(s.get(), 1, name);
    std::vector<std::string> out;
    while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back(column_text(s.get(), 0));
    return out;
  }

  VoiceProfile profile(const Row& r) const {
    VoiceProfile p;
    p.name = r.name;
    p.created_at = r.created_at;
    p.consent = r.consent;
    p.transcript = r.transcript;
    p.duration_s = r.duration_s;
    p.model_sizes = sizes(r.name);
    p.audio_path = (fs::path(dir) / r.audio_file).string();
    p.report_json = r.report_json;
    return p;
  }

  // Writes media to a new folder, then commits the row and embeddings at once.
  void write(const Row& r, const Audio& audio,
             const std::vector<std::pair<std::string, std::vector<float>>>& embeddings,
             bool replace) {
    VoiceStore::check_name(r.name);
    const std::optional<Row> old = row(r.name);
    if (old && !replace)
      fail(ErrorKind::kInvalidArgument, "a voice named '", r.name,
           "' already exists; use --force to replace it");
    const std::string folder = "voices/" + r.name + "." + random_suffix();
    const fs::path media = fs::path(dir) / folder;
    // The folder is recorded as being written before it exists, and the record
    // goes in the same transaction that commits the voice: another process
    // opening the store (sweep) never takes it for a leftover.
    {
      Stmt p = prepare("INSERT INTO pending_media(folder, pid, started) VALUES(?,?,?)");
      bind_text(p.get(), 1, folder);
      sqlite3_bind_int64(p.get(), 2, static_cast<int64_t>(getpid()));
      sqlite3_bind_int64(p.get(), 3, static_cast<int64_t>(std::time(nullptr)));
      step_done(p.get());
    }
    auto forget_pending = [&] {
      Stmt p = prepare("DELETE FROM pending_media WHERE folder = ?");
      bind_text(p.get(), 1, folder);
      step_done(p.get());
    };
    fs::create_directories(media);
    write_audio((media / "reference.wav").string(), audio, AudioFormat::kWav,
                SampleFormat::kFloat32);
    fsync_dir(media);
    fsync_dir(media.parent_path());
    Row w = r;
    w.audio_file = folder + "/reference.wav";
    w.sample_rate = audio.sample_rate;
    w.duration_s = audio.duration();
    exec("BEGIN IMMEDIATE");
    try {
      Stmt del = prepare("DELETE FROM voices WHERE name = ?");
      bind_text(del.get(), 1, w.name);
      step_done(del.get());
      Stmt ins = prepare(
          "INSERT INTO voices(name, created_at, consent, transcript, transcript_ids, audio_file, "
          "sample_rate, "
          "duration_s, codes_frames, codes_codebooks, codes, report_json) "
          "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
      bind_text(ins.get(), 1, w.name);
      bind_text(ins.get(), 2, w.created_at);
      bind_text(ins.get(), 3, w.consent);
      bind_text(ins.get(), 4, w.transcript);
      bind_blob(ins.get(), 5, to_blob(w.transcript_ids));
      bind_text(ins.get(), 6, w.audio_file);
      sqlite3_bind_int(ins.get(), 7, w.sample_rate);
      sqlite3_bind_double(ins.get(), 8, w.duration_s);
      sqlite3_bind_int64(ins.get(), 9, w.frames);
      sqlite3_bind_int(ins.get(), 10, w.codebooks);
      bind_blob(ins.get(), 11, to_blob(w.codes));
      bind_text(ins.get(), 12, w.report_json);
      step_done(ins.get());
      for (const auto& [size, e] : embeddings) put_embedding(w.name, size, e);
      forget_pending();
      exec("COMMIT");
    } catch (...) {
      exec("ROLLBACK");
      std::error_code ec;
      fs::remove_all(media, ec);
      try {
        forget_pending();
      } catch (const Error&) {
      }
      throw;
    }
    if (old) {
      std::error_code ec;
      fs::remove_all((fs::path(dir) / old->audio_file).parent_path(), ec);
    }
  }

  void put_embedding(const std::string& name, const std::string& size,
                     const std::vector<float>& e) const {
    Stmt s = prepare("INSERT OR REPLACE INTO embeddings(name, model_size, data) VALUES(?,?,?)");
    bind_text(s.get(), 1, name);
    bind_text(s.get(), 2, size);
    bind_blob(s.get(), 3, to_blob(e));
    step_done(s.get());
  }

  std::optional<std::vector<float>> embedding(const std::string& name,
                                              const std::string& size) const {
    Stmt s = prepare("SELECT data FROM embeddings WHERE name = ? AND model_size = ?");
    bind_text(s.get(), 1, name);
    bind_text(s.get(), 2, size);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    return from_blob<float>(sqlite3_column_blob(s.get(), 0), sqlite3_column_bytes(s.get(), 0));
  }

  // Removes media folders that neither a voice nor a write in progress points
  // to (interrupted or superseded writes). The folders are listed first, the
  // records read after: a writer records its folder before creating it, so a
  // folder seen here is either recorded by then or a leftover. A write whose
  // process is gone (or that started over a day ago) is a leftover too.
  void sweep() const {
    std::vector<std::string> folders;
    std::error_code ec;
    for (auto it = fs::directory_iterator(fs::path(dir) / "voices", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec))
      if (it->is_directory()) folders.push_back("voices/" + it->path().filename().string());
    std::set<std::string> used;
    exec("BEGIN IMMEDIATE");
    try {
      Stmt s = prepare("SELECT audio_file FROM voices");
      while (sqlite3_step(s.get()) == SQLITE_ROW)
        used.insert(fs::path(column_text(s.get(), 0)).parent_path().string());
      Stmt p = prepare("SELECT folder, pid, started FROM pending_media");
      std::vector<std::string> stale;
      const int64_t now = static_cast<int64_t>(std::time(nullptr));
      while (sqlite3_step(p.get()) == SQLITE_ROW) {
        const std::string folder = column_text(p.get(), 0);
        const auto pid = static_cast<pid_t>(sqlite3_column_int64(p.get(), 1));
        const int64_t started = sqlite3_column_int64(p.get(), 2);
        const bool alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
        if (alive && now - started < 24 * 3600)
          used.insert(folder);
        else
          stale.push_back(folder);
      }
      for (const std::string& f : stale) {
        Stmt d = prepare("DELETE FROM pending_media WHERE folder = ?");
        bind_text(d.get(), 1, f);
        step_done(d.get());
      }
      exec("COMMIT");
    } catch (...) {
      exec("ROLLBACK");
      throw;
    }
    for (const std::string& f : folders)
      if (!used.count(f)) fs::remove_all(fs::path(dir) / f, ec);
  }
};

VoiceStore::VoiceStore(const std::string& data_dir) : impl_(std::make_unique<Impl>()) {
  std::string d = data_dir.empty() ? env("IZWI_DATA_DIR") : data_dir;
  if (d.empty()) {
    const std::string xdg = env("XDG_DATA_HOME"), home = env("HOME");
    d = !xdg.empty() ? xdg + "/izwi" : (home.empty() ? ".izwi" : home + "/.local/share/izwi");
  }
  impl_->dir = d;
  std::error_code ec;
  fs::create_directories(fs::path(d) / "voices", ec);
  if (ec) fail(ErrorKind::kIo, "cannot create the voice store in '", d, "': ", ec.message());
  sqlite3* db = nullptr;
  const std::string path = (fs::path(d) / "voices.db").string();
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    fail(ErrorKind::kIo, "cannot open the voice store '", path, "': ", msg);
  }
  impl_->db.reset(db);
  sqlite3_busy_timeout(db, 5000);
  impl_->exec("PRAGMA journal_mode=WAL");
  impl_->exec("PRAGMA synchronous=FULL");  // an acknowledged write survives a power cut
  impl_->exec("PRAGMA foreign_keys=ON");
  impl_->exec(
      "CREATE TABLE IF NOT EXISTS voices("
      " name TEXT PRIMARY KEY, created_at TEXT NOT NULL, consent TEXT NOT NULL DEFAULT '',"
      " transcript TEXT NOT NULL DEFAULT '', transcript_ids BLOB, audio_file TEXT NOT NULL,"
      " sample_rate INTEGER NOT NULL, duration_s REAL NOT NULL, codes_frames INTEGER NOT NULL "
      "DEFAULT 0,"
      " codes_codebooks INTEGER NOT NULL DEFAULT 0, codes BLOB, report_json TEXT NOT NULL DEFAULT "
      "'{}');"
      "CREATE TABLE IF NOT EXISTS embeddings("
      " name TEXT NOT NULL REFERENCES voices(name) ON DELETE CASCADE, model_size TEXT NOT NULL,"
      " data BLOB NOT NULL, PRIMARY KEY(name, model_size));"
      // Media folders being written (VoiceStore's sweep leaves them alone).
      "CREATE TABLE IF NOT EXISTS pending_media("
      " folder TEXT PRIMARY KEY, pid INTEGER NOT NULL, started INTEGER NOT NULL);");
  impl_->sweep();
}

VoiceStore::~VoiceStore() = default;

const std::string& VoiceStore::dir() const {
  return impl_->dir;
}

void VoiceStore::check_name(const std::string& name) {
  static const std::regex re("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
  if (!std::regex_match(name, re) || name.find("..") != std::string::npos)
    fail(ErrorKind::kInvalidArgument, "invalid voice name '", name,
         "': use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit");
}

VoiceProfile VoiceStore::save(const std::string& name, const TtsModel& model, const Voice& voice,
                              const std::string& consent, bool replace) {
  if (voice.is_preset() || voice.xvector.empty() || voice.reference_audio.samples.empty())
    fail(ErrorKind::kInvalidArgument, "only voices cloned from reference audio can be saved");
  Impl::Row r;
  r.name = name;
  r.created_at = utc_timestamp();
  r.consent = consent;
  r.transcript = voice.reference_text;
  r.transcript_ids = voice.reference_text_ids;
  r.codes = voice.reference_codes.values;
  r.frames = voice.reference_codes.frames;
  r.codebooks = voice.reference_codes.num_codebooks;
  r.report_json = voice.report.to_json();
  impl_->write(r, voice.reference_audio, {{size_key(model), voice.xvector}}, replace);
  return get(name);
}

VoiceProfile VoiceStore::add(const std::string& name, const TtsModel& model, const Audio& audio,
                             const std::string& transcript, const std::string& consent,
                             bool replace, const ReferenceOptions& reference) {
  check_name(name);
  if (contains(name) && !replace)
    fail(ErrorKind::kInvalidArgument, "a voice named '", name,
         "' already exists; use --force to replace it");
  return save(name, model, model.clone_voice(audio, transcript, reference), consent, replace);
}

bool VoiceStore::contains(const std::string& name) const {
  return impl_->row(name).has_value();
}

std::vector<VoiceProfile> VoiceStore::list() const {
  Stmt s = impl_->prepare("SELECT name FROM voices ORDER BY name");
  std::vector<std::string> names;
  while (sqlite3_step(s.get()) == SQLITE_ROW) names.push_back(Impl::column_text(s.get(), 0));
  std::vector<VoiceProfile> out;
  for (const auto& n : names) out.push_back(get(n));
  return out;
}

std::vector<std::string> VoiceStore::verify() const {
  std::vector<std::string> problems;
  {
    Stmt s = impl_->prepare("PRAGMA integrity_check");
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      const std::string line = Impl::column_text(s.get(), 0);
      if (line != "ok") problems.push_back("database: " + line);
    }
  }
  Stmt s = impl_->prepare("SELECT name FROM voices ORDER BY name");
  std::vector<std::string> names;
  while (sqlite3_step(s.get()) == SQLITE_ROW) names.push_back(Impl::column_text(s.get(), 0));
  for (const std::string& name : names) {
    const auto r = impl_->row(name);
    if (!r) continue;
    const std::string where = "voice '" + name + "': ";
    try {
      const Audio a = read_audio((fs::path(impl_->dir) / r->audio_file).string());
      if (a.sample_rate != r->sample_rate || std::abs(a.duration() - r->duration_s) > 1e-3)
        problems.push_back(where + "its audio is " + std::to_string(a.duration()) + " s at " +
                           std::to_string(a.sample_rate) + " Hz, the record says " +
                           std::to_string(r->duration_s) + " s at " +
                           std::to_string(r->sample_rate) + " Hz");
    } catch (const Error& e) {
      problems.push_back(where + "its audio cannot be read: " + e.what());
    }
    if (static_cast<int64_t>(r->codes.size()) != r->frames * r->codebooks)
      problems.push_back(where + std::to_string(r->codes.size()) + " codes stored for " +
                         std::to_string(r->frames) + " frames of " + std::to_string(r->codebooks));
    for (const std::string& size : impl_->sizes(name)) {
      const auto e = impl_->embedding(name, size);
      if (!e || e->empty()) problems.push_back(where + "an empty " + size + " embedding");
    }
  }
  return problems;
}

VoiceProfile VoiceStore::get(const std::string& name) const {
  const auto r = impl_->row(name);
  if (!r) fail(ErrorKind::kNotFound, "no saved voice named '", name, "' (see `izwi voices list`)");
  return impl_->profile(*r);
}

void VoiceStore::remove(const std::string& name) {
  const auto r = impl_->row(name);
  if (!r) fail(ErrorKind::kNotFound, "no saved voice named '", name, "'");
  Stmt s = impl_->prepare("DELETE FROM voices WHERE name = ?");
  Impl::bind_text(s.get(), 1, name);
  impl_->step_done(s.get());
  std::error_code ec;
  fs::remove_all((fs::path(impl_->dir) / r->audio_file).parent_path(), ec);
}

void VoiceStore::set_consent(const std::string& name, const std::string& consent) {
  Stmt update = impl_->prepare("UPDATE voices SET consent = ? WHERE name = ?");
  Impl::bind_text(update.get(), 1, consent);
  Impl::bind_text(update.get(), 2, name);
  impl_->step_done(update.get());
  if (sqlite3_changes(impl_->db.get()) == 0)
    fail(ErrorKind::kNotFound, "no saved voice named '", name, "'");
}

void VoiceStore::rename(const std::string& name, const std::string& new_name) {
  check_name(new_name);
  if (name == new_name) return;
  // One transaction: the profile and its embeddings move together or not at all.
  impl_->exec("BEGIN IMMEDIATE");
  try {
    if (!impl_->row(name)) fail(ErrorKind::kNotFound, "no saved voice named '", name, "'");
    if (impl_->row(new_name))
      fail(ErrorKind::kInvalidArgument, "a voice named '", new_name,
           "' already exists; use --force to replace it");
    Stmt copy = impl_->prepare(
        "INSERT INTO voices(name, created_at, consent, transcript, transcript_ids, audio_file, "
        "sample_rate, duration_s, codes_frames, codes_codebooks, codes, report_json) "
        "SELECT ?, created_at, consent, transcript, transcript_ids, audio_file, sample_rate, "
        "duration_s, codes_frames, codes_codebooks, codes, report_json FROM voices WHERE name = ?");
    Impl::bind_text(copy.get(), 1, new_name);
    Impl::bind_text(copy.get(), 2, name);
    impl_->step_done(copy.get());
    Stmt move = impl_->prepare("UPDATE embeddings SET name = ? WHERE name = ?");
    Impl::bind_text(move.get(), 1, new_name);
    Impl::bind_text(move.get(), 2, name);
    impl_->step_done(move.get());
    Stmt del = impl_->prepare("DELETE FROM voices WHERE name = ?");
    Impl::bind_text(del.get(), 1, name);
    impl_->step_done(del.get());
    impl_->exec("COMMIT");
  } catch (...) {
    impl_->exec("ROLLBACK");
    throw;
  }
}

Voice VoiceStore::load(const std::string& name, const TtsModel& model) {
  const auto r = impl_->row(name);
  if (!r) fail(ErrorKind::kNotFound, "no saved voice named '", name, "' (see `izwi voices list`)");
  Voice v;
  v.cache = std::make_shared<VoiceCache>();
  v.reference_audio = read_audio((fs::path(impl_->dir) / r->audio_file).string());
  v.reference_text = r->transcript;
  v.reference_text_ids = r->transcript_ids;
  v.reference_codes.frames = r->frames;
  v.reference_codes.num_codebooks = r->codebooks;
  v.reference_codes.values = r->codes;
  if (auto e = impl_->embedding(name, size_key(model))) {
    v.xvector = std::move(*e);
  } else {
    // First use with this model size: embed the stored (already prepared) clip.
    ReferenceOptions raw;
    raw.preprocess = false;
    v.xvector = model.clone_voice(v.reference_audio, "", raw).xvector;
    impl_->put_embedding(name, size_key(model), v.xvector);
  }
  return v;
}

void VoiceStore::export_file(const std::string& name, const std::string& path) const {
  const auto r = impl_->row(name);
  if (!r) fail(ErrorKind::kNotFound, "no saved voice named '", name, "'");
  nlohmann::ordered_json j;
  j["format"] = "izwi-voice";
  j["version"] = 1;
  j["name"] = r->name;
  j["created_at"] = r->created_at;
  j["consent"] = r->consent;
  j["transcript"] = r->transcript;
  j["transcript_ids"] = r->transcript_ids;
  j["report"] = nlohmann::json::parse(r->report_json.empty() ? "{}" : r->report_json);
  j["audio"] = {
      {"encoding", "wav-float32-base64"},
      {"data", base64_encode(read_file((fs::path(impl_->dir) / r->audio_file).string()))}};
  j["codes"] = {{"frames", r->frames},
                {"codebooks", r->codebooks},
                {"int32_le_base64", base64_encode(to_blob(r->codes))}};
  j["embeddings"] = nlohmann::json::array();
  Stmt s =
      impl_->prepare("SELECT model_size, data FROM embeddings WHERE name = ? ORDER BY model_size");
  Impl::bind_text(s.get(), 1, name);
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    const auto e =
        from_blob<float>(sqlite3_column_blob(s.get(), 1), sqlite3_column_bytes(s.get(), 1));
    j["embeddings"].push_back({{"model_size", Impl::column_text(s.get(), 0)},
                               {"dim", e.size()},
                               {"float32_le_base64", base64_encode(to_blob(e))}});
  }
  write_file_atomic(path, j.dump(1));
}

std::string VoiceStore::import_file(const std::string& path, const std::string& new_name,
                                    bool replace) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception&) {
    fail(ErrorKind::kInvalidFormat, "'", path, "' is not an izwi voice file (not JSON)");
  }
  try {
    if (j.value("format", "") != "izwi-voice")
      fail(ErrorKind::kInvalidFormat, "'", path, "' is not an izwi voice file (format '",
           j.value("format", ""), "')");
    if (j.value("version", 0) != 1)
      fail(ErrorKind::kInvalidFormat, "'", path, "' has voice file version ", j.value("version", 0),
           "; this izwi reads 1");
    Impl::Row r;
    r.name = new_name.empty() ? j.at("name").get<std::string>() : new_name;
    r.created_at = j.value("created_at", utc_timestamp());
    r.consent = j.value("consent", "");
    r.transcript = j.value("transcript", "");
    r.transcript_ids = j.value("transcript_ids", std::vector<int32_t>{});
    r.report_json = j.contains("report") ? j["report"].dump() : "{}";
    const std::string wav =
        base64_decode(j.at("audio").at("data").get<std::string>(), "voice file: audio");
    const Audio audio = read_audio_memory(wav.data(), wav.size(), path);
    r.frames = j.at("codes").at("frames").get<int64_t>();
    r.codebooks = j.at("codes").at("codebooks").get<int>();
    const std::string codes =
        base64_decode(j.at("codes").at("int32_le_base64").get<std::string>(), "voice file: codes");
    r.codes = from_blob<int32_t>(codes.data(), static_cast<int>(codes.size()));
    if (r.frames < 0 || static_cast<int64_t>(r.codes.size()) != r.frames * r.codebooks)
      fail(ErrorKind::kInvalidFormat, "'", path, "': codes do not match their shape");
    if (!r.transcript.empty() && (r.frames == 0 || r.transcript_ids.empty()))
      fail(ErrorKind::kInvalidFormat, "'", path, "': a transcript without its codes or token ids");
    std::vector<std::pair<std::string, std::vector<float>>> embeddings;
    for (const auto& e : j.value("embeddings", nlohmann::json::array())) {
      const std::string data =
          base64_decode(e.at("float32_le_base64").get<std::string>(), "voice file: embedding");
      auto v = from_blob<float>(data.data(), static_cast<int>(data.size()));
      if (v.size() != e.at("dim").get<size_t>())
        fail(ErrorKind::kInvalidFormat, "'", path, "': embedding size mismatch");
      embeddings.emplace_back(e.at("model_size").get<std::string>(), std::move(v));
    }
    impl_->write(r, audio, embeddings, replace);
    return r.name;
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kInvalidFormat, "'", path, "' is not a valid izwi voice file: ", e.what());
  }
}

}  // namespace izwi
