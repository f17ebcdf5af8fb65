// Calls izwi serve through the official OpenAI Node SDK, as an OpenAI user
// would, and writes what came back for tests/e2e/test_server.cc to check:
//   node speech.mjs BASE_URL OUT_DIR MODEL VOICE
//   voice.mp3   audio.speech.create, saved voice, response_format mp3
//   voice.wav   the same request as wav
//   voice.aac   the same request as aac (ADTS)
//   whole.pcm   response_format pcm
//   voice-id.pcm  the same, naming the voice as the SDK's custom voice {id: VOICE}
//   sse.pcm     the same with stream_format "sse": the deltas' audio joined
//   sse.json    the speech.audio.done event
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";

const [baseURL, outDir, model, voice] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: process.env.IZWI_API_KEY || "unused" });
const input = "Hello from the OpenAI SDK.";
const seed = 7; // izwi's extra field: the same seed gives the same audio

async function save(name, params) {
  const res = await client.audio.speech.create({ model, voice, input, seed, ...params });
  const bytes = Buffer.from(await res.arrayBuffer());
  fs.writeFileSync(path.join(outDir, name), bytes);
  return bytes.length;
}

await save("voice.mp3", { response_format: "mp3" });
await save("voice.wav", { response_format: "wav" });
await save("voice.aac", { response_format: "aac" });
await save("whole.pcm", { response_format: "pcm" });
await save("voice-id.pcm", { response_format: "pcm", voice: { id: voice } });

// Server-sent events: data: {"type": "speech.audio.delta", "audio": base64} ...
const t0 = performance.now();
const res = await client.audio.speech.create({
  model, voice, input, seed, response_format: "pcm", stream_format: "sse",
});
const reader = res.body.getReader();
const decoder = new TextDecoder();
let buffered = "", firstDelta = -1, done = null;
const chunks = [];
for (;;) {
  const { value, done: end } = await reader.read();
  if (end) break;
  buffered += decoder.decode(value, { stream: true });
  let cut;
  while ((cut = buffered.indexOf("\n\n")) >= 0) {
    const event = buffered.slice(0, cut);
    buffered = buffered.slice(cut + 2);
    if (!event.startsWith("data: ")) continue;
    const data = JSON.parse(event.slice(6));
    if (data.type === "speech.audio.delta") {
      if (firstDelta < 0) firstDelta = performance.now() - t0;
      chunks.push(Buffer.from(data.audio, "base64"));
    } else if (data.type === "speech.audio.done") {
      done = data;
    } else {
      throw new Error("unexpected event " + event);
    }
  }
}
if (!done) throw new Error("no speech.audio.done event");
fs.writeFileSync(path.join(outDir, "sse.pcm"), Buffer.concat(chunks));
fs.writeFileSync(path.join(outDir, "sse.json"), JSON.stringify(done));
console.log(`sse: ${chunks.length} deltas, first after ${firstDelta.toFixed(1)} ms, ` +
            `done after ${(performance.now() - t0).toFixed(1)} ms`);
