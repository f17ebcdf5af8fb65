// SynthesisSession: one request run step by step (prefill, then frames), with
// audio decoded block by block while it runs when streaming.
#include "pipeline/session.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/thread_scratch.h"
#include "pipeline/audio_out.h"
#include "pipeline/codec_prefix_cache.h"
#include "pipeline/voice_cache.h"

namespace izwi {

namespace {

// The streaming codec state after the voice's reference codes (ICL), from the
// voice's cache (a cache of this call's own when the voice has none), which a
// saved voice fills from a file beside the model when one is there; a fresh
// state for other voices. `tail` gets the reference audio's last samples.
pipeline::CodecPrefix decode_prefix(ThreadPool* pool, const codec::CodecDecoder& decoder,
                                    const AudioCodes& ref) {
  pipeline::CodecPrefix p{codec::ChunkedStream(decoder), {}};
  std::vector<float> audio;  // of the reference's last chunk; the ones before are not decoded
  const int64_t skip = pipeline::reference_chunks_before(ref.frames);
  p.state.push(pool, ref.values.data(), skip, nullptr);
  p.state.push(pool, ref.values.data() + skip * ref.num_codebooks, ref.frames - skip, &audio);
  const auto n = std::min<std::ptrdiff_t>(pipeline::kCodecPrefixTail,
                                          static_cast<std::ptrdiff_t>(audio.size()));
  p.tail.assign(audio.end() - n, audio.end());
  return p;
}

codec::ChunkedStream codec_prefix(ThreadPool* pool, const pipeline::Codec& codec,
                                  const Voice& voice, std::vector<float>& tail) {
  const codec::CodecDecoder& decoder = *codec.decoder;
  if (!voice.icl()) return codec::ChunkedStream(decoder);
  const AudioCodes& ref = voice.reference_codes;
  VoiceCache own;
  VoiceCache& cache = voice.cache ? *voice.cache : own;
  std::lock_guard<std::mutex> lock(cache.mu);  // concurrent first uses compute it once
  auto it = std::find_if(cache.prefixes.begin(), cache.prefixes.end(), [&](const auto& p) {
    return p.decoder == &decoder && p.codes == ref.values;
  });
  if (it == cache.prefixes.end()) {
    std::optional<pipeline::CodecPrefix> p;
    if (cache.keep_on_disk) p = pipeline::read_codec_prefix(codec, ref);
    const bool from_file = p.has_value();
    if (!p) {
      p.emplace(decode_prefix(pool, decoder, ref));
      if (cache.keep_on_disk) pipeline::write_codec_prefix(codec, ref, *p);
    }
    cache.prefixes.push_back({&decoder, ref.values,
                              std::make_shared<codec::ChunkedStream>(std::move(p->state)),
                              std::move(p->tail), from_file});
    it = cache.prefixes.end() - 1;
  }
  tail = it->tail;
  return *it->state;
}

}  // namespace

void TtsModel::prepare_voice(const Voice& voice) const {
  const ThreadScratchRelease release;
  std::vector<float> tail;
  (void)codec_prefix(impl_->pool.get(), impl_->codec, voice, tail);
}

SynthesisSession::SynthesisSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SynthesisSession::~SynthesisSession() {
  if (!impl_) return;  // a long text's chunk, its state moved into the long text's session
  {
    // A session dropped before its end no longer holds up step_batched's batches.
    TtsModel::Impl::Batcher& b = *impl_->model.batcher;
    std::lock_guard<std::mutex> lock(b.mu);
    b.active.erase(this);
  }
  // The kernels' buffers this thread grew for the request (a server's
  // connection threads would each keep the largest; core/thread_scratch.h).
  release_thread_scratch();
}

void SynthesisSession::cancel() {
  if (chain_) {
    std::lock_guard<std::mutex> lock(chain_->mu);
    chain_->cancel.store(true);
    impl_->cancel_requested.store(true);
    return;
  }
  impl_->cancel_requested.store(true);
}
bool SynthesisSession::done() const {
  return chain_ ? chain_->finished : impl_->done;
}
int64_t SynthesisSession::frames() const {
  const int64_t current = impl_->generation ? impl_->generation->result().frames : 0;
  return chain_ && !chain_->finished ? chain_->frames_done + current
         : chain_                    ? chain_->frames_done
                                     : current;
}
double SynthesisSession::audio_seconds() const {
  return static_cast<double>(frames()) / impl_->frame_rate;
}

std::vector<float> SynthesisSession::take_audio() {
  if (chain_) {
    std::vector<float> out;
    out.swap(chain_->pending);
    return out;
  }
  Impl& s = *impl_;
  std::vector<float> out(s.audio.begin() + static_cast<std::ptrdiff_t>(s.taken), s.audio.end());
  s.taken = s.audio.size();
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

// How long a step_batched leader waits for the other running sessions to ask
// for their next step: a few ms against steps of tens to hundreds of ms.
constexpr auto kGatherWait = std::chrono::milliseconds(5);
// From this many streaming sessions in one step, their later audio blocks are
// decoded on the model's codec thread while the frames run on the stepping
// thread alone (pipeline/codec_thread.h).
constexpr int64_t kCodecThreadStreams = 2;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Several sessions' audio blocks. First blocks come first, each on the whole
// pool: a listener is waiting for them. Of the others, as many at once as the
// pool has threads, each decoded by one thread alone, then the rest (fewer than
// the threads) one after another on the whole pool. Two blocks side by side on
// this machine's two cores decoded 10 ms of work per frame against 11.5-13 for
// one block at a time split over both: no loop waits for the other core, and
// each core keeps its own block's signals in its caches (four q4 streams: 2.48-
// 3.42 s of audio per second before, 3.46-3.86 after). The audio is the same
// either way (the codec's loops split outputs, never a sum).
void decode_blocks(ThreadPool* pool, const std::vector<SynthesisSession::Impl*>& due) {
  std::vector<SynthesisSession::Impl*> later;
  for (SynthesisSession::Impl* s : due) {
    if (s->decoded_frames == 0)
      s->codec_s += s->decode_block(pool);
    else
      later.push_back(s);
  }
  const size_t threads = pool ? static_cast<size_t>(pool->size()) : 1;
  const size_t together = threads > 1 ? later.size() / threads * threads : 0;
  if (together > 0) {
    // Each is charged its share of the wall time (the blocks ran at once).
    const auto t0 = Clock::now();
    pool->parallel_for_dynamic(static_cast<int64_t>(together), 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) later[static_cast<size_t>(i)]->decode_block(nullptr);
    });
    const double share = seconds_since(t0) / static_cast<double>(together);
    for (size_t i = 0; i < together; ++i) later[i]->codec_s += share;
  }
  for (size_t i = together; i < later.size(); ++i)
    later[i]->codec_s += later[i]->decode_block(pool);
}

}  // namespace

