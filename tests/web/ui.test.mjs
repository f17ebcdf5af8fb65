// The Web UI end to end: the real `izwi serve` (tiny golden model) and Debian's
// Chromium driven by playwright-core. Run by ctest (WebUi):
//   node tests/web/ui.test.mjs --izwi build/release/izwi --model tests/data/golden/model --out DIR
// Screenshots of every page at 1280x800 and 390x844 go to DIR.
import { spawn, execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../web/package.json"));
const { chromium } = require("playwright-core");
const axePath = require.resolve("axe-core/axe.min.js");

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "izwi-web-"));
const out = args.out ?? path.join(tmp, "screenshots");
fs.mkdirSync(out, { recursive: true });
const log = (...m) => console.log("[web]", ...m);

// --- fixtures: a model folder with a readable id, reference clips, bad files --
const modelDir = path.join(tmp, "qwen3-tts-tiny-base");
fs.cpSync(args.model, modelDir, { recursive: true });
const speech = path.join(tmp, "reference.wav");
execFileSync("espeak-ng", ["-w", speech, "-s", "140",
  "This is my reference recording. I am reading a few sentences so that the voice can be cloned well, " +
  "slowly and clearly, with a short pause between them."]);
const short = path.join(tmp, "short.wav");
execFileSync("sox", ["-n", "-r", "24000", "-c", "1", short, "synth", "1", "sine", "220", "vol", "0.3"]);
const notAudio = path.join(tmp, "notes.wav");
fs.writeFileSync(notAudio, "These are my notes, not a recording.\n".repeat(20));
const huge = path.join(tmp, "huge.wav");
fs.writeFileSync(huge, Buffer.alloc(40 * 1024 * 1024, 7));
const micWav = path.join(tmp, "mic.wav");
execFileSync("sox", [speech, "-r", "48000", "-c", "1", micWav]);

// --- the server --------------------------------------------------------------
function serve(extra = [], envExtra = {}) {
  const env = { ...process.env, IZWI_DATA_DIR: path.join(tmp, "data"), IZWI_MODELS_DIR: path.join(tmp, "models"), IZWI_OFFLINE: "1", ...envExtra };
  // Short takes (the tiny model never ends one by itself) unless a step asks otherwise.
  const limit = extra.includes("--max-audio-seconds") ? [] : ["--max-audio-seconds", "6"];
  const proc = spawn(args.izwi, ["serve", "--port", "0", "--model", modelDir, ...limit, "--threads", "1", ...extra], { env });
  let text = "";
  proc.stderr.on("data", (d) => (text += d));
  return new Promise((resolve, reject) => {
    const t = setInterval(async () => {
      const m = text.match(/listening on (http:\/\/[0-9.]+:[0-9]+)/);
      if (!m) return;
      try {
        if ((await fetch(m[1] + "/readyz")).status !== 200) return;
      } catch {
        return;
      }
      clearInterval(t);
      resolve({ proc, url: m[1], log: () => text });
    }, 50);
    proc.on("exit", (c) => reject(new Error(`izwi serve exited with ${c}: ${text}`)));
  });
}

const server = await serve();
log("server at", server.url);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${micWav}`,
  ],
});

const failures = [];
async function step(name, f) {
  const t0 = Date.now();
  try {
    await f();
    log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures.push(name);
    log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

async function newPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  await context.grantPermissions(["microphone"], { origin: server.url });
  const page = await context.newPage();
  page.on("pageerror", (e) => log("page error:", e.message));
  return page;
}

async function noSeriousViolations(page, where) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`), [], `accessibility on ${where}`);
}

const alertText = (page) => page.locator('[role="alert"]:not([hidden])').first().textContent();

// Waits for "Done: …" and returns the status text.
async function waitDone(page) {
  const status = page.locator(".generate .status");
  await status.filter({ hasText: /^Done:/ }).waitFor({ timeout: 60000 });
  return status.textContent();
}

