// The HTTP server: routes, API key, CORS, one log line per request, metrics,
// and a graceful shutdown on SIGTERM/SIGINT.
#include "server/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <utility>
#include <vector>

#include "server/api_error.h"
#include "server/handlers.h"
#include "server/web_assets.h"

namespace izwi::server {

namespace {

using Clock = std::chrono::steady_clock;

// Constant-time comparison of a presented key with the configured one (both
// hashed first, so neither length nor content leaks through timing).
bool key_matches(const std::string& presented, const std::string& expected) {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

// 10 -> "10 s", 2.5 -> "2.5 s" (std::to_string prints six decimals).
std::string seconds_text(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%g s", s);
  return b;
}

std::string utc_now() {
  char b[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

// The regex cpp-httplib matches for an OpenAPI path ({id} -> a path segment).
std::string pattern_of(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      i = path.find('}', i);
      out += "([^/]+)";
    } else if (path[i] == '.') {
      out += "\\.";
    } else {
      out += path[i];
    }
  }
  return out;
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(e.retry_after));
  res.set_content(error_body(e.status, e.code, e.what(), e.param), "application/json");
}

// cpp-httplib's server with its per-connection entry point reachable, so
// RequestProcessor can feed it a request from memory.
class HttpServer : public httplib::Server {
 public:
  HttpServer() = default;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer() override {
    if (placeholder_ >= 0) {
      svr_sock_ = INVALID_SOCKET;
      ::close(placeholder_);
    }
  }

  using httplib::Server::process_request;

  // cpp-httplib's chunked writers stop as soon as the server has no listening
  // socket (its sign of shutting down). A server fed from memory never
  // listens, so it holds an unbound socket to let streamed responses run.
  void hold_placeholder_socket() {
    if (placeholder_ >= 0) return;
    placeholder_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (placeholder_ < 0) throw Error(ErrorKind::kIo, "cannot create a socket");
    svr_sock_ = placeholder_;
  }

