// A clip's waveform with a selectable start and end (trim before cloning).
import { Clip } from "./audio.js";
import { field, h } from "./dom.js";

export class Waveform {
  readonly element: HTMLElement;
  private canvas = h("canvas", { width: 800, height: 96, role: "img", "aria-label": "Waveform of the clip" });
  private start = h("input", { type: "range", min: 0, max: 1000, value: 0, step: 1 });
  private end = h("input", { type: "range", min: 0, max: 1000, value: 1000, step: 1 });
  private summary = h("p", { class: "hint", "aria-live": "polite" });

  constructor(private clip: Clip, private onChange: () => void) {
    for (const r of [this.start, this.end]) r.addEventListener("input", () => this.changed(r));
    this.element = h(
      "div",
      { class: "waveform" },
      this.canvas,
      h("div", { class: "row" }, field("Start", this.start), field("End", this.end)),
      this.summary,
    );
    this.draw();
    this.describe();
  }

  // The selected part of the clip.
  selection(): Clip {
    const n = this.clip.samples.length;
    const a = Math.floor((Number(this.start.value) / 1000) * n);
    const b = Math.max(a + 1, Math.floor((Number(this.end.value) / 1000) * n));
    return { samples: this.clip.samples.slice(a, b), rate: this.clip.rate };
  }

  private changed(moved: HTMLInputElement): void {
    if (Number(this.start.value) >= Number(this.end.value)) {
      if (moved === this.start) this.start.value = String(Number(this.end.value) - 1);
      else this.end.value = String(Number(this.start.value) + 1);
    }
    this.draw();
    this.describe();
    this.onChange();
  }

  private describe(): void {
    const total = this.clip.samples.length / this.clip.rate;
    const a = (Number(this.start.value) / 1000) * total;
    const b = (Number(this.end.value) / 1000) * total;
    this.start.setAttribute("aria-valuetext", `${a.toFixed(1)} s`);
    this.end.setAttribute("aria-valuetext", `${b.toFixed(1)} s`);
    this.summary.textContent = `Using ${a.toFixed(1)}–${b.toFixed(1)} s (${(b - a).toFixed(1)} s of ${total.toFixed(1)} s)`;
  }

  private draw(): void {
    const g = this.canvas.getContext("2d");
    if (!g) return;
    const { width, height } = this.canvas;
    const style = getComputedStyle(this.element);
    g.clearRect(0, 0, width, height);
    const x = this.clip.samples;
    const per = Math.max(1, Math.floor(x.length / width));
    const a = (Number(this.start.value) / 1000) * width;
    const b = (Number(this.end.value) / 1000) * width;
    for (let px = 0; px < width; px++) {
      let peak = 0;
      for (let i = px * per; i < Math.min(x.length, (px + 1) * per); i++) peak = Math.max(peak, Math.abs(x[i]));
      g.fillStyle = px >= a && px <= b ? style.getPropertyValue("--accent") || "#2563eb" : "#9ca3af";
      const hgt = Math.max(1, peak * height);
      g.fillRect(px, (height - hgt) / 2, 1, hgt);
    }
  }
}
