// POST /v1/audio/speech: text + a voice (uploaded reference audio, a saved
// voice, or a preset speaker) -> audio, whole or streamed.
#include <chrono>
#include <cstdio>
#include <random>

#include "izwi/base64.h"
#include "server/api_error.h"
#include "server/client_watch.h"
#include "server/handlers.h"
#include "server/request.h"

namespace izwi::server {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fixed(double v, int digits = 3) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// Header values are one line of printable ASCII.
std::string header_safe(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : ' ';
  return out;
}

struct SpeechRequest {
  std::string model, input, voice, instructions, language = "auto", reference_text;
  std::optional<std::string> reference_audio;
  AudioFormat format = AudioFormat::kWav;
  double speed = 1;
  std::string stream_format;  // "", "audio" or "sse"
  SynthesisOptions options;
};

AudioFormat response_format(const std::string& name) {
  if (name == "wav") return AudioFormat::kWav;
  if (name == "mp3") return AudioFormat::kMp3;
  if (name == "flac") return AudioFormat::kFlac;
  if (name == "opus") return AudioFormat::kOpus;
  if (name == "aac") return AudioFormat::kAac;
  if (name == "pcm") return AudioFormat::kRaw;
  throw ApiError(400, "unsupported_response_format",
                 "izwi cannot write '" + name +
                     "' audio; response_format must be wav, mp3, flac, opus, aac or pcm "
                     "(16-bit little-endian mono PCM at 24 kHz)",
                 "response_format");
}

SpeechRequest parse(const ServerState& st, const httplib::Request& req) {
  const RequestFields f(
      req, {"input", "model", "voice", "instructions", "language", "reference_text",
            "reference_audio", "response_format", "speed", "stream_format", "stream", "seed",
            "temperature", "top_p", "top_k", "repetition_penalty", "max_seconds", "min_seconds"});
  SpeechRequest r;
  r.input = f.text("input").value_or("");
  if (r.input.find_first_not_of(" \t\r\n") == std::string::npos)
    throw ApiError(400, "missing_input", "'input' (the text to speak) is missing or empty",
                   "input");
  check_input_length(characters(r.input), st.options.max_text_chars, "'input'", "--max-text-chars");
  r.model = f.text("model").value_or("");
  r.voice = f.voice("voice").value_or("");
  r.instructions = f.text("instructions").value_or("");
  r.language = f.text("language").value_or("auto");
  r.reference_text = f.text("reference_text").value_or("");
  r.reference_audio = f.bytes("reference_audio");
  if (r.reference_audio && r.reference_audio->empty())
    throw ApiError(400, "invalid_audio", "'reference_audio' is empty", "reference_audio");
  // OpenAI's default is mp3; the product page's multipart form gets a WAV file.
  r.format = response_format(f.text("response_format").value_or(f.multipart() ? "wav" : "mp3"));
  r.speed = f.number("speed").value_or(1.0);
  if (r.speed < TempoChanger::kMinSpeed || r.speed > TempoChanger::kMaxSpeed)
    throw ApiError(400, "invalid_value", "'speed' must be between 0.25 and 4.0", "speed");
  r.stream_format = f.text("stream_format").value_or("");
  if (!r.stream_format.empty() && r.stream_format != "audio" && r.stream_format != "sse")
    throw ApiError(400, "invalid_value", "'stream_format' must be \"audio\" or \"sse\"",
                   "stream_format");
  if (r.stream_format.empty() && f.boolean("stream").value_or(false)) r.stream_format = "audio";

  SynthesisOptions& o = r.options;
  o.language = r.language;
  o.instruct = r.instructions;
  if (auto seed = f.unsigned_integer("seed")) {
    o.seed = *seed;
  } else {
    // 53 bits: a seed must survive a JavaScript client's JSON numbers.
    o.seed = (std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32)) &
             ((uint64_t{1} << 53) - 1);
  }
  if (auto t = f.number("temperature")) {
    if (*t < 0)
      throw ApiError(400, "invalid_value", "'temperature' must be 0 or more", "temperature");
    if (*t == 0)
      o.greedy = true;
    else
      o.temperature = static_cast<float>(*t);
  }
  if (auto p = f.number("top_p")) {
    if (*p <= 0 || *p > 1)
      throw ApiError(400, "invalid_value", "'top_p' must be in (0, 1]", "top_p");
    o.top_p = static_cast<float>(*p);
  }
  if (auto k = f.integer("top_k")) {
    if (*k < 0 || *k > 1 << 20)
      throw ApiError(400, "invalid_value", "'top_k' must be 0 or more", "top_k");
    o.top_k = static_cast<int>(*k);
  }
  if (auto rp = f.number("repetition_penalty")) {
    if (*rp <= 0)
      throw ApiError(400, "invalid_value", "'repetition_penalty' must be positive",
                     "repetition_penalty");
    o.repetition_penalty = static_cast<float>(*rp);
  }
  if (auto ms = f.number("max_seconds")) {
    if (*ms < 0)
      throw ApiError(400, "invalid_value", "'max_seconds' must be 0 or more", "max_seconds");
    o.max_seconds = *ms;
  }
  if (auto ms = f.number("min_seconds")) {
    if (*ms < 0)
      throw ApiError(400, "invalid_value", "'min_seconds' must be 0 or more", "min_seconds");
    o.min_seconds = *ms;
  }
  // The server's cap on one request's audio (izwi serve --max-audio-seconds).
  const double cap = st.options.max_audio_seconds;
  if (cap > 0 && (o.max_seconds <= 0 || o.max_seconds > cap)) o.max_seconds = cap;
  return r;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s.empty() ? "(none)" : s;
}

