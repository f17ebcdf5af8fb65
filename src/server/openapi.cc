// The OpenAPI 3.1 description of izwi's HTTP API, written by hand (tests
// check it against the routes the server registers, both ways).
#include <nlohmann/json.hpp>
#include <vector>

#include "server/server.h"

namespace izwi::server {

namespace {

using J = nlohmann::ordered_json;

J error_response(const std::string& what) {
  return {
      {"description", what},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

J json_response(const std::string& what, const std::string& schema) {
  return {{"description", what},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + schema}}}}}}}};
}

// A request body taken as multipart or JSON with the same fields; `file` is a
// file part in the form and base64 in JSON.
J form_or_json(J properties, const std::vector<std::string>& required, const std::string& file) {
  J form = properties, json = properties;
  form[file] = {{"type", "string"}, {"format", "binary"}};
  json[file] = {{"type", "string"}, {"description", "base64"}};
  auto schema = [&](const J& props) {
    return J{{"schema", {{"type", "object"}, {"required", required}, {"properties", props}}}};
  };
  return {{"required", true},
          {"content", {{"multipart/form-data", schema(form)}, {"application/json", schema(json)}}}};
}

J id_param() {
  return J::array(
      {{{"name", "id"},
        {"in", "path"},
        {"required", true},
        {"description", "The voice's name (1-64 letters, digits, '_', '-', '.')"},
        {"schema",
         {{"type", "string"}, {"pattern", "^[\\p{L}\\p{Nd}][\\p{L}\\p{M}\\p{Nd}_.-]{0,63}$"}}}}});
}

// A voice: its name, or the OpenAI SDKs' custom-voice object {"id": NAME}.
J voice_field(const std::string& description) {
  return J{{"description", description},
           {"oneOf",
            {{{"type", "string"}},
             {{"type", "object"},
              {"required", {"id"}},
              {"properties", {{"id", {{"type", "string"}}}}},
              {"additionalProperties", false}}}}};
}

J speech_fields() {
  const auto str = [](const std::string& d) { return J{{"type", "string"}, {"description", d}}; };
  const auto num = [](const std::string& d) { return J{{"type", "number"}, {"description", d}}; };
  return {
      {"model", str("A model id from GET /v1/models (default: the server's first --model); "
                    "tts-1, tts-1-hd and gpt-4o-mini-tts mean the default")},
      {"input", str("The text to speak; a text longer than about 300 characters is spoken in "
                    "chunks of whole sentences joined with pauses (X-Izwi-Chunks says how many)")},
      {"voice", voice_field("A saved voice (name) or a preset speaker of the model; in JSON also "
                            "{\"id\": NAME}, as the OpenAI SDKs send a custom voice")},
      {"reference_audio",
       {{"type", "string"},
        {"description",
         "Reference audio to clone (5-30 s): a file part in "
         "multipart, base64 (or a data: URL) in JSON"}}},
      {"reference_text", str("Transcript of reference_audio (ICL cloning, closer to the voice)")},
      {"instructions", str("Style instruction (CustomVoice 1.7B) or the voice description "
                           "(VoiceDesign)")},
      {"language", str("auto (default) or a language the model lists")},
      {"response_format",
       {{"type", "string"},
        {"enum", {"wav", "mp3", "flac", "opus", "aac", "pcm"}},
        {"description",
         "wav by default for multipart, mp3 for JSON; pcm is "
         "16-bit little-endian mono at 24 kHz"}}},
      {"speed",
       {{"type", "number"},
        {"minimum", 0.25},
        {"maximum", 4.0},
        {"default", 1.0},
        {"description", "Tempo (pitch unchanged)"}}},
      {"stream_format",
       {{"type", "string"},
        {"enum", {"audio", "sse"}},
        {"description",
         "Stream the audio as it is made: raw bytes (chunked) "
         "or server-sent events"}}},
      {"stream", {{"type", "boolean"}, {"description", "true: the same as stream_format=audio"}}},
      {"seed", {{"type", "integer"}, {"minimum", 0}, {"description", "Same seed, same audio"}}},
      {"temperature", num("Sampling temperature; 0 means greedy")},
      {"top_k", {{"type", "integer"}, {"minimum", 0}}},
      {"top_p", num("Nucleus sampling, (0, 1]")},
      {"repetition_penalty", num("Penalty on repeated first codes")},
      {"max_seconds", num("Stop after this much audio")},
      {"min_seconds", num("Do not end before this much audio")}};
}

}  // namespace

