// The talker prompt, built exactly as the official `generate` builds it.
//
// The chat templates (which text goes around the user's text) live here too:
//   target:    <|im_start|>assistant\n{text}<|im_end|>\n<|im_start|>assistant\n
//   reference: <|im_start|>assistant\n{ref_text}<|im_end|>\n
//   instruct:  <|im_start|>user\n{instruct}<|im_end|>\n
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/qwen3_tts/code_predictor.h"
#include "models/qwen3_tts/talker.h"

namespace izwi::tts {

std::string target_template(const std::string& text);
std::string reference_template(const std::string& ref_text);
std::string instruct_template(const std::string& instruct);

struct PromptSpec {
  std::vector<int32_t> text_ids;                     // templated target: [3 role] + TEXT + [5 tail]
  std::optional<std::vector<int32_t>> instruct_ids;  // templated instruction, all tokens
  const float* xvector = nullptr;                    // voice cloning: the speaker slot [hidden]
  std::optional<int32_t> speaker_id;                 // CustomVoice: codec id of a preset speaker
  std::optional<int32_t> language_id;                // none for "auto"
  // ICL cloning: templated reference transcript [3 role] + REF + [2 tail], and its codes [frames,
  // groups].
  std::optional<std::vector<int32_t>> ref_ids;
  const int32_t* ref_codes = nullptr;
  int64_t ref_frames = 0;
  bool non_streaming = false;
};

struct Prompt {
  int64_t length = 0;         // T0
  std::vector<float> embeds;  // [T0, hidden]
  int64_t trailing_length = 0;
  std::vector<float> trailing;  // [trailing_length, hidden]: text fed one per decode step
  std::vector<float> tts_pad;   // [hidden]: fed once the trailing text is used up
};

Prompt build_prompt(ThreadPool* pool, const ModelConfig& config, const Talker& talker,
                    const CodePredictor& cp, const PromptSpec& spec);

}  // namespace izwi::tts
