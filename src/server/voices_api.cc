// /v1/voices: the saved voices of `izwi voices`, over HTTP (same store, same rules).

#include <algorithm>
#include <cstdio>
#include <set>

#include "server/api_error.h"
#include "server/handlers.h"
#include "server/request.h"

namespace izwi::server {

namespace {

nlohmann::json voice_json(const VoiceProfile& p) {
  nlohmann::json report = nlohmann::json::parse(p.report_json, nullptr, false);
  if (report.is_discarded()) report = nullptr;
  return {{"id", p.name},
          {"object", "voice"},
          {"name", p.name},
          {"created_at", p.created_at},
          {"consent", p.consent},
          {"transcript", p.transcript},
          {"mode", p.transcript.empty() ? "x-vector" : "icl"},
          {"duration_s", p.duration_s},
          {"model_sizes", p.model_sizes},
          {"reference", report}};
}

// A voice name from a request, checked (the store's rules) before it goes near the store.
const std::string& checked_name(const std::string& name, const std::string& param,
                                const std::string& code = "invalid_value") {
  try {
    VoiceStore::check_name(name);
  } catch (const Error& e) {
    throw ApiError(400, code, e.what(), param);
  }
  return name;
}

// The {id} of a /v1/voices/{id} route.
std::string voice_id(const httplib::Request& req) {
  return checked_name(req.matches[1], "id", "invalid_voice_id");
}

// `if_taken`: how this route's client can proceed when the name is taken.
ApiError store_error(const Error& e, const std::string& param = "",
                     const std::string& if_taken = "delete it first or send replace=true") {
  const std::string msg = e.what();
  if (e.kind() == ErrorKind::kNotFound) return ApiError(404, "voice_not_found", msg, param);
  if (e.kind() == ErrorKind::kExists)
    return ApiError(409, "voice_exists", msg + "; " + if_taken, "name");
  return from_library_error(e, param);
}

}  // namespace

void handle_list_voices(ServerState& st, const httplib::Request&, httplib::Response& res) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& p : st.voices.list()) data.push_back(voice_json(p));
  res.set_content(json_text(nlohmann::json{{"object", "list"}, {"data", data}}),
                  "application/json");
}

void handle_create_voice(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const RequestFields f(req, {"name", "audio", "reference_audio", "transcript", "reference_text",
                              "consent", "replace", "model"});
  const std::string name = f.text("name").value_or("");
  if (name.empty())
    throw ApiError(400, "missing_name", "'name' (the voice's name) is missing", "name");
  checked_name(name, "name");
  std::optional<std::string> bytes = f.bytes("audio");
  const std::string audio_field = bytes ? "audio" : "reference_audio";
  if (!bytes) bytes = f.bytes("reference_audio");
  if (!bytes || bytes->empty())
    throw ApiError(400, "missing_audio",
                   "'audio' (5-30 s of clear speech by one speaker) is missing", "audio");
  const std::string transcript =
      f.text("transcript").value_or(f.text("reference_text").value_or(""));
  const std::string consent = f.text("consent").value_or("");
  const bool replace = f.boolean("replace").value_or(false);
  Audio clip;
  try {
    clip = read_audio_memory(bytes->data(), bytes->size(), audio_field);
  } catch (const Error& e) {
    throw ApiError(400, "invalid_audio", e.what(), audio_field);
  }
  auto model = st.models.get(f.text("model").value_or(""), true);
  VoiceStore& store = st.voices;
  VoiceProfile p;
  try {
    p = store.add(name, *model, clip, transcript, consent, replace);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInvalidArgument)
      throw ApiError(400, "invalid_reference_audio", e.what(), audio_field);
    throw store_error(e);
  }
  // As `izwi voices add` does: the decoder's state after an ICL voice's
  // reference, kept beside the model, so the voice's first request does not
  // decode the reference (1-3 s) before its first audio. Nothing for x-vector voices.
  model->prepare_voice(store.load(name, *model));
  res.status = 201;
  res.set_content(json_text(voice_json(p)), "application/json");
}

void handle_get_voice(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const std::string id = voice_id(req);
  try {
    res.set_content(json_text(voice_json(st.voices.get(id))), "application/json");
  } catch (const Error& e) {
    throw store_error(e, "id");
  }
}

