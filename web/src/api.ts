// The izwi HTTP API, typed. The UI uses nothing else of the server.

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public param: string | null,
    public code: string,
  ) {
    super(message);
  }
}

export interface ReferenceIssue {
  code: string;
  severity: string;
  message: string;
  fix: string;
}
export interface ReferenceReport {
  duration_s: number;
  speech_s: number;
  leading_silence_s: number;
  trailing_silence_s: number;
  longest_pause_s: number;
  peak_dbfs: number;
  clipping_ratio: number;
  snr_db: number;
  loudness_lufs: number | null;
  issues: ReferenceIssue[];
  usable: boolean;
  error?: string;
}
export interface Voice {
  id: string;
  name: string;
  created_at: string;
  consent: string;
  transcript: string;
  mode: "icl" | "x-vector";
  duration_s: number;
  reference: ReferenceReport | null;
}
export interface Model {
  id: string;
  installed: boolean;
  loaded?: boolean;
  default?: boolean;
  can_clone?: boolean;
  has_presets?: boolean;
  speakers?: string[];
  languages?: string[];
  model_type?: string;
  approx_size?: string;
  description?: string;
}
// The synthetic-speech mark the server puts in every file (README: "Every file
// says it is synthetic speech"); the page writes it into the WAVs it builds.
export interface AudioTags {
  title: string;
  artist: string;
  comment: string;
  software: string;
  date: string;
}
export interface SpeechDone {
  seed: number;
  audio_seconds: number;
  real_time_factor: number;
  time_to_first_audio: number;
  speaker_similarity: number | null; // cloned voices: how close the take sounds to the reference
  chunks: number; // a long text is spoken in chunks of whole sentences
  tags: AudioTags;
}
export interface SpeechRequest {
  input: string;
  model?: string;
  voice?: string;
  reference_audio?: string; // base64
  reference_text?: string;
  language?: string;
  instructions?: string;
  speed?: number;
  seed?: number;
  temperature?: number;
}

// A server started with --api-key wants it on every /v1 call; the UI asks once
// and keeps it in this browser.
const KEY = "izwi-api-key";
function call(path: string, init: RequestInit = {}): Promise<Response> {
  const key = localStorage.getItem(KEY);
  const headers = new Headers(init.headers);
  if (key) headers.set("Authorization", `Bearer ${key}`);
  return fetch(path, { ...init, headers });
}

async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  if (res.status === 401) {
    const key = prompt("This izwi server needs its API key (izwi serve --api-key). Enter it to continue:");
    if (key) localStorage.setItem(KEY, key.trim());
    throw new ApiError(401, key ? "API key saved: try again." : "This server needs an API key.", null, "invalid_api_key");
  }
  let message = `${res.status} ${res.statusText}`;
  let param: string | null = null;
  let code = "http_error";
  try {
    const body = await res.json();
    if (body?.error) ({ message, param, code } = body.error);
  } catch {
    // not JSON: keep the status line
  }
  throw new ApiError(res.status, message, param, code);
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await check(await call(path, init))).json() as Promise<T>;
}

function post(body: unknown): RequestInit {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

// Reads server-sent events ("data: {...}\n\n") from a response body.
async function* events(res: Response): AsyncGenerator<any> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 2);
      if (event.startsWith("data: ")) yield JSON.parse(event.slice(6));
    }
  }
}

export function base64(bytes: ArrayBuffer): string {
  const u8 = new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

export const api = {
  voices: async () => (await json<{ data: Voice[] }>("/v1/voices")).data,
  saveVoice: (form: FormData) => json<Voice>("/v1/voices", { method: "POST", body: form }),
  renameVoice: (id: string, name: string) =>
    json<Voice>(`/v1/voices/${encodeURIComponent(id)}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name }),
    }),
  setVoiceConsent: (id: string, consent: string) =>
    json<Voice>(`/v1/voices/${encodeURIComponent(id)}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ consent }),
    }),
  deleteVoice: async (id: string) => {
    await check(await call(`/v1/voices/${encodeURIComponent(id)}`, { method: "DELETE" }));
  },
  exportVoice: async (id: string) =>
    (await check(await call(`/v1/voices/${encodeURIComponent(id)}/export`))).blob(),
  voiceAudio: async (id: string) =>
    (await check(await call(`/v1/voices/${encodeURIComponent(id)}/audio`))).blob(),
  importVoice: async (file: Blob) =>
    json<Voice>("/v1/voices/import", { method: "POST", headers: { "Content-Type": "application/json" }, body: file }),
  models: async (all = false) => (await json<{ data: Model[] }>(`/v1/models${all ? "?all=true" : ""}`)).data,
  pull: async (model: string, onProgress: (done: number, total: number) => void) => {
    const res = await check(await call("/v1/models/pull", post({ model })));
    for await (const ev of events(res)) {
      if (ev.type === "progress") onProgress(ev.done, ev.total);
      else if (ev.type === "error") throw new ApiError(500, ev.error.message, "model", "pull_failed");
    }
  },
  referenceReport: async (wav: Blob) => {
    const form = new FormData();
    form.append("audio", wav, "reference.wav");
    return json<ReferenceReport>("/v1/audio/reference-report", { method: "POST", body: form });
  },
  // Streams 16-bit PCM (24 kHz mono) deltas as they are made; resolves with the run's numbers.
  speechStream: async (req: SpeechRequest, onPcm: (pcm: Int16Array) => void): Promise<SpeechDone> => {
    const res = await check(
      await call("/v1/audio/speech", post({ ...req, response_format: "pcm", stream_format: "sse" })),
    );
    for await (const ev of events(res)) {
      if (ev.type === "speech.audio.delta") {
        const bin = atob(ev.audio);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        onPcm(new Int16Array(bytes.buffer, 0, bytes.length >> 1));
      } else if (ev.type === "speech.audio.done") {
        return ev.izwi as SpeechDone;
      } else if (ev.type === "error") {
        throw new ApiError(500, ev.error.message, null, "generation_failed");
      }
    }
    throw new ApiError(500, "The stream ended before the audio was complete", null, "stream_cut");
  },
  // A whole file in another format (same seed: the same speech).
  speechFile: async (req: SpeechRequest, format: string) =>
    (await check(await call("/v1/audio/speech", post({ ...req, response_format: format })))).blob(),
};
