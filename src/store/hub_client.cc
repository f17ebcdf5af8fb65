#include "store/hub_client.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "store/sha256.h"

namespace izwi::store {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

std::string escape_path(const std::string& p) {
  std::string out;
  for (unsigned char c : p) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~')
      out.push_back(static_cast<char>(c));
    else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// What a response said besides its body: the headers izwi acts on.
struct Answer {
  long status = 0;
  std::string next;         // Link: <...>; rel="next" (file lists come in pages)
  std::string error_code;   // X-Error-Code: RepoNotFound, GatedRepo, EntryNotFound, ...
  std::string retry_after;  // Retry-After (seconds)
};

size_t capture_headers(char* p, size_t size, size_t n, void* out) {
  auto* a = static_cast<Answer*>(out);
  std::string line(p, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  const size_t colon = line.find(':');
  if (line.rfind("HTTP/", 0) == 0) *a = Answer{};  // a new response (after a redirect)
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string value = line.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  if (name == "link") {
    const size_t rel = value.find("rel=\"next\"");
    const size_t lt = value.find('<'), gt = value.find('>');
    if (rel != std::string::npos && lt != std::string::npos && gt > lt)
      a->next = value.substr(lt + 1, gt - lt - 1);
  } else if (name == "x-error-code") {
    a->error_code = value;
  } else if (name == "retry-after") {
    a->retry_after = value;
  }
  return size * n;
}

// Turns an HTTP error into the message a user can act on. The hub answers 401
// (not 404) for a repository that does not exist when no token is sent, and
// says which case it is in X-Error-Code.
[[noreturn]] void http_fail(const Answer& a, const std::string& repo, const std::string& what,
                            const std::string& endpoint, bool have_token) {
  const long code = a.status;
  const std::string status =
      "HTTP " + std::to_string(code) + (a.error_code.empty() ? "" : ", " + a.error_code);
  if (a.error_code == "GatedRepo")
    fail(ErrorKind::kIo, repo, " is gated (", status, "): accept its licence on ", endpoint, "/",
         repo, " while logged in, then set HF_TOKEN to a token of that account",
         " (or run `huggingface-cli login`)");
  if (a.error_code == "RepoNotFound" ||
      (code == 404 && a.error_code.empty() && what.rfind("repository", 0) == 0))
    fail(ErrorKind::kNotFound, "no such model: ", repo, " is not on ", endpoint, " (", status,
         "); check the name (izwi list)",
         have_token ? std::string() : "; if it is private, set HF_TOKEN");
  if (code == 404 || a.error_code == "EntryNotFound" || a.error_code == "RevisionNotFound")
    fail(ErrorKind::kNotFound, what, " was not found on ", endpoint, " (", status, ")");
  if (code == 403)
    fail(ErrorKind::kIo, "the token lacks access to ", repo, " (", status,
         "): use a token (HF_TOKEN, or ~/.cache/huggingface/token) that can read it");
  if (code == 401)
    fail(ErrorKind::kIo, "access to ", repo, " was refused (", status, "): ",
         have_token ? "the token (HF_TOKEN or ~/.cache/huggingface/token) is not valid"
                    : "set HF_TOKEN to a Hugging Face token that can read it");
  fail(ErrorKind::kIo, "the hub answered ", status, " for ", what, "; try again later");
}

// 429 and 5xx are worth another try, after the wait the hub asks for.
bool retriable(long status) {
  return status == 429 || (status >= 500 && status < 600);
}

struct Easy {
  std::unique_ptr<CURL, CurlDeleter> h;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  char errbuf[CURL_ERROR_SIZE] = {0};

  Easy(const std::string& url, const std::string& token) {
    global_init();
    h.reset(curl_easy_init());
    if (!h) fail(ErrorKind::kInternal, "cannot initialise libcurl");
    curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);  // abort a transfer stalled for 60 s
    curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h.get(), CURLOPT_USERAGENT, "izwi/0.1");
    curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
    // Bytes as stored: sizes and SHA-256 are checked against them, and a
    // compressed answer would make Range offsets meaningless.
    add_header("Accept-Encoding: identity");
    if (!token.empty()) add_header("Authorization: Bearer " + token);
  }
  void add_header(const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
    curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers.get());
  }
  long status() const {
    long code = 0;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
    return code;
  }
};

size_t append_string(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

}  // namespace

HubClient::HubClient(std::string endpoint, std::string token, RetryPolicy retry)
    : endpoint_(std::move(endpoint)), token_(std::move(token)), retry_(retry) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