// The part of a step before its frame: false if the step is over already
// (done, cancelled, or the first step, which is the prompt).
bool SynthesisSession::Impl::begin_step() {
  Impl& s = *this;
  if (s.done) return false;
  if (s.cancel_requested.load()) {
    s.cancelled = s.done = true;
    s.drop_codec_jobs();
    return false;
  }
  const TtsModel::Impl& m = s.model;
  ThreadPool* pool = m.pool.get();
  if (!s.generation) {
    s.started = Clock::now();
    s.generation =
        std::make_unique<tts::Generation>(pool, *m.talker, *m.code_predictor, s.prompt, s.generate);
    s.generation->prefill();
    if (s.streaming()) {
      const auto t0 = Clock::now();
      s.codec.emplace(codec_prefix(pool, m.codec, s.voice, s.reference_tail));
      s.codec_s += seconds_since(t0);
    }
    s.total_s = seconds_since(s.started);
    return false;
  }
  return true;
}

bool SynthesisSession::step() {
  if (done()) return false;
  Impl& s = *impl_;
  if (s.begin_step()) s.end_step(s.generation->step());
  advance();
  return !done();
}

void SynthesisSession::step_all(const std::vector<SynthesisSession*>& sessions) {
  step_frames(sessions);
  for (SynthesisSession* p : sessions) p->advance();
}

