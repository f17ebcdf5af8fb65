// Recording a reference from the microphone: a level meter and a timer that
// shows the 5-30 s target.
import { decodeClip, LevelMeter } from "./audio.js";
import { h } from "./dom.js";
export class MicRecorder {
    onClip;
    onError;
    element;
    button = h("button", { type: "button", class: "secondary" }, "Record from microphone");
    meter = h("meter", { min: 0, max: 1, value: 0, "aria-label": "Input level" });
    timer = h("span", { class: "timer", "aria-live": "off" }, "0.0 s (aim for 5–30 s)");
    recorder = null;
    level = null;
    started = 0;
    constructor(onClip, onError) {
        this.onClip = onClip;
        this.onError = onError;
        this.button.addEventListener("click", () => (this.recorder ? this.stop() : void this.start()));
        this.element = h("div", { class: "recorder row" }, this.button, this.meter, this.timer);
    }
    async start() {
        try {
            const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
            const chunks = [];
            this.recorder = new MediaRecorder(stream);
            this.recorder.ondataavailable = (e) => chunks.push(e.data);
            this.recorder.onstop = async () => {
                stream.getTracks().forEach((t) => t.stop());
                this.level?.close();
                this.level = null;
                const blob = new Blob(chunks, { type: this.recorder?.mimeType || "audio/webm" });
                this.recorder = null;
                this.button.textContent = "Record from microphone";
                try {
                    this.onClip(await decodeClip(blob), blob);
                }
                catch (e) {
                    this.onError(e);
                }
            };
            this.level = new LevelMeter(stream);
            this.recorder.start(250);
            this.started = performance.now();
            this.button.textContent = "Stop recording";
            this.tick();
        }
        catch (e) {
            this.onError(new Error(`The microphone is not available (${e instanceof Error ? e.message : e}); upload a file instead.`));
        }
    }
    stop() {
        this.recorder?.stop();
    }
    tick() {
        if (!this.recorder)
            return;
        const s = (performance.now() - this.started) / 1000;
        this.meter.value = this.level?.level() ?? 0;
        const hint = s < 5 ? "keep going: 5 s at least" : s <= 30 ? "good length" : "over 30 s: only the best 30 s are used";
        this.timer.textContent = `${s.toFixed(1)} s (${hint})`;
        requestAnimationFrame(() => this.tick());
    }
}