// The model and the voice a request speaks with.
struct Speaker {
  std::shared_ptr<const TtsModel> model;
  Voice voice;
};

Speaker resolve_speaker(ServerState& st, SpeechRequest& r) {
  if (r.reference_audio) {
    if (!r.voice.empty())
      throw ApiError(400, "invalid_value", "give either 'reference_audio' or 'voice', not both",
                     "voice");
    Speaker s{st.models.get(r.model, true), {}};
    Audio clip;
    try {
      clip = read_audio_memory(r.reference_audio->data(), r.reference_audio->size(),
                               "reference_audio");
    } catch (const Error& e) {
      throw ApiError(400, "invalid_audio", e.what(), "reference_audio");
    }
    try {
      s.voice = s.model->clone_voice(clip, r.reference_text);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kInvalidArgument && e.kind() != ErrorKind::kInvalidFormat) throw;
      throw ApiError(400, "invalid_reference_audio", e.what(), "reference_audio");
    }
    return s;
  }
  if (!r.reference_text.empty())
    throw ApiError(400, "invalid_value", "'reference_text' goes with 'reference_audio'",
                   "reference_text");
  if (!r.voice.empty()) {
    VoiceStore& saved = st.voices;
    if (saved.contains(r.voice)) {
      // A real person's voice: only with their recorded agreement, unless the
      // operator chose otherwise.
      if (!st.options.allow_unconsented_voices && saved.get(r.voice).consent.empty())
        throw ApiError(403, "consent_required",
                       "the saved voice '" + r.voice +
                           "' has no consent note: record who agreed to the cloning, and when "
                           "(PATCH /v1/voices/" +
                           r.voice + " with 'consent', or izwi voices consent " + r.voice +
                           " \"...\"), or start the server with --allow-unconsented-voices",
                       "voice");
      Speaker s{st.models.get(r.model, true), {}};
      s.voice = st.saved_voice(r.voice, s.model);
      return s;
    }
    Speaker s{st.models.get(r.model, false), {}};
    const auto presets = s.model->speakers();
    std::string lower = r.voice;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(presets.begin(), presets.end(), lower) != presets.end()) {
      s.voice = s.model->preset_voice(r.voice);
      return s;
    }
    std::vector<std::string> names;
    for (const auto& p : saved.list()) names.push_back(p.name);
    std::vector<std::string> either = names;
    either.insert(either.end(), presets.begin(), presets.end());
    throw ApiError(400, "voice_not_found",
                   "unknown voice '" + r.voice + "'" + did_you_mean(r.voice, either) +
                       "; saved voices: " + join(names) + "; preset speakers of this model: " +
                       join(presets) + "; or upload 'reference_audio' to clone a voice",
                   "voice");
  }
  Speaker s{st.models.get(r.model, false), {}};
  if (s.model->model_type() == "voice_design" && !r.instructions.empty()) return s;
  throw ApiError(400, "missing_voice",
                 "say whose voice to use: upload 'reference_audio' (5-30 s of speech) to clone "
                 "it, name a saved voice or preset speaker in 'voice', or describe a voice in "
                 "'instructions' with a VoiceDesign model",
                 "voice");
}