void SynthesisSession::step_frames(const std::vector<SynthesisSession*>& sessions) {
  // Frames of the sessions past their prompt go through the talker and code
  // predictor together; the prompts, audio blocks and callbacks stay per session.
  std::vector<SynthesisSession*> going;
  for (SynthesisSession* p : sessions)
    if (p->impl_->begin_step()) going.push_back(p);
  if (going.empty()) return;
  const TtsModel::Impl& m = going[0]->impl_->model;
  std::vector<tts::Generation*> gens;
  for (SynthesisSession* p : going) {
    if (&p->impl_->model != &m)
      fail(ErrorKind::kInvalidArgument, "step_all: the sessions belong to different models");
    gens.push_back(p->impl_->generation.get());
  }
  // Later audio blocks go to the codec thread when enough streams step
  // together; the frames then run on this thread alone while it decodes.
  pipeline::CodecThread* codec_thread = m.codec_thread.get();
  int64_t streams = 0, block_frames = 0;
  for (SynthesisSession* p : going)
    if (p->impl_->streaming()) {
      ++streams;
      block_frames += p->impl_->options.block_frames;
    }
  const bool to_thread = codec_thread && streams >= kCodecThreadStreams;
  std::unique_ptr<bool[]> produced(new bool[gens.size()]);
  {
    std::lock_guard<std::mutex> lock(m.batch_mu);  // the model's one batch scratch
    // The frames' loops run on this thread alone while the codec thread
    // decodes, and on the whole pool from the loop after it falls idle.
    std::optional<ThreadPool::SoloWhile> solo;
    if (codec_thread) solo.emplace(m.pool.get(), codec_thread->busy_flag());
    tts::step_together(gens.data(), static_cast<int64_t>(gens.size()), *m.batch, produced.get(),
                       m.pool.get());
    int64_t frames = 0;
    for (size_t i = 0; i < gens.size(); ++i) frames += produced[i];
    if (frames > 0) {
      ++m.batch_stats.steps;
      m.batch_stats.frames += frames;
      m.batch_stats.largest = std::max(m.batch_stats.largest, frames);
    }
  }
  std::vector<Impl*> due;  // sessions with an audio block to decode now
  int64_t handed = 0;      // blocks handed to the codec thread
  for (size_t i = 0; i < going.size(); ++i) {
    Impl& s = *going[i]->impl_;
    const size_t jobs = s.codec_jobs.size();
    s.after_frame(produced[i], to_thread);
    handed += s.codec_jobs.size() > jobs;
    s.settle_codec_jobs();
    if (s.block_now > 0) due.push_back(&s);
  }
  if (handed > 0) {
    std::lock_guard<std::mutex> lock(m.batch_mu);
    m.batch_stats.codec_thread_blocks += handed;
  }
  // Keep up with the codec thread: when more than a round of blocks waits
  // there, this thread decodes some of them (the frames wait meanwhile).
  if (to_thread) codec_thread->take_behind(block_frames);
  decode_blocks(m.pool.get(), due);
  for (SynthesisSession* p : going) {
    p->impl_->collect_codec_jobs(false);
    p->impl_->finish_step();
  }
}

