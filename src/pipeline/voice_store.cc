// The voice service: what a saved voice is made of (cloning a clip, the
// embedding for each model size, the voice file format), over a
// VoiceRepository and a MediaStore (src/store/voice_backend.h) that know
// nothing about models.
//
// A write: the media key is recorded as pending, the audio written durably,
// then the record committed (which clears the pending entry); the replaced
// voice's audio is removed only after that commit. Opening sweeps media no
// record or live write points to.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/file_util.h"
#include "core/json_util.h"
#include "izwi/base64.h"
#include "izwi/jobs.h"
#include "izwi/provenance.h"
#include "izwi/voices.h"
#include "pipeline/voice_cache.h"
#include "store/blob.h"
#include "store/voice_backend.h"
#include "text/unicode.h"

namespace izwi {

namespace {

std::string env(const char* n) {
  const char* v = std::getenv(n);
  return v ? v : "";
}

std::string default_data_dir() {
  const std::string d = env("IZWI_DATA_DIR");
  if (!d.empty()) return d;
  const std::string xdg = env("XDG_DATA_HOME"), home = env("HOME");
  return !xdg.empty() ? xdg + "/izwi" : (home.empty() ? ".izwi" : home + "/.local/share/izwi");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kNotFound, "cannot open '", path, "'");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The key a speaker embedding is stored under: the model size, as x-vectors
// differ between sizes.
std::string size_key(const TtsModel& model) {
  return model.model_size().empty() ? "unknown" : model.model_size();
}

}  // namespace

struct VoiceStore::Impl {
  std::string location;
  store::VoiceBackend backend;

  store::VoiceRepository& repo() const { return *backend.repository; }
  store::MediaStore& media() const { return *backend.media; }

  store::VoiceRecord record(const std::string& name) const {
    auto r = repo().find(name);
    if (!r) not_found(name);
    return std::move(*r);
  }

  // "No saved voice named 'alcie' (did you mean 'alice'?)".
  [[noreturn]] void not_found(const std::string& name) const {
    const std::string close = closest_name(name, repo().names());
    if (!close.empty())
      fail(ErrorKind::kNotFound, "no saved voice named '", name, "'; did you mean '", close,
           "'? (`izwi voices list` shows them all)");
    fail(ErrorKind::kNotFound, "no saved voice named '", name, "' (see `izwi voices list`)");
  }

  VoiceProfile profile(const store::VoiceRecord& r) const {
    VoiceProfile p;
    p.name = r.name;
    p.created_at = r.created_at;
    p.consent = r.consent;
    p.transcript = r.transcript;
    p.duration_s = r.duration_s;
    p.model_sizes = repo().embedding_sizes(r.name);
    p.audio_path = media().local_path(r.media);
    p.revision = r.media;
    p.report_json = r.report_json;
    return p;
  }

  void write(store::VoiceRecord r, const Audio& audio, const store::Embeddings& embeddings,
             bool replace) {
    VoiceStore::check_name(r.name);
    if (!replace && repo().find(r.name))
      fail(ErrorKind::kExists, "a voice named '", r.name, "' already exists");
    r.media = media().new_key(r.name);
    r.sample_rate = audio.sample_rate;
    r.duration_s = audio.duration();
    repo().begin_media(r.media);
    std::optional<std::string> replaced;
    try {
      media().put(r.media, encode_audio(audio, AudioFormat::kWav, SampleFormat::kFloat32));
      replaced = repo().commit(r, embeddings, replace);
    } catch (...) {
      try {
        media().remove(r.media);
        repo().abandon_media(r.media);
      } catch (const Error&) {
        // The next open's sweep removes it.
      }
      throw;
    }
    if (replaced) media().remove(*replaced);
  }

