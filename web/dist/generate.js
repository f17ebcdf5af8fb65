// Text in, speech out: the text box, Generate with progress, playback while it
// streams, then the whole clip with downloads. Used by Voice Cloning and Text to Speech.
import { api } from "./api.js";
import { pcm16Wav, StreamPlayer } from "./audio.js";
import { clearError, download, errorBox, field, h, showError } from "./dom.js";
import { history } from "./history.js";
export const MAX_CHARS = 50000; // izwi serve --max-text-chars default (long texts go in chunks)
export class GeneratePanel {
    request;
    voiceLabel;
    element;
    text = h("textarea", { rows: 4, maxlength: MAX_CHARS, placeholder: "Type what the voice should say" });
    count = h("p", { class: "hint", "aria-live": "polite" }, `0 / ${MAX_CHARS} characters`);
    button = h("button", { type: "button", class: "primary" }, "Generate");
    progress = h("progress", { max: 1, value: 0, "aria-label": "Generation progress", hidden: true });
    status = h("p", { class: "status", role: "status" });
    live = h("audio", { class: "live", "aria-label": "Speech as it is generated" });
    player = h("audio", { controls: true, "aria-label": "Generated speech", hidden: true });
    downloads = h("div", { class: "row downloads", hidden: true });
    error = errorBox();
    last = null;
    // `request` builds the request (and throws a readable Error if something is missing).
    constructor(request, voiceLabel) {
        this.request = request;
        this.voiceLabel = voiceLabel;
        this.text.addEventListener("input", () => {
            this.count.textContent = `${this.text.value.length} / ${MAX_CHARS} characters`;
        });
        this.button.addEventListener("click", () => void this.generate());
        for (const fmt of ["wav", "mp3", "flac"])
            this.downloads.append(h("button", { type: "button", class: "secondary", onclick: () => void this.save(fmt) }, `Download ${fmt.toUpperCase()}`));
        this.element = h("div", { class: "generate" }, field("Text", this.text), this.count, h("div", { class: "row" }, this.button, this.progress), this.status, this.error, this.live, this.player, this.downloads);
    }
    async generate() {
        clearError(this.error);
        if (!this.text.value.trim()) {
            showError(this.error, "Type a text to speak first.");
            this.text.focus();
            return;
        }
        let req;
        try {
            req = { ...(await this.request()), input: this.text.value };
        }
        catch (e) {
            showError(this.error, e);
            return;
        }
        this.button.disabled = true;
        this.progress.hidden = false;
        this.progress.removeAttribute("value"); // indeterminate until audio arrives
        this.player.hidden = true;
        this.downloads.hidden = true;
        this.status.textContent = "Starting…";
        const chunks = [];
        let samples = 0;
        const player = new StreamPlayer(this.live);
        try {
            const done = await api.speechStream(req, (pcm) => {
                chunks.push(pcm);
                samples += pcm.length;
                player.push(pcm);
                this.progress.value = 1;
                this.status.textContent = `Generating… ${(samples / 24000).toFixed(1)} s of audio, playing as it is made`;
            });
            const wav = pcm16Wav(chunks, 24000, done.tags);
            req.seed = done.seed; // the same seed gives the same speech in other formats
            this.last = { request: req, wav };
            const similarity = done.speaker_similarity === null ? "" : `, speaker similarity ${done.speaker_similarity.toFixed(3)}`;
            const inChunks = done.chunks > 1 ? `, ${done.chunks} chunks` : "";
            this.status.textContent = `Done: ${done.audio_seconds.toFixed(1)} s of audio${inChunks}, real-time factor ${done.real_time_factor.toFixed(2)}, seed ${done.seed}${similarity}`;
            await history.add({
                text: req.input,
                voice: this.voiceLabel(),
                time: new Date().toISOString(),
                seconds: done.audio_seconds,
                rtf: done.real_time_factor,
                seed: done.seed,
                wav,
            });
            // The whole clip in a normal player once the live playback has finished.
            setTimeout(() => {
                player.close();
                this.player.src = URL.createObjectURL(wav);
                this.player.hidden = false;
                this.downloads.hidden = false;
            }, player.remaining() * 1000);
        }
        catch (e) {
            player.close();
            this.status.textContent = "";
            showError(this.error, e);
        }
        finally {
            this.button.disabled = false;
            this.progress.hidden = true;
        }
    }
    async save(format) {
        if (!this.last)
            return;
        clearError(this.error);
        try {
            const blob = format === "wav" ? this.last.wav : await api.speechFile(this.last.request, format);
            download(blob, `izwi-speech.${format}`);
        }
        catch (e) {
            showError(this.error, e);
        }
    }
}