std::string warnings_header(const Voice& v) {
  std::string s;
  for (const auto& i : v.report.issues) s += (s.empty() ? "" : "; ") + i.code + ": " + i.message;
  return header_safe(s);
}

void set_common_headers(httplib::Response& res, const SpeechRequest& r, const Speaker& sp) {
  res.set_header("X-Izwi-Seed", std::to_string(*r.options.seed));
  if (!sp.voice.report.issues.empty())
    res.set_header("X-Izwi-Reference-Warnings", warnings_header(sp.voice));
}

// Every response says it is synthetic speech (izwi/provenance.h): which model,
// which voice (a saved voice's id, a preset, or the uploaded reference).
AudioTags response_tags(const ServerState& st, const SpeechRequest& r) {
  return provenance_tags(synthetic_speech(st.models.name_of(r.model), r.reference_audio
                                                                          ? "reference audio"
                                                                      : r.voice.empty() ? "default"
                                                                                        : r.voice));
}

ApiError request_timeout(double limit) {
  return ApiError(504, "request_timeout",
                  "the request took longer than this server allows (" + fixed(limit) +
                      " s, izwi serve --max-request-seconds): ask for less audio (max_seconds) "
                      "or split the text into several requests");
}

// A streamed response's state, owned by the content provider.
struct Stream {
  std::unique_ptr<Admission::Ticket> ticket;
  Speaker speaker;
  std::unique_ptr<SynthesisSession> session;
  std::unique_ptr<SessionRegistration> registration;
  std::unique_ptr<AudioEncoder> encoder;
  std::unique_ptr<TempoChanger> tempo;
  bool sse = false, generation_done = false, sent_all = false;
  std::string pending;  // encoded bytes not yet written
  Clock::time_point start;
  double first_audio = -1;
  double audio_seconds = 0;
  SynthesisResult result;
  std::vector<float> head;  // the first seconds (before any tempo change), for the similarity
  uint64_t seed = 0;
  int rate = 24000;
  AudioTags tags;  // the synthetic-speech mark (also in the encoded bytes)
  Clock::time_point deadline = Clock::time_point::max();  // --max-request-seconds
  double max_request_seconds = 0;
  int error_status = 0;  // the generation failed after the headers went out

  void emit(const std::string& bytes) {
    if (bytes.empty()) return;
    if (first_audio < 0) first_audio = since(start);
    if (!sse) {
      pending += bytes;
      return;
    }
    pending +=
        "data: " +
        json_text(nlohmann::json{{"type", "speech.audio.delta"}, {"audio", base64_encode(bytes)}}) +
        "\n\n";
  }
  void on_samples(const float* x, size_t n, bool final) {
    const auto keep = static_cast<size_t>(TtsModel::kSimilaritySeconds * rate);
    if (head.size() < keep) head.insert(head.end(), x, x + std::min(n, keep - head.size()));
    std::vector<float> out;
    if (tempo) {
      out = tempo->process(x, n, final);
      x = out.data();
      n = out.size();
    }
    audio_seconds += static_cast<double>(n) / rate;
    if (n > 0) emit(encoder->write(x, n));
  }
};