  // Media that neither a record nor a write in progress points to: listed
  // first, the keys in use read after (see voice_backend.h).
  void sweep() const {
    const std::vector<std::string> keys = media().keys();
    const std::set<std::string> used = repo().media_in_use();
    for (const std::string& k : keys)
      if (!used.count(k)) media().remove(k);
  }
};

VoiceStore::VoiceStore(const std::string& data_dir)
    : VoiceStore(VoiceStoreOptions{data_dir, "", 4}) {}

VoiceStore::VoiceStore(const VoiceStoreOptions& options) : impl_(std::make_unique<Impl>()) {
  const std::string database =
      options.database.empty() ? env("IZWI_DATABASE_URL") : options.database;
  if (!database.empty() && !store::is_postgres_url(database))
    fail(ErrorKind::kInvalidArgument, "--database '", store::redact_url(database),
         "' is not a PostgreSQL URL: use postgresql://user@host:port/dbname (leave it out for "
         "the embedded SQLite store)");
  if (!database.empty()) {
    impl_->backend = store::open_postgres_backend(database, options.max_connections);
    impl_->location = impl_->backend.repository->describe();
  } else {
    impl_->location = options.data_dir.empty() ? default_data_dir() : options.data_dir;
    impl_->backend = store::open_sqlite_backend(impl_->location);
  }
  impl_->sweep();
}

VoiceStore::~VoiceStore() = default;

const std::string& VoiceStore::dir() const {
  return impl_->location;
}

store::JobRepository& JobQueue::repo() {
  return *store_.impl_->backend.jobs;
}

bool VoiceStore::reachable() const {
  return impl_->repo().ping();
}

int VoiceStore::schema_version() const {
  return impl_->repo().schema_version();
}

void VoiceStore::check_name(const std::string& name) {
  // Letters and digits of any script ("grandma", "José", "小明", "Анна"), so a
  // voice can be named in its speaker's language; no spaces, slashes or other
  // punctuation, so a name is safe in a URL path, a shell and a file name.
  const auto invalid = [&name](const std::string& why) {
    fail(ErrorKind::kInvalidArgument, "invalid voice name '", name, "': ", why,
         "; use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit");
  };
  std::u32string cps;
  try {
    cps = text::code_points(name);
  } catch (const Error&) {
    invalid("it is not valid UTF-8");
  }
  if (cps.empty() || cps.size() > 64) invalid(cps.empty() ? "it is empty" : "it is too long");
  for (size_t i = 0; i < cps.size(); ++i) {
    const text::CharClass c = text::char_class(cps[i]);
    const bool alnum = c == text::CharClass::kLetter || c == text::CharClass::kDigit;
    if (i == 0 && !alnum) invalid("it must start with a letter or digit");
    if (!alnum && c != text::CharClass::kMark && cps[i] != U'_' && cps[i] != U'-' && cps[i] != U'.')
      invalid("it holds a character that is not allowed");
  }
  if (name.find("..") != std::string::npos) invalid("it holds '..'");
  // One spelling per name: "é" typed as e + a combining accent would be
  // another voice that looks the same.
  if (text::nfc(name) != name) invalid("its accents are not composed (Unicode NFC)");
}

VoiceProfile VoiceStore::save(const std::string& name, const TtsModel& model, const Voice& voice,
                              const std::string& consent, bool replace) {
  if (voice.is_preset() || voice.xvector.empty() || voice.reference_audio.samples.empty())
    fail(ErrorKind::kInvalidArgument, "only voices cloned from reference audio can be saved");
  store::VoiceRecord r;
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
    fail(ErrorKind::kExists, "a voice named '", name, "' already exists");
  return save(name, model, model.clone_voice(audio, transcript, reference), consent, replace);
}

bool VoiceStore::contains(const std::string& name) const {
  return impl_->repo().find(name).has_value();
}

std::vector<VoiceProfile> VoiceStore::list() const {
  std::vector<VoiceProfile> out;
  for (const std::string& n : impl_->repo().names())
    if (auto r = impl_->repo().find(n)) out.push_back(impl_->profile(*r));  // gone meanwhile: skip
  return out;
}

std::vector<std::string> VoiceStore::verify() const {
  std::vector<std::string> problems = impl_->repo().check();
  for (const std::string& name : impl_->repo().names()) {
    const auto r = impl_->repo().find(name);
    if (!r) continue;
    const std::string where = "voice '" + name + "': ";
    try {
      const std::string wav = impl_->media().get(r->media);
      const Audio a = read_audio_memory(wav.data(), wav.size(), r->media);
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
    for (const std::string& size : impl_->repo().embedding_sizes(name)) {
      const auto e = impl_->repo().embedding(name, size);
      if (!e || e->empty()) problems.push_back(where + "an empty " + size + " embedding");
    }
  }
  return problems;
}

VoiceProfile VoiceStore::get(const std::string& name) const {
  return impl_->profile(impl_->record(name));
}

std::string VoiceStore::audio(const std::string& name) const {
  return impl_->media().get(impl_->record(name).media);
}

void VoiceStore::remove(const std::string& name) {
  const auto media = impl_->repo().remove(name);
  if (!media) impl_->not_found(name);
  impl_->media().remove(*media);
}

void VoiceStore::set_consent(const std::string& name, const std::string& consent) {
  if (!impl_->repo().set_consent(name, consent)) impl_->not_found(name);
}

void VoiceStore::rename(const std::string& name, const std::string& new_name) {
  check_name(new_name);
  if (name == new_name) return;
  if (!impl_->repo().find(name)) impl_->not_found(name);  // with a suggestion
  impl_->repo().rename(name, new_name);
}

Voice VoiceStore::load(const std::string& name, const TtsModel& model) {
  const store::VoiceRecord r = impl_->record(name);
  Voice v;
  v.cache = std::make_shared<VoiceCache>();
  v.cache->keep_on_disk = true;
  const std::string wav = impl_->media().get(r.media);
  v.reference_audio = read_audio_memory(wav.data(), wav.size(), name + "/reference.wav");
  v.reference_text = r.transcript;
  v.reference_text_ids = r.transcript_ids;
  v.reference_codes.frames = r.frames;
  v.reference_codes.num_codebooks = r.codebooks;
  v.reference_codes.values = r.codes;
  if (auto e = impl_->repo().embedding(name, size_key(model))) {
    v.xvector = std::move(*e);
  } else {
    // First use with this model size: embed the stored (already prepared) clip.
    ReferenceOptions raw;
    raw.preprocess = false;
    v.xvector = model.clone_voice(v.reference_audio, "", raw).xvector;
    impl_->repo().put_embedding(name, size_key(model), v.xvector);
  }
  return v;
}

std::string VoiceStore::export_voice(const std::string& name) const {
  const store::VoiceRecord r = impl_->record(name);
  nlohmann::ordered_json j;
  j["format"] = "izwi-voice";
  j["version"] = 1;
  j["name"] = r.name;
  j["created_at"] = r.created_at;
  j["consent"] = r.consent;
  j["transcript"] = r.transcript;
  j["transcript_ids"] = r.transcript_ids;
  j["report"] = nlohmann::json::parse(r.report_json.empty() ? "{}" : r.report_json);
  j["audio"] = {{"encoding", "wav-float32-base64"},
                {"data", base64_encode(impl_->media().get(r.media))}};
  j["codes"] = {{"frames", r.frames},
                {"codebooks", r.codebooks},
                {"int32_le_base64", base64_encode(store::to_le_bytes(r.codes))}};
  j["embeddings"] = nlohmann::json::array();
  for (const std::string& size : impl_->repo().embedding_sizes(name)) {
    const auto e = impl_->repo().embedding(name, size);
    if (!e) continue;
    j["embeddings"].push_back({{"model_size", size},
                               {"dim", e->size()},
                               {"float32_le_base64", base64_encode(store::to_le_bytes(*e))}});
  }
  return j.dump(1) + "\n";
}

void VoiceStore::export_file(const std::string& name, const std::string& path) const {
  write_file_atomic(path, export_voice(name));
}

std::string VoiceStore::import_file(const std::string& path, const std::string& new_name,
                                    bool replace) {
  return import_voice(read_file(path), "'" + path + "'", new_name, replace);
}

std::string VoiceStore::import_voice(std::string_view file, const std::string& what,
                                     const std::string& new_name, bool replace) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception&) {
    fail(ErrorKind::kInvalidFormat, what, " is not an izwi voice file (not JSON)");
  }
  try {
    if (j.value("format", "") != "izwi-voice")
      fail(ErrorKind::kInvalidFormat, what, " is not an izwi voice file (format '",
           j.value("format", ""), "')");
    if (j.value("version", 0) != 1)
      fail(ErrorKind::kInvalidFormat, what, " has voice file version ", j.value("version", 0),
           "; this izwi reads 1");
    store::VoiceRecord r;
    r.name = new_name.empty() ? j.at("name").get<std::string>() : new_name;
    r.created_at = j.value("created_at", utc_timestamp());
    r.consent = j.value("consent", "");
    r.transcript = j.value("transcript", "");
    r.transcript_ids = j.value("transcript_ids", std::vector<int32_t>{});
    r.report_json = j.contains("report") ? j["report"].dump() : "{}";
    const std::string wav =
        base64_decode(j.at("audio").at("data").get<std::string>(), "voice file: audio");
    Audio audio;
    try {
      audio = read_audio_memory(wav.data(), wav.size(), "audio");
    } catch (const Error& e) {
      fail(ErrorKind::kInvalidFormat, what, ": ", e.what());
    }
    r.frames = json_get<int64_t>(j.at("codes").at("frames"));
    r.codebooks = json_get<int>(j.at("codes").at("codebooks"));
    const std::string codes =
        base64_decode(j.at("codes").at("int32_le_base64").get<std::string>(), "voice file: codes");
    r.codes = store::from_le_bytes<int32_t>(codes);
    if (r.frames < 0 || codes.size() % 4 != 0 ||
        static_cast<int64_t>(r.codes.size()) != r.frames * r.codebooks)
      fail(ErrorKind::kInvalidFormat, what, ": codes do not match their shape");
    if (!r.transcript.empty() && (r.frames == 0 || r.transcript_ids.empty()))
      fail(ErrorKind::kInvalidFormat, what, ": a transcript without its codes or token ids");
    store::Embeddings embeddings;
    for (const auto& e : j.value("embeddings", nlohmann::json::array())) {
      const std::string data =
          base64_decode(e.at("float32_le_base64").get<std::string>(), "voice file: embedding");
      auto v = store::from_le_bytes<float>(data);
      if (data.size() % 4 != 0 || v.size() != json_get<size_t>(e.at("dim")))
        fail(ErrorKind::kInvalidFormat, what, ": embedding size mismatch");
      embeddings.emplace_back(e.at("model_size").get<std::string>(), std::move(v));
    }
    impl_->write(r, audio, embeddings, replace);
    return r.name;
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kInvalidFormat, what, " is not a valid izwi voice file: ", e.what());
  }
}

}  // namespace izwi
