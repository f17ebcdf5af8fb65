#include "models/qwen3_tts/prompt.h"

#include <algorithm>

#include "core/error.h"

namespace izwi::tts {

std::string target_template(const std::string& text) {
  return "<|im_start|>assistant\n" + text + "<|im_end|>\n<|im_start|>assistant\n";
}
std::string reference_template(const std::string& ref_text) {
  return "<|im_start|>assistant\n" + ref_text + "<|im_end|>\n";
}
std::string instruct_template(const std::string& instruct) {
  return "<|im_start|>user\n" + instruct + "<|im_end|>\n";
}

namespace {

// Rows of [n, H] embeddings.
struct Rows {
  int64_t H;
  std::vector<float> data;
  int64_t size() const { return static_cast<int64_t>(data.size()) / H; }
  float* row(int64_t i) { return data.data() + i * H; }
  void append(const float* r, int64_t n = 1) { data.insert(data.end(), r, r + n * H); }
  void append(const Rows& o) { data.insert(data.end(), o.data.begin(), o.data.end()); }
};

Rows text_rows(ThreadPool* pool, const Talker& talker, const int32_t* ids, int64_t n) {
  Rows r{talker.hidden(), std::vector<float>(static_cast<size_t>(n * talker.hidden()))};
  if (n > 0) talker.embed_text(pool, ids, n, r.data.data());
  return r;
}

Rows codec_rows(const Talker& talker, const std::vector<int32_t>& ids) {
  Rows r{talker.hidden(), std::vector<float>(ids.size() * talker.hidden())};
  for (size_t i = 0; i < ids.size(); ++i)
    talker.embed_codec(ids[i], r.row(static_cast<int64_t>(i)));
  return r;
}

void add_row(float* dst, const float* src, int64_t H) {
  for (int64_t i = 0; i < H; ++i) dst[i] += src[i];
}

}  // namespace

Prompt build_prompt(ThreadPool* pool, const ModelConfig& config, const Talker& talker,
                    const CodePredictor& cp, const PromptSpec& spec) {
  const TalkerConfig& tc = talker.config();
  const int64_t H = talker.hidden();
  const auto& ids = spec.text_ids;
  // The official code slices the template: role = ids[:3], text = ids[3:-5].
  if (ids.size() < 9)
    fail(ErrorKind::kInvalidArgument, "the text to speak is empty (", ids.size(),
         " template tokens)");

  const int32_t special[3] = {config.tts_bos_token_id, config.tts_eos_token_id,
                              config.tts_pad_token_id};
  const Rows specials = text_rows(pool, talker, special, 3);
  const float* tts_bos = specials.data.data();
  const float* tts_eos = tts_bos + H;
  const float* tts_pad = tts_bos + 2 * H;

  // Codec track: [think, think_bos, lang, think_eos] or [nothink, think_bos, think_eos],
  // then the speaker slot (x-vector or preset speaker), then [pad, bos].
  std::vector<int32_t> prefix =
      spec.language_id
          ? std::vector<int32_t>{tc.codec_think_id, tc.codec_think_bos_id, *spec.language_id,
                                 tc.codec_think_eos_id}
          : std::vector<int32_t>{tc.codec_nothink_id, tc.codec_think_bos_id, tc.codec_think_eos_id};
  Rows codec = codec_rows(talker, prefix);
  if (spec.xvector) {
    codec.append(spec.xvector);
  } else if (spec.speaker_id) {
    std::vector<float> e(static_cast<size_t>(H));
    talker.embed_codec(*spec.speaker_id, e.data());
    codec.append(e.data());
  }
  codec.append(codec_rows(talker, {tc.codec_pad_id, tc.codec_bos_id}));
  const int64_t n = codec.size();

  Rows prompt{H, {}};
  if (spec.instruct_ids)
    prompt.append(text_rows(pool, talker, spec.instruct_ids->data(),
                            static_cast<int64_t>(spec.instruct_ids->size())));
  prompt.append(text_rows(pool, talker, ids.data(), 3));  // role: text only
  for (int64_t i = 0; i + 1 < n; ++i) {                   // [tts_pad x (n-2), tts_bos] + codec[:-1]
    std::vector<float> r(codec.row(i), codec.row(i) + H);
    add_row(r.data(), i + 2 < n ? tts_pad : tts_bos, H);
    prompt.append(r.data());
  }
  const float* codec_bos = codec.row(n - 1);
  const int64_t text_len = static_cast<int64_t>(ids.size()) - 8;  // ids[3:-5]

  Prompt out;
  out.tts_pad.assign(tts_pad, tts_pad + H);
  Rows trailing{H, {}};
  if (spec.ref_ids) {
    // ICL: text track = txt(REF + TEXT) + tts_eos; codec track = bos + per-frame code sums.
    const auto& ref = *spec.ref_ids;
    if (ref.size() < 5) fail(ErrorKind::kInvalidArgument, "the reference transcript is empty");
    if (!spec.ref_codes || spec.ref_frames <= 0)
      fail(ErrorKind::kInvalidArgument, "ICL cloning needs reference codes");
    std::vector<int32_t> joined(ref.begin() + 3, ref.end() - 2);
    joined.insert(joined.end(), ids.begin() + 3, ids.end() - 5);
    Rows text = text_rows(pool, talker, joined.data(), static_cast<int64_t>(joined.size()));
    text.append(tts_eos);
    Rows codes{H, {}};
    codes.append(codec_bos);
    const int G = cp.groups();
    std::vector<float> sum(static_cast<size_t>(H));
    for (int64_t f = 0; f < spec.ref_frames; ++f) {
      const int32_t* c = spec.ref_codes + f * G;
      talker.embed_codec(c[0], sum.data());
      for (int g = 1; g < G; ++g) cp.add_embed(g, c[g], sum.data());
      codes.append(sum.data());
    }
    const int64_t tl = text.size(), cl = codes.size();
    if (spec.non_streaming) {
      std::vector<float> pad_codec(static_cast<size_t>(H));
      talker.embed_codec(tc.codec_pad_id, pad_codec.data());
      for (int64_t i = 0; i < tl; ++i) {
        add_row(text.row(i), pad_codec.data(), H);
        prompt.append(text.row(i));
      }
      for (int64_t i = 0; i < cl; ++i) {
        add_row(codes.row(i), tts_pad, H);
        prompt.append(codes.row(i));
      }
      trailing.append(tts_pad);
    } else {
      for (int64_t i = 0; i < cl; ++i) {
        add_row(codes.row(i), i < tl ? text.row(i) : tts_pad, H);
        prompt.append(codes.row(i));
      }
      if (tl > cl)
        trailing.append(text.row(cl), tl - cl);
      else
        trailing.append(tts_pad);
    }
  } else if (spec.non_streaming) {
    // All text in the prompt: (txt(TEXT) + tts_eos) + codec pad, then tts_pad + codec bos.
    Rows text = text_rows(pool, talker, ids.data() + 3, text_len);
    text.append(tts_eos);
    std::vector<float> pad_codec(static_cast<size_t>(H));
    talker.embed_codec(tc.codec_pad_id, pad_codec.data());
    for (int64_t i = 0; i < text.size(); ++i) {
      add_row(text.row(i), pad_codec.data(), H);
      prompt.append(text.row(i));
    }
    std::vector<float> last(tts_pad, tts_pad + H);
    add_row(last.data(), codec_bos, H);
    prompt.append(last.data());
    trailing.append(tts_pad);
  } else {
    // Streaming text: the first text token joins codec bos; the rest trails, then tts_eos.
    Rows first = text_rows(pool, talker, ids.data() + 3, 1);
    add_row(first.row(0), codec_bos, H);
    prompt.append(first);
    trailing = text_rows(pool, talker, ids.data() + 4, text_len - 1);
    trailing.append(tts_eos);
  }
  out.length = prompt.size();
  out.embeds = std::move(prompt.data);
  out.trailing_length = trailing.size();
  out.trailing = std::move(trailing.data);
  return out;
}

}  // namespace izwi::tts