void stream_response(ServerState& st, httplib::Response& res, SpeechRequest& r, Speaker sp,
                     std::unique_ptr<Admission::Ticket> ticket, const LogPtr& log,
                     Clock::time_point deadline) {
  auto s = std::make_shared<Stream>();
  s->deadline = deadline;
  s->max_request_seconds = st.options.max_request_seconds;
  s->ticket = std::move(ticket);
  s->sse = r.stream_format == "sse";
  s->tags = response_tags(st, r);
  s->encoder = std::make_unique<AudioEncoder>(r.format, sp.model->sample_rate(),
                                              SampleFormat::kPcm16, s->tags);
  if (r.speed != 1.0) s->tempo = std::make_unique<TempoChanger>(sp.model->sample_rate(), r.speed);
  s->seed = *r.options.seed;
  s->rate = sp.model->sample_rate();
  std::weak_ptr<Stream> weak = s;
  r.options.keep_audio = false;  // a long text's stream holds only the chunk being spoken
  r.options.on_audio = [weak](const float* x, int64_t n) {
    if (auto p = weak.lock()) p->on_samples(x, static_cast<size_t>(n), false);
    return true;
  };
  s->session = sp.model->start(r.input, sp.voice, r.options);
  s->registration = std::make_unique<SessionRegistration>(st, s->session.get());
  s->speaker = std::move(sp);
  s->start = Clock::now();
  set_common_headers(res, r, s->speaker);
  log->deferred = true;
  log->seed = s->seed;
  ServerState* state = &st;
  const std::string type = s->sse ? "text/event-stream" : audio_content_type(r.format);
  res.set_header("Cache-Control", "no-store");
  res.set_chunked_content_provider(
      type,
      [s](size_t, httplib::DataSink& sink) {
        try {
          while (s->pending.empty() && !s->generation_done) {
            if (Clock::now() > s->deadline) throw request_timeout(s->max_request_seconds);
            if (!s->session->step_batched()) {
              s->generation_done = true;
              s->result = s->session->finish();  // hands out the last block
              s->on_samples(nullptr, 0, true);
              s->emit(s->encoder->finish());
            }
          }
        } catch (const std::exception& e) {
          // Headers are gone already: an SSE client gets an error event (and
          // a well-formed end of the stream), an audio client a cut stream (no
          // terminating chunk).
          nlohmann::json error = {{"message", e.what()}};
          s->error_status = 500;
          if (const auto* api = dynamic_cast<const ApiError*>(&e)) {
            error["code"] = api->code;
            s->error_status = api->status;
          }
          if (!s->sse) return false;
          const std::string ev =
              "data: " + json_text(nlohmann::json{{"type", "error"}, {"error", error}}) + "\n\n";
          if (sink.write(ev.data(), ev.size())) sink.done();
          return false;
        }
        if (!s->pending.empty()) {
          if (!sink.write(s->pending.data(), s->pending.size())) return false;
          s->pending.clear();
        }
        if (s->generation_done) {
          if (s->sse) {
            const double wall = since(s->start);
            const auto frames = s->result.codes.frames;
            const auto input = static_cast<int64_t>(s->result.text_ids.size());
            const std::optional<double> similarity = s->speaker.model->speaker_similarity(
                s->speaker.voice, Audio{s->head, s->result.sample_rate, 1});
            const nlohmann::json done = {
                {"type", "speech.audio.done"},
                {"usage",
                 {{"input_tokens", input},
                  {"output_tokens", frames},
                  {"total_tokens", input + frames}}},
                {"izwi",
                 {{"seed", s->seed},
                  {"audio_seconds", s->audio_seconds},
                  {"chunks", s->result.chunks.size()},
                  {"real_time_factor", s->audio_seconds > 0 ? wall / s->audio_seconds : 0.0},
                  {"time_to_first_audio", s->first_audio},
                  {"speaker_similarity", similarity ? nlohmann::json(std::stod(fixed(*similarity)))
                                                    : nlohmann::json(nullptr)},
                  // The synthetic-speech mark, for clients that write files themselves.
                  {"tags",
                   {{"title", s->tags.title},
                    {"artist", s->tags.artist},
                    {"comment", s->tags.comment},
                    {"software", s->tags.software},
                    {"date", s->tags.date}}}}}};
            const std::string ev = "data: " + json_text(done) + "\n\n";
            if (!sink.write(ev.data(), ev.size())) return false;
          }
          s->sent_all = true;
          sink.done();
        }
        return true;
      },
      [s, state, log](bool success) {
        if (!s->sent_all) s->session->cancel();
        const double wall = since(s->start);
        state->metrics.generation(
            s->audio_seconds, s->audio_seconds > 0 ? wall / s->audio_seconds : 0.0, s->first_audio);
        log->audio_seconds = s->audio_seconds;
        log->rtf = s->audio_seconds > 0 ? wall / s->audio_seconds : 0.0;
        if (s->error_status > 0)
          log->status = s->error_status;
        else if (!success || !s->sent_all)
          log->status = 499;  // the client went away
        s->registration.reset();
        s->ticket.reset();  // frees the slot now, not when httplib drops the provider
        if (log->done) log->done(*log);
      });
}

