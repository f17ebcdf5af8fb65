#include "server/model_pool.h"

#include <algorithm>
#include <filesystem>

#include "server/api_error.h"

namespace izwi::server {

namespace fs = std::filesystem;

namespace {

bool is_openai_alias(const std::string& m) {
  return m == "tts-1" || m == "tts-1-hd" || m == "gpt-4o-mini-tts";
}

bool is_dir(const std::string& s) {
  std::error_code ec;
  return fs::is_directory(s, ec) && fs::exists(fs::path(s) / "config.json", ec);
}

// A configured value's id: a name as it is, a directory by its folder name.
std::string configured_id(const std::string& value) {
  if (!is_dir(value)) return value;
  const fs::path p = fs::path(value).lexically_normal();
  return p.has_filename() ? p.filename().string() : p.parent_path().filename().string();
}

}  // namespace

ModelPool::ModelPool(std::vector<std::string> configured, ModelOptions load_options, int max_loaded,
                     bool allow_pull, bool offline)
    : configured_(std::move(configured)),
      load_options_(load_options),
      max_loaded_(std::max(1, max_loaded)),
      allow_pull_(allow_pull),
      offline_(offline) {
  if (configured_.empty()) configured_.push_back(default_model_name());
}

std::string ModelPool::resolve(const std::string& requested, bool cloning) const {
  std::string value =
      requested.empty() || is_openai_alias(requested) ? configured_.front() : requested;
  // A configured directory is named by its folder name; request data never
  // becomes a path otherwise: it must be a registry name or an org/repo id.
  for (const auto& c : configured_)
    if (configured_id(c) == value || c == value) value = c;
  const bool configured =
      std::find(configured_.begin(), configured_.end(), value) != configured_.end();
  StoreOptions so = store_options_from_env();
  so.offline = so.offline || offline_;
  ModelStore store(so);
  if (!configured && (!ModelStore::is_model_name(value) || value.find("..") != std::string::npos)) {
    std::vector<std::string> names;
    for (const auto& c : configured_) names.push_back(configured_id(c));
    for (const auto& m : store.list()) names.push_back(m.name);
    throw ApiError(404, "model_not_found",
                   "unknown model '" + requested + "'" + did_you_mean(requested, names) +
                       "; GET /v1/models lists the installed models (izwi list shows more)",
                   "model");
  }
  try {
    return store.resolve(value, cloning, allow_pull_);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kNotFound || e.kind() == ErrorKind::kInvalidArgument)
      throw ApiError(404, "model_not_found", e.what(), "model");
    throw;
  }
}

std::shared_ptr<const TtsModel> ModelPool::peek(const std::string& requested, bool cloning) const {
  std::string dir;
  try {
    dir = resolve(requested, cloning);
  } catch (const std::exception&) {
    // get() will say what is wrong with the name.
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_dir_.find(dir);
  if (it != by_dir_.end() && it->second.model) return it->second.model;
  for (const auto& [d, e] : by_dir_)
    if (e.model) return e.model;
  return nullptr;
}

std::shared_ptr<const TtsModel> ModelPool::get(const std::string& requested, bool cloning) {
  const std::string dir = resolve(requested, cloning);
  std::unique_lock<std::mutex> lock(mu_);
  Entry& e = by_dir_[dir];
  loaded_cv_.wait(lock, [&] { return !e.loading; });  // one load per model, others wait
  e.last_used = ++clock_;
  if (e.model) return e.model;
  e.loading = true;
  e.id = id_for_dir(dir);
  lock.unlock();
  std::shared_ptr<const TtsModel> model;
  try {
    model = TtsModel::load(dir, load_options_);
  } catch (...) {
    lock.lock();
    e.loading = false;  // the next request tries again
    loaded_cv_.notify_all();
    throw;
  }
  lock.lock();
  e.model = model;
  e.loading = false;
  // Unload the least recently used models beyond the limit (requests still
  // holding one keep it alive until they end).
  while (true) {
    int n = 0;
    auto oldest = by_dir_.end();
    for (auto it = by_dir_.begin(); it != by_dir_.end(); ++it) {
      if (!it->second.model) continue;
      ++n;
      if (it->first != dir &&
          (oldest == by_dir_.end() || it->second.last_used < oldest->second.last_used))
        oldest = it;
    }
    if (n <= max_loaded_ || oldest == by_dir_.end()) break;
    by_dir_.erase(oldest);
  }
  loaded_cv_.notify_all();
  return model;
}

std::string ModelPool::id_for_dir(const std::string& dir) const {
  for (const auto& c : configured_)
    if (c == dir) return configured_id(c);
  return fs::path(dir).filename().string();
}

std::string ModelPool::name_of(const std::string& requested) const {
  return requested.empty() || is_openai_alias(requested) ? default_id() : requested;
}

std::string ModelPool::default_id() const {
  return configured_id(configured_.front());
}

bool ModelPool::default_loaded() const {
  std::string dir;
  try {
    dir = resolve("", false);
  } catch (const std::exception&) {
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_dir_.find(dir);
  return it != by_dir_.end() && it->second.model != nullptr;
}

std::vector<std::pair<std::string, TtsModel::BatchStats>> ModelPool::batch_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, TtsModel::BatchStats>> out;
  for (const auto& [dir, e] : by_dir_)
    if (e.model) out.emplace_back(e.id, e.model->batch_stats());
  return out;
}

std::vector<std::string> ModelPool::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [dir, e] : by_dir_)
    if (e.model) out.push_back(e.id);
  return out;
}

std::vector<ModelPool::Listed> ModelPool::list() const {
  std::vector<Listed> out;
  auto add = [&](const std::string& id, const std::string& dir, const std::string& companion) {
    for (const auto& l : out)
      if (l.id == id) return;
    Listed l{id, dir, companion, false};
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_dir_.find(dir);
    l.loaded = it != by_dir_.end() && it->second.model != nullptr;
    out.push_back(l);
  };
  for (const auto& c : configured_)
    if (is_dir(c)) add(configured_id(c), c, "");
  StoreOptions so = store_options_from_env();
  so.offline = true;
  ModelStore store(so);
  for (const ModelInfo& m : store.list()) {
    if (!m.installed) continue;
    std::string companion;
    if (!m.companion.empty()) {
      const ModelInfo c = store.info(m.companion);
      if (c.installed) companion = c.path;
    }
    add(m.name, m.path, companion);
  }
  return out;
}

}  // namespace izwi::server