// The chunks of a WAV file: { id: bytes }.
function wavChunks(buf) {
  assert.equal(buf.toString("ascii", 0, 4), "RIFF");
  assert.equal(buf.readUInt32LE(4), buf.length - 8, "RIFF size");
  const chunks = {};
  for (let pos = 12; pos + 8 <= buf.length; ) {
    const id = buf.toString("ascii", pos, pos + 4), size = buf.readUInt32LE(pos + 4);
    chunks[id] = buf.subarray(pos + 8, pos + 8 + size);
    pos += 8 + size + (size % 2);
  }
  return chunks;
}

function wavSamples(buf) {
  // 16-bit PCM WAV written by the UI: fmt, the synthetic-speech mark (LIST), data.
  const data = wavChunks(buf).data;
  return new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

// Replays a request the page made, through the API, as SSE PCM; returns the samples.
async function apiSamples(body) {
  return (await apiSpeech(body)).samples;
}

// The same, with the SSE done event's izwi numbers: { samples, done }.
async function apiSpeech(body, url = server.url) {
  const res = await fetch(url + "/v1/audio/speech", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  const parts = [];
  let done = null;
  for (const ev of text.split("\n\n")) {
    if (!ev.startsWith("data: ")) continue;
    const d = JSON.parse(ev.slice(6));
    if (d.type === "speech.audio.delta") parts.push(Buffer.from(d.audio, "base64"));
    if (d.type === "speech.audio.done") done = d.izwi;
  }
  const all = Buffer.concat(parts);
  return { samples: new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + all.length)), done };
}