// The memory a request is admitted with (0: no budget, or no model loaded to
// estimate with). Before the voice is resolved, an ICL voice is assumed at its
// longest reference; the 0.6B and 1.7B models' caches are the same size.
size_t memory_need(ServerState& st, const SpeechRequest& r) {
  if (st.admission.budget_bytes() == 0) return 0;
  const bool cloning = r.reference_audio.has_value() || !r.voice.empty();
  const auto model = st.models.peek(r.model, cloning);
  if (!model) return 0;
  Voice v;
  if (cloning) v.xvector.resize(1);  // a cloned voice: the similarity is computed after
  if (!r.reference_text.empty() || !r.voice.empty()) {
    const double frame_rate = 12.5;
    v.reference_codes.frames =
        static_cast<int64_t>(std::ceil(ReferenceOptions{}.max_seconds * frame_rate));
    v.reference_text_ids.resize(std::max<size_t>(r.reference_text.size(), 512));
  }
  SynthesisOptions o = r.options;
  if (!r.stream_format.empty()) {
    o.stream_audio = true;
    o.keep_audio = false;
  }
  try {
    return model->memory_estimate(r.input, v, o);
  } catch (const Error&) {
    return 0;  // start() says what is wrong with the request
  }
}

}  // namespace

void handle_speech(ServerState& st, const httplib::Request& req, httplib::Response& res,
                   const LogPtr& log) {
  SpeechRequest r = parse(st, req);
  const ClientWatch watch(req.remote_addr, req.remote_port, req.local_port);
  log->memory_estimate = memory_need(st, r);
  auto ticket = st.admission.enter([&] { return watch.gone(); }, log->memory_estimate);
  const double limit = st.options.max_request_seconds;
  const auto deadline = limit > 0 ? log->start + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(limit))
                                  : Clock::time_point::max();
  if (Clock::now() > deadline) throw request_timeout(limit);  // waited in the queue too long
  Speaker sp = resolve_speaker(st, r);
  if (!r.stream_format.empty())
    return stream_response(st, res, r, std::move(sp), std::move(ticket), log, deadline);

  // Whole response: generate, then send with headers that report the run.
  bool client_gone = false, timed_out = false;
  r.options.on_frame = [&](const FrameProgress&) {
    client_gone = client_gone || watch.gone();
    timed_out = timed_out || Clock::now() > deadline;
    return !client_gone && !timed_out;
  };
  const auto t0 = Clock::now();
  auto session = sp.model->start(r.input, sp.voice, r.options);
  SynthesisResult result;
  {
    SessionRegistration reg(st, session.get());
    while (session->step_batched()) {
    }
    if (client_gone) {
      // Nobody will hear it: skip decoding, free the slot now.
      log->audio_seconds = session->audio_seconds();
      log->rtf = 0;
      throw ApiError(499, "client_closed_request", "the client went away");
    }
    if (timed_out) {
      log->audio_seconds = session->audio_seconds();
      log->rtf = 0;
      throw request_timeout(limit);
    }
    result = session->finish();
  }
  ticket.reset();
  if (result.cancelled && st.draining)
    throw ApiError(503, "shutting_down", "the server shut down during generation");
  // How close the take sounds to a cloned voice (before any tempo change).
  const std::optional<double> similarity =
      sp.model->speaker_similarity(sp.voice, Audio{result.samples, result.sample_rate, 1});
  Audio audio{std::move(result.samples), result.sample_rate, 1};
  if (r.speed != 1.0) audio = change_tempo(audio, r.speed);
  const double wall = since(t0);
  const double seconds = audio.duration();
  const double rtf = seconds > 0 ? wall / seconds : 0.0;
  res.set_content(encode_audio(audio, r.format, SampleFormat::kPcm16, response_tags(st, r)),
                  audio_content_type(r.format));
  set_common_headers(res, r, sp);
  res.set_header("X-Izwi-Audio-Seconds", fixed(seconds));
  res.set_header("X-Izwi-Real-Time-Factor", fixed(rtf));
  res.set_header("X-Izwi-Time-To-First-Audio", fixed(wall));  // the whole clip, at the end
  res.set_header("X-Izwi-Stopped-On-Eos", result.stopped_on_eos ? "true" : "false");
  res.set_header("X-Izwi-Chunks", std::to_string(result.chunks.size()));
  if (similarity) res.set_header("X-Izwi-Speaker-Similarity", fixed(*similarity));
  st.metrics.generation(seconds, rtf, -1);
  log->audio_seconds = seconds;
  log->rtf = rtf;
  log->seed = result.seed;
}

}  // namespace izwi::server