void handle_delete_voice(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const std::string id = voice_id(req);
  try {
    st.voices.remove(id);
  } catch (const Error& e) {
    throw store_error(e, "id");
  }
  res.set_content(json_text(nlohmann::json{{"id", id}, {"object", "voice"}, {"deleted", true}}),
                  "application/json");
}

// PATCH /v1/voices/{id}: a new 'name', a 'consent' note, or both.
void handle_rename_voice(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const std::string id = voice_id(req);
  const RequestFields f(req, {"name", "consent"});
  const std::optional<std::string> name = f.text("name"), consent = f.text("consent");
  if (!name && !consent)
    throw ApiError(400, "missing_name",
                   "give 'name' (a new name) or 'consent' (who agreed, when), or both", "name");
  if (name) checked_name(*name, "name");
  VoiceStore& store = st.voices;
  try {
    // The rename first: refused (a name taken), nothing has changed.
    if (name) store.rename(id, *name);
    if (consent) store.set_consent(name ? *name : id, *consent);
  } catch (const Error& e) {
    throw store_error(e, "id", "pick another name, or delete that voice first");
  }
  res.set_content(json_text(voice_json(store.get(name ? *name : id))), "application/json");
}

void handle_reference_report(ServerState&, const httplib::Request& req, httplib::Response& res) {
  const RequestFields f(req, {"audio"});
  const std::optional<std::string> bytes = f.bytes("audio");
  if (!bytes || bytes->empty())
    throw ApiError(400, "missing_audio", "'audio' (the clip to check) is missing", "audio");
  Audio clip;
  try {
    clip = read_audio_memory(bytes->data(), bytes->size(), "audio");
  } catch (const Error& e) {
    throw ApiError(400, "invalid_audio", e.what(), "audio");
  }
  // The same checks cloning applies: the report, and whether the clip can be used.
  nlohmann::json report = nlohmann::json::parse(inspect_reference(clip).to_json());
  report["usable"] = true;
  try {
    const PreparedReference p = prepare_reference(clip);
    report["changes"] = p.changes;
  } catch (const Error& e) {
    report["usable"] = false;
    report["error"] = e.what();
  }
  res.set_content(json_text(report), "application/json");
}

void handle_voice_audio(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const std::string id = voice_id(req);
  try {
    res.set_content(st.voices.audio(id), "audio/wav");
  } catch (const Error& e) {
    throw store_error(e, "id");
  }
}

namespace {

// The Content-Disposition of voice `id`'s export: "<id>.izwi-voice.json" as it
// is when it is ASCII; else an ASCII stand-in and the UTF-8 name
// percent-encoded (RFC 6266, RFC 5987), which browsers use (a voice may be
// named "小明").
std::string export_disposition(const std::string& id) {
  const std::string file = id + ".izwi-voice.json";
  const bool ascii = std::all_of(file.begin(), file.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
  if (ascii) return "attachment; filename=\"" + file + "\"";
  std::string encoded;
  for (unsigned char c : file) {
    // ASCII only: std::isalnum follows the locale, where 0xE5 may be a letter.
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' ||
        c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      encoded += hex;
    }
  }
  return "attachment; filename=\"voice.izwi-voice.json\"; filename*=UTF-8''" + encoded;
}

}  // namespace

void handle_export_voice(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const std::string id = voice_id(req);
  std::string file;
  try {
    file = st.voices.export_voice(id);
  } catch (const Error& e) {
    throw store_error(e, "id");
  }
  res.set_header("Content-Disposition", export_disposition(id));
  res.set_content(file, "application/json");
}