bool SynthesisSession::step_batched() {
  Impl& s = *impl_;
  TtsModel::Impl::Batcher& b = *s.model.batcher;
  std::unique_lock<std::mutex> lock(b.mu);
  s.batch_stepped = false;
  s.batch_error = nullptr;
  b.active.insert(this);
  b.waiting.push_back(this);
  b.cv.notify_all();  // a leader gathering its batch may be waiting for this one
  while (!s.batch_stepped) {
    if (b.running) {
      b.cv.wait(lock);
      continue;
    }
    // Lead: step every session waiting now, this one included. The others
    // that are running come back for their next step a moment after the last
    // batch ended (their threads hand out audio in between); wait for them a
    // little, or a thread that is always first would step alone, then the
    // next alone, and so on. Sessions that ask meanwhile wait for the next batch.
    b.running = true;
    const auto deadline = Clock::now() + kGatherWait;
    while (b.waiting.size() < b.active.size() &&
           b.cv.wait_until(lock, deadline) != std::cv_status::timeout) {
    }
    std::vector<SynthesisSession*> batch;
    batch.swap(b.waiting);
    lock.unlock();
    std::exception_ptr error;
    try {
      step_frames(batch);
    } catch (...) {
      error = std::current_exception();  // whose it was is not known: all of them get it
    }
    lock.lock();
    for (SynthesisSession* p : batch) {
      p->impl_->batch_stepped = true;
      p->impl_->batch_error = error;
    }
    b.running = false;
    b.cv.notify_all();
  }
  const std::exception_ptr error = s.batch_error;
  lock.unlock();
  if (!error) advance();  // a long text's next chunk, on this session's own thread
  if (done() || error) {
    lock.lock();
    b.active.erase(this);
  }
  if (error) std::rethrow_exception(error);
  return !done();
}

// The part of a step after its frame, up to the audio block due now: progress,
// a block decoded on the side that is ready, a block for the side thread.
// Leaves in `block_now` the frames of a block to decode on this thread (0: none).
void SynthesisSession::Impl::after_frame(bool produced, bool to_codec_thread) {
  Impl& s = *this;
  const TtsModel::Impl& m = s.model;
  tts::Generation& gen = *s.generation;
  s.stop_now = false;
  s.block_now = 0;
  if (produced && s.options.on_frame) {
    const int64_t frame = gen.result().frames - 1;
    s.stop_now =
        !s.options.on_frame(FrameProgress{frame, gen.last_frame(), m.code_predictor->groups(),
                                          static_cast<double>(frame + 1) / s.frame_rate});
  }
  s.over_now = s.stop_now || gen.finished();
  if (!s.streaming()) return;
  const int64_t G = m.code_predictor->groups();
  const int64_t pending = gen.result().frames - s.decoded_frames;
  const bool block_due = pending > 0 && (pending >= s.due_frames() || s.over_now);
  // A block decoded on the side: handed out as soon as it is ready, and
  // waited for when the next block is due (or at the end), so blocks are cut
  // at the same frames whatever the timing: the audio does not depend on it.
  if (s.codec_job.valid() &&
      (s.over_now || block_due ||
       s.codec_job.wait_for(std::chrono::seconds(0)) == std::future_status::ready)) {
    s.codec_job.get();  // rethrows the decoder's error, if any
    const size_t before = s.audio.size();
    s.audio.insert(s.audio.end(), s.job_audio.begin(), s.job_audio.end());
    if (!deliver(before)) s.stop_now = true;
  }
  if (s.stop_now || !block_due) return;
  if (to_codec_thread && s.decoded_frames > 0) {
    // The first block stays on the stepping thread (time to first audio).
    auto job = std::make_shared<pipeline::CodecThread::Job>();
    job->owner = &s;
    job->stream = &*s.codec;
    const int32_t* codes = gen.result().codes.data() + s.decoded_frames * G;
    job->codes.assign(codes, codes + pending * G);
    job->frames = pending;
    s.codec_jobs.push_back(job);
    m.codec_thread->submit(std::move(job));
    s.block_decoded(pending);
    return;
  }
  if (s.options.overlap_codec && s.decoded_frames > 0 && !s.over_now) {
    // The first block stays on this thread (time to first audio); later
    // ones decode serially on their own thread, the pool left to the frames.
    const int32_t* codes = gen.result().codes.data() + s.decoded_frames * G;
    s.job_codes.assign(codes, codes + pending * G);
    s.job_audio.clear();
    codec::ChunkedStream* stream = &*s.codec;
    s.codec_job = std::async(std::launch::async, [&s, stream, pending] {
      const auto t0 = Clock::now();
      stream->push(nullptr, s.job_codes.data(), pending, &s.job_audio);
      s.codec_side_s += std::chrono::duration<double>(Clock::now() - t0).count();
    });
    s.block_decoded(pending);
    return;
  }
  s.block_now = pending;
}

