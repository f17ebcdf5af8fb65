// The model store: registry, resolution of --model values, resumable pulls.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.h"
#include "izwi/store.h"
#include "store/hub_client.h"

namespace izwi {

namespace fs = std::filesystem;

namespace {

struct RegistryEntry {
  const char* name;
  const char* repo;
  const char* description;
  const char* companion;
  const char* approx_size;
};

constexpr RegistryEntry kRegistry[] = {
    {"qwen3-tts-0.6b-base", "Qwen/Qwen3-TTS-12Hz-0.6B-Base",
     "0.6B: clones a voice from reference audio", "", "2.5 GB"},
    {"qwen3-tts-1.7b-base", "Qwen/Qwen3-TTS-12Hz-1.7B-Base",
     "1.7B: clones a voice from reference audio", "", "4.6 GB"},
    {"qwen3-tts-0.6b-customvoice", "Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice",
     "0.6B: 9 preset speakers; clones with qwen3-tts-0.6b-base", "qwen3-tts-0.6b-base",
     "2.5 GB + 2.5 GB"},
    {"qwen3-tts-1.7b-customvoice", "Qwen/Qwen3-TTS-12Hz-1.7B-CustomVoice",
     "1.7B: 9 preset speakers, instructions; clones with qwen3-tts-1.7b-base",
     "qwen3-tts-1.7b-base", "4.6 GB + 4.6 GB"},
    {"qwen3-tts-1.7b-voicedesign", "Qwen/Qwen3-TTS-12Hz-1.7B-VoiceDesign",
     "1.7B: voices designed from a description", "", "4.6 GB"},
};

constexpr const char* kManifest = ".izwi-model.json";
constexpr const char* kPinnedRevision = ".izwi-revision";  // in a staging folder: its commit

void write_small_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) fail(ErrorKind::kIo, "cannot write '", path.string(), "' (disk full?)");
}

const RegistryEntry* find_entry(const std::string& name) {
  for (const auto& e : kRegistry)
    if (name == e.name) return &e;
  return nullptr;
}

bool is_repo_id(const std::string& s) {
  static const std::regex re("^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$");
  return std::regex_match(s, re) && s.find("..") == std::string::npos;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

uint64_t statvfs_free(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return UINT64_MAX;  // unknown: do not block
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t dir_size(const fs::path& p) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(p, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

std::string gb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return buf;
}

// An exclusive lock on a file, held for the life of the object.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(ErrorKind::kIo, "cannot create lock file '", path, "'");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      fail(ErrorKind::kIo, "another izwi is already pulling this model (lock '", path,
           "'); wait for it to finish");
    }
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