void handle_import_voice(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  // The body is the exported file itself, or a multipart form with it in `file`.
  std::string body = req.body;
  if (req.is_multipart_form_data()) {
    if (!req.has_file("file"))
      throw ApiError(400, "missing_file", "send the exported voice file in the 'file' field",
                     "file");
    body = req.get_file_value("file").content;
  }
  const std::string name = req.has_param("name")
                               ? req.get_param_value("name")
                               : (req.has_file("name") ? req.get_file_value("name").content : "");
  const std::string replace_s =
      req.has_param("replace")
          ? req.get_param_value("replace")
          : (req.has_file("replace") ? req.get_file_value("replace").content : "");
  const bool replace = replace_s == "true" || replace_s == "1";
  if (!name.empty()) checked_name(name, "name");
  VoiceStore& store = st.voices;
  std::string imported;
  try {
    imported = store.import_voice(body, "the uploaded file", name, replace);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInvalidFormat)
      throw ApiError(400, "invalid_voice_file", e.what(), "file");
    throw store_error(e);
  }
  const VoiceProfile p = store.get(imported);
  // As POST /v1/voices does: a voice with a transcript gets the decoder's
  // state after its reference now, with the default model, so its first
  // request does not decode the reference first. Without that model
  // installed, the first request does it and keeps the result.
  if (!p.transcript.empty()) {
    std::shared_ptr<const TtsModel> model;
    try {
      model = st.models.get("", true);
    } catch (const ApiError&) {  // not installed
    } catch (const Error&) {     // nor could it be pulled
    }
    if (model) model->prepare_voice(store.load(imported, *model));
  }
  res.status = 201;
  res.set_content(json_text(voice_json(p)), "application/json");
}

void handle_models(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  nlohmann::json data = nlohmann::json::array();
  std::set<std::string> listed;
  for (const auto& m : st.models.list()) {
    CheckpointInfo info;
    try {
      info = inspect_checkpoint(m.dir);
    } catch (const Error&) {
      continue;  // a broken install is reported by `izwi list`, not served
    }
    const bool clones = info.can_clone || !m.companion_dir.empty();
    data.push_back({{"id", m.id},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "izwi"},
                    {"model_type", info.model_type},
                    {"model_size", info.model_size},
                    {"can_clone", clones},
                    {"has_presets", !info.speakers.empty()},
                    {"speakers", info.speakers},
                    {"languages", info.languages},
                    {"loaded", m.loaded},
                    {"installed", true},
                    {"default", m.id == st.models.default_id()}});
    listed.insert(m.id);
  }
  // ?all=true: the registry's models that are not installed too (what can be pulled).
  if (req.get_param_value("all") == "true") {
    StoreOptions so = store_options_from_env();
    so.offline = true;
    for (const ModelInfo& m : ModelStore(so).list()) {
      if (listed.count(m.name)) continue;
      data.push_back({{"id", m.name},
                      {"object", "model"},
                      {"created", 0},
                      {"owned_by", "izwi"},
                      {"installed", m.installed},
                      {"description", m.description},
                      {"approx_size", m.approx_size},
                      {"repo", m.repo}});
    }
  }
  res.set_content(json_text(nlohmann::json{{"object", "list"}, {"data", data}}),
                  "application/json");
}

}  // namespace izwi::server

namespace izwi::server {

void handle_pull_model(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const RequestFields f(req, {"model"});
  const std::string name = f.text("model").value_or("");
  if (!ModelStore::is_model_name(name) || name.find("..") != std::string::npos)
    throw ApiError(400, "invalid_value",
                   "'model' must be a registry name (GET /v1/models?all=true) or an org/repo id",
                   "model");
  if (st.options.offline)
    throw ApiError(400, "offline", "this server runs offline (--offline / IZWI_OFFLINE=1)");
  // Progress as server-sent events while the pull runs on this worker thread.
  res.set_header("Cache-Control", "no-store");
  res.set_chunked_content_provider("text/event-stream", [name](size_t, httplib::DataSink& sink) {
    auto send = [&](const nlohmann::json& ev) {
      const std::string line = "data: " + json_text(ev) + "\n\n";
      return sink.write(line.data(), line.size());
    };
    try {
      StoreOptions so = store_options_from_env();
      ModelStore store(so);
      double last = -1;
      store.pull(name, [&](const PullProgress& p) {
        const double frac = p.total ? static_cast<double>(p.done) / p.total : 0;
        if (frac - last < 0.005 && !p.file_finished && p.done != p.total) return;
        last = frac;
        send({{"type", "progress"},
              {"model", p.model},
              {"file", p.file},
              {"done", p.done},
              {"total", p.total},
              {"bytes_per_second", p.bytes_per_second},
              {"eta_seconds", p.eta_seconds}});
      });
      send({{"type", "done"}, {"model", name}});
    } catch (const std::exception& e) {
      send({{"type", "error"}, {"error", {{"message", e.what()}}}});
    }
    sink.done();
    return true;
  });
}

}  // namespace izwi::server