// Decodes the block after_frame left due, on `pool` (null: on this thread
// alone); returns the seconds it took (the caller charges codec_s).
double SynthesisSession::Impl::decode_block(ThreadPool* pool) {
  Impl& s = *this;
  const int64_t G = s.model.code_predictor->groups();
  const int32_t* codes = s.generation->result().codes.data() + s.decoded_frames * G;
  s.block_start = s.audio.size();
  const auto t0 = Clock::now();
  s.codec->push(pool, codes, s.block_now, &s.audio);
  return seconds_since(t0);
}

// Frames in the next audio block: the first after first_block_frames; each
// later one twice the last, up to block_frames (a short first wait without
// small blocks forever).
int64_t SynthesisSession::Impl::due_frames() const {
  return decoded_frames == 0 ? options.first_block_frames : next_block;
}

// A block of `frames` is out (or on the side thread): the next one is due later.
void SynthesisSession::Impl::block_decoded(int64_t frames) {
  next_block = std::min<int64_t>(options.block_frames, 2 * due_frames());
  decoded_frames += frames;
}

// The rest of the step: the decoded block handed out, the end.
bool SynthesisSession::Impl::finish_step() {
  Impl& s = *this;
  if (s.block_now > 0) {
    if (s.decoded_frames == 0) s.first_audio_s = seconds_since(s.started);
    if (!deliver(s.block_start)) s.stop_now = true;
    s.block_decoded(s.block_now);
    s.block_now = 0;
  }
  if (s.stop_now) {
    s.cancelled = true;
    s.drop_codec_jobs();
  }
  if (s.over_now || s.stop_now) s.done = true;
  s.total_s = seconds_since(s.started);
  return !s.done;
}

// Hands out the audio that arrived in `audio` from `before` on; false: stop.
bool SynthesisSession::Impl::deliver(size_t before) {
  return !options.on_audio ||
         options.on_audio(audio.data() + before, static_cast<int64_t>(audio.size() - before));
}

void SynthesisSession::Impl::collect_codec_jobs(bool all) {
  pipeline::CodecThread* thread = model.codec_thread.get();
  while (!codec_jobs.empty()) {
    const std::shared_ptr<pipeline::CodecThread::Job> job = codec_jobs.front();
    if (all)
      thread->finish(*job);
    else if (!thread->done(*job))
      return;
    codec_jobs.pop_front();
    if (job->error) std::rethrow_exception(job->error);
    (job->on_thread ? codec_side_s : codec_s) += job->seconds;  // beside the frames, or not
    const size_t before = audio.size();
    audio.insert(audio.end(), job->audio.begin(), job->audio.end());
    if (!deliver(before)) {
      stop_now = true;
      drop_codec_jobs();
      return;
    }
  }
}

void SynthesisSession::Impl::settle_codec_jobs() {
  if (stop_now)
    drop_codec_jobs();
  else if (block_now > 0 || over_now)
    collect_codec_jobs(true);
}

void SynthesisSession::Impl::drop_codec_jobs() {
  if (codec_jobs.empty()) return;
  model.codec_thread->cancel(this);
  codec_jobs.clear();
}

