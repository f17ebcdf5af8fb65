// /v1/jobs: long work as a queued job (a long text in chunks, a list of
// utterances, or a batch file), drained by `izwi worker` processes or by
// servers started with --worker. Jobs live in the voice database, so with
// PostgreSQL any replica answers for any job.
#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/handlers.h"
#include "server/request.h"

namespace izwi::server {

namespace {

using json = nlohmann::json;

std::string job_id(const httplib::Request& req) {
  const std::string id = req.matches[1];
  // job_ and 24 hex digits (JobQueue::submit); anything else cannot exist.
  bool ok = id.size() == 28 && id.rfind("job_", 0) == 0;
  for (size_t i = 4; ok && i < id.size(); ++i)
    ok = std::isxdigit(static_cast<unsigned char>(id[i]));
  if (!ok) throw ApiError(404, "job_not_found", "no job '" + id + "'", "id");
  return id;
}

json status_json(const JobStatus& s) {
  json items = json::array();
  for (const auto& i : s.items) {
    json item = {{"index", i.index},
                 {"status", i.status},
                 {"attempts", i.attempts},
                 {"duration_s", i.duration_s}};
    if (!i.error.empty()) item["error"] = i.error;
    if (i.status == "done")
      item["audio_url"] = "/v1/jobs/" + s.id + "/audio?index=" + std::to_string(i.index);
    items.push_back(item);
  }
  return {{"id", s.id},
          {"object", "job"},
          {"status", s.status},
          {"created_at", s.created_at},
          {"progress", {{"done", s.done}, {"failed", s.failed}, {"total", s.total}}},
          {"items", items}};
}

std::string text_field(const json& j, const char* name, const std::string& param) {
  if (!j.contains(name)) return "";
  if (!j[name].is_string())
    throw ApiError(400, "invalid_value", "'" + std::string(name) + "' must be a string", param);
  return j[name].get<std::string>();
}

std::optional<uint64_t> seed_field(const json& j, const std::string& param) {
  if (!j.contains("seed")) return std::nullopt;
  if (!j["seed"].is_number_unsigned())
    throw ApiError(400, "invalid_value", "'seed' must be a non-negative integer", param);
  return j["seed"].get<uint64_t>();
}

// The utterances of a job request: exactly one of input / inputs / batch.
std::vector<JobUtterance> utterances(const json& body, const std::string& language) {
  const int given = body.contains("input") + body.contains("inputs") + body.contains("batch");
  if (given != 1)
    throw ApiError(400, "missing_input",
                   "give exactly one of 'input' (a long text, spoken in chunks), 'inputs' (a "
                   "list of texts or {input, voice, language, instructions, seed} objects) or "
                   "'batch' (a batch file's content, with 'batch_format': text, jsonl, srt or "
                   "vtt)",
                   "input");
  std::vector<JobUtterance> out;
  if (body.contains("input")) {
    const std::string text = text_field(body, "input", "input");
    try {
      for (const TextPiece& p : chunk_text(text, language)) out.push_back({p.text, "", "", "", {}});
    } catch (const Error& e) {
      throw ApiError(400, "invalid_input", e.what(), "input");
    }
  } else if (body.contains("inputs")) {
    if (!body["inputs"].is_array())
      throw ApiError(400, "invalid_value", "'inputs' must be a list", "inputs");
    for (size_t i = 0; i < body["inputs"].size(); ++i) {
      const json& it = body["inputs"][i];
      const std::string param = "inputs[" + std::to_string(i) + "]";
      if (it.is_string()) {
        out.push_back({it.get<std::string>(), "", "", "", {}});
      } else if (it.is_object()) {
        reject_misspelt_fields(field_names(it),
                               {"input", "voice", "language", "instructions", "seed"}, param);
        out.push_back({text_field(it, "input", param),
                       it.contains("voice") ? voice_name(it["voice"], "voice", param) : "",
                       text_field(it, "language", param), text_field(it, "instructions", param),
                       seed_field(it, param)});
      } else {
        throw ApiError(400, "invalid_value", param + " must be a text or an object", param);
      }
    }
  } else {
    const std::string format = body.value("batch_format", "text");
    const BatchFormat f =
        format == "jsonl" ? BatchFormat::kJsonl
        : format == "srt" ? BatchFormat::kSrt
        : format == "vtt" ? BatchFormat::kVtt
        : format == "text"
            ? BatchFormat::kText
            : throw ApiError(400, "invalid_value", "'batch_format' is text, jsonl, srt or vtt",
                             "batch_format");
    for (const BatchItem& b : parse_batch(text_field(body, "batch", "batch"), f)) {
      if (!b.error.empty())
        throw ApiError(400, "invalid_batch",
                       "batch line " + std::to_string(b.line) + ": " + b.error, "batch");
      out.push_back(
          {b.text, b.voice.empty() ? b.speaker : b.voice, b.language, b.instruct, b.seed});
    }
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].text.find_first_not_of(" \t\r\n") == std::string::npos)
      throw ApiError(400, "missing_input", "utterance " + std::to_string(i) + " has no text",
                     "input");
  if (out.empty()) throw ApiError(400, "missing_input", "the job has nothing to speak", "input");
  return out;
}

}  // namespace

