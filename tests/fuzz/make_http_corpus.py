#!/usr/bin/env python3
"""Writes the HTTP fuzzer's seeds (tests/fuzz/corpus/http/): raw requests a
client sends, one or more per file, that reach every route with valid bodies.

    sox -n -r 8000 -b 16 -c 1 /tmp/seed.wav synth 1.4 pluck 220 pluck 330 vol 0.5
    tests/fuzz/make_http_corpus.py /tmp/seed.wav
"""
import base64
import json
import pathlib
import sys

here = pathlib.Path(__file__).parent
out = here / "corpus" / "http"
wav = pathlib.Path(sys.argv[1]).read_bytes()
voice_file = (here / "corpus" / "voice_import" / "short.izwi-voice.json").read_bytes()
b64 = base64.b64encode(wav).decode()
BOUNDARY = "----izwiFuzzBoundary"


def req(method, path, body=b"", ctype=None, extra=""):
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    if body or method in ("POST", "PATCH"):
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def multipart(fields):
    body = b""
    for name, value in fields:
        body += f"--{BOUNDARY}\r\n".encode()
        if isinstance(value, bytes):
            body += (f'Content-Disposition: form-data; name="{name}"; filename="ref.wav"\r\n'
                     "Content-Type: audio/wav\r\n\r\n").encode() + value
        else:
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()
        body += b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def js(obj):
    return json.dumps(obj).encode(), "application/json"


seeds = {
    "speech_json": req("POST", "/v1/audio/speech", *js(
        {"input": "Hi there.", "reference_audio": b64, "response_format": "wav", "seed": 3})),
    "speech_multipart": req("POST", "/v1/audio/speech", *multipart(
        [("input", "Hello, world."), ("reference_audio", wav), ("response_format", "mp3"),
         ("speed", "1.25")])),
    "speech_sse": req("POST", "/v1/audio/speech", *multipart(
        [("input", "Streaming. Two sentences!"), ("reference_audio", wav),
         ("stream_format", "sse")])),
    "speech_stream_audio": req("POST", "/v1/audio/speech", *js(
        {"input": "One, two.", "reference_audio": b64, "stream_format": "audio",
         "response_format": "opus"})),
    "voice_lifecycle": req("POST", "/v1/voices", *multipart(
        [("name", "me"), ("audio", wav), ("transcript", "A pluck."),
         ("consent", "fuzz, 2026-12-01")]))
    + req("GET", "/v1/voices/me/audio")
    + req("PATCH", "/v1/voices/me", *js({"name": "you"}))
    + req("DELETE", "/v1/voices/you"),
    "voice_json": req("POST", "/v1/voices", *js(
        {"name": "v2", "audio": b64, "consent": "x", "replace": True}))
    + req("GET", "/v1/voices/v2/export") + req("GET", "/v1/voices"),
    "voice_import": req("POST", "/v1/voices/import?name=imported", voice_file, "application/json")
    + req("GET", "/v1/voices/imported"),
    "voice_speak": req("POST", "/v1/voices", *js({"name": "s", "audio": b64, "consent": "fuzz"}))
    + req("POST", "/v1/audio/speech", *js(
        {"input": "Saved voice.", "voice": "s", "stream_format": "sse"})),
    "models": req("GET", "/v1/models?all=true") + req("GET", "/healthz") + req("GET", "/readyz")
    + req("POST", "/v1/models/pull", *js({"model": "qwen3-tts-0.6b-base"})),
    "metrics": req("GET", "/metrics") + req("GET", "/openapi.json") + req("HEAD", "/")
    + req("GET", "/assets/app.js"),
    "traversal": req("GET", "/v1/voices/%2e%2e%2fetc%2fpasswd/audio")
    + req("GET", "/v1/voices/..%252f..%252fetc/export") + req("DELETE", "/v1/voices/%00x")
    + req("GET", "/../../etc/passwd"),
    "report": req("POST", "/v1/audio/reference-report", *multipart([("audio", wav)])),
    "headers": req("GET", "/v1/voices?x=%zz&y=1&y=2", extra="Authorization: Bearer k\r\n"
                   "Range: bytes=0-5\r\nAccept-Encoding: gzip\r\nConnection: close\r\n"),
    "chunked_upload": b"POST /v1/audio/speech HTTP/1.1\r\nHost: a\r\n"
    b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'5\r\n{"inp\r\n13\r\nut":"Hi","voice":"x\r\n2\r\n"}\r\n0\r\n\r\n',
}
out.mkdir(parents=True, exist_ok=True)
for name, data in seeds.items():
    (out / name).write_bytes(data)
print(f"wrote {len(seeds)} seeds to {out}")