bool SynthesisSession::Impl::end_step(bool produced) {
  after_frame(produced);
  settle_codec_jobs();  // blocks a batched step left on the codec thread come first
  if (block_now > 0) codec_s += decode_block(model.pool.get());
  return finish_step();
}

SynthesisResult SynthesisSession::finish() {
  while (step()) {
  }
  if (chain_) {
    Chain& c = *chain_;
    SynthesisResult r = std::move(c.result);
    r.samples = std::move(c.samples);
    r.sample_rate = c.sample_rate;
    r.seed = c.seed;
    r.timings.total = seconds_since(c.started);
    return r;
  }
  SynthesisResult r = impl_->result();
  r.chunks.push_back(
      {impl_->text, TextBreak::kParagraph, r.seed, r.codes.frames, 0, r.stopped_on_eos});
  return r;
}

SynthesisResult SynthesisSession::Impl::result() {
  Impl& s = *this;
  const TtsModel::Impl& m = s.model;
  SynthesisResult r;
  r.text_ids = s.spec.text_ids;
  r.seed = s.generate.seed;
  r.sample_rate = m.codec.config.output_sample_rate;
  r.cancelled = s.cancelled;
  r.codes.num_codebooks = m.code_predictor->groups();
  if (!s.generation) return r;
  const tts::Generated& gen = s.generation->result();
  r.talker_steps = static_cast<int64_t>(gen.talker_sequence.size());
  r.stopped_on_eos = gen.stopped_on_eos;
  r.codes.frames = gen.frames;
  r.codes.values = gen.codes;
  r.timings.prefill = gen.timings.prefill;
  r.timings.talker = gen.timings.talker;
  r.timings.code_predictor = gen.timings.code_predictor;
  r.timings.first_audio = s.first_audio_s;
  if (!s.streaming() && s.voice.icl()) {
    // The audio of the generated frames after the voice's reference: from the
    // state after it, which the voice keeps (a saved voice, a long text's
    // chunks), instead of decoding the reference again in front of them.
    // pipeline::decode_output's samples within float rounding: its blocks may
    // run across the reference's end, these start there.
    const auto t0 = std::chrono::steady_clock::now();
    codec::ChunkedStream stream = codec_prefix(m.pool.get(), m.codec, s.voice, s.reference_tail);
    stream.push(m.pool.get(), gen.codes.data(), gen.frames, &s.audio);
    s.codec_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
  }
  if (s.streaming() || s.voice.icl()) {
    // The official ICL cut, int(ref / total * samples) in double, can land a
    // sample before the frame boundary the stream starts at; the result carries
    // that sample too, so it equals pipeline::decode_output.
    const int64_t hop = m.codec.config.decode_upsample_rate;
    const int64_t missing =
        s.spec.ref_frames > 0
            ? s.spec.ref_frames * hop - pipeline::official_cut(s.spec.ref_frames, gen.frames, hop)
            : 0;
    IZWI_ASSERT(missing >= 0 && missing <= static_cast<int64_t>(s.reference_tail.size()));
    r.samples.assign(s.reference_tail.end() - missing, s.reference_tail.end());
    r.samples.insert(r.samples.end(), s.audio.begin(), s.audio.end());
  } else {
    const auto t0 = std::chrono::steady_clock::now();
    r.samples = m.codec.decoder->decode(m.pool.get(), gen.codes.data(), gen.frames);
    s.codec_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
  }
  r.timings.codec = s.codec_s + s.codec_side_s;
  r.timings.codec_beside = s.codec_side_s;
  r.timings.total = s.total_s;
  return r;
}

}  // namespace izwi

namespace izwi {

uint64_t chunk_seed(uint64_t seed, size_t index) {
  if (index == 0) return seed;
  // splitmix64 of (seed, index), kept to 53 bits like the server's seeds
  // (JavaScript clients read them as numbers).
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) & ((uint64_t{1} << 53) - 1);
}

