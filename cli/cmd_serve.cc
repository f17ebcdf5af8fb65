// `izwi serve`: the HTTP API (src/server) with its options.
#include <cstdlib>

#include "commands.h"
#include "izwi/izwi.h"
#include "server/server.h"

namespace izwi::cli {

void register_serve(CLI::App& app, const ContextPtr& ctx) {
  auto o = std::make_shared<server::ServerOptions>();
  auto weights = std::make_shared<std::string>(kDefaultWeights);
  auto codec = std::make_shared<std::string>(kDefaultCodec);
  auto codec_thread = std::make_shared<std::string>("auto");
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the Web UI (open http://localhost:8080) and the HTTP API: POST /v1/audio/speech "
      "(clone from uploaded audio, saved voices, presets; OpenAI-compatible), /v1/voices, "
      "/v1/models, /healthz, /readyz, /metrics, /openapi.json");
  cmd->add_option("--host", o->host, "Address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("-p,--port", o->port, "Port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("-m,--model", o->models,
                  "Model name or checkpoint directory; repeat for more. The first is the "
                  "default (else IZWI_DEFAULT_MODEL or qwen3-tts-0.6b-base) and is loaded at "
                  "start; others load on first use");
  cmd->add_option("--api-key", o->api_key,
                  "Require 'Authorization: Bearer KEY' on every /v1 route (also IZWI_API_KEY)");
  cmd->add_option("--max-concurrent", o->max_concurrent, "Generations running at once")
      ->check(more_than_zero())
      ->capture_default_str();
  cmd->add_option("--queue", o->queue,
                  "Requests waiting for a generation slot; more get 429 with Retry-After")
      ->check(zero_or_more())
      ->capture_default_str();
  cmd->add_option("--max-upload-mb", o->max_upload_mb, "Largest request body (413 beyond)")
      ->check(more_than_zero())
      ->capture_default_str();
  cmd->add_option("--max-text-chars", o->max_text_chars, "Longest 'input' in characters")
      ->check(more_than_zero())
      ->capture_default_str();
  cmd->add_option("--max-audio-seconds", o->max_audio_seconds,
                  "Audio one request may generate at most (0: the model's own limit)")
      ->check(zero_or_more())
      ->capture_default_str();
  cmd->add_option("--memory-budget-mb", o->memory_budget_mb,
                  "Memory for running requests (KV caches, codec buffers, whole clips), by each "
                  "request's estimate: one that does not fit beside the running ones waits, one "
                  "larger than the budget gets 413. 0: half the memory available at start; -1: "
                  "no budget")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--max-header-kb", o->max_header_kb,
                  "Largest request line + headers in KiB (431 beyond)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--max-request-seconds", o->max_request_seconds,
                  "Longest a speech request may take, queue included (504 beyond; a stream "
                  "ends with an error). 0: no limit")
      ->check(zero_or_more())
      ->capture_default_str();
  cmd->add_option(
      "--cors", o->cors_origin,
      "Allow browsers on this origin (e.g. http://localhost:5173, or *) to call the API");
  cmd->add_option("--max-loaded-models", o->max_loaded_models,
                  "Models kept in memory; the least recently used beyond this is unloaded")
      ->check(more_than_zero())
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Model worker threads (0 = all cores)")
      ->check(zero_or_more());
  add_weights_option(cmd, *weights);
  add_codec_option(cmd, *codec);
  add_codec_thread_option(cmd, *codec_thread);
  cmd->add_option("--log-format", o->log_format, "One line per request: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--grace-seconds", o->grace_seconds,
                  "On SIGTERM/SIGINT: time in-flight requests get to finish before they are "
                  "cancelled")
      ->check(zero_or_more())
      ->capture_default_str();
  cmd->add_flag(
      "--allow-unconsented-voices", o->allow_unconsented_voices,
      "Speak with saved voices that have no consent note (otherwise 403 consent_required; "
      "see the README's ethics section)");
  cmd->add_flag("--worker", o->worker,
                "Also speak queued jobs (POST /v1/jobs) while no request is running");
  cmd->add_option("--job-lease-seconds", o->job_lease_seconds,
                  "With --worker: a claim on an utterance, renewed while speaking; a worker "
                  "that dies loses it after this long")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_option("--max-job-chars", o->max_job_chars, "All of one job's text, in characters")
      ->capture_default_str()
      ->check(more_than_zero());
  cmd->add_flag("--allow-pull", o->allow_pull,
                "Download a model a request names but that is not installed (default: 404 "
                "naming `izwi pull`)");
  cmd->add_option("--database-connections", o->database_connections,
                  "With --database: PostgreSQL connections this server opens at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->footer(
      "Saved voices and models are the same as the CLI's (IZWI_DATA_DIR, IZWI_MODELS_DIR): "
      "both may run at once. With the global --database postgresql://… (or IZWI_DATABASE_URL) "
      "saved voices live in PostgreSQL, shared by every server using it "
      "(izwi --database URL serve …; deploy/ has an nginx setup for several).\n"
      "Example:\n"
      "  izwi serve &\n"
      "  curl -X POST http://localhost:8080/v1/audio/speech -F model=qwen3-tts-0.6b-customvoice "
      "\\\n"
      "    -F \"input=Hello, this is my cloned voice\" -F reference_audio=@reference.wav "
      "--output cloned.wav");
  cmd->callback([o, weights, codec, codec_thread, ctx] {
    server::ServerOptions opts = *o;
    opts.weights = parse_weight_format(*weights);
    opts.codec = parse_codec_precision(*codec);
    opts.codec_thread = parse_codec_thread_use(*codec_thread);
    if (opts.api_key.empty())
      if (const char* k = std::getenv("IZWI_API_KEY")) opts.api_key = k;
    opts.offline = ctx->offline;
    opts.database = ctx->database;
    const int rc = server::run(opts);
    if (rc != 0)
      throw Error(ErrorKind::kInternal, "the server stopped with status " + std::to_string(rc));
  });
}

}  // namespace izwi::cli