void HubClient::wait_before_retry(int attempt, const std::string& retry_after) const {
  double seconds = retry_.base_seconds * static_cast<double>(1 << std::min(attempt, 10));
  if (!retry_after.empty() && std::all_of(retry_after.begin(), retry_after.end(), ::isdigit))
    seconds = std::stod(retry_after);
  seconds = std::min(seconds, retry_.max_wait_seconds);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// GET `url` into a string, retrying 429/5xx; fails on other errors.
std::string HubClient::get(const std::string& url, const std::string& repo, const std::string& what,
                           std::string* next) const {
  for (int attempt = 0;; ++attempt) {
    Easy e(url, token_);
    std::string body;
    Answer a;
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEFUNCTION, append_string);
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e.h.get(), CURLOPT_HEADERFUNCTION, capture_headers);
    curl_easy_setopt(e.h.get(), CURLOPT_HEADERDATA, &a);
    const CURLcode rc = curl_easy_perform(e.h.get());
    if (rc != CURLE_OK)
      fail(ErrorKind::kIo, "cannot reach ", endpoint_, ": ",
           e.errbuf[0] ? e.errbuf : curl_easy_strerror(rc),
           " (check the network, or set HF_ENDPOINT to a mirror)");
    a.status = e.status();
    if (retriable(a.status) && attempt + 1 < retry_.attempts) {
      wait_before_retry(attempt, a.retry_after);
      continue;
    }
    if (a.status >= 400) http_fail(a, repo, what, endpoint_, !token_.empty());
    if (next) *next = a.next;
    return body;
  }
}

std::string HubClient::resolve_revision(const std::string& repo,
                                        const std::string& revision) const {
  const std::string body =
      get(endpoint_ + "/api/models/" + repo + "/revision/" + escape_path(revision), repo,
          "repository " + repo + " at revision " + revision, nullptr);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    fail(ErrorKind::kInvalidFormat, "the hub's answer about ", repo, " is not JSON");
  }
  const std::string sha = j.is_object() ? j.value("sha", "") : "";
  if (sha.size() != 40 || !std::all_of(sha.begin(), sha.end(), ::isxdigit))
    fail(ErrorKind::kInvalidFormat, "the hub did not say which commit '", revision, "' of ", repo,
         " is");
  return sha;
}

std::vector<HubFile> parse_file_list(const std::string& body, const std::string& repo) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    fail(ErrorKind::kInvalidFormat, "the hub's file list for ", repo, " is not JSON");
  }
  if (!j.is_array())
    fail(ErrorKind::kInvalidFormat, "the hub's file list for ", repo, " is not a list");
  std::vector<HubFile> files;
  for (const auto& item : j) {
    if (!item.is_object() || !item.contains("type") || !item["type"].is_string() ||
        item["type"] != "file")
      continue;
    HubFile f;
    try {
      f.path = item.value("path", "");
      f.size = item.value("size", uint64_t{0});
      if (item.contains("lfs") && item["lfs"].is_object()) {
        f.sha256 = item["lfs"].value("oid", "");
        f.size = item["lfs"].value("size", f.size);
      }
    } catch (const nlohmann::json::exception&) {
      fail(ErrorKind::kInvalidFormat, "the hub's file list for ", repo,
           " has an entry of the wrong shape: ", item.dump().substr(0, 200));
    }
    // Refuse paths that would escape the model folder.
    if (f.path.empty() || f.path[0] == '/' || f.path.find("..") != std::string::npos ||
        f.path.find('\\') != std::string::npos || f.path.find('\0') != std::string::npos)
      fail(ErrorKind::kInvalidFormat, "the hub listed an unsafe file path '", f.path, "' in ",
           repo);
    files.push_back(std::move(f));
  }
  return files;
}

std::vector<HubFile> HubClient::list_files(const std::string& repo,
                                           const std::string& revision) const {
  std::vector<HubFile> files;
  std::string url = endpoint_ + "/api/models/" + repo + "/tree/" + revision + "?recursive=true";
  for (int page = 0; !url.empty() && page < 100; ++page) {
    std::string next;
    const std::string body = get(url, repo, "repository " + repo, &next);
    for (HubFile& f : parse_file_list(body, repo)) files.push_back(std::move(f));
    url = next;
  }
  if (files.empty()) fail(ErrorKind::kNotFound, repo, " has no files on ", endpoint_);
  return files;
}

