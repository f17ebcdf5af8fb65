#include "store/hub_client.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

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

// Turns an HTTP status into the message a user can act on.
[[noreturn]] void http_fail(long code, const std::string& repo, const std::string& what,
                            const std::string& endpoint) {
  if (code == 401 || code == 403)
    fail(ErrorKind::kIo, "access to ", repo, " was refused (HTTP ", code,
         "): set HF_TOKEN to a Hugging Face token that can read it");
  if (code == 404)
    fail(ErrorKind::kNotFound, what, " was not found on ", endpoint,
         " (HTTP 404): check the model name");
  fail(ErrorKind::kIo, "the hub answered HTTP ", code, " for ", what, "; try again later");
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

// Captures a `Link: <url>; rel="next"` header (the hub paginates file lists).
size_t capture_next(char* p, size_t size, size_t n, void* out) {
  const std::string line(p, size * n);
  if (line.size() > 5 && (line.rfind("Link:", 0) == 0 || line.rfind("link:", 0) == 0)) {
    const size_t rel = line.find("rel=\"next\"");
    const size_t lt = line.find('<'), gt = line.find('>');
    if (rel != std::string::npos && lt != std::string::npos && gt > lt)
      *static_cast<std::string*>(out) = line.substr(lt + 1, gt - lt - 1);
  }
  return size * n;
}

}  // namespace

HubClient::HubClient(std::string endpoint, std::string token)
    : endpoint_(std::move(endpoint)), token_(std::move(token)) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

std::vector<HubFile> HubClient::list_files(const std::string& repo,
                                           const std::string& revision) const {
  std::vector<HubFile> files;
  std::string url = endpoint_ + "/api/models/" + repo + "/tree/" + revision + "?recursive=true";
  for (int page = 0; !url.empty() && page < 100; ++page) {
    Easy e(url, token_);
    std::string body, next;
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEFUNCTION, append_string);
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e.h.get(), CURLOPT_HEADERFUNCTION, capture_next);
    curl_easy_setopt(e.h.get(), CURLOPT_HEADERDATA, &next);
    const CURLcode rc = curl_easy_perform(e.h.get());
    if (rc != CURLE_OK)
      fail(ErrorKind::kIo, "cannot reach ", endpoint_, ": ",
           e.errbuf[0] ? e.errbuf : curl_easy_strerror(rc),
           " (check the network, or set HF_ENDPOINT to a mirror)");
    if (e.status() >= 400) http_fail(e.status(), repo, "repository " + repo, endpoint_);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception&) {
      fail(ErrorKind::kInvalidFormat, "the hub's file list for ", repo, " is not JSON");
    }
    if (!j.is_array())
      fail(ErrorKind::kInvalidFormat, "the hub's file list for ", repo, " is not a list");
    for (const auto& item : j) {
      if (item.value("type", "") != "file") continue;
      HubFile f;
      f.path = item.value("path", "");
      f.size = item.value("size", uint64_t{0});
      if (item.contains("lfs") && item["lfs"].is_object()) {
        f.sha256 = item["lfs"].value("oid", "");
        f.size = item["lfs"].value("size", f.size);
      }
      // Refuse paths that would escape the model folder.
      if (f.path.empty() || f.path[0] == '/' || f.path.find("..") != std::string::npos ||
          f.path.find('\\') != std::string::npos)
        fail(ErrorKind::kInvalidFormat, "the hub listed an unsafe file path '", f.path, "' in ",
             repo);
      files.push_back(std::move(f));
    }
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
};

size_t write_body(char* p, size_t size, size_t n, void* userdata) {
  auto* s = static_cast<Sink*>(userdata);
  if (!s->checked_status) {
    s->checked_status = true;
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 400) return 0;  // an error page: do not store it
    if (code == 200 && s->resume_from > 0) {
      // The server ignored the Range request and sends the whole file: start over.
      if (ftruncate(fileno(s->file), 0) != 0) return 0;
      std::rewind(s->file);
      s->hash->reset();
      s->have = 0;
    }
  }
  const size_t bytes = size * n;
  if (std::fwrite(p, 1, bytes, s->file) != bytes) {
    s->write_failed = true;
    return 0;
  }
  s->hash->update(p, bytes);
  s->have += bytes;
  if (*s->on_bytes) (*s->on_bytes)(s->have);
  return bytes;
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
  if (have > 0) {  // hash what is already there, then continue
    std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen(part.c_str(), "rb"), &std::fclose);
    std::vector<char> buf(1 << 20);
    size_t n;
    while (in && (n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0)
      hash.update(buf.data(), n);
  }
  if (have < file.size || file.size == 0) {
    std::unique_ptr<FILE, decltype(&std::fclose)> out(
        std::fopen(part.c_str(), have > 0 ? "ab" : "wb"), &std::fclose);
    if (!out) fail(ErrorKind::kIo, "cannot write '", part, "'");
    Easy e(endpoint_ + "/" + repo + "/resolve/" + revision + "/" + escape_path(file.path), token_);
    Sink sink{out.get(), &hash, have, have, e.h.get(), false, false, &on_bytes};
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(e.h.get(), CURLOPT_WRITEDATA, &sink);
    if (have > 0)
      curl_easy_setopt(e.h.get(), CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
    const CURLcode rc = curl_easy_perform(e.h.get());
    if (std::fflush(out.get()) != 0) sink.write_failed = true;
    if (sink.write_failed)
      fail(ErrorKind::kIo, "writing '", part,
           "' failed (disk full?); free some space and pull again to resume");
    if (e.status() >= 400) http_fail(e.status(), repo, file.path + " of " + repo, endpoint_);
    if (rc != CURLE_OK)
      fail(ErrorKind::kIo, "downloading ", file.path, " of ", repo,
           " broke off: ", e.errbuf[0] ? e.errbuf : curl_easy_strerror(rc),
           " (pull again to resume)");
    fsync(fileno(out.get()));
    have = sink.have;
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
