// Batch inputs: many texts in one file, each to be spoken to a file of its own.
//
//   plain text  one utterance per line (blank lines skipped)
//   JSONL       one object per line: {"text": ..., "voice"|"speaker", "language",
//               "instruct", "seed", "output"}
//   SRT / VTT   subtitles: one utterance per cue, with its time slot
//
// A line that cannot be read becomes an item with `error` set, so a batch
// runner reports it and goes on with the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace izwi {

enum class BatchFormat { kText, kJsonl, kSrt, kVtt };
// From the file name's extension (.txt, .jsonl/.ndjson, .srt, .vtt); throws
// kInvalidArgument naming the choices for others.
BatchFormat batch_format_from_path(const std::string& path);

struct BatchItem {
  int line = 0;  // where it starts in the file (1-based)
  std::string
      name;  // output file name without extension: "0007", a cue's "cue-0003", or JSONL "output"
  std::string text;     // what to speak
  std::string voice;    // JSONL: a saved voice or preset speaker ("" = the command's)
  std::string speaker;  // JSONL: reference audio, saved voice or preset ("" = the command's)
  std::string language, instruct;  // JSONL ("" = the command's)
  std::optional<uint64_t> seed;    // JSONL
  // Subtitles: the cue's slot in seconds.
  std::optional<double> start, end;
  std::string error;  // why this line cannot be spoken ("" = fine)
};

// Reads a batch file (UTF-8). Throws only when the file cannot be read at all;
// bad lines come back as items with `error`.
std::vector<BatchItem> read_batch(const std::string& path);
std::vector<BatchItem> parse_batch(const std::string& content, BatchFormat format);

// Mixes clips onto one timeline: clip i starts at starts[i] seconds. The track
// is as long as the latest end (clip start + its length).
std::vector<float> mix_timeline(const std::vector<std::vector<float>>& clips,
                                const std::vector<double>& starts, int sample_rate);

}  // namespace izwi
