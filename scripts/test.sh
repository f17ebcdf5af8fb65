#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test. This is the README's test
# command and exactly what CI runs.
#   1. the whole suite on the optimised build;
#   2. the input-parsing tests (audio files, checkpoints, .npy, text, hub answers,
#      voice files, the CLI on bad input, the server, PostgreSQL and the replicas
#      behind nginx) again under AddressSanitizer + UBSan (clang: it compiles
#      these several times faster than GCC does), with every fuzz target's
#      corpus replayed;
#   3. every libFuzzer target, from that same build, for a short fixed time
#      (scripts/fuzz.sh; longer runs: scripts/fuzz.sh 600).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The official OpenAI Node SDK, for the server's client test (exact versions from the lock file).
(cd tests/e2e/openai && npm ci --no-audit --no-fund --loglevel=error)
# The Web UI's compiler (TypeScript) and browser-test driver (playwright-core, axe-core).
(cd web && npm ci --no-audit --no-fund --loglevel=error)
cmake --preset release
cmake --build --preset release
ctest --preset release

cmake --preset asan
cmake --build --preset asan --target izwi_cli izwi-quant-quality test_core test_quant test_quant_quality test_kernels test_audio test_tokenizer test_store test_voices test_cli_codec test_cli_voice test_cli_tokenize test_server test_text_chunks test_batch_input test_long_text test_cli_batch \
  test_replicas test_admission test_session test_codec_prefix_cache test_sampler test_talker_golden test_codec_golden test_generate_golden test_tts_customvoice test_cli_tts \
  fuzz_audio fuzz_npy fuzz_safetensors fuzz_config fuzz_tokenizer fuzz_batch fuzz_text_chunks fuzz_hub_list fuzz_voice_import fuzz_request fuzz_http
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp ctest --preset asan -R '^(Base64|AudioFiles|AudioEncoding|Tempo|Resample|Reference|Safetensors|Npy|CodecConfig|Tokenizer|Bpe|StoreFixture|VoicesFixture|Cli|ServerTest|Quant|AllIsas/QuantKernelTest|WeightCache|AmxQuant|Bf16|Attention|Provenance|Sentences|Chunks|BatchInput|LongText|Fuzz|Admission|Session|Sampler|TalkerGolden|TalkerState|CodePredictorGolden|CodecGolden|CodecPrefix|Synthesis|CustomVoice|VoiceDesign|Cases/|IdCases/|TextCases/|Backends/|VoiceBlobs|PostgresVoices|Replicas)'

scripts/fuzz.sh 15
