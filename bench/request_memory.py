#!/usr/bin/env python3
"""Compares izwi serve's per-request memory estimate with the memory a request
really takes: for each request shape, the server's peak resident memory during
the request (VmHWM, reset before it) minus its resident memory before it,
next to the estimate it admitted the request with (the JSON log's
memory_estimate_bytes).

  bench/request_memory.py --model DIR --reference ref.wav [--izwi build/release/izwi]

DIR: a checkpoint, e.g. a real-size random one from izwi-random-checkpoint.
Uses only the standard library; runs requests one at a time.
"""
import argparse
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--izwi", default="build/release/izwi")
    ap.add_argument("--threads", default="2")
    args = ap.parse_args()

    ref = base64.b64encode(open(args.reference, "rb").read()).decode()
    text = "This sentence is spoken to measure how much memory one request takes."
    shapes = [
        ("whole, 10 s", {"min_seconds": 10, "max_seconds": 10}),
        ("whole, 30 s", {"min_seconds": 30, "max_seconds": 30}),
        ("whole, 60 s", {"min_seconds": 60, "max_seconds": 60}),
        ("streamed, 30 s", {"min_seconds": 30, "max_seconds": 30, "stream_format": "sse"}),
        ("streamed, 60 s", {"min_seconds": 60, "max_seconds": 60, "stream_format": "sse"}),
    ]
    print(f"{'request':<16} {'estimate MiB':>13} {'measured MiB':>13}")
    for name, extra in shapes:
        body = dict({"input": text, "reference_audio": ref, "response_format": "wav",
                     "seed": 1}, **extra)
        estimate, measured = measure(args, body)
        print(f"{name:<16} {estimate / 2**20:>13.0f} {measured / 2**20:>13.0f}", flush=True)


def measure(args, body):
    """One fresh server per shape (an earlier request's freed heap would hide
    or inflate the next one's); a warm-up request of the same shape first, so
    first-use allocations (weight caches, thread stacks) do not count."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="izwi-mem-", suffix=".log", delete=False)
    env = dict(os.environ, IZWI_DATA_DIR=tempfile.mkdtemp(prefix="izwi-mem-data-"))
    server = subprocess.Popen(
        [args.izwi, "serve", "--port", str(port), "--model", args.model, "--threads",
         args.threads, "--log-format", "json", "--max-audio-seconds", "0"],
        stdout=subprocess.DEVNULL, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
                    if json.load(r).get("status") == "ready":
                        break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            sys.exit("the server did not become ready; see " + log.name)
        for _ in range(2):
            with open(f"/proc/{server.pid}/clear_refs", "w") as f:
                f.write("5")  # VmHWM := VmRSS
            before = status_kb(server.pid, "VmRSS")
            req = urllib.request.Request(base + "/v1/audio/speech",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=3600) as r:
                r.read()
            peak = status_kb(server.pid, "VmHWM")
        time.sleep(0.2)
        est = [json.loads(l).get("memory_estimate_bytes", 0)
               for l in open(log.name).read().splitlines()
               if l.startswith("{") and '"/v1/audio/speech"' in l]
        return (est[-1] if est else 0), (peak - before) * 1024
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
