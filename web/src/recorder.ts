// Recording a reference from the microphone: a level meter and a timer that
// shows the 5-30 s target.
import { Clip, decodeClip, LevelMeter } from "./audio.js";
import { h } from "./dom.js";

export class MicRecorder {
  readonly element: HTMLElement;
  private button = h("button", { type: "button", class: "secondary" }, "Record from microphone");
  private meter = h("meter", { min: 0, max: 1, value: 0, "aria-label": "Input level" });
  private timer = h("span", { class: "timer", "aria-live": "off" }, "0.0 s (aim for 5–30 s)");
  private recorder: MediaRecorder | null = null;
  private level: LevelMeter | null = null;
  private started = 0;

  constructor(private onClip: (clip: Clip, blob: Blob) => void, private onError: (e: unknown) => void) {
    this.button.addEventListener("click", () => (this.recorder ? this.stop() : void this.start()));
    this.element = h("div", { class: "recorder row" }, this.button, this.meter, this.timer);
  }

  private async start(): Promise<void> {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks: Blob[] = [];
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
        } catch (e) {
          this.onError(e);
        }
      };
      this.level = new LevelMeter(stream);
      this.recorder.start(250);
      this.started = performance.now();
      this.button.textContent = "Stop recording";
      this.tick();
    } catch (e) {
      this.onError(new Error(`The microphone is not available (${e instanceof Error ? e.message : e}); upload a file instead.`));
    }
  }

  stop(): void {
    this.recorder?.stop();
  }

  private tick(): void {
    if (!this.recorder) return;
    const s = (performance.now() - this.started) / 1000;
    this.meter.value = this.level?.level() ?? 0;
    const hint = s < 5 ? "keep going: 5 s at least" : s <= 30 ? "good length" : "over 30 s: only the best 30 s are used";
    this.timer.textContent = `${s.toFixed(1)} s (${hint})`;
    requestAnimationFrame(() => this.tick());
  }
}
