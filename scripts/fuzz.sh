#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/fuzz_*.cc) for a bounded time each,
# starting from its seed corpus in tests/fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600 s, all targets)
#
# Builds the targets in the asan preset (clang, -fsanitize=fuzzer,address,undefined;
# build/asan, the same build the sanitizer tests use). What libFuzzer finds beyond
# the seeds goes to build/asan/fuzz/corpus/, crashes to build/asan/fuzz/artifacts/
# — copy a crash into tests/fuzz/corpus/<target>/
# once it is fixed, so every build replays it (ctest Fuzz.<target>). Prints one
# line per target (runs, coverage, corpus, crashes) and exits 1 if any crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
all=(audio npy safetensors config tokenizer batch text_chunks hub_list voice_import request http)
[ "$#" -gt 0 ] && targets=("$@") || targets=("${all[@]}")

cmake --preset asan > /dev/null
cmake --build --preset asan --target "${targets[@]/#/fuzz_}" > /dev/null
out=build/asan/fuzz
mkdir -p "$out/corpus" "$out/artifacts" "$out/logs"
failed=0
printf '%-14s %10s %8s %8s %8s %s\n' target runs cov ft corpus result
for t in "${targets[@]}"; do
  work="$out/corpus/$t"
  mkdir -p "$work"
  log="$out/logs/$t.log"
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp \
    "build/asan/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 \
    -max_len=65536 -print_final_stats=1 -close_fd_mask=2 -artifact_prefix="$out/artifacts/$t-" \
    "$work" "tests/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  set -e
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  corp=$(echo "$last" | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  if [ "$rc" -ne 0 ]; then
    failed=1
    result="CRASH (see $log, $out/artifacts/$t-*)"
  else
    result="ok"
  fi
  printf '%-14s %10s %8s %8s %8s %s\n' "$t" "$runs" "$cov" "$ft" "$corp" "$result"
done
exit "$failed"
