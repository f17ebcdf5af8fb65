// `izwi pull|list|rm|info`: the model store; and --model resolution for every command.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "izwi/izwi.h"

namespace izwi::cli {

namespace {

std::string human(double bytes) {
  char buf[32];
  if (bytes >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  else if (bytes >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f kB", bytes / 1e3);
  return buf;
}

std::string eta(double s) {
  if (s < 0) return "--";
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600),
                  static_cast<int>(s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ds", static_cast<int>(s));
  return buf;
}

// The speed and time left, after `sep`; nothing while no speed is known (the
// first moments, or a pull that found every byte already there).
std::string rate(const PullProgress& p, const char* sep) {
  if (!(p.bytes_per_second > 0)) return "";
  return sep + human(p.bytes_per_second) + "/s" + sep + "ETA " + eta(p.eta_seconds);
}

// A progress bar on a terminal, plain lines (each 10 % and each file) otherwise.
std::function<void(const PullProgress&)> progress_printer(const Context& ctx) {
  if (ctx.quiet) return nullptr;
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto last_decile = std::make_shared<int>(-1);
  auto last_draw = std::make_shared<std::chrono::steady_clock::time_point>();
  // Which model this run is pulling, since when, and from how many bytes (a
  // resumed pull starts past 0; a CustomVoice name pulls two models).
  struct Start {
    std::string model;
    std::chrono::steady_clock::time_point time;
    uint64_t done = 0;
  };
  auto start = std::make_shared<Start>();
  return [tty, last_decile, last_draw, start](const PullProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (start->model != p.model) *start = Start{p.model, now, p.done};
    const double frac = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 1.0;
    if (tty) {
      if (!p.file_finished && now - *last_draw < std::chrono::milliseconds(100)) return;
      *last_draw = now;
      const int width = 30, filled = static_cast<int>(frac * width);
      if (p.done == p.total && p.file_finished) {
        // The last line: what this run fetched and how fast on average (the
        // current speed and ETA mean nothing at 100 %).
        const double secs = std::chrono::duration<double>(now - start->time).count();
        const double fetched = static_cast<double>(p.done - std::min(p.done, start->done));
        std::string how = human(static_cast<double>(p.total));
        if (fetched > 0 && secs >= 0.5)
          how += " in " + eta(secs) + " (" + human(fetched / secs) + "/s on average)";
        std::fprintf(stderr, "\r\033[Kpulled %s [%s] 100%% %s\n", p.model.c_str(),
                     std::string(width, '#').c_str(), how.c_str());
        return;
      }
      std::fprintf(stderr, "\r\033[Kpulling %s [%s%s] %3.0f%% %s/%s%s", p.model.c_str(),
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   frac * 100, human(static_cast<double>(p.done)).c_str(),
                   human(static_cast<double>(p.total)).c_str(), rate(p, " ").c_str());
    } else {
      const int decile = static_cast<int>(frac * 10);
      if (p.file_finished) {
        std::fprintf(stderr, "pulling %s: %s done (%.0f%%, %s of %s)\n", p.model.c_str(),
                     p.file.c_str(), frac * 100, human(static_cast<double>(p.done)).c_str(),
                     human(static_cast<double>(p.total)).c_str());
      } else if (decile != *last_decile) {
        *last_decile = decile;
        std::fprintf(stderr, "pulling %s: %.0f%% (%s of %s%s)\n", p.model.c_str(), frac * 100,
                     human(static_cast<double>(p.done)).c_str(),
                     human(static_cast<double>(p.total)).c_str(), rate(p, ", ").c_str());
      }
    }
  };
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// What a checkpoint's config.json says it is and can do.
void print_checkpoint(const CheckpointInfo& c) {
  const std::string size = c.model_size == "0b6"   ? "0.6B"
                           : c.model_size == "1b7" ? "1.7B"
                                                   : c.model_size;
  const std::string kind = c.model_type == "base" ? "Base (clones a voice from reference audio)"
                           : c.model_type == "custom_voice" ? "CustomVoice (preset speakers)"
                           : c.model_type == "voice_design"
                               ? "VoiceDesign (a voice from a description: --instruct)"
                               : c.model_type;
  std::printf("kind:        %s, %s\n", size.c_str(), kind.c_str());
  std::printf("clones:      %s\n", c.can_clone ? "yes (has a speaker encoder: --speaker ref.wav)"
                                               : "no (no speaker encoder; its Base model clones)");
  if (!c.speakers.empty()) std::printf("speakers:    %s\n", joined(c.speakers).c_str());
  std::printf("languages:   %s\n", joined(c.languages).c_str());
}

ModelStore make_store(const Context& ctx) {
  StoreOptions o = store_options_from_env();
  o.offline = o.offline || ctx.offline;
  return ModelStore(o);
}

}  // namespace

std::string resolve_model(const Context& ctx, const std::string& value, bool cloning) {
  ModelStore store = make_store(ctx);
  return store.resolve(value, cloning, /*pull_if_missing=*/true, progress_printer(ctx));
}

std::string installed_model(const Context& ctx, const std::string& value, bool cloning) {
  try {
    return make_store(ctx).resolve(value, cloning, /*pull_if_missing=*/false);
  } catch (const Error&) {
    return "";
  }
}

void register_models(CLI::App& app, const ContextPtr& ctx) {
  auto name = std::make_shared<std::string>();

  CLI::App* pull = app.add_subcommand(
      "pull", "Download a model into the local store (resumes an interrupted pull)");
  pull->add_option("model", *name, "A model name (see `izwi list`) or a Hugging Face id org/repo")
      ->required();
  pull->add_flag("-q,--quiet", ctx->quiet, "No progress output");
  pull->callback([ctx, name] {
    ModelStore store = make_store(*ctx);
    const ModelInfo before = store.info(*name);
    store.pull(*name, progress_printer(*ctx));
    const ModelInfo m = store.info(*name);
    std::printf("%s %s (%s) in %s\n", before.installed ? "already have" : "installed",
                m.name.c_str(), human(static_cast<double>(m.size_bytes)).c_str(), m.path.c_str());
    if (!m.companion.empty())
      std::printf("voice cloning with %s uses %s, installed alongside\n", m.name.c_str(),
                  m.companion.c_str());
  });

  CLI::App* list = app.add_subcommand("list", "Models you can pull and models you have");
  list->callback([ctx] {
    ModelStore store = make_store(*ctx);
    std::printf("%-28s %-10s %-18s %s\n", "MODEL", "STATUS", "SIZE", "DESCRIPTION");
    for (const ModelInfo& m : store.list())
      std::printf("%-28s %-10s %-18s %s\n", m.name.c_str(), m.installed ? "installed" : "-",
                  m.installed ? human(static_cast<double>(m.size_bytes)).c_str()
                              : ("~" + m.approx_size).c_str(),
                  m.description.c_str());
    std::printf("\nstore: %s\n", store.root().c_str());
    std::error_code ec;
    if (std::filesystem::exists(store.root(), ec) &&
        !std::filesystem::is_directory(store.root(), ec))
      std::fprintf(stderr,
                   "warning: the store is a file, not a folder, so nothing can be pulled into it; "
                   "set IZWI_MODELS_DIR to a folder\n");
  });

  CLI::App* rm = app.add_subcommand("rm", "Remove a downloaded model");
  rm->add_option("model", *name, "Model name")->required();
  rm->callback([ctx, name] {
    ModelStore store = make_store(*ctx);
    store.remove(*name);
    std::printf("removed %s\n", name->c_str());
  });

  CLI::App* info = app.add_subcommand(
      "info", "Details of a model: its files, kind, preset speakers and languages");
  info->add_option("model", *name, "Model name, or a checkpoint directory (as --model takes)")
      ->required();
  info->callback([ctx, name] {
    ModelStore store = make_store(*ctx);
    std::error_code ec;
    if (std::filesystem::is_directory(*name, ec) || !ModelStore::is_model_name(*name)) {
      // A directory, or an error saying why it is not one.
      const std::string dir = store.resolve(*name);
      const CheckpointInfo c = inspect_checkpoint(dir);
      std::printf("path:        %s\nsize:        %s\n", dir.c_str(),
                  human(static_cast<double>(checkpoint_bytes(dir))).c_str());
      print_checkpoint(c);
      return;
    }
    const ModelInfo m = store.info(*name);
    std::printf("name:        %s\nrepository:  %s\ndescription: %s\nstatus:      %s\n",
                m.name.c_str(), m.repo.c_str(), m.description.c_str(),
                m.installed ? "installed" : "not installed");
    if (m.installed)
      std::printf("path:        %s\nsize:        %s\n", m.path.c_str(),
                  human(static_cast<double>(m.size_bytes)).c_str());
    else
      std::printf("size:        ~%s (izwi pull %s)\n",
                  m.approx_size.empty() ? "?" : m.approx_size.c_str(), m.name.c_str());
    if (!m.companion.empty()) std::printf("clones with: %s\n", m.companion.c_str());
    if (m.installed) print_checkpoint(inspect_checkpoint(m.path));
  });
}

}  // namespace izwi::cli
