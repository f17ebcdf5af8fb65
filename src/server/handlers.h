// The route handlers. Each reads its request, calls the library through the
// shared ServerState, and fills the response; errors are thrown as ApiError
// (or izwi::Error) and turned into OpenAI-shaped bodies by the server.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/state.h"

namespace izwi::server {

// What one request's log line and metrics say.
struct RequestLog {
  std::string method, route;  // route: the OpenAPI path template
  int status = 0;
  double audio_seconds = -1, rtf = -1;
  size_t memory_estimate = 0;    // bytes admitted for a generation (0: none)
  std::optional<uint64_t> seed;  // of a generation, so a request can be reproduced
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool deferred = false;  // a streamed response: done() is called when the stream ends
  std::function<void(RequestLog&)> done;
};
using LogPtr = std::shared_ptr<RequestLog>;

void handle_speech(ServerState& st, const httplib::Request& req, httplib::Response& res,
                   const LogPtr& log);

void handle_list_voices(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_create_voice(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_get_voice(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_delete_voice(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_rename_voice(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_reference_report(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_pull_model(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_voice_audio(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_export_voice(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_import_voice(ServerState& st, const httplib::Request& req, httplib::Response& res);

void handle_models(ServerState& st, const httplib::Request& req, httplib::Response& res);

void handle_create_job(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_get_job(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_job_audio(ServerState& st, const httplib::Request& req, httplib::Response& res);
void handle_cancel_job(ServerState& st, const httplib::Request& req, httplib::Response& res);

}  // namespace izwi::server