// --- the clone flow, end to end ---------------------------------------------
await step("clone: upload, report, generate while streaming, download equals the API, save, reuse, rename, export, delete", async () => {
  const page = await newPage();
  await page.goto(server.url + "/#/clone");
  await page.getByRole("heading", { name: "Voice Cloning" }).waitFor();
  await page.getByLabel("Reference clip", { exact: true }).setInputFiles(speech);
  const report = page.locator(".report");
  await report.waitFor();
  assert.match(await report.locator(".verdict").textContent(), /Good|Usable/);
  assert.match(await report.textContent(), /Duration/);
  // This clip peaks a hair under full scale: its peak reads 0.0 dBFS, not -0.0.
  assert.match(await report.textContent(), /Peak0\.0 dBFS/);
  // Trim: the end handle at 80 % -> the report is of the shorter clip.
  const full = Number((await report.textContent()).match(/Duration([0-9.]+) s/)[1]);
  await page.getByRole("slider", { name: "End" }).fill("800");
  await page.getByText(/Using 0\.0–/).filter({ hasText: `of ${full.toFixed(1)} s` }).waitFor();
  await page.waitForFunction(
    (f) => Number(document.querySelector(".report").textContent.match(/Duration([0-9.]+) s/)[1]) < f - 1, full);
  await page.getByLabel("Text", { exact: true }).fill("Hello, this is my cloned voice speaking from the browser.");

  // Slow the network so the stream visibly arrives over time: the first
  // `playing` must come before the last audio byte.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: 60 * 1024, uploadThroughput: -1 });
  await page.evaluate(() => {
    window.__t = { playing: 0, lastDelta: 0 };
    document.querySelector("audio.live").addEventListener("playing", () => (window.__t.playing ||= performance.now()));
    new MutationObserver(() => {
      const s = document.querySelector(".generate .status").textContent;
      if (s.startsWith("Generating")) window.__t.lastDelta = performance.now();
    }).observe(document.querySelector(".generate .status"), { childList: true, characterData: true, subtree: true });
  });
  const sent = page.waitForRequest((r) => r.url().endsWith("/v1/audio/speech"));
  await page.getByRole("button", { name: "Generate" }).click();
  const body = JSON.parse((await sent).postData());
  const done = await waitDone(page);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const t = await page.evaluate(() => window.__t);
  log(`streaming: first playing at ${t.playing.toFixed(0)} ms, last audio at ${t.lastDelta.toFixed(0)} ms (${done})`);
  assert.ok(t.playing > 0 && t.playing < t.lastDelta, "playback started before the last audio arrived");

  // The whole clip plays, and is not silent (measured in the page).
  const player = page.getByLabel("Generated speech");
  await player.waitFor({ state: "visible", timeout: 30000 });
  const rms = await page.evaluate(async () => {
    const a = document.querySelector('audio[aria-label="Generated speech"]');
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    ctx.createMediaElementSource(a).connect(analyser);
    analyser.connect(ctx.destination);
    await a.play();
    const buf = new Float32Array(analyser.fftSize);
    let best = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      analyser.getFloatTimeDomainData(buf);
      best = Math.max(best, Math.sqrt(buf.reduce((s, v) => s + v * v, 0) / buf.length));
    }
    a.pause();
    return best;
  });
  assert.ok(rms > 1e-3, `the player is silent (rms ${rms})`);

  // The downloaded WAV holds exactly the API's samples for the same request and seed.
  const seed = Number(done.match(/seed (\d+)/)[1]);
  const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download WAV" }).click()]);
  const file = path.join(tmp, "download.wav");
  await dl.saveAs(file);
  const ours = wavSamples(fs.readFileSync(file));
  // The page's WAV carries the server's mark: synthetic speech, which model and voice.
  const list = wavChunks(fs.readFileSync(file)).LIST.toString("latin1");
  assert.match(list, /^INFO/);
  assert.match(list, /Synthetic speech made by izwi [^|]+ \| model: [^|]+ \| voice: reference audio \| created: \d{4}-/);
  const replay = await apiSpeech({ ...body, seed });
  const api = replay.samples;
  // The speaker similarity the page shows is the API's for the same take. The
  // page's seed is random, and a take under 0.5 s has none (too little speech
  // to say): then the page shows none either.
  const similarity = replay.done.speaker_similarity;
  if (similarity === null) {
    assert.ok(api.length < 0.5 * 24000, `no similarity for a ${api.length}-sample take`);
    assert.ok(!done.includes("speaker similarity"), done);
  } else {
    assert.equal(typeof similarity, "number");
    assert.ok(done.includes(`speaker similarity ${similarity.toFixed(3)}`), done);
  }
  assert.equal(ours.length, api.length);
  assert.deepEqual(Buffer.from(ours.buffer), Buffer.from(api.buffer));
  const [mp3] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download MP3" }).click()]);
  assert.match(mp3.suggestedFilename(), /\.mp3$/);

  // Save the voice with a consent note (the server speaks with saved voices
  // only once one is recorded).
  await page.getByLabel("Voice name").fill("browser-voice");
  await page.getByLabel("Consent note").fill("the speaker, in this test");
  await page.getByRole("button", { name: "Save voice" }).click();
  await page.getByText("Saved “browser-voice”").waitFor();

  // Saved Voices -> Use -> Text to Speech with it.
  await page.getByRole("link", { name: "Saved Voices" }).click();
  await page.getByText("browser-voice", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Use browser-voice" }).click();
  await page.getByRole("heading", { name: "Text to Speech" }).waitFor();
  assert.equal(await page.getByRole("combobox", { name: "Voice", exact: true }).inputValue(), "saved:browser-voice");
  await page.getByLabel("Text", { exact: true }).fill("Speaking again with the saved voice.");
  await page.getByRole("button", { name: "Generate" }).click();
  await waitDone(page);

  // Record another consent note, then rename, export, delete.
  await page.getByRole("link", { name: "Saved Voices" }).click();
  page.once("dialog", (d) => d.accept("Ann Lee, 2026-12-01"));
  await page.getByRole("button", { name: "Consent browser-voice" }).click();
  await page.getByText("consent: Ann Lee, 2026-12-01", { exact: false }).waitFor();
  page.once("dialog", (d) => d.accept("renamed-voice"));
  await page.getByRole("button", { name: "Rename browser-voice" }).click();
  await page.getByText("renamed-voice", { exact: true }).waitFor();
  const [exported] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export renamed-voice" }).click()]);
  const exportedFile = path.join(tmp, "voice.json");
  await exported.saveAs(exportedFile);
  assert.equal(JSON.parse(fs.readFileSync(exportedFile, "utf8")).name, "renamed-voice");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Delete renamed-voice" }).click();
  await page.getByText("No saved voices yet").waitFor();
  // History keeps this browser's generations.
  await page.getByRole("link", { name: "History" }).click();
  await page.getByRole("heading", { name: "History" }).waitFor();
  await page.locator(".history li").nth(1).waitFor();
  assert.equal(await page.locator(".history li").count(), 2);
  await page.context().close();
});

