// `izwi voices add|list|show|rm|export|import`: saved voice profiles.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "commands.h"
#include "izwi/izwi.h"

namespace izwi::cli {

namespace {

struct VoicesArgs {
  std::string name, audio, text, consent, model, file, new_name;
  bool force = false, json = false, no_preprocess = false, no_prepare = false;
  int threads = 0;
};

void print_profile(const VoiceProfile& p) {
  std::string sizes;
  for (const auto& s : p.model_sizes) sizes += (sizes.empty() ? "" : ", ") + s;
  std::printf(
      "name:        %s\ncreated:     %s\nconsent:     %s\ntranscript:  %s\nmode:        %s\n"
      "audio:       %.2f s, %s\nembeddings:  %s\n",
      p.name.c_str(), p.created_at.c_str(),
      p.consent.empty() ? "(not recorded)" : p.consent.c_str(),
      p.transcript.empty() ? "(none)" : p.transcript.c_str(),
      p.transcript.empty() ? "x-vector only" : "reference audio + transcript (ICL)", p.duration_s,
      p.audio_path.empty() ? "(in the database)" : p.audio_path.c_str(), sizes.c_str());
}

}  // namespace

VoiceStoreOptions voice_store_options(const Context& ctx) {
  VoiceStoreOptions o;
  o.database = ctx.database;
  return o;
}

void register_voices(CLI::App& app, const ContextPtr& ctx) {
  auto a = std::make_shared<VoicesArgs>();
  CLI::App* voices =
      app.add_subcommand("voices", "Saved voice profiles: clone once, reuse with --voice NAME");
  voices->require_subcommand(1);

  CLI::App* add =
      voices->add_subcommand("add", "Check a reference clip, clone it and save the voice");
  add->add_option("name", a->name, "Name of the voice (letters, digits, '_', '-', '.')")
      ->required();
  add->add_option("--audio", a->audio, "Reference audio: 5-30 s of clear speech by one speaker")
      ->required();
  add->add_option("--text", a->text,
                  "Transcript of the reference audio (clones closer to the voice)");
  add->add_option("--consent", a->consent, "Who agreed to the cloning, and when");
  add->add_option("-m,--model", a->model, "Model to clone with (default qwen3-tts-0.6b-base)");
  add->add_flag("--force", a->force, "Replace a voice of the same name");
  add->add_flag("--no-preprocess", a->no_preprocess,
                "Keep the clip as it is (no silence trimming or 30 s cut)");
  add->add_option("-t,--threads", a->threads, "Worker threads (0 = all cores)")
      ->check(zero_or_more());
  add->callback([a, ctx] {
    VoiceStore store(voice_store_options(*ctx));
    VoiceStore::check_name(a->name);
    if (store.contains(a->name) && !a->force)
      throw Error(ErrorKind::kInvalidArgument,
                  "a voice named '" + a->name + "' already exists; use --force to replace it");
    const Audio audio = read_audio(a->audio);
    ModelOptions mo{a->threads};
    mo.codec = CodecPrecision::kBf16;  // as izwi tts decodes: the state prepared below is its
    auto model = TtsModel::load(
        resolve_model(*ctx, a->model.empty() ? default_model_name() : a->model, true), mo);
    ReferenceOptions ro;
    ro.preprocess = !a->no_preprocess;
    const Voice v = model->clone_voice(audio, a->text, ro);
    print_reference_notes(v);
    const VoiceProfile p = store.save(a->name, *model, v, a->consent, a->force);
    std::printf("saved voice '%s' (%.1f s, %s) in %s\nuse it with: izwi tts \"...\" --voice %s\n",
                p.name.c_str(), p.duration_s,
                p.transcript.empty() ? "x-vector only" : "with transcript", store.dir().c_str(),
                p.name.c_str());
    // The decoder's state after the reference, kept beside the model, so the
    // first `izwi tts --voice` does not decode the reference before its audio.
    model->prepare_voice(store.load(a->name, *model));
  });

  CLI::App* list = voices->add_subcommand("list", "Saved voices");
  list->callback([ctx] {
    VoiceStore store(voice_store_options(*ctx));
    const auto all = store.list();
    if (all.empty())
      std::printf("no saved voices (add one with: izwi voices add NAME --audio ref.wav)\n");
    for (const auto& p : all)
      std::printf("%-24s %6.1f s  %-14s %s\n", p.name.c_str(), p.duration_s,
                  p.transcript.empty() ? "x-vector only" : "+ transcript", p.created_at.c_str());
  });

  CLI::App* show = voices->add_subcommand("show", "Details of a saved voice");
  show->add_option("name", a->name, "Voice name")->required();
  show->add_flag("--json", a->json, "The reference report as JSON");
  show->callback([a, ctx] {
    VoiceStore store(voice_store_options(*ctx));
    const VoiceProfile p = store.get(a->name);
    if (a->json)
      std::printf("%s\n", p.report_json.c_str());
    else
      print_profile(p);
  });

  CLI::App* rm = voices->add_subcommand("rm", "Delete a saved voice");
  rm->add_option("name", a->name, "Voice name")->required();
  rm->callback([a, ctx] {
    VoiceStore store(voice_store_options(*ctx));
    store.remove(a->name);
    std::printf("deleted voice '%s'\n", a->name.c_str());
  });

  CLI::App* verify = voices->add_subcommand(
      "verify",
      "Check the voice store: the database, and every voice's audio, codes and embeddings");
  verify->callback([ctx] {
    VoiceStore store(voice_store_options(*ctx));
    const auto problems = store.verify();
    for (const auto& p : problems) std::printf("problem: %s\n", p.c_str());
    if (!problems.empty())
      throw Error(ErrorKind::kInvalidFormat, std::to_string(problems.size()) +
                                                 " problem(s) in the voice store at " +
                                                 store.dir() + " (listed above)");
    std::printf("ok: %zu voices in %s\n", store.list().size(), store.dir().c_str());
  });

  CLI::App* mv = voices->add_subcommand("rename", "Give a saved voice another name");
  mv->add_option("name", a->name, "Voice name")->required();
  mv->add_option("new_name", a->new_name, "Its new name")->required();
  mv->callback([a, ctx] {
    VoiceStore store(voice_store_options(*ctx));
    try {
      store.rename(a->name, a->new_name);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kExists) throw;
      throw Error(e.kind(), std::string(e.what()) + "; pick another name, or remove that one " +
                                "first (izwi voices rm " + a->new_name + ")");
    }
    std::printf("renamed voice '%s' to '%s'\n", a->name.c_str(), a->new_name.c_str());
  });

