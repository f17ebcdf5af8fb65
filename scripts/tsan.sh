#!/usr/bin/env bash
# The concurrency tests under ThreadSanitizer: sessions stepped together and on
# threads of their own, cancel from another thread, the server's concurrent
# requests, overload, disconnects, load, slow clients and shutdown, and long
# texts, the job worker, PostgreSQL-backed servers and replicas behind nginx.
# Builds the tsan preset into build/tsan (takes a while: run it before
# changing threads, locks or the batcher, and in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset tsan > /dev/null
cmake --build --preset tsan --target izwi_cli test_session test_long_text test_server test_replicas "$@"
# OpenBLAS' own threads are not instrumented; izwi's pool and locks are.
export OPENBLAS_NUM_THREADS=1
export IZWI_TEST_SLOW=1  # clients wait longer for TSan's slower server
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
ctest --preset tsan -R '^(Session\.|LongText\.|ServerTest\.(Concurrent|Overload|ADisconnecting|Load|SlowClients|Sigterm|AGracePeriod|Streamed|LongTexts|TheMemoryBudget|ARequestPast|AJob|TwoServers|VoicesApiAndTheCliShareOnePostgres)|Replicas\.)'
