// The reference report, inline: the measurements and each warning with its fix.
import { ReferenceReport } from "./api.js";
import { h } from "./dom.js";

export function renderReport(r: ReferenceReport): HTMLElement {
  const rows: [string, string][] = [
    ["Duration", `${r.duration_s.toFixed(1)} s`],
    ["Speech", `${r.speech_s.toFixed(1)} s`],
    ["Silence at start / end", `${r.leading_silence_s.toFixed(1)} s / ${r.trailing_silence_s.toFixed(1)} s`],
    ["Longest pause", `${r.longest_pause_s.toFixed(1)} s`],
    ["Clipping", `${(r.clipping_ratio * 100).toFixed(2)} % of samples`],
    ["Noise (speech over background)", `${r.snr_db.toFixed(0)} dB`],
    ["Peak", `${r.peak_dbfs.toFixed(1)} dBFS`],
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