SynthesisOptions SynthesisSession::Chain::chunk_options(size_t i) {
  SynthesisOptions o = options;
  o.chunking.max_chars = 0;  // a chunk is one request
  o.seed = chunk_seed(seed, i);
  o.stream_audio = false;
  o.keep_audio = true;
  // A chunk ends by itself long before this; a model that does not end it
  // would otherwise speak on for the whole budget.
  double cap = 5.0 + 0.2 * text_length(chunks[i].text);
  if (options.max_seconds > 0)
    // max_seconds counts the output: the chunks before and their pauses.
    cap = std::min(cap, options.max_seconds - static_cast<double>(samples_out) / sample_rate);
  o.max_seconds = cap;
  const auto n = static_cast<int>(chunks.size());
  o.on_frame = [this, i, n](const FrameProgress& p) {
    FrameProgress q = p;
    q.frame += frames_done;
    q.audio_seconds += static_cast<double>(frames_done) / frame_rate;
    q.chunk = static_cast<int>(i);
    q.chunks = n;
    q.text_done = total_length > 0 ? static_cast<double>(done_length) / total_length : 0.0;
    if (options.on_frame && !options.on_frame(q)) stopped = true;
    return !stopped;
  };
  o.on_audio = [this](const float* x, int64_t count) {
    return joiner->push(x, static_cast<size_t>(count)) && !stopped;
  };
  return o;
}

void SynthesisSession::advance() {
  if (!chain_ || chain_->finished || !impl_->done) return;
  Chain& c = *chain_;
  // What the chunk made joins the request's result.
  const SynthesisResult r = impl_->result();
  SynthesisResult& all = c.result;
  const TextPiece& chunk = c.chunks[c.index];
  all.chunks.push_back(
      {chunk.text, chunk.end, r.seed, r.codes.frames, c.chunk_start, r.stopped_on_eos});
  all.codes.num_codebooks = r.codes.num_codebooks;
  all.codes.frames += r.codes.frames;
  all.codes.values.insert(all.codes.values.end(), r.codes.values.begin(), r.codes.values.end());
  all.text_ids.insert(all.text_ids.end(), r.text_ids.begin(), r.text_ids.end());
  all.talker_steps += r.talker_steps;
  all.stopped_on_eos = all.stopped_on_eos && r.stopped_on_eos;
  all.timings.prefill += r.timings.prefill;
  all.timings.talker += r.timings.talker;
  all.timings.code_predictor += r.timings.code_predictor;
  all.timings.codec += r.timings.codec;
  all.timings.codec_beside += r.timings.codec_beside;
  if (c.index == 0) all.timings.first_audio = r.timings.first_audio;
  c.frames_done += r.codes.frames;
  c.done_length += text_length(chunk.text);

  const bool last = c.index + 1 >= c.chunks.size();
  // The output so far and the pause before the next chunk (at least a frame
  // of speech must fit after it).
  const double out_s = static_cast<double>(c.samples_out) / c.sample_rate +
                       c.options.joins.pause(chunk.end) + 1.0 / c.frame_rate;
  const bool out_of_time = c.options.max_seconds > 0 && out_s >= c.options.max_seconds;
  const bool stop = r.cancelled || c.stopped || c.cancel.load();
  if (last || stop || out_of_time) {
    all.cancelled = stop;
    if (!last) all.stopped_on_eos = false;
    c.joiner->finish();
    c.finished = true;
    return;
  }
  c.joiner->next_chunk(std::llround(c.options.joins.pause(chunk.end) * c.sample_rate));
  ++c.index;
  c.chunk_start = c.samples_out;  // after the pause, or where the overlap starts
  auto next = c.model.start(c.chunks[c.index].text, c.voice, c.chunk_options(c.index));
  std::lock_guard<std::mutex> lock(c.mu);
  impl_ = std::move(next->impl_);
  if (c.cancel.load()) impl_->cancel_requested.store(true);
}

}  // namespace izwi
