// A synthesis request in progress (SynthesisSession::Impl): the checked
// request, the generation stepper and the streaming codec state.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <memory>
#include <optional>

#include "izwi/tts.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/generator.h"
#include "pipeline/chunk_joiner.h"
#include "pipeline/tts_model_impl.h"

namespace izwi {

struct SynthesisSession::Impl {
  Impl(const TtsModel::Impl& model_, const Voice& voice_, const SynthesisOptions& options_)
      : model(model_), voice(conditioning(voice_)), options(options_) {}
  ~Impl() { drop_codec_jobs(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // What of a voice a request uses (the prepared clip and its report are left
  // behind: they can be seconds of audio and are not needed to speak).
  static Voice conditioning(const Voice& v) {
    Voice c;
    c.speaker = v.speaker;
    c.xvector = v.xvector;
    c.reference_codes = v.reference_codes;
    c.reference_text_ids = v.reference_text_ids;
    c.cache = v.cache;
    return c;
  }

  const TtsModel::Impl& model;
  Voice voice;               // the session's copy: the prompt spec points into it
  SynthesisOptions options;  // callbacks included
  std::string text;          // what it speaks
  tts::PromptSpec spec;
  tts::Prompt prompt;
  tts::GenerateOptions generate;
  double frame_rate = 12.5;

  std::unique_ptr<tts::Generation> generation;  // created by the first step
  std::optional<codec::ChunkedStream> codec;    // when streaming audio
  // A block being decoded on its own thread while the next frames are made
  // (overlap_codec): its codes, the audio it produces, and the job.
  std::vector<int32_t> job_codes;
  std::vector<float> job_audio;
  std::future<void> codec_job;
  // Blocks handed to the model's codec thread by batched steps (step_frames),
  // oldest first.
  std::deque<std::shared_ptr<pipeline::CodecThread::Job>> codec_jobs;
  int64_t decoded_frames = 0;         // frames whose audio is out
  int64_t next_block = 0;             // frames in the next block (after the first)
  std::vector<float> audio;           // all streamed audio
  std::vector<float> reference_tail;  // ICL: last samples of the reference's audio
  size_t taken = 0;                   // audio handed out by take_audio()
  std::atomic<bool> cancel_requested{false};
  std::chrono::steady_clock::time_point started;
  double codec_s = 0, first_audio_s = 0, total_s = 0;
  double codec_side_s = 0;  // decoding on the side thread (overlapped with frames)
  bool cancelled = false, done = false;

  bool streaming() const { return options.stream_audio || static_cast<bool>(options.on_audio); }
  // SynthesisSession::step in two halves around the frame, so step_all can
  // make the frames of several sessions together.
  bool begin_step();
  bool end_step(bool produced);
  // end_step in three parts, so that step_frames can decode the audio blocks
  // of several sessions at once (decode_blocks in session.cc).
  // to_codec_thread: a later block due now goes to the model's codec thread.
  void after_frame(bool produced, bool to_codec_thread = false);
  double decode_block(ThreadPool* pool);
  int64_t due_frames() const;
  void block_decoded(int64_t frames);
  bool finish_step();
  bool deliver(size_t before);
  // Appends and hands out the audio of the codec thread's blocks that are done,
  // in order (all: waits for every one, or decodes it here); drop: forgets
  // them (the session stopped).
  void collect_codec_jobs(bool all);
  void drop_codec_jobs();
  // After after_frame: the codec thread's blocks dropped if the session stops,
  // all collected if a block is due here or the session ends (their audio first).
  void settle_codec_jobs();
  // The step in progress: its stop and end, the frames of the block to decode
  // on the stepping thread, and where that block's audio starts.
  bool stop_now = false, over_now = false;
  int64_t block_now = 0;
  size_t block_start = 0;
  // step_batched: set by the thread that ran this session's step (under the
  // model's Batcher mutex), with the error it threw, if any.
  bool batch_stepped = false;
  std::exception_ptr batch_error;

  // The result once done (samples: the whole clip).
  SynthesisResult result();
};

// A long text spoken chunk by chunk: the chunks, the joiner their audio goes
// through, and what the finished chunks made.
struct SynthesisSession::Chain {
  const TtsModel& model;
  Voice voice;
  SynthesisOptions options;  // the caller's
  std::vector<TextPiece> chunks;
  size_t index = 0;  // the chunk being spoken
  uint64_t seed = 0;
  double frame_rate = 12.5;
  int sample_rate = 24000;
  int total_length = 0, done_length = 0;  // text_length of all chunks, of those done
  int64_t frames_done = 0;                // frames of the chunks done
  int64_t samples_out = 0;                // joined samples handed out
  int64_t chunk_start = 0;                // where the current chunk's audio starts
  std::unique_ptr<pipeline::ChunkJoiner> joiner;
  std::vector<float> samples;  // the joined clip (keep_audio)
  std::vector<float> pending;  // joined audio not taken yet (pull style)
  SynthesisResult result;      // codes, reports and timings of the chunks done
  std::chrono::steady_clock::time_point started;
  bool stopped = false, finished = false;
  std::mutex mu;  // the current chunk's Impl is replaced under it (cancel() reads it)
  std::atomic<bool> cancel{false};

  Chain(const TtsModel& m, const Voice& v, const SynthesisOptions& o)
      : model(m), voice(v), options(o) {}
  // The options chunk `i` is started with: its seed, length cap, and callbacks into the chain.
  SynthesisOptions chunk_options(size_t i);
};

}  // namespace izwi