namespace {

// The token huggingface_hub saves at login: $HF_TOKEN_PATH, else
// $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else ~/.cache/huggingface/token.
std::string saved_hub_token() {
  std::string path = env("HF_TOKEN_PATH");
  if (path.empty()) {
    std::string home = env("HF_HOME");
    if (home.empty()) {
      const std::string cache = env("XDG_CACHE_HOME");
      home = !cache.empty() ? cache + "/huggingface"
                            : (env("HOME").empty() ? "" : env("HOME") + "/.cache/huggingface");
    }
    if (home.empty()) return {};
    path = home + "/token";
  }
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

}  // namespace

StoreOptions store_options_from_env() {
  StoreOptions o;
  o.models_dir = env("IZWI_MODELS_DIR");
  if (o.models_dir.empty()) {
    const std::string xdg = env("XDG_DATA_HOME");
    const std::string home = env("HOME");
    o.models_dir = !xdg.empty()
                       ? xdg + "/izwi/models"
                       : (home.empty() ? ".izwi/models" : home + "/.local/share/izwi/models");
  }
  o.endpoint = env("HF_ENDPOINT");
  o.token = env("HF_TOKEN");
  if (o.token.empty()) o.token = saved_hub_token();
  const std::string off = env("IZWI_OFFLINE");
  o.offline = !off.empty() && off != "0" && off != "false";
  return o;
}

std::string default_model_name() {
  const std::string m = env("IZWI_DEFAULT_MODEL");
  return m.empty() ? "qwen3-tts-0.6b-base" : m;
}

ModelStore::ModelStore(StoreOptions options) : options_(std::move(options)) {
  if (options_.models_dir.empty()) options_.models_dir = store_options_from_env().models_dir;
  if (options_.endpoint.empty()) options_.endpoint = "https://huggingface.co";
  if (!options_.free_space) options_.free_space = statvfs_free;
  root_ = options_.models_dir;
}

bool ModelStore::is_model_name(const std::string& s) {
  return find_entry(s) || is_repo_id(s);
}

std::string ModelStore::dir_of(const std::string& name) const {
  std::string d = name;
  for (char& c : d)
    if (c == '/') c = '-';
  if (!find_entry(name)) d = "hub--" + d;  // keeps org/repo ids apart from registry names
  return (fs::path(root_) / d).string();
}

ModelInfo ModelStore::info(const std::string& name) const {
  ModelInfo m;
  m.name = name;
  if (const RegistryEntry* e = find_entry(name)) {
    m.repo = e->repo;
    m.description = e->description;
    m.companion = e->companion;
    m.approx_size = e->approx_size;
  } else if (is_repo_id(name)) {
    m.repo = name;
    m.description = "Hugging Face repository " + name;
  } else {
    std::string names;
    std::vector<std::string> known;
    for (const auto& entry : kRegistry) {
      names += std::string(names.empty() ? "" : ", ") + entry.name;
      known.emplace_back(entry.name);
    }
    fail(ErrorKind::kNotFound, "unknown model '", name, "'", did_you_mean(name, known),
         "; known models: ", names, " (or a Hugging Face id org/repo)");
  }
  const fs::path dir = dir_of(name);
  std::error_code ec;
  m.installed = fs::exists(dir / kManifest, ec);
  if (m.installed) {
    m.path = dir.string();
    m.size_bytes = dir_size(dir);
  }
  return m;
}

std::vector<ModelInfo> ModelStore::list() const {
  std::vector<ModelInfo> out;
  for (const auto& e : kRegistry) out.push_back(info(e.name));
  std::error_code ec;
  for (auto it = fs::directory_iterator(root_, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!fs::exists(it->path() / kManifest)) continue;
    try {
      const auto j = nlohmann::json::parse(std::ifstream(it->path() / kManifest));
      const std::string name = j.value("name", "");
      if (!name.empty() && !find_entry(name) && is_repo_id(name)) out.push_back(info(name));
    } catch (...) {
      // An unreadable manifest: not a model izwi installed; leave it out of the list.
    }
  }
  return out;
}

void ModelStore::pull(const std::string& name,
                      const std::function<void(const PullProgress&)>& progress) {
  const ModelInfo m = info(name);
  pull_one(m, progress);
  if (!m.companion.empty()) pull_one(info(m.companion), progress);
}

void ModelStore::pull_one(const ModelInfo& m,
                          const std::function<void(const PullProgress&)>& progress) {
  if (m.installed) return;
  if (options_.offline)
    fail(ErrorKind::kInvalidArgument, "model ", m.name,
         " is not installed and downloads are off (offline mode); ", "run `izwi pull ", m.name,
         "` when online");
  const fs::path final_dir = dir_of(m.name);
  std::error_code ec;
  if (fs::exists(root_, ec) && !fs::is_directory(root_, ec))
    fail(ErrorKind::kInvalidArgument, "the model store '", root_,
         "' is a file, not a folder; set IZWI_MODELS_DIR to a folder (or move the file)");
  if (fs::exists(final_dir, ec))
    fail(ErrorKind::kIo, "'", final_dir.string(),
         "' exists but is not a complete model; remove it and pull again");
  const fs::path staging = fs::path(root_) / ".partial" / final_dir.filename();
  fs::create_directories(staging, ec);
  if (ec) fail(ErrorKind::kIo, "cannot create '", staging.string(), "': ", ec.message());
  FileLock lock(
      (fs::path(root_) / ".partial" / (final_dir.filename().string() + ".lock")).string());

  store::HubClient hub(options_.endpoint, options_.token);
  // One commit for the whole pull: a staging folder of another commit (the
  // revision moved since an interrupted pull) starts over rather than mixing files.
  const std::string sha = hub.resolve_revision(m.repo, options_.revision);
  const fs::path pinned = staging / kPinnedRevision;
  {
    std::ifstream in(pinned);
    std::string had;
    std::getline(in, had);
    if (!had.empty() && had != sha) {
      fs::remove_all(staging, ec);
      fs::create_directories(staging, ec);
      if (ec) fail(ErrorKind::kIo, "cannot create '", staging.string(), "': ", ec.message());
    }
  }
  write_small_file(pinned, sha + "\n");
  const std::vector<store::HubFile> files = hub.list_files(m.repo, sha);
  uint64_t total = 0, have = 0;
  for (const auto& f : files) {
    total += f.size;
    const fs::path done = staging / f.path, part = staging / (f.path + ".part");
    if (fs::exists(done, ec) && fs::file_size(done, ec) == f.size)
      have += f.size;
    else if (fs::exists(part, ec))
      have += std::min<uint64_t>(fs::file_size(part, ec), f.size);
  }
  const uint64_t free_bytes = options_.free_space(root_);
  if (free_bytes < total - have)
    fail(ErrorKind::kIo, "not enough disk space in ", root_, ": ", m.name, " needs ",
         gb(total - have), " more, ", gb(free_bytes),
         " is free; free some space or set IZWI_MODELS_DIR to a larger disk");

  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t start_have = have;
  uint64_t done_bytes = have;
  auto report = [&](const std::string& file, uint64_t now_done, bool finished) {
    if (!progress) return;
    PullProgress p;
    p.model = m.name;
    p.file = file;
    p.done = now_done;
    p.total = total;
    p.file_finished = finished;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (secs > 0.2 && now_done > start_have) {
      p.bytes_per_second = static_cast<double>(now_done - start_have) / secs;
      p.eta_seconds = static_cast<double>(total - now_done) / p.bytes_per_second;
    }
    progress(p);
  };

  for (const auto& f : files) {
    const fs::path dest = staging / f.path;
    if (fs::exists(dest, ec) && fs::file_size(dest, ec) == f.size) continue;  // finished earlier
    fs::create_directories(dest.parent_path(), ec);
    const std::string part = dest.string() + ".part";
    uint64_t before =
        fs::exists(part, ec) ? std::min<uint64_t>(fs::file_size(part, ec), f.size) : 0;
    const uint64_t base = done_bytes - before;
    // A dropped connection is retried (resuming) a few times before giving up.
    for (int attempt = 0;; ++attempt) {
      try {
        hub.download(m.repo, sha, f, part,
                     [&](uint64_t file_bytes) { report(f.path, base + file_bytes, false); });
        break;
      } catch (const Error& e) {
        const bool transient = e.kind() == ErrorKind::kIo &&
                               std::string(e.what()).find("broke off") != std::string::npos;
        if (!transient || attempt >= 2) throw;
      }
    }
    fs::rename(part, dest, ec);
    if (ec) fail(ErrorKind::kIo, "cannot rename '", part, "': ", ec.message());
    done_bytes = base + f.size;
    report(f.path, done_bytes, true);
  }

  nlohmann::json manifest = {{"name", m.name},
                             {"repo", m.repo},
                             {"revision", options_.revision},
                             {"sha", sha},
                             {"files", nlohmann::json::array()}};
  for (const auto& f : files)
    manifest["files"].push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  {
    std::ofstream out(staging / kManifest);
    out << manifest.dump(2);
    if (!out)
      fail(ErrorKind::kIo, "cannot write the model manifest in '", staging.string(),
           "' (disk full?)");
  }
  fs::remove(pinned, ec);
  fs::rename(staging, final_dir, ec);  // the one step that makes the model visible
  if (ec) fail(ErrorKind::kIo, "cannot install '", final_dir.string(), "': ", ec.message());
  fs::remove(fs::path(root_) / ".partial" / (final_dir.filename().string() + ".lock"), ec);
}

void ModelStore::remove(const std::string& name) {
  const ModelInfo m = info(name);
  const fs::path dir = dir_of(name), staging = fs::path(root_) / ".partial" / dir.filename();
  std::error_code ec;
  const bool partial = fs::exists(staging, ec);
  if (!m.installed && !partial) fail(ErrorKind::kNotFound, "model ", name, " is not installed");
  fs::remove_all(dir, ec);
  if (ec) fail(ErrorKind::kIo, "cannot remove '", dir.string(), "': ", ec.message());
  fs::remove_all(staging, ec);
}

uint64_t checkpoint_bytes(const std::string& dir) {
  return dir_size(dir);
}

std::string ModelStore::resolve(const std::string& value, bool cloning, bool pull_if_missing,
                                const std::function<void(const PullProgress&)>& progress) {
  std::error_code ec;
  if (fs::is_directory(value, ec) && fs::exists(fs::path(value) / "config.json", ec)) return value;
  if (!is_model_name(value)) {
    if (fs::exists(value, ec))
      fail(ErrorKind::kInvalidArgument, "'", value, "' is not a model directory (no config.json)");
    if (value.find('/') != std::string::npos)
      fail(ErrorKind::kNotFound, "model directory '", value, "' does not exist");
    (void)info(value);  // throws, listing the known names
  }
  ModelInfo m = info(value);
  std::string via;  // why a model other than the one named is needed
  if (cloning && !m.companion.empty()) {
    via = " (" + m.name + " clones reference audio with it)";
    m = info(m.companion);
  }
  if (m.installed) return m.path;
  if (pull_if_missing && !options_.offline) {
    pull_one(m, progress);
    return info(m.name).path;
  }
  fail(ErrorKind::kNotFound, "model ", m.name, via, " is not installed",
       options_.offline ? " (offline mode)" : "", "; run: izwi pull ", value);
}

}  // namespace izwi