  CLI::App* consent = voices->add_subcommand(
      "consent",
      "Record who agreed to the cloning of a saved voice, and when (izwi serve refuses "
      "saved voices without it)");
  consent->add_option("name", a->name, "Voice name")->required();
  consent->add_option("note", a->consent, "Who agreed, and when (e.g. \"Ann Lee, 2026-12-01\")")
      ->required();
  consent->callback([a, ctx] {
    VoiceStore store(voice_store_options(*ctx));
    store.set_consent(a->name, a->consent);
    std::printf("recorded consent for voice '%s': %s\n", a->name.c_str(), a->consent.c_str());
  });

  CLI::App* exp = voices->add_subcommand("export", "Write a voice to one self-contained file");
  exp->add_option("name", a->name, "Voice name")->required();
  CLI::Option* file =
      exp->add_option("file", a->file, "Output file (default NAME.izwi-voice.json; - for stdout)")
          ->check(writable_output(/*dash_is_stdout=*/true));
  exp->add_option("-o,--output", a->file, "The output file, as an option")
      ->check(writable_output(/*dash_is_stdout=*/true))
      ->excludes(file);
  exp->callback([a, ctx] {
    if (a->file.empty()) a->file = a->name + ".izwi-voice.json";
    VoiceStore store(voice_store_options(*ctx));
    const bool to_stdout = is_stdout(a->file);
    if (a->file == "-") {
      const std::string exported = store.export_voice(a->name);
      if (std::fwrite(exported.data(), 1, exported.size(), stdout) != exported.size() ||
          std::fflush(stdout) != 0)
        throw Error(ErrorKind::kIo,
                    std::string("writing the voice to stdout failed: ") + std::strerror(errno));
    } else {
      store.export_file(a->name, a->file);
    }
    std::fprintf(to_stdout ? stderr : stdout, "exported voice '%s' to %s\n", a->name.c_str(),
                 a->file == "-" ? "stdout" : a->file.c_str());
  });

