// The job queue over the store's JobRepository, and the worker that speaks
// its utterances. Parameters and utterances are stored as JSON.
#include "izwi/jobs.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "izwi/provenance.h"
#include "store/job_backend.h"

namespace izwi {

namespace {

using json = nlohmann::json;

std::string new_job_id() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "job_%08x%08x%08x", rd(), rd(), rd());
  return buf;
}

json params_json(const JobParams& p) {
  json j = {{"model", p.model},
            {"voice", p.voice},
            {"language", p.language},
            {"instruct", p.instruct},
            {"max_seconds", p.max_seconds}};
  if (p.seed) j["seed"] = *p.seed;
  return j;
}

json utterance_json(const JobUtterance& u) {
  json j = {{"text", u.text}};
  if (!u.voice.empty()) j["voice"] = u.voice;
  if (!u.language.empty()) j["language"] = u.language;
  if (!u.instruct.empty()) j["instruct"] = u.instruct;
  if (u.seed) j["seed"] = *u.seed;
  return j;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

JobQueue::JobQueue(VoiceStore& store) : store_(store) {}

std::string JobQueue::submit(const JobParams& params, const std::vector<JobUtterance>& utterances) {
  if (utterances.empty()) fail(ErrorKind::kInvalidArgument, "a job needs at least one utterance");
  std::vector<std::string> inputs;
  for (size_t i = 0; i < utterances.size(); ++i) {
    if (utterances[i].text.empty())
      fail(ErrorKind::kInvalidArgument, "utterance ", i, " of the job has no text");
    inputs.push_back(dump(utterance_json(utterances[i])));
  }
  const std::string id = new_job_id();
  repo().create(id, dump(params_json(params)), inputs);
  return id;
}

std::optional<JobStatus> JobQueue::status(const std::string& id) {
  const auto r = repo().find(id);
  if (!r) return std::nullopt;
  JobStatus s;
  s.id = r->id;
  s.created_at = r->created_at;
  s.total = static_cast<int>(r->items.size());
  bool started = false;
  for (const auto& i : r->items) {
    s.items.push_back({i.index, i.status, i.attempts, i.duration_s, i.error});
    s.done += i.status == "done";
    s.failed += i.status == "failed";
    started |= i.status != "queued";
  }
  if (r->cancelled)
    s.status = "cancelled";
  else if (s.done + s.failed == s.total)
    s.status = s.failed > 0 ? "failed" : "done";
  else
    s.status = started ? "running" : "queued";
  return s;
}

bool JobQueue::cancel(const std::string& id) {
  return repo().cancel(id);
}

std::optional<std::string> JobQueue::audio(const std::string& id, int index) {
  return repo().output(id, index);
}

int64_t JobQueue::waiting() {
  return repo().queued_items();
}

JobWorker::JobWorker(JobQueue& queue, ModelFor model_for, std::string name, double lease_seconds)
    : queue_(queue),
      model_for_(std::move(model_for)),
      name_(std::move(name)),
      lease_s_(lease_seconds) {}

bool JobWorker::run_one() {
  store::JobRepository& repo = queue_.repo();
  const std::optional<store::JobClaim> c = repo.claim(name_, lease_s_);
  if (!c) return false;
  try {
    const json p = json::parse(c->params_json);
    const json u = json::parse(c->input_json);
    const std::string voice_name = u.value("voice", p.value("voice", ""));
    const bool saved = !voice_name.empty() && queue_.voices().contains(voice_name);
    const auto model = model_for_(p.value("model", ""), saved);
    Voice voice;
    if (saved)
      voice = queue_.voices().load(voice_name, *model);
    else if (!voice_name.empty())
      voice = model->preset_voice(voice_name);
    SynthesisOptions o;
    o.language = u.value("language", p.value("language", "auto"));
    o.instruct = u.value("instruct", p.value("instruct", ""));
    if (u.contains("seed"))
      o.seed = u["seed"].get<uint64_t>();
    else if (p.contains("seed"))
      o.seed = p["seed"].get<uint64_t>() + static_cast<uint64_t>(c->index);
    if (p.value("max_seconds", 0.0) > 0) o.max_seconds = p["max_seconds"].get<double>();
    auto session = model->start(u.at("text").get<std::string>(), voice, o);
    // Renew the lease while speaking; a lost claim (another worker took the
    // utterance over) ends this attempt without writing anything.
    const auto renew_every = std::chrono::duration<double>(lease_s_ / 3);
    auto last = std::chrono::steady_clock::now();
    while (session->step()) {
      if (std::chrono::steady_clock::now() - last > renew_every) {
        if (!repo.renew(*c, lease_s_)) return true;
        last = std::chrono::steady_clock::now();
      }
    }
    const SynthesisResult r = session->finish();
    const Audio a{r.samples, r.sample_rate, 1};
    // Marked as every file izwi writes is (the speech API's labels: the model
    // asked for, the voice or "default").
    const std::string model_name = p.value("model", "");
    const AudioTags tags = provenance_tags(synthetic_speech(
        model_name.empty() ? "default" : model_name, voice_name.empty() ? "default" : voice_name));
    repo.finish(*c, encode_audio(a, AudioFormat::kWav, SampleFormat::kPcm16, tags), a.duration());
  } catch (const Error& e) {
    repo.fail(*c, e.what());
  } catch (const json::exception& e) {
    repo.fail(*c, std::string("bad job record: ") + e.what());
  } catch (const std::exception& e) {
    // Whatever the model callback throws (an unknown model): failed, not retried forever.
    repo.fail(*c, e.what());
  }
  return true;
}

}  // namespace izwi