await step("microphone: a recording from the fake capture device is cloned", async () => {
  const page = await newPage();
  await page.goto(server.url + "/#/clone");
  await page.getByRole("button", { name: "Record from microphone" }).click();
  await page.getByText(/good length/).waitFor({ timeout: 20000 });
  await page.getByRole("button", { name: "Stop recording" }).click();
  await page.locator(".report").waitFor({ timeout: 20000 });
  await page.getByLabel("Text", { exact: true }).fill("Cloned from a recording.");
  await page.getByRole("button", { name: "Generate" }).click();
  await waitDone(page);
  await page.context().close();
});

await step("a long text of three paragraphs is spoken in chunks: the status counts them, the download equals the API", async () => {
  // Room for three chunks of the tiny model (each runs to its cap, about 7 s).
  const roomy = await serve(["--max-audio-seconds", "60"]);
  const page = await newPage();
  await page.goto(roomy.url + "/#/clone");
  await page.getByLabel("Reference clip", { exact: true }).setInputFiles(speech);
  await page.locator(".report").waitFor();
  const text =
    "The first paragraph has one sentence. And a second one.\n\n" +
    "The second paragraph follows after a pause.\n\nA third paragraph ends it.";
  await page.getByLabel("Text", { exact: true }).fill(text);
  const sent = page.waitForRequest((r) => r.url().endsWith("/v1/audio/speech"));
  await page.getByRole("button", { name: "Generate" }).click();
  const body = JSON.parse((await sent).postData());
  assert.equal(body.input, text);
  const done = await waitDone(page);
  assert.match(done, /, 3 chunks/);
  const seed = Number(done.match(/seed (\d+)/)[1]);
  // The downloads appear once the live playback of the ~20 s has ended.
  await page.getByLabel("Generated speech").waitFor({ state: "visible", timeout: 90000 });
  const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download WAV" }).click()]);
  const file = path.join(tmp, "long.wav");
  await dl.saveAs(file);
  const ours = wavSamples(fs.readFileSync(file));
  const replay = await apiSpeech({ ...body, seed }, roomy.url);
  assert.equal(replay.done.chunks, 3);
  assert.equal(ours.length, replay.samples.length);
  assert.deepEqual(Buffer.from(ours.buffer), Buffer.from(replay.samples.buffer));
  await page.context().close();
  roomy.proc.kill("SIGTERM");
});

await step("bad uploads show a readable error and the page keeps working", async () => {
  const page = await newPage();
  await page.goto(server.url + "/#/clone");
  const clip = page.getByLabel("Reference clip", { exact: true });
  await clip.setInputFiles(notAudio);
  await page.locator('.card [role="alert"]:not([hidden])').waitFor();
  assert.match(await alertText(page), /cannot read|not recognised|audio/i);
  await clip.setInputFiles(short);
  await page.locator(".report.bad").waitFor();
  assert.match(await page.locator(".report .verdict").textContent(), /cannot be used/);
  await clip.setInputFiles(huge);
  await page.getByText(/over 25 MB/).waitFor({ timeout: 30000 });
  // Still works: a good clip, then speech.
  await clip.setInputFiles(speech);
  await page.locator(".report.ok, .report.warn").waitFor();
  await page.getByLabel("Text", { exact: true }).fill("Still working.");
  await page.getByRole("button", { name: "Generate" }).click();
  await waitDone(page);
  await page.context().close();
});

