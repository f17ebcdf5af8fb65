// izwi serve: the HTTP API (and, later, the Web UI) over the public library.
// Everything here calls only include/izwi/, as the CLI does.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "izwi/tts.h"

namespace izwi::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::vector<std::string> models;  // --model: the first is the default; loaded at start
  std::string api_key;              // empty: no auth (IZWI_API_KEY is read by the CLI)
  int max_concurrent = 1;           // generations running at once
  int queue = 8;                    // requests waiting for a slot; beyond: 429
  int max_upload_mb = 25;           // request bodies (reference audio, voice imports)
  int max_text_chars = 50000;       // `input` length in characters (long texts go in chunks)
  double max_audio_seconds = 3600;  // audio one request may generate (0: no limit)
  std::string cors_origin;          // empty: no CORS headers
  int threads = 0;                  // model worker threads (0: all cores)
  WeightFormat weights = WeightFormat::kQ8;             // --weights (see ModelOptions)
  CodecPrecision codec = CodecPrecision::kBf16;         // --codec
  CodecThreadUse codec_thread = CodecThreadUse::kAuto;  // --codec-thread
  std::string log_format = "text";                      // "text" or "json"
  bool allow_pull = false;                              // download a missing model on first use
  bool allow_unconsented_voices = false;  // speak with saved voices that have no consent note
  int max_loaded_models = 2;              // least recently used ones beyond this are unloaded
  double grace_seconds = 10;              // on SIGTERM/SIGINT: time for in-flight requests
  // Memory for running requests (KV caches, codec buffers, kept clips), by
  // TtsModel::memory_estimate: 0 = half the memory available at start, < 0 = no budget.
  int64_t memory_budget_mb = 0;
  int max_header_kb = 64;          // request line + headers; beyond: 431
  double max_request_seconds = 0;  // a speech request's time, queue included; beyond: 504 (0: none)
  bool offline = false;            // --offline
  // Saved voices: "" = IZWI_DATABASE_URL, else SQLite in IZWI_DATA_DIR; or postgresql://…
  std::string database;
  int database_connections = 4;   // PostgreSQL connections per replica (a bound, not a goal)
  int max_job_chars = 1000000;    // all of a job's text, in characters
  bool worker = false;            // also drain the job queue while no request is running
  double job_lease_seconds = 60;  // a worker's claim on an utterance, renewed while it speaks
};

// One route of the API: what the server registers and what /openapi.json
// documents (tests check that the two agree).
struct Route {
  std::string method;  // "GET", "POST", "DELETE"
  std::string path;    // OpenAPI spelling: /v1/voices/{id}
};
std::vector<Route> routes();

// The OpenAPI 3.1 document of the API (JSON).
std::string openapi_document();

// The whole server (routes, API key, limits, error handler, Web UI) answering
// raw HTTP/1.1 bytes without a socket: what the HTTP fuzzer drives. One
// instance answers one request at a time; its ServerState is its own.
class RequestProcessor {
 public:
  explicit RequestProcessor(const ServerOptions& options);
  ~RequestProcessor();
  RequestProcessor(const RequestProcessor&) = delete;
  RequestProcessor& operator=(const RequestProcessor&) = delete;

  // Answers up to `max_requests` requests read from `bytes` (keep-alive, as a
  // client pipelining on one connection would) and returns everything the
  // server wrote back, status lines and bodies (chunked ones as sent).
  std::string process(std::string_view bytes, int max_requests = 4);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Binds, serves until SIGTERM/SIGINT, drains, and returns the exit status.
// Throws izwi::Error when it cannot start (port in use, default model missing).
int run(const ServerOptions& options);

}  // namespace izwi::server