std::vector<Route> routes() {
  return {{"POST", "/v1/audio/speech"},
          {"POST", "/v1/audio/reference-report"},
          {"GET", "/v1/voices"},
          {"PATCH", "/v1/voices/{id}"},
          {"POST", "/v1/models/pull"},
          {"POST", "/v1/voices"},
          {"GET", "/v1/voices/{id}"},
          {"DELETE", "/v1/voices/{id}"},
          {"GET", "/v1/voices/{id}/audio"},
          {"GET", "/v1/voices/{id}/export"},
          {"POST", "/v1/voices/import"},
          {"GET", "/v1/models"},
          {"POST", "/v1/jobs"},
          {"GET", "/v1/jobs/{id}"},
          {"GET", "/v1/jobs/{id}/audio"},
          {"DELETE", "/v1/jobs/{id}"},
          {"GET", "/healthz"},
          {"GET", "/readyz"},
          {"GET", "/metrics"},
          {"GET", "/openapi.json"}};
}

std::string openapi_document() {
  J doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = {{"title", "izwi"},
                 {"version", "0.1.0"},
                 {"description",
                  "Local voice-cloning text-to-speech (Qwen3-TTS 12 Hz). "
                  "Errors: {\"error\": {message, type, param, code}}."}};
  doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
  doc["components"]["schemas"]["Error"] = {{"type", "object"},
                                           {"properties",
                                            {{"error",
                                              {{"type", "object"},
                                               {"properties",
                                                {{"message", {{"type", "string"}}},
                                                 {"type", {{"type", "string"}}},
                                                 {"param", {{"type", {"string", "null"}}}},
                                                 {"code", {{"type", "string"}}}}}}}}}};
  doc["components"]["schemas"]["Voice"] = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"object", {{"const", "voice"}}},
        {"name", {{"type", "string"}}},
        {"created_at", {{"type", "string"}}},
        {"consent", {{"type", "string"}}},
        {"transcript", {{"type", "string"}}},
        {"mode", {{"enum", {"icl", "x-vector"}}}},
        {"duration_s", {{"type", "number"}}},
        {"model_sizes", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"reference", {{"type", "object"}, {"description", "The reference audio report"}}}}}};
  doc["components"]["schemas"]["Job"] = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"object", {{"const", "job"}}},
        {"status", {{"enum", {"queued", "running", "done", "failed", "cancelled"}}}},
        {"created_at", {{"type", "string"}}},
        {"progress", {{"type", "object"}, {"description", "done, failed, total utterances"}}},
        {"items",
         {{"type", "array"},
          {"description",
           "Per utterance: index, status, attempts, duration_s, error, audio_url"}}}}}};
  doc["components"]["schemas"]["List"] = {
      {"type", "object"},
      {"properties", {{"object", {{"const", "list"}}}, {"data", {{"type", "array"}}}}}};
  doc["security"] = J::array({{{"bearer", J::array()}}});

  J& p = doc["paths"];
  const J bad = error_response("Bad request (the message says which field and why)");
  const J auth = error_response("Missing or wrong API key (izwi serve --api-key)");
  const J audio_types = {{"audio/wav", J::object()},  {"audio/mpeg", J::object()},
                         {"audio/flac", J::object()}, {"audio/ogg", J::object()},
                         {"audio/pcm", J::object()},  {"text/event-stream", J::object()}};
  p["/v1/audio/speech"]["post"] = {
      {"summary", "Speak a text in a cloned, saved or preset voice"},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"multipart/form-data",
           {{"schema",
             {{"type", "object"}, {"required", {"input"}}, {"properties", speech_fields()}}}}},
          {"application/json",
           {{"schema",
             {{"type", "object"}, {"required", {"input"}}, {"properties", speech_fields()}}}}}}}}},
      {"responses",
       {{"200",
         {{"description",
           "The audio; headers X-Izwi-Seed, X-Izwi-Audio-Seconds, "
           "X-Izwi-Real-Time-Factor, X-Izwi-Time-To-First-Audio, "
           "X-Izwi-Reference-Warnings"},
          {"content", audio_types}}},
        {"400", bad},
        {"401", auth},
        {"403", error_response("consent_required: the saved voice has no consent note (and the "
                               "server was not started with --allow-unconsented-voices)")},
        {"404", error_response("Model not installed (the message names `izwi pull`)")},
        {"413", error_response("Upload over the limit (izwi serve --max-upload-mb)")},
        {"429", error_response("Queue full; see Retry-After")}}}};
  p["/v1/voices"]["get"] = {
      {"summary", "List saved voices"},
      {"responses", {{"200", json_response("Saved voices", "List")}, {"401", auth}}}};
  p["/v1/voices"]["post"] = {
      {"summary", "Save a voice from reference audio"},
      {"requestBody", form_or_json({{"name", {{"type", "string"}}},
                                    {"transcript", {{"type", "string"}}},
                                    {"consent", {{"type", "string"}}},
                                    {"model", {{"type", "string"}}},
                                    {"replace", {{"type", "boolean"}}}},
                                   {"name", "audio"}, "audio")},
      {"responses",
       {{"201", json_response("The saved voice with its reference report", "Voice")},
        {"400", bad},
        {"401", auth},
        {"409", error_response("A voice of that name exists (send replace=true)")}}}};
  p["/v1/voices/{id}"]["get"] = {
      {"summary", "One saved voice"},
      {"parameters", id_param()},
      {"responses",
       {{"200", json_response("The voice", "Voice")}, {"404", error_response("No such voice")}}}};
  p["/v1/voices/{id}"]["delete"] = {
      {"summary", "Delete a saved voice"},
      {"parameters", id_param()},
      {"responses",
       {{"200", {{"description", "Deleted"}}}, {"404", error_response("No such voice")}}}};
  p["/v1/voices/{id}"]["patch"] = {
      {"summary", "Rename a saved voice and/or record its consent note"},
      {"parameters", id_param()},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"application/json",
           {{"schema",
             {{"type", "object"},
              {"properties",
               {{"name", {{"type", "string"}}}, {"consent", {{"type", "string"}}}}}}}}}}}}},
      {"responses",
       {{"200", json_response("The voice as it is now", "Voice")},
        {"400", error_response("Neither name nor consent given")},
        {"404", error_response("No such voice")},
        {"409", error_response("The new name is taken")}}}};
  p["/v1/audio/reference-report"]["post"] = {
      {"summary", "Check a reference clip before cloning: the report and whether it is usable"},
      {"requestBody", form_or_json(J::object(), {"audio"}, "audio")},
      {"responses",
       {{"200", {{"description", "The reference report with usable, error, changes"}}},
        {"400", bad}}}};
  p["/v1/models/pull"]["post"] = {
      {"summary", "Download a model; progress as server-sent events (progress, done, error)"},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"application/json",
           {{"schema",
             {{"type", "object"},
              {"required", {"model"}},
              {"properties", {{"model", {{"type", "string"}}}}}}}}}}}}},
      {"responses",
       {{"200", {{"description", "text/event-stream"}}}, {"400", bad}, {"401", auth}}}};
  p["/v1/voices/{id}/audio"]["get"] = {
      {"summary", "The voice's prepared reference audio (24 kHz mono WAV)"},
      {"parameters", id_param()},
      {"responses",
       {{"200", {{"description", "WAV"}, {"content", {{"audio/wav", J::object()}}}}},
        {"404", error_response("No such voice")}}}};
  p["/v1/voices/{id}/export"]["get"] = {
      {"summary", "The voice as one file (the `izwi voices export` format)"},
      {"parameters", id_param()},
      {"responses",
       {{"200",
         {{"description", "The voice file"}, {"content", {{"application/json", J::object()}}}}},
        {"404", error_response("No such voice")}}}};
  p["/v1/voices/import"]["post"] = {
      {"summary",
       "Import a voice file (the body, or multipart field 'file'); one with a transcript is "
       "prepared with the default model, as a save is"},
      {"parameters",
       J::array({{{"name", "name"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                 {{"name", "replace"}, {"in", "query"}, {"schema", {{"type", "boolean"}}}}})},
      {"requestBody",
       {{"required", true},
        {"content", {{"application/json", J::object()}, {"multipart/form-data", J::object()}}}}},
      {"responses",
       {{"201", json_response("The imported voice", "Voice")},
        {"400", bad},
        {"409", error_response("A voice of that name exists")}}}};
  p["/v1/models"]["get"] = {
      {"summary",
       "Installed models: which clone, their preset speakers and languages "
       "(?all=true adds the registry's models that can be pulled)"},
      {"parameters",
       J::array({{{"name", "all"}, {"in", "query"}, {"schema", {{"type", "boolean"}}}}})},
      {"responses", {{"200", json_response("Models", "List")}, {"401", auth}}}};
  const J job_id =
      J::array({{{"name", "id"},
                 {"in", "path"},
                 {"required", true},
                 {"description", "The job's id (job_ and 24 hex digits)"},
                 {"schema", {{"type", "string"}, {"pattern", "^job_[0-9a-f]{24}$"}}}}});
  const auto str = [](const std::string& d) { return J{{"type", "string"}, {"description", d}}; };
  p["/v1/jobs"]["post"] = {
      {"summary",
       "Queue long work: a long text (spoken in chunks), a list of utterances, or a batch file. "
       "Workers (izwi worker, or izwi serve --worker) speak it; poll GET /v1/jobs/{id}"},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"application/json",
           {{"schema",
             {{"type", "object"},
              {"properties",
               {{"input", str("A long text, spoken in chunks of whole sentences")},
                {"inputs",
                 {{"type", "array"},
                  {"description",
                   "Utterances: texts, or objects {input, voice, language, instructions, seed}"}}},
                {"batch", str("A batch file's content (izwi tts --batch formats)")},
                {"batch_format", str("text (default), jsonl, srt or vtt")},
                {"model", str("A model id (default: the worker's)")},
                {"voice", voice_field("A saved voice or a preset speaker (or {\"id\": NAME})")},
                {"language", str("auto or a language of the model")},
                {"instructions", str("A style instruction")},
                {"seed", {{"type", "integer"}, {"description", "Utterance i uses seed + i"}}},
                {"max_seconds",
                 {{"type", "number"},
                  {"description",
                   "Longest audio of one utterance (within the server's limit)"}}}}}}}}}}}}},
      {"responses",
       {{"202", json_response("The job, queued", "Job")},
        {"400", bad},
        {"401", auth},
        {"403", error_response("A saved voice without a consent note")}}}};
  p["/v1/jobs/{id}"]["get"] = {
      {"summary", "A job's state, progress and finished utterances"},
      {"parameters", job_id},
      {"responses",
       {{"200", json_response("The job", "Job")}, {"404", error_response("No such job")}}}};
  p["/v1/jobs/{id}"]["delete"] = {
      {"summary", "Cancel a job: utterances not yet started are never spoken"},
      {"parameters", job_id},
      {"responses",
       {{"200", json_response("The job, cancelled", "Job")},
        {"404", error_response("No such job")}}}};
  p["/v1/jobs/{id}/audio"]["get"] = {
      {"summary",
       "A finished job's audio (all utterances in order), or one utterance's with ?index="},
      {"parameters",
       J::array(
           {job_id[0], {{"name", "index"}, {"in", "query"}, {"schema", {{"type", "integer"}}}}})},
      {"responses",
       {{"200", {{"description", "WAV"}, {"content", {{"audio/wav", J::object()}}}}},
        {"404", error_response("No such job")},
        {"409", error_response("Not finished yet")}}}};
  const J open = J::array();
  p["/healthz"]["get"] = {{"summary", "The process is up"},
                          {"security", open},
                          {"responses", {{"200", {{"description", "ok"}}}}}};
  p["/readyz"]["get"] = {{"summary", "The default model is loaded"},
                         {"security", open},
                         {"responses",
                          {{"200", {{"description", "ready"}}},
                           {"503", {{"description", "loading or shutting down"}}}}}};
  p["/metrics"]["get"] = {{"summary", "Prometheus metrics"},
                          {"security", open},
                          {"responses", {{"200", {{"description", "text/plain; version=0.0.4"}}}}}};
  p["/openapi.json"]["get"] = {{"summary", "This document"},
                               {"security", open},
                               {"responses", {{"200", {{"description", "OpenAPI 3.1"}}}}}};
  return doc.dump(2);
}

}  // namespace izwi::server