await step("keyboard only: the clone flow with Tab, Enter and Space", async () => {
  const page = await newPage();
  // Listen for the file chooser before anything happens: Playwright switches
  // its interception on when the first listener arrives, which takes a round
  // trip; a key press racing it would open an (invisible) native dialog.
  let chosen;
  const chooserShown = new Promise((resolve) => (chosen = resolve));
  page.on("filechooser", (c) => chosen(c));
  await page.goto(server.url + "/#/clone");
  await page.getByRole("heading", { name: "Voice Cloning" }).waitFor();
  const tabTo = async (test) => {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(test)) return;
    }
    throw new Error("not reachable with Tab: " + test);
  };
  await tabTo(() => document.activeElement?.classList.contains("drop"));
  await page.keyboard.press("Enter");
  const chooser = await Promise.race([
    chooserShown,
    new Promise((_, reject) => setTimeout(() => reject(new Error("Enter on the drop zone opened no file chooser")), 15000)),
  ]);
  await chooser.setFiles(speech);
  await page.locator(".report").waitFor();
  await tabTo(() => document.activeElement?.tagName === "TEXTAREA" && document.activeElement.placeholder.startsWith("Type what"));
  await page.keyboard.type("Typed with the keyboard alone.");
  await tabTo(() => document.activeElement?.textContent === "Generate");
  await page.keyboard.press("Space");
  await waitDone(page);
  await page.context().close();
});

// No page may be wider than the window (a phone would scroll it sideways),
// nor hide a control past its edge inside a box that scrolls on its own.
async function fitsTheWindow(page, what) {
  const { scroll, client, outside } = await page.evaluate(() => {
    const client = document.documentElement.clientWidth;
    const outside = [...document.querySelectorAll("button, a[href], input, select, textarea")]
      .filter((e) => e.getClientRects().length > 0)
      .filter((e) => {
        const r = e.getBoundingClientRect();
        // (A skip link waits off the left edge until it is focused.)
        return r.width > 1 && r.right > client + 0.5;
      })
      .map((e) => e.getAttribute("aria-label") ?? e.textContent.trim());
    return { scroll: document.documentElement.scrollWidth, client, outside };
  });
  assert.ok(scroll <= client, `${what}: the page is ${scroll} px wide in a ${client} px window`);
  assert.deepEqual(outside, [], `${what}: controls past the window's edge`);
}

await step("accessibility (axe-core), no sideways scrolling, and screenshots of every page, desktop and phone, light and dark", async () => {
  // A saved voice so that the lists have something in them.
  const form = new FormData();
  form.append("name", "narrator");
  form.append("audio", new Blob([fs.readFileSync(speech)]), "reference.wav");
  form.append("consent", "the speaker, in writing");
  assert.equal((await fetch(server.url + "/v1/voices", { method: "POST", body: form })).status, 201);
  for (const [label, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
    const page = await newPage(viewport);
    for (const route of ["clone", "tts", "voices", "models", "history"]) {
      await page.goto(`${server.url}/#/${route}`);
      await page.locator("main h1").waitFor();
      if (route === "clone") {
        await page.getByLabel("Reference clip", { exact: true }).setInputFiles(speech);
        await page.locator(".report").waitFor();
      }
      await noSeriousViolations(page, `${route} (${label})`);
      await fitsTheWindow(page, `${route} (${label})`);
      await page.screenshot({ path: path.join(out, `${route}-${label}.png`), fullPage: true });
    }
    await page.getByRole("button", { name: "Dark theme" }).click();
    for (const route of ["clone", "voices"]) {
      await page.goto(`${server.url}/#/${route}`);
      await page.locator("main h1").waitFor();
      await noSeriousViolations(page, `${route} (${label}, dark)`);
      await fitsTheWindow(page, `${route} (${label}, dark)`);
      await page.screenshot({ path: path.join(out, `${route}-${label}-dark.png`), fullPage: true });
    }
    await page.context().close();
  }
});

await step("a server with --api-key: the UI asks for the key once, then works", async () => {
  const locked = await serve(["--api-key", "open-sesame"]);
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept(d.type() === "prompt" ? "open-sesame" : undefined));
  await page.goto(locked.url + "/#/voices");
  await page.getByText("API key saved: try again.").waitFor();
  await page.reload();
  await page.getByText("narrator", { exact: true }).waitFor();
  assert.equal(await page.locator('[role="alert"]:not([hidden])').count(), 0);
  await context.close();
  locked.proc.kill("SIGTERM");
});