void handle_create_job(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::exception&) {
    throw ApiError(400, "invalid_json", "a job is a JSON object (see /openapi.json)");
  }
  if (!body.is_object()) throw ApiError(400, "invalid_json", "a job is a JSON object");
  reject_repeated_keys(req.body);
  reject_misspelt_fields(field_names(body),
                         {"model", "voice", "instructions", "language", "seed", "max_seconds",
                          "input", "inputs", "batch", "batch_format"},
                         "");
  JobParams p;
  p.model = text_field(body, "model", "model");
  p.voice = body.contains("voice") ? voice_name(body["voice"], "voice", "voice") : "";
  p.instruct = text_field(body, "instructions", "instructions");
  p.language = body.contains("language") ? text_field(body, "language", "language") : "auto";
  p.seed = seed_field(body, "seed");
  // Each utterance's length: what the request asks, within the server's limit.
  double max_seconds = st.options.max_audio_seconds;
  if (body.contains("max_seconds")) {
    if (!body["max_seconds"].is_number() || body["max_seconds"].get<double>() <= 0)
      throw ApiError(400, "invalid_value", "'max_seconds' must be a positive number",
                     "max_seconds");
    const double asked = body["max_seconds"].get<double>();
    max_seconds = max_seconds > 0 ? std::min(max_seconds, asked) : asked;
  }
  p.max_seconds = max_seconds;
  const std::vector<JobUtterance> items = utterances(body, p.language);
  size_t chars = 0;
  for (const auto& u : items) chars += characters(u.text);
  check_input_length(chars, st.options.max_job_chars, "the job", "--max-job-chars");
  // A saved voice is a real person's: the same consent rule as for speech.
  for (const auto& u : items) {
    const std::string v = u.voice.empty() ? p.voice : u.voice;
    if (v.empty() && u.instruct.empty() && p.instruct.empty())
      throw ApiError(400, "missing_voice",
                     "say whose voice to use: a saved voice or preset speaker in 'voice', or a "
                     "voice described in 'instructions' (VoiceDesign models)",
                     "voice");
    if (!v.empty() && !st.options.allow_unconsented_voices && st.voices.contains(v) &&
        st.voices.get(v).consent.empty())
      throw ApiError(403, "consent_required",
                     "the saved voice '" + v + "' has no consent note (PATCH /v1/voices/" + v +
                         " with 'consent')",
                     "voice");
  }
  const std::string id = st.jobs.submit(p, items);
  res.status = 202;
  res.set_header("Location", "/v1/jobs/" + id);
  res.set_content(json_text(status_json(*st.jobs.status(id))), "application/json");
}

void handle_get_job(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const auto s = st.jobs.status(job_id(req));
  if (!s) throw ApiError(404, "job_not_found", "no job '" + job_id(req) + "'", "id");
  res.set_content(json_text(status_json(*s)), "application/json");
}

void handle_job_audio(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const std::string id = job_id(req);
  const auto s = st.jobs.status(id);
  if (!s) throw ApiError(404, "job_not_found", "no job '" + id + "'", "id");
  if (req.has_param("index")) {
    int index = -1;
    try {
      index = std::stoi(req.get_param_value("index"));
    } catch (const std::exception&) {
    }
    if (index < 0 || index >= s->total)
      throw ApiError(400, "invalid_value",
                     "'index' is 0 to " + std::to_string(s->total - 1) + " for this job", "index");
    const auto wav = st.jobs.audio(id, index);
    if (!wav)
      throw ApiError(409, "not_finished",
                     "utterance " + std::to_string(index) + " is " + s->items[index].status,
                     "index");
    res.set_content(*wav, "audio/wav");
    return;
  }
  // The whole job, its utterances one after another.
  if (s->status != "done")
    throw ApiError(409, "not_finished",
                   "the job is " + s->status + " (" + std::to_string(s->done) + " of " +
                       std::to_string(s->total) + " done); fetch finished utterances with ?index=",
                   "id");
  Audio all{{}, 24000, 1};
  AudioTags tags;  // the first utterance's provenance mark
  for (int i = 0; i < s->total; ++i) {
    const std::string wav = *st.jobs.audio(id, i);
    const Audio a = read_audio_memory(wav.data(), wav.size());
    if (i == 0) tags = read_audio_tags_memory(wav.data(), wav.size());
    all.sample_rate = a.sample_rate;
    all.samples.insert(all.samples.end(), a.samples.begin(), a.samples.end());
  }
  res.set_content(encode_audio(all, AudioFormat::kWav, SampleFormat::kPcm16, tags), "audio/wav");
}

void handle_cancel_job(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const std::string id = job_id(req);
  if (!st.jobs.cancel(id)) throw ApiError(404, "job_not_found", "no job '" + id + "'", "id");
  res.set_content(json_text(status_json(*st.jobs.status(id))), "application/json");
}

}  // namespace izwi::server
