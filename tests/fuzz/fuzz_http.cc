// The whole HTTP server from raw bytes: request line, query strings, headers,
// JSON and multipart bodies, every route's handler (speech with the tiny
// model, voices, imports, models), the error handler, and the writers of
// chunked audio and SSE streams. Besides crashes and sanitizer reports it
// checks what came back: every request gets a well-formed HTTP response, no
// status 500 (an exception no handler expected), chunked bodies frame
// correctly, and every SSE event is one "data: <JSON object>" line.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_util.h"
#include "server/server.h"

namespace {

// The server logs a line per request to stderr; scripts/fuzz.sh runs this
// target with -close_fd_mask=2 so that libFuzzer (which keeps its own copy of
// stderr) still prints its statistics. A failed check aborts: its input is
// saved as an artifact, and replaying it (fuzz_http ARTIFACT) prints why.
[[noreturn]] void fail(const char* what, const std::string& response) {
  std::fprintf(stderr, "fuzz_http: %s\n--- response ---\n%.4000s\n", what, response.c_str());
  std::abort();
}

izwi::server::RequestProcessor& processor() {
  static std::unique_ptr<izwi::server::RequestProcessor> p = [] {
    // A store of its own: voices the inputs create live in a temporary folder.
    const std::string dir = izwi::fuzz::temp_dir("http");
    setenv("IZWI_DATA_DIR", (dir + "/data").c_str(), 1);
    setenv("IZWI_MODELS_DIR", (dir + "/models").c_str(), 1);
    setenv("IZWI_OFFLINE", "1", 1);
    izwi::server::ServerOptions o;
    o.models = {IZWI_TEST_DATA "/golden/model"};
    o.threads = 1;
    o.weights = izwi::WeightFormat::kBf16;
    o.codec = izwi::CodecPrecision::kF32;
    o.max_upload_mb = 1;
    o.max_text_chars = 400;
    o.max_audio_seconds = 0.5;  // keeps each synthesis short
    o.log_format = "json";
    o.offline = true;
    return std::make_unique<izwi::server::RequestProcessor>(o);
  }();
  return *p;
}

// Reads a chunked body starting at `pos`; returns the payload, or fails.
std::string dechunk(const std::string& r, size_t& pos) {
  std::string body;
  for (;;) {
    const size_t eol = r.find("\r\n", pos);
    if (eol == std::string::npos) fail("chunk size line not terminated", r);
    const std::string hex = r.substr(pos, eol - pos);
    char* end = nullptr;
    const unsigned long n = std::strtoul(hex.c_str(), &end, 16);
    if (hex.empty() || *end != '\0') fail("bad chunk size", r);
    pos = eol + 2;
    if (n == 0) {
      if (r.compare(pos, 2, "\r\n") != 0) fail("last chunk not followed by CRLF", r);
      pos += 2;
      return body;
    }
    if (pos + n + 2 > r.size() || r.compare(pos + n, 2, "\r\n") != 0)
      fail("chunk shorter than its size", r);
    body.append(r, pos, n);
    pos += n + 2;
  }
}

void check_sse(const std::string& body, const std::string& r) {
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) fail("SSE event not terminated by a blank line", r);
    const std::string ev = body.substr(pos, end - pos);
    if (ev.rfind("data: ", 0) != 0 || ev.find('\n') != std::string::npos)
      fail("SSE event is not one data line", r);
    const auto j = nlohmann::json::parse(ev.substr(6), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type"))
      fail("SSE event data is not a JSON object with a type", r);
    pos = end + 2;
  }
}

// Walks the responses written for one input. After a HEAD request a
// Content-Length describes a body that is not sent, so framing by it stops.
void check_responses(const std::string& r, bool any_head) {
  size_t pos = 0;
  while (pos < r.size()) {
    if (r.compare(pos, 9, "HTTP/1.1 ") != 0) fail("response does not start with a status line", r);
    const int status = std::atoi(r.c_str() + pos + 9);
    if (status < 100 || status > 599) fail("status out of range", r);
    if (status == 500) fail("status 500: an exception no handler expected", r);
    const size_t head_end = r.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) fail("headers not terminated", r);
    const std::string head = r.substr(pos, head_end - pos);
    pos = head_end + 4;
    const bool chunked = head.find("Transfer-Encoding: chunked") != std::string::npos;
    const size_t cl = head.find("Content-Length: ");
    std::string body;
    bool framed = true;  // false: the rest cannot be split into responses
    if (chunked) {
      body = dechunk(r, pos);
    } else if (cl != std::string::npos && any_head) {
      // A HEAD's answer has a Content-Length and no body: which answer was
      // to the HEAD cannot be told from here, so the bodies are not checked.
      pos = r.size();
      framed = false;
    } else if (cl != std::string::npos) {
      const size_t n = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
      if (pos + n > r.size()) fail("body shorter than Content-Length", r);
      body = r.substr(pos, n);
      pos += n;
    } else if (status >= 200 && status != 204 && status != 304) {
      pos = r.size();  // HEAD or close-delimited: nothing more to frame
      framed = false;
    }
    // A part of a body (Range) must say so with 206; a compressed one
    // (Accept-Encoding) is not checked further.
    const bool ranged = head.find("Content-Range: ") != std::string::npos;
    if (ranged && status != 206) fail("Content-Range on a response that is not 206", r);
    if (!framed || ranged || head.find("Content-Encoding: ") != std::string::npos) continue;
    if (head.find("Content-Type: text/event-stream") != std::string::npos) check_sse(body, r);
    if (head.find("Content-Type: application/json") != std::string::npos &&
        nlohmann::json::parse(body, nullptr, false).is_discarded())
      fail("a JSON response that does not parse", r);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string out =
      processor().process(std::string_view(reinterpret_cast<const char*>(data), size));
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (std::getenv("IZWI_FUZZ_SHOW")) std::fprintf(stderr, "%.2000s\n", out.c_str());
  check_responses(out, in.find("HEAD") != std::string_view::npos);
  return 0;
}
