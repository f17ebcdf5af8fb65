// The reference report, inline: the measurements and each warning with its fix.
import { ReferenceReport } from "./api.js";
import { h } from "./dom.js";

// v with `digits` decimals; a value that rounds to zero is "0.0", never "-0.0"
// (a peak a hair under full scale is -0.004 dBFS).
function fixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

export function renderReport(r: ReferenceReport): HTMLElement {
  const rows: [string, string][] = [
    ["Duration", `${fixed(r.duration_s, 1)} s`],
    ["Speech", `${fixed(r.speech_s, 1)} s`],
    ["Silence at start / end", `${fixed(r.leading_silence_s, 1)} s / ${fixed(r.trailing_silence_s, 1)} s`],
    ["Longest pause", `${fixed(r.longest_pause_s, 1)} s`],
    ["Clipping", `${fixed(r.clipping_ratio * 100, 2)} % of samples`],
    ["Noise (speech over background)", `${fixed(r.snr_db, 0)} dB`],
    ["Peak", `${fixed(r.peak_dbfs, 1)} dBFS`],
  ];
  const verdict = r.usable
    ? r.issues.length
      ? "Usable, with warnings:"
      : "Good: this clip is ready for cloning."
    : `This clip cannot be used: ${r.error ?? "see below"}`;
  return h(
    "section",
    { class: `report ${r.usable ? (r.issues.length ? "warn" : "ok") : "bad"}`, "aria-label": "Reference report" },
    h("p", { class: "verdict" }, verdict),
    h("dl", {}, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    r.issues.length
      ? h("ul", { class: "issues" }, ...r.issues.map((i) => h("li", {}, h("strong", {}, `${i.message}. `), i.fix)))
      : null,
  );
}
