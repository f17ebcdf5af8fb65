#!/usr/bin/env bash
# Installs the Debian 12 packages izwi builds and tests with. Idempotent.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config
  nlohmann-json3-dev libcli11-dev libopenblas-dev libsndfile1-dev libmpg123-dev libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libsoxr-dev libebur128-dev libfftw3-dev
  libpcre2-dev libutf8proc-dev libicu-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev libpq-dev libcpp-httplib-dev librubberband-dev
  libgtest-dev libbenchmark-dev
  clang libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh)
  sox libsox-fmt-base libsox-fmt-mp3 espeak-ng  # tests make real audio files with these
  mediainfo  # an independent reader of the provenance tags
  curl  # the product page's API example, run by the server tests
  chromium  # the Web UI's browser tests (driven by playwright-core)
  postgresql  # the voice store's PostgreSQL backend is tested against a real server
  nginx  # deploy/nginx/izwi.conf is tested in front of several izwi serve replicas
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the OpenAI SDK test (tests/e2e/openai); any recent one will do.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
