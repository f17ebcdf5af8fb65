#!/usr/bin/env bash
# What one PostgreSQL server sustains for izwi's own statements (docs/SCALING.md):
# a throwaway cluster on a loopback port, izwi's schema (izwi db migrate),
# 1000 voices of realistic size, then pgbench with the statements a replica runs
#   lookup  per speech request with a saved voice (the record, its embedding sizes)
#   claim   per job utterance: claim (FOR UPDATE SKIP LOCKED), then finish with
#           a 5 s 16-bit WAV (240 KB) as the output
#   create  per saved voice: a 10 s float32 reference (960 KB) and its record
#
#   bench/pg_statements.sh [SECONDS] [CLIENTS]      (default 20 s, 8 clients)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
clients="${2:-8}"
izwi=build/release/izwi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d /tmp/izwi-pgbench-XXXXXX)
as=""
if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; as="runuser -u postgres --"; fi
port=$((20000 + RANDOM % 20000))
$as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust > /dev/null
$as "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start > /dev/null
trap '$as "$bin/pg_ctl" -D "$dir/data" -m immediate stop > /dev/null; rm -rf "$dir"' EXIT
url="postgresql://postgres@127.0.0.1:$port/postgres"
"$izwi" --database "$url" db migrate
psql() { "$bin/psql" -q -X -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }
psql <<'SQL'
INSERT INTO voice_media(key, data)
  SELECT 'voices/voice-' || i || '.x/reference.wav', convert_to(repeat(md5(i::text), 30000), 'UTF8')
  FROM generate_series(1, 1000) i;
INSERT INTO voices(name, created_at, consent, transcript, transcript_ids, media, sample_rate,
                   duration_s, codes_frames, codes_codebooks, codes, report_json)
  SELECT 'voice-' || i, '2026-12-02T00:00:00Z', 'consent', 'a transcript of some words',
         convert_to(repeat('abcd', 30), 'UTF8'), 'voices/voice-' || i || '.x/reference.wav', 24000,
         10.0, 125, 16, convert_to(repeat('abcd', 2000), 'UTF8'), '{}'
  FROM generate_series(1, 1000) i;
INSERT INTO embeddings(name, model_size, data)
  SELECT 'voice-' || i, '0b6', convert_to(repeat('abcd', 1024), 'UTF8') FROM generate_series(1, 1000) i;
INSERT INTO jobs(id, created_at, created, params) VALUES('job_bench', 'now', 0, '{}');
INSERT INTO job_items(job_id, idx, input) SELECT 'job_bench', i, '{"text":"x"}' FROM generate_series(0, 999999) i;
ANALYZE;
SQL
cat > "$dir/lookup.sql" <<'SQL'
\set n random(1, 1000)
SELECT name, created_at, consent, transcript, transcript_ids, media, sample_rate, duration_s, codes_frames, codes_codebooks, codes, report_json FROM voices WHERE name = 'voice-' || :n;
SELECT model_size FROM embeddings WHERE name = 'voice-' || :n ORDER BY model_size;
SQL
cat > "$dir/claim.sql" <<'SQL'
BEGIN;
UPDATE job_items i SET status = 'running', worker = 'w' || :client_id, lease_until = extract(epoch from clock_timestamp()) + 60, attempts = i.attempts + 1 FROM (SELECT job_id, idx FROM job_items WHERE status = 'queued' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) next WHERE i.job_id = next.job_id AND i.idx = next.idx RETURNING i.idx \gset
COMMIT;
UPDATE job_items SET status = 'done', output = convert_to(repeat(md5(:idx::text), 7500), 'UTF8'), duration_s = 5 WHERE job_id = 'job_bench' AND idx = :idx AND worker = 'w' || :client_id AND status = 'running';
SQL
cat > "$dir/create.sql" <<'SQL'
\set n random(1, 100000000)
BEGIN;
INSERT INTO voice_media(key, data) VALUES('voices/new-' || :n || '-' || :client_id || '.y/reference.wav', convert_to(repeat(md5(:n::text), 30000), 'UTF8')) ON CONFLICT DO NOTHING;
COMMIT;
BEGIN;
INSERT INTO voices(name, created_at, consent, transcript, transcript_ids, media, sample_rate, duration_s, codes_frames, codes_codebooks, codes, report_json) VALUES('new-' || :n || '-' || :client_id, 'now', 'c', 't', '\x00', 'voices/new-' || :n || '-' || :client_id || '.y/reference.wav', 24000, 10, 125, 16, convert_to(repeat('abcd', 2000), 'UTF8'), '{}') ON CONFLICT DO NOTHING;
COMMIT;
SQL
for s in lookup claim create; do
  tps=$("$bin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c "$clients" -j 2 -T "$seconds" -f "$dir/$s.sql" postgres 2>/dev/null |
        grep -oE 'tps = [0-9.]+' | head -1 | grep -oE '[0-9.]+')
  printf '%-8s %10s transactions/s (%d clients, %d s)\n' "$s" "$tps" "$clients" "$seconds"
done