 private:
  int placeholder_ = -1;
};

// One connection's bytes held in memory: reads come from the request, writes
// collect the response.
class MemoryStream : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view in) : in_(in) {}
  bool is_readable() const override { return pos_ < in_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 1;  // no such connection: ClientWatch treats it as alive
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 2;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

  bool exhausted() const { return pos_ >= in_.size(); }
  std::string& output() { return out_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  std::string out_;
};

class Server {
 public:
  explicit Server(const ServerOptions& o) : st_(o) {
    // Enough HTTP workers for every admitted request plus a few for health
    // checks, metrics and voice management while the queue is full.
    const int workers = o.max_concurrent + o.queue + 8;
    http_.new_task_queue = [workers] {
      return new httplib::ThreadPool(static_cast<size_t>(workers));
    };
    http_.set_payload_max_length(static_cast<size_t>(o.max_upload_mb) * 1024 * 1024);
    http_.set_read_timeout(30, 0);
    http_.set_write_timeout(30, 0);
    // SO_REUSEADDR only: a restart binds at once (past TIME_WAIT), but a
    // second server on a taken port fails. cpp-httplib's default adds
    // SO_REUSEPORT, with which two `izwi serve` on one port both start and the
    // kernel splits the requests between them.
    http_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    // izwi answers with whole bodies only. cpp-httplib would otherwise cut
    // any body to a Range header, an error's JSON included, under a 200 or 4xx
    // status; the request object is httplib's own, not const, so clearing is
    // well defined.
    //
    // The request line and headers together are held to --max-header-kb (each
    // line is already at most 8 KiB in cpp-httplib), checked before the body is
    // read.
    const size_t max_header = static_cast<size_t>(o.max_header_kb) * 1024;
    http_.set_pre_routing_handler([max_header](const httplib::Request& req,
                                               httplib::Response& res) {
      const_cast<httplib::Request&>(req).ranges.clear();
      size_t bytes = req.method.size() + req.target.size() + req.version.size() + 4;
      for (const auto& [name, value] : req.headers) bytes += name.size() + value.size() + 4;
      if (bytes > max_header) {
        send_error(
            res,
            ApiError(431, "request_header_fields_too_large",
                     "the request line and headers take " + std::to_string((bytes + 1023) / 1024) +
                         " KiB; this server takes at most " + std::to_string(max_header / 1024) +
                         " KiB (izwi serve --max-header-kb)"));
        // The body was not read: the connection cannot carry another request.
        const_cast<httplib::Request&>(req).headers.emplace("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    register_routes();
    register_web_ui();
    // Status set by cpp-httplib itself (unknown route, 413 body too large, ...):
    // the OpenAI error shape too.
    http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      // An unknown path, or a known one asked with a method it does not take.
      const std::string allow = res.status == 404 ? methods_of(req.path) : "";
      if (res.status == 413)
        send_error(
            res, ApiError(413, "request_too_large",
                          "the request body is over " + std::to_string(st_.options.max_upload_mb) +
                              " MB (izwi serve --max-upload-mb)"));
      else if (!allow.empty()) {
        res.set_header("Allow", allow);
        send_error(res, ApiError(405, "method_not_allowed",
                                 req.method + " is not allowed on " + req.path + "; it takes " +
                                     allow + " (GET /openapi.json lists the API)"));
      } else if (res.status == 404)
        send_error(res, ApiError(404, "route_not_found",
                                 "no such route; GET /openapi.json lists the API"));
      else if (res.status == 400)
        send_error(res, ApiError(400, "bad_http_request",
                                 "the request could not be read as HTTP/1.1: check its request "
                                 "line and headers; a body needs Content-Length (or "
                                 "Transfer-Encoding: chunked with valid chunks)"));
      else
        send_error(res,
                   ApiError(res.status, "http_error", "HTTP error " + std::to_string(res.status)));
      add_cors(res);
    });
    if (!o.cors_origin.empty()) {
      http_.Options(".*", [this](const httplib::Request&, httplib::Response& res) {
        add_cors(res);
        res.set_header("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
      });
    }
    st_.draining = false;
  }

  int bind() {
    const std::string& host = st_.options.host;
    const std::string where = "cannot listen on " + host + ":" + std::to_string(st_.options.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0)
      throw Error(ErrorKind::kInvalidArgument,
                  where + ": '" + host +
                      "' does not resolve to an address; give --host an IP address such as "
                      "127.0.0.1 (this machine only) or 0.0.0.0 (every network)");
    freeaddrinfo(found);
    errno = 0;
    const int port = st_.options.port == 0
                         ? http_.bind_to_any_port(host)
                         : (http_.bind_to_port(host, st_.options.port) ? st_.options.port : -1);
    if (port >= 0) return port;
    const int err = errno;
    switch (err) {
      case EADDRINUSE:
        throw Error(ErrorKind::kIo, where +
                                        ": the port is taken (another izwi serve?); stop "
                                        "that program or pick another with --port");
      case EADDRNOTAVAIL:
        throw Error(ErrorKind::kIo, where + ": '" + host +
                                        "' is not an address of this machine; use 127.0.0.1 "
                                        "(this machine only), 0.0.0.0 (every network) or one of "
                                        "its addresses");
      case EACCES:
        throw Error(ErrorKind::kIo,
                    where + ": ports below 1024 need privileges; pick --port 1024 or above");
      default:
        throw Error(ErrorKind::kIo, where + ": " + (err ? std::strerror(err) : "unknown error"));
    }
  }

  void serve() { http_.listen_after_bind(); }

  // Refuse new work, let running requests finish within the grace period,
  // cancel what is left at its next frame, and only then close the listening
  // socket: cpp-httplib ends a streamed response mid-body once it is closed,
  // so closing first would cut every stream the grace period is meant to let
  // finish.
  void shutdown() {
    st_.draining = true;
    st_.admission.close();
    const auto deadline = Clock::now() + std::chrono::duration<double>(st_.options.grace_seconds);
    while (st_.admission.running() > 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (st_.admission.running() > 0) {
      log_text("shutdown: cancelling " + std::to_string(st_.admission.running()) +
               " generation(s) still running after the grace period");
      st_.cancel_all();
      // A cancelled generation stops at its next frame and answers 503 (or an
      // SSE error event); give it a moment to be written.
      const auto cancel_deadline = Clock::now() + std::chrono::seconds(5);
      while (st_.admission.running() > 0 && Clock::now() < cancel_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    http_.stop();
  }

  ServerState& state() { return st_; }

  std::string process(std::string_view bytes, int max_requests) {
    http_.hold_placeholder_socket();
    MemoryStream stream(bytes);
    bool closed = false;
    for (int i = 0; i < max_requests && !closed && !stream.exhausted(); ++i)
      if (!http_.process_request(stream, false, closed, nullptr)) break;
    return std::move(stream.output());
  }

  void log_text(const std::string& msg) {
    if (st_.options.log_format == "json")
      std::fprintf(stderr, "%s\n",
                   json_text(nlohmann::json{{"time", utc_now()}, {"message", msg}}).c_str());
    else
      std::fprintf(stderr, "%s %s\n", utc_now().c_str(), msg.c_str());
  }

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&, const LogPtr&)>;

  void add_cors(httplib::Response& res) const {
    if (st_.options.cors_origin.empty()) return;
    res.set_header("Access-Control-Allow-Origin", st_.options.cors_origin);
    if (st_.options.cors_origin != "*") res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers",
                   "X-Izwi-Seed, X-Izwi-Audio-Seconds, X-Izwi-Real-Time-Factor, "
                   "X-Izwi-Time-To-First-Audio, X-Izwi-Reference-Warnings, Retry-After");
  }

  void log_request(RequestLog& l) {
    const double secs = std::chrono::duration<double>(Clock::now() - l.start).count();
    st_.metrics.request(l.route, l.method, l.status, secs);
    char extra[160] = "";
    if (l.audio_seconds >= 0)
      std::snprintf(extra, sizeof extra, " audio=%.2fs rtf=%.2f seed=%llu mem=%zuMiB",
                    l.audio_seconds, l.rtf, static_cast<unsigned long long>(l.seed.value_or(0)),
                    (l.memory_estimate + (1u << 20) - 1) >> 20);
    if (st_.options.log_format == "json") {
      nlohmann::json j = {{"time", utc_now()},
                          {"method", l.method},
                          {"route", l.route},
                          {"status", l.status},
                          {"duration_s", secs}};
      if (l.audio_seconds >= 0) {
        j["audio_s"] = l.audio_seconds;
        j["rtf"] = l.rtf;
      }
      if (l.seed) j["seed"] = *l.seed;
      if (l.memory_estimate > 0) j["memory_estimate_bytes"] = l.memory_estimate;
      std::fprintf(stderr, "%s\n", json_text(j).c_str());
    } else {
      std::fprintf(stderr, "%s %s %s %d %.3fs%s\n", utc_now().c_str(), l.method.c_str(),
                   l.route.c_str(), l.status, secs, extra);
    }
  }

  void add(const std::string& method, const std::string& path, Handler h) {
    const bool needs_key = path.rfind("/v1/", 0) == 0;
    auto wrapped = [this, method, path, needs_key, h](const httplib::Request& req,
                                                      httplib::Response& res) {
      auto log = std::make_shared<RequestLog>();
      log->method = method;
      log->route = path;
      log->done = [this](RequestLog& l) { log_request(l); };
      try {
        if (needs_key && !st_.options.api_key.empty()) {
          const std::string auth = req.get_header_value("Authorization");
          const std::string prefix = "Bearer ";
          if (auth.rfind(prefix, 0) != 0 ||
              !key_matches(auth.substr(prefix.size()), st_.options.api_key))
            throw ApiError(401, "invalid_api_key",
                           auth.empty()
                               ? "this server needs an API key: send 'Authorization: Bearer KEY'"
                               : "the API key is wrong");
        }
        if (st_.draining && needs_key)
          throw ApiError(503, "shutting_down", "the server is shutting down");
        h(req, res, log);
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const Error& e) {
        send_error(res, from_library_error(e));
      } catch (const std::bad_alloc&) {
        send_error(res, ApiError(500, "out_of_memory", "the server ran out of memory"));
      } catch (const std::exception& e) {
        send_error(res,
                   ApiError(500, "internal_error", std::string("internal error: ") + e.what()));
      }
      add_cors(res);
      if (res.status == -1 || res.status == 0) res.status = 200;
      log->status = res.status;
      if (!log->deferred) log_request(*log);
    };
    const std::string pattern = pattern_of(path);
    routes_.push_back({std::regex(pattern), method});
    if (method == "GET")
      http_.Get(pattern, wrapped);
    else if (method == "POST")
      http_.Post(pattern, wrapped);
    else if (method == "DELETE")
      http_.Delete(pattern, wrapped);
    else if (method == "PATCH")
      http_.Patch(pattern, wrapped);
  }

  // Every route of routes() gets its handler here; a route without one is a bug.
  void register_routes() {
    using R = const httplib::Request&;
    using W = httplib::Response&;
    using Plain = void (*)(ServerState&, R, W);
    ServerState& s = st_;
    auto plain = [&s](Plain f) -> Handler {
      return [&s, f](R q, W w, const LogPtr&) { f(s, q, w); };
    };
    const std::map<std::string, Handler> handlers = {
        {"POST /v1/audio/speech", [&s](R q, W w, const LogPtr& l) { handle_speech(s, q, w, l); }},
        {"POST /v1/audio/reference-report", plain(handle_reference_report)},
        {"GET /v1/voices", plain(handle_list_voices)},
        {"POST /v1/voices", plain(handle_create_voice)},
        {"GET /v1/voices/{id}", plain(handle_get_voice)},
        {"PATCH /v1/voices/{id}", plain(handle_rename_voice)},
        {"DELETE /v1/voices/{id}", plain(handle_delete_voice)},
        {"GET /v1/voices/{id}/audio", plain(handle_voice_audio)},
        {"GET /v1/voices/{id}/export", plain(handle_export_voice)},
        {"POST /v1/voices/import", plain(handle_import_voice)},
        {"GET /v1/models", plain(handle_models)},
        {"POST /v1/jobs", plain(handle_create_job)},
        {"GET /v1/jobs/{id}", plain(handle_get_job)},
        {"GET /v1/jobs/{id}/audio", plain(handle_job_audio)},
        {"DELETE /v1/jobs/{id}", plain(handle_cancel_job)},
        {"POST /v1/models/pull", plain(handle_pull_model)},
        {"GET /healthz",
         [](R, W w, const LogPtr&) { w.set_content("{\"status\":\"ok\"}", "application/json"); }},
        {"GET /readyz",
         [&s](R, W w, const LogPtr&) {
           // Ready: the default model loaded and the voice database answering
           // (a replica whose PostgreSQL is gone takes no traffic until it is back).
           const bool db = s.voices.reachable();
           const bool ready = !s.draining && s.models.default_loaded() && db;
           w.status = ready ? 200 : 503;
           const char* status = ready        ? "ready"
                                : s.draining ? "shutting down"
                                : !db        ? "voice database unreachable"
                                             : "loading";
           w.set_content(
               json_text(nlohmann::json{{"status", status}, {"model", s.models.default_id()}}),
               "application/json");
         }},
        {"GET /metrics",
         [&s](R, W w, const LogPtr&) {
           Metrics::Gauges g{s.admission.running(), s.admission.waiting(), s.models.loaded(),
                             s.models.batch_stats()};
           try {
             if (s.voices.reachable()) g.jobs_waiting = s.jobs.waiting();
           } catch (const Error&) {
             // The database is away: the gauge is left out, the rest still answers.
           }
           w.set_content(s.metrics.render(g), "text/plain; version=0.0.4");
         }},
        {"GET /openapi.json",
         [](R, W w, const LogPtr&) { w.set_content(openapi_document(), "application/json"); }},
    };
    for (const Route& r : routes()) {
      auto it = handlers.find(r.method + " " + r.path);
      if (it == handlers.end())
        throw Error(ErrorKind::kInternal, "route without a handler: " + r.method + " " + r.path);
      add(r.method, r.path, it->second);
    }
  }

  // The Web UI at / (index.html) and /assets/*: files compiled into the binary.
  void register_web_ui() {
    for (const WebAsset& a : web_assets()) {
      const std::string body(reinterpret_cast<const char*>(a.data), a.size);
      const std::string type = std::string(a.content_type) + "; charset=utf-8";
      const std::string pattern = pattern_of(a.path);
      routes_.push_back({std::regex(pattern), "GET"});
      http_.Get(pattern, [body, type](const httplib::Request&, httplib::Response& res) {
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_content(body, type);
      });
    }
  }

  // The methods a path's routes take, as an Allow header ("GET, DELETE"); ""
  // when no route has the path.
  std::string methods_of(const std::string& path) const {
    std::string allow;
    for (const auto& [pattern, method] : routes_)
      if (std::regex_match(path, pattern) && allow.find(method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + method;
    return allow;
  }

  ServerState st_;
  HttpServer http_;
  // Every route's path pattern and method, for 405 answers.
  std::vector<std::pair<std::regex, std::string>> routes_;
};

}  // namespace

namespace {

// The write end of the pipe the signal handler reports on. A signal handler
// can reach nothing else (it must be async-signal-safe), hence this one global;
// any thread may take the signal (OpenBLAS starts threads before main).
int g_signal_pipe = -1;

extern "C" void on_stop_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  if (g_signal_pipe >= 0) (void)!write(g_signal_pipe, &b, 1);
}

}  // namespace

struct RequestProcessor::Impl {
  explicit Impl(const ServerOptions& o) : server(o) {
    server.state().models.get("", false);  // loaded before the first request, as run() does
  }
  Server server;
};

RequestProcessor::RequestProcessor(const ServerOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}
RequestProcessor::~RequestProcessor() = default;

std::string RequestProcessor::process(std::string_view bytes, int max_requests) {
  return impl_->server.process(bytes, max_requests);
}

int run(const ServerOptions& options) {
  if (options.log_format != "text" && options.log_format != "json")
    throw Error(ErrorKind::kInvalidArgument, "--log-format must be text or json");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(ErrorKind::kIo, "cannot create a pipe");
  g_signal_pipe = fds[1];
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Server server(options);
  ServerState& st = server.state();
  // Fail early and clearly when the default model is not there.
  try {
    (void)st.models.resolve("", false);
  } catch (const ApiError& e) {
    throw Error(ErrorKind::kNotFound, e.what());
  }
  const int port = server.bind();
  // An IPv6 address goes in brackets in a URL (http://[::1]:8080).
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string url_host = ipv6 ? "[" + options.host + "]" : options.host;
  server.log_text("izwi serve: listening on http://" + url_host + ":" + std::to_string(port) +
                  " (default model " + st.models.default_id() + ", " +
                  (options.api_key.empty() ? "no API key" : "API key required") + ", voices in " +
                  st.voices.dir() + ")");
  std::fflush(stderr);

  std::thread loader([&] {
    try {
      st.models.get("", false);
      // Half of what is left once the model is in memory.
      if (options.memory_budget_mb == 0) st.admission.set_budget(memory_budget_bytes(0));
      const size_t budget = st.admission.budget_bytes();
      server.log_text("model " + st.models.default_id() + " loaded; ready (" +
                      (budget > 0 ? std::to_string(budget >> 20) + " MiB" : "no limit") +
                      " of memory for requests)");
    } catch (const std::exception& e) {
      server.log_text(std::string("error: loading the default model failed: ") + e.what());
    }
  });
  std::atomic<bool> stopped{false};
  std::thread signal_waiter([&] {
    while (!stopped) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      unsigned char sig = 0;
      if (read(fds[0], &sig, 1) != 1) continue;
      server.log_text(std::string("izwi serve: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                      ", shutting down (grace " + seconds_text(options.grace_seconds) + ")");
      server.shutdown();
      return;
    }
  });
  // --worker: speak queued job utterances while no request is running (one
  // at a time; a request that arrives meanwhile runs beside it).
  std::thread job_worker;
  if (options.worker)
    job_worker = std::thread([&] {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      JobWorker w(
          st.jobs,
          [&st](const std::string& model, bool cloning) { return st.models.get(model, cloning); },
          std::string(host) + ":" + std::to_string(getpid()) + ":serve", options.job_lease_seconds);
      while (!stopped && !st.draining) {
        bool worked = false;
        if (st.admission.running() == 0 && st.admission.waiting() == 0 &&
            st.models.default_loaded()) {
          try {
            const auto t0 = std::chrono::steady_clock::now();
            worked = w.run_one();
            if (worked)
              st.metrics.job_utterance(
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          } catch (const std::exception& e) {
            server.log_text(std::string("job worker: ") + e.what());
          }
        }
        if (!worked) std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    });
  server.serve();  // returns after stop() once the in-flight requests have ended
  stopped = true;
  if (job_worker.joinable()) job_worker.join();
  signal_waiter.join();
  loader.join();
  server.log_text("izwi serve: stopped");
  g_signal_pipe = -1;
  close(fds[0]);
  close(fds[1]);
  return 0;
}

}  // namespace izwi::server