namespace {

struct Sink {
  FILE* file;
  Sha256* hash;
  uint64_t have;  // bytes in the file
  uint64_t resume_from;
  CURL* curl;
  bool checked_status = false;
  bool write_failed = false;
  const std::function<void(uint64_t)>* on_bytes;
  int write_errno = 0;  // why the write failed
};

size_t write_body(char* p, size_t size, size_t n, void* userdata) {
  auto* s = static_cast<Sink*>(userdata);
  if (!s->checked_status) {
    s->checked_status = true;
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 400) return 0;  // an error page: do not store it
    if (code != 206 && s->resume_from > 0) {
      // The server (or a mirror) ignored the Range request and sends the whole
      // file: start over. (The Range header is ours, not CURLOPT_RESUME_FROM,
      // with which libcurl would fail with CURLE_RANGE_ERROR before this.)
      if (ftruncate(fileno(s->file), 0) != 0) return 0;
      std::rewind(s->file);
      s->hash->reset();
      s->have = 0;
    }
  }
  const size_t bytes = size * n;
  if (std::fwrite(p, 1, bytes, s->file) != bytes) {
    s->write_failed = true;
    s->write_errno = errno;
    return 0;
  }
  s->hash->update(p, bytes);
  s->have += bytes;
  if (*s->on_bytes) (*s->on_bytes)(s->have);
  return bytes;
}

// The SHA-256 state of what a .part file holds.
void hash_file(const std::string& path, Sha256& hash) {
  std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  std::vector<char> buf(1 << 20);
  size_t n;
  while (in && (n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0)
    hash.update(buf.data(), n);
}

}  // namespace

void HubClient::download(const std::string& repo, const std::string& revision, const HubFile& file,
                         const std::string& part,
                         const std::function<void(uint64_t)>& on_bytes) const {
  struct stat st {};
  uint64_t have = ::stat(part.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (have > file.size) {  // larger than it should be: start over
    std::remove(part.c_str());
    have = 0;
  }
  Sha256 hash;
  if (have > 0) hash_file(part, hash);  // continue the hash of what is there
  for (int attempt = 0; have < file.size || file.size == 0; ++attempt) {
    std::unique_ptr<FILE, decltype(&std::fclose)> out(
        std::fopen(part.c_str(), have > 0 ? "ab" : "wb"), &std::fclose);
    if (!out) fail(ErrorKind::kIo, "cannot write '", part, "'");
    Easy e(endpoint_ + "/" + repo + "/resolve/" + revision + "/" + escape_path(file.path), token_);
    Sink sink{out.get(), &hash, have, have, e.h.get(), false, false, &on_bytes};
    Answer answer;
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(e.h.get(), CURLOPT_HEADERFUNCTION, capture_headers);
    curl_easy_setopt(e.h.get(), CURLOPT_HEADERDATA, &answer);
    if (have > 0) e.add_header("Range: bytes=" + std::to_string(have) + "-");
    const CURLcode rc = curl_easy_perform(e.h.get());
    if (std::fflush(out.get()) != 0 && !sink.write_failed) {
      sink.write_failed = true;
      sink.write_errno = errno;
    }
    if (sink.write_failed)
      fail(write_error_kind(sink.write_errno), "writing '", part,
           "' failed: ", std::strerror(sink.write_errno),
           "; free some space (or choose another disk with IZWI_MODELS_DIR) and pull again to "
           "resume");
    answer.status = e.status();
    have = sink.have;
    if (answer.status == 416) {
      // The range is past the end: what is there is not a prefix of this
      // file (it changed on the hub). Start it over.
      out.reset();
      std::remove(part.c_str());
      hash.reset();
      have = 0;
      if (attempt + 1 < retry_.attempts) continue;
    }
    if (retriable(answer.status) && attempt + 1 < retry_.attempts) {
      wait_before_retry(attempt, answer.retry_after);
      continue;
    }
    if (answer.status >= 400)
      http_fail(answer, repo, file.path + " of " + repo, endpoint_, !token_.empty());
    if (rc != CURLE_OK)
      fail(ErrorKind::kIo, "downloading ", file.path, " of ", repo,
           " broke off: ", e.errbuf[0] ? e.errbuf : curl_easy_strerror(rc),
           " (pull again to resume)");
    fsync(fileno(out.get()));
    break;
  }
  if (have != file.size) {
    fail(ErrorKind::kIo, file.path, " of ", repo, ": expected ", file.size, " bytes, got ", have,
         " (pull again to resume)");
  }
  if (!file.sha256.empty()) {
    const std::string got = hash.hex();
    if (got != file.sha256) {
      std::remove(part.c_str());
      fail(ErrorKind::kInvalidFormat, file.path, " of ", repo, " is corrupt: SHA-256 ", got,
           ", expected ", file.sha256, " (the download was removed; pull again)");
    }
  }
}

}  // namespace izwi::store
