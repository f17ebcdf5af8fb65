// The models a server has loaded: loaded once on first use, shared by every
// request (a loaded TtsModel is thread-safe), the least recently used unloaded
// beyond a limit once no request holds it.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "izwi/izwi.h"

namespace izwi::server {

class ModelPool {
 public:
  // `configured`: the --model values (names or checkpoint directories); the
  // first is the default (none: izwi's default model name).
  ModelPool(std::vector<std::string> configured, ModelOptions load_options, int max_loaded,
            bool allow_pull, bool offline);

  // A request's `model` (empty or an OpenAI name like "tts-1": the default).
  // `cloning`: a CustomVoice name gives its Base companion. Throws ApiError 404
  // naming `izwi pull` for a model that is not installed.
  std::shared_ptr<const TtsModel> get(const std::string& model, bool cloning);
  // The model the same request would use if it is loaded, else any loaded
  // model (null if none); never loads. For estimates made before admission.
  std::shared_ptr<const TtsModel> peek(const std::string& model, bool cloning) const;
  // The checkpoint directory the same request would use (no loading).
  std::string resolve(const std::string& model, bool cloning) const;

  const std::string& default_model() const { return configured_.front(); }
  // The name a request's `model` stands for (the default's id for "" and the OpenAI names).
  std::string name_of(const std::string& requested) const;
  std::string default_id() const;  // how /v1/models names the default
  bool default_loaded() const;
  std::vector<std::string> loaded() const;  // ids of the loaded models
  // Each loaded model's batching so far (requests' frames made together).
  std::vector<std::pair<std::string, TtsModel::BatchStats>> batch_stats() const;
  // Every model a request can name: the configured ones and the installed ones.
  struct Listed {
    std::string id, dir, companion_dir;  // companion: the Base model cloning uses
    bool loaded = false;
  };
  std::vector<Listed> list() const;

 private:
  std::string id_for_dir(const std::string& dir) const;

  std::vector<std::string> configured_;
  ModelOptions load_options_;  // threads and weight format of every model loaded
  int max_loaded_;
  bool allow_pull_, offline_;
  mutable std::mutex mu_;
  std::condition_variable loaded_cv_;
  struct Entry {
    std::string id;
    std::shared_ptr<const TtsModel> model;  // null while loading
    bool loading = false;
    uint64_t last_used = 0;
  };
  std::map<std::string, Entry> by_dir_;
  uint64_t clock_ = 0;
};

}  // namespace izwi::server