// A stand-in for the Hugging Face hub (its URL layout) serving the tiny model
// as Qwen/Qwen3-TTS-12Hz-1.7B-Base, for the Models page's pull.
function fakeHub(repo, dir) {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push({ type: "file", path: path.relative(dir, p), size: fs.statSync(p).size });
    }
  };
  walk(dir);
  const sha = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"; // the commit "main" is at
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, "http://hub");
    if (u.pathname === `/api/models/${repo}/revision/main`) {
      res.setHeader("Content-Type", "application/json");
      return res.end(JSON.stringify({ id: repo, sha }));
    }
    if (u.pathname === `/api/models/${repo}/tree/${sha}`) {
      res.setHeader("Content-Type", "application/json");
      return res.end(JSON.stringify(files));
    }
    const prefix = `/${repo}/resolve/${sha}/`;
    const file = u.pathname.startsWith(prefix) && files.find((f) => f.path === decodeURIComponent(u.pathname.slice(prefix.length)));
    if (!file) {
      res.statusCode = 404;
      return res.end("{}");
    }
    const data = fs.readFileSync(path.join(dir, file.path));
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? "");
    const from = range ? Number(range[1]) : 0;
    res.statusCode = range ? 206 : 200;
    res.setHeader("Content-Length", data.length - from);
    res.end(data.subarray(from));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

await step("models: the catalogue, and a pull with a progress bar", async () => {
  const hub = await fakeHub("Qwen/Qwen3-TTS-12Hz-1.7B-Base", modelDir);
  const models = path.join(tmp, "pull-models");
  const s = await serve([], { IZWI_OFFLINE: "", IZWI_MODELS_DIR: models, HF_ENDPOINT: `http://127.0.0.1:${hub.address().port}` });
  const page = await newPage();
  await page.goto(s.url + "/#/models");
  const row = page.locator("tr", { has: page.getByRole("rowheader", { name: "qwen3-tts-1.7b-base", exact: true }) });
  assert.match(await row.textContent(), /not installed \(4\.6 GB\)/);
  await page.evaluate(() => {
    window.__progress = [];
    new MutationObserver((ms) => {
      for (const m of ms) if (m.target.tagName === "PROGRESS") window.__progress.push(Number(m.target.value));
    }).observe(document.querySelector("main"), { attributes: true, attributeFilter: ["value"], subtree: true });
  });
  await page.getByRole("button", { name: "Pull qwen3-tts-1.7b-base" }).click();
  await row.filter({ hasText: /^(?!.*not installed).*installed/ }).waitFor();
  assert.ok(fs.existsSync(path.join(models, "qwen3-tts-1.7b-base", "config.json")));
  const progress = await page.evaluate(() => window.__progress);
  assert.ok(progress.length > 1 && progress.at(-1) > 0.99, `the progress bar moved: ${progress}`);
  await page.context().close();
  s.proc.kill("SIGTERM");
  hub.close();
});

await browser.close();
server.proc.kill("SIGTERM");
await new Promise((r) => server.proc.on("exit", r));
fs.rmSync(tmp, { recursive: true, force: true });
if (failures.length) {
  console.error(`[web] ${failures.length} failed: ${failures.join("; ")}`);
  process.exit(1);
}
log("all passed; screenshots in", out);
