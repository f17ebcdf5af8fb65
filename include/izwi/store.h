// izwi — the model store: models by name, pulled from the Hugging Face hub.
//
// Names map to hub repositories (qwen3-tts-0.6b-base -> Qwen/Qwen3-TTS-12Hz-0.6B-Base);
// any "org/repo" id works too. Models live in IZWI_MODELS_DIR, else
// $XDG_DATA_HOME/izwi/models, else ~/.local/share/izwi/models. A pull downloads
// into a staging folder (resumable), checks sizes and SHA-256 of large files,
// and installs by one atomic rename: an interrupted pull never leaves a model
// that looks complete.
//
// The released CustomVoice checkpoints have no speaker encoder, so a
// `*-customvoice` name is a pair: pulling it also pulls the Base checkpoint of
// the same size, which is used whenever a voice is cloned from reference audio;
// preset speakers use the CustomVoice checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "izwi/error.h"

namespace izwi {

struct StoreOptions {
  std::string models_dir;  // empty: from the environment (see above)
  std::string endpoint;    // empty: HF_ENDPOINT or https://huggingface.co
  std::string token;       // empty: none (store_options_from_env reads HF_TOKEN or the saved one)
  bool offline = false;    // also set by IZWI_OFFLINE=1
  std::string revision = "main";
  // Free bytes at a path (statvfs by default); replaceable to simulate a full disk.
  std::function<uint64_t(const std::string& path)> free_space;
};

// Options from the environment: IZWI_MODELS_DIR, XDG_DATA_HOME, HF_ENDPOINT, HF_TOKEN
// (else the token huggingface-cli saved: $HF_TOKEN_PATH, $HF_HOME/token,
// ~/.cache/huggingface/token), IZWI_OFFLINE.
StoreOptions store_options_from_env();

struct ModelInfo {
  std::string name;         // e.g. "qwen3-tts-0.6b-base" or "org/repo"
  std::string repo;         // hub repository
  std::string description;  // one line
  std::string companion;    // the Base model a CustomVoice name clones with ("" if none)
  std::string approx_size;  // e.g. "2.5 GB" (registry estimate)
  bool installed = false;
  std::string path;         // checkpoint directory when installed
  uint64_t size_bytes = 0;  // on disk, when installed
};

struct PullProgress {
  std::string model;
  std::string file;    // path inside the repository
  uint64_t done = 0;   // bytes of the model downloaded so far (resumed bytes included)
  uint64_t total = 0;  // bytes of the model
  double bytes_per_second = 0;
  double eta_seconds = -1;  // -1: unknown
  bool file_finished = false;
};

class ModelStore {
 public:
  explicit ModelStore(StoreOptions options = store_options_from_env());

  const std::string& root() const { return root_; }
  bool offline() const { return options_.offline; }

  // The registry's models and every installed one.
  std::vector<ModelInfo> list() const;
  // A registry name or an "org/repo" id; throws for anything else, listing the names.
  ModelInfo info(const std::string& name) const;
  static bool is_model_name(const std::string& s);  // registry name or org/repo spelling

  // Downloads and installs `name` (and its companion); already installed files are kept.
  void pull(const std::string& name,
            const std::function<void(const PullProgress&)>& progress = nullptr);
  // Removes an installed model (and any unfinished download of it).
  void remove(const std::string& name);

  // The checkpoint directory for a --model value: an existing directory is used
  // as it is; a name must be installed (or is pulled when `pull_if_missing` and
  // not offline). `cloning`: a CustomVoice name gives its Base companion.
  std::string resolve(const std::string& name_or_dir, bool cloning = false,
                      bool pull_if_missing = false,
                      const std::function<void(const PullProgress&)>& progress = nullptr);

 private:
  std::string dir_of(const std::string& name) const;
  void pull_one(const ModelInfo& m, const std::function<void(const PullProgress&)>& progress);

  StoreOptions options_;
  std::string root_;
};

// Bytes on disk of a checkpoint directory (every file under it), as
// ModelInfo::size_bytes counts an installed model.
uint64_t checkpoint_bytes(const std::string& dir);

// The model used when none is given: IZWI_DEFAULT_MODEL, else qwen3-tts-0.6b-base.
std::string default_model_name();

}  // namespace izwi