  CLI::App* imp = voices->add_subcommand("import", "Add a voice from an exported file");
  imp->add_option("file", a->file, "A file written by `izwi voices export` (- for stdin)")
      ->required()
      ->check(CLI::Validator(
          [](std::string& path) { return path == "-" ? "" : CLI::ExistingFile(path); }, "FILE"));
  imp->add_option("--name", a->new_name, "Save it under another name");
  imp->add_flag("--force", a->force, "Replace a voice of the same name");
  imp->add_option("-m,--model", a->model,
                  "Model to prepare a voice with a transcript for (default: izwi tts's, when it "
                  "is installed; pulled if named here)");
  imp->add_flag("--no-prepare", a->no_prepare,
                "Leave the reference's decoding to the voice's first request");
  imp->add_option("-t,--threads", a->threads, "Worker threads (0 = all cores)")
      ->check(zero_or_more());
  imp->callback([a, ctx] {
    VoiceStore store(voice_store_options(*ctx));
    // A named model is found (or pulled) before anything is written.
    const std::string named =
        a->model.empty() || a->no_prepare ? "" : resolve_model(*ctx, a->model, /*cloning=*/true);
    std::string name;
    try {
      name = a->file == "-" ? store.import_voice(read_stdin(), "stdin", a->new_name, a->force)
                            : store.import_file(a->file, a->new_name, a->force);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kExists) throw;
      throw Error(e.kind(), std::string(e.what()) + "; --force replaces it, --name NEW keeps both");
    }
    std::printf("imported voice '%s'\n", name.c_str());
    if (a->no_prepare || store.get(name).transcript.empty()) return;  // x-vector: nothing to do
    // As `voices add` does: the decoder's state after the reference, kept
    // beside the model, so the first `izwi tts --voice` starts without
    // decoding the reference (1-3 s).
    const std::string dir =
        named.empty() ? installed_model(*ctx, default_model_name(), /*cloning=*/true) : named;
    if (dir.empty()) {
      std::fprintf(stderr,
                   "note: %s is not installed, so the voice is not prepared now: its first "
                   "request decodes the reference once (1-3 s) and keeps the result; or name "
                   "the model with -m\n",
                   default_model_name().c_str());
      return;
    }
    ModelOptions mo{a->threads};
    mo.codec = CodecPrecision::kBf16;  // as izwi tts decodes (see `voices add`)
    try {
      auto model = TtsModel::load(dir, mo);
      model->prepare_voice(store.load(name, *model));
    } catch (const Error& e) {  // the import itself is done and stays
      std::fprintf(stderr, "warning: the voice is imported but not prepared: %s\n", e.what());
      return;
    }
    std::printf("prepared it for %s\n", dir.c_str());
  });
}

void register_db(CLI::App& app, const ContextPtr& ctx) {
  CLI::App* db = app.add_subcommand(
      "db",
      "The saved-voice database: SQLite in IZWI_DATA_DIR, or PostgreSQL with --database / "
      "IZWI_DATABASE_URL");
  db->require_subcommand(1);
  CLI::App* status =
      db->add_subcommand("status", "Where the voices are, the schema version, how many");
  status->callback([ctx] {
    VoiceStore store(voice_store_options(*ctx));
    std::printf("voices:  %s\nschema:  version %d\ncount:   %zu voices\n", store.dir().c_str(),
                store.schema_version(), store.list().size());
  });
  CLI::App* migrate = db->add_subcommand(
      "migrate",
      "Create the schema, or bring an older one up to this izwi's version (opening the store "
      "does this too; run it once before starting replicas of a new version)");
  migrate->callback([ctx] {
    VoiceStore store(voice_store_options(*ctx));
    std::printf("ok: %s is at schema version %d\n", store.dir().c_str(), store.schema_version());
  });
}

}  // namespace izwi::cli
