// Tempo changes without pitch changes, through librubberband's R3 engine in
// real-time mode (so streamed audio can be stretched block by block).
#include <rubberband/RubberBandStretcher.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "izwi/audio.h"

namespace izwi {

struct TempoChanger::Impl {
  double speed = 1;
  std::unique_ptr<RubberBand::RubberBandStretcher> stretcher;  // null at speed 1
  size_t to_drop = 0;  // the stretcher's start delay, not yet dropped
  bool finished = false;
  uint64_t consumed = 0, produced = 0;  // samples in and out so far

  void retrieve(std::vector<float>& out) {
    for (;;) {
      const int avail = stretcher->available();
      if (avail <= 0) break;
      std::vector<float> block(static_cast<size_t>(avail));
      float* ch = block.data();
      const size_t got = stretcher->retrieve(&ch, block.size());
      const size_t skip = std::min(to_drop, got);
      to_drop -= skip;
      out.insert(out.end(), block.begin() + static_cast<ptrdiff_t>(skip),
                 block.begin() + static_cast<ptrdiff_t>(got));
    }
  }
  void feed(const float* x, size_t n, bool final, std::vector<float>& out) {
    const size_t max_block = 4096;
    do {
      const size_t take = std::min(n, max_block);
      const bool last = final && take == n;
      const float* ch = x;
      stretcher->process(&ch, take, last);
      retrieve(out);
      x += take;
      n -= take;
    } while (n > 0);
  }
};

TempoChanger::TempoChanger(int sample_rate, double speed) : impl_(std::make_unique<Impl>()) {
  if (!(speed >= kMinSpeed && speed <= kMaxSpeed))
    fail(ErrorKind::kInvalidArgument, "speed must be between ", kMinSpeed, " and ", kMaxSpeed,
         ", got ", speed);
  if (sample_rate <= 0) fail(ErrorKind::kInvalidArgument, "bad sample rate ", sample_rate);
  impl_->speed = speed;
  if (speed == 1.0) return;
  using RB = RubberBand::RubberBandStretcher;
  impl_->stretcher = std::make_unique<RB>(
      static_cast<size_t>(sample_rate), 1,
      RB::OptionProcessRealTime | RB::OptionEngineFiner | RB::OptionWindowShort, 1.0 / speed);
  impl_->stretcher->setMaxProcessSize(4096);
  // Real-time mode: pad the start so the first output sample lines up with the
  // first input sample, and drop the delay the stretcher reports.
  const size_t pad = impl_->stretcher->getPreferredStartPad();
  std::vector<float> zeros(pad, 0.0f);
  std::vector<float> ignored;
  if (pad > 0) impl_->feed(zeros.data(), pad, false, ignored);
  impl_->to_drop = impl_->stretcher->getStartDelay();
  impl_->to_drop -= std::min(impl_->to_drop, ignored.size());
}

TempoChanger::~TempoChanger() = default;

std::vector<float> TempoChanger::process(const float* samples, size_t n, bool final) {
  Impl& m = *impl_;
  if (m.finished) fail(ErrorKind::kInvalidArgument, "TempoChanger used after its final block");
  m.finished = final;
  if (!m.stretcher) return std::vector<float>(samples, samples + n);
  std::vector<float> out;
  if (n > 0 || final) m.feed(samples, n, final, out);
  m.consumed += n;
  if (final) {
    // The stretcher's tail is padded to its block size: cut (or pad) the end so
    // the output is exactly input / speed long.
    const auto target =
        static_cast<uint64_t>(std::llround(static_cast<double>(m.consumed) / m.speed));
    out.resize(static_cast<size_t>(target > m.produced ? target - m.produced : 0), 0.0f);
  }
  m.produced += out.size();
  return out;
}

Audio change_tempo(const Audio& audio, double speed) {
  TempoChanger t(audio.sample_rate > 0 ? audio.sample_rate : 24000, speed);
  Audio out = audio;
  out.samples = t.process(audio.samples.data(), audio.samples.size(), true);
  return out;
}

}  // namespace izwi
