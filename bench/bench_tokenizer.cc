// Text tokenizer speed on 100 kB of multilingual text (the golden corpus,
// repeated), cold (empty piece cache) and warm.
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>

#include "izwi/tokenizer.h"

namespace {

std::string corpus_100k() {
  std::ifstream in(std::string(IZWI_SOURCE_DIR) + "/tests/data/tokenizer/corpus.txt");
  const std::string base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string text;
  while (text.size() < 100000) text += base;
  return text;
}

void BM_Tokenize100kB(benchmark::State& state) {
  const std::string text = corpus_100k();
  const bool cold = state.range(0) == 0;
  std::unique_ptr<izwi::TextTokenizer> tok;
  if (!cold)
    tok = izwi::TextTokenizer::load(std::string(IZWI_SOURCE_DIR) +
                                    "/tests/data/qwen3-tts/text-tokenizer");
  size_t ids = 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      tok = izwi::TextTokenizer::load(std::string(IZWI_SOURCE_DIR) +
                                      "/tests/data/qwen3-tts/text-tokenizer");
      state.ResumeTiming();
    }
    ids = tok->encode(text).size();
  }
  state.counters["kB"] = static_cast<double>(text.size()) / 1000.0;
  state.counters["ids"] = static_cast<double>(ids);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Tokenize100kB)->Arg(0)->Arg(1)->ArgNames({"warm"})->Unit(benchmark::kMillisecond);

void BM_LoadTokenizer(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(izwi::TextTokenizer::load(std::string(IZWI_SOURCE_DIR) +
                                                       "/tests/data/qwen3-tts/text-tokenizer"));
}
BENCHMARK(BM_LoadTokenizer)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
