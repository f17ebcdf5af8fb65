// Voice Cloning: the product page's three steps. 1 a reference clip (upload or
// record, trim, checked at once), 2 text -> Generate -> listen, 3 download and save.
import { api, base64, Model } from "./api.js";
import { Clip, decodeClip, floatWav } from "./audio.js";
import { clearError, errorBox, field, h, showError } from "./dom.js";
import { GeneratePanel } from "./generate.js";
import { MicRecorder } from "./recorder.js";
import { renderReport } from "./report.js";
import { Waveform } from "./waveform.js";

const ACCEPT = ".wav,.mp3,.flac,.ogg,.opus,.m4a,.webm,audio/*";

export function clonePage(models: Model[]): HTMLElement {
  // The clip: decoded in the browser (trimmed there) or, if the browser cannot
  // decode it, sent as it is for the server to judge.
  let decoded: { wave: Waveform } | null = null;
  let raw: Blob | null = null;
  const uploadError = errorBox();
  const reportBox = h("div", { "aria-live": "polite" });
  const waveBox = h("div");
  const file = h("input", { type: "file", accept: ACCEPT });
  const drop = h(
    "div",
    { class: "drop", tabindex: 0, role: "button" },
    "Drop a clip here (wav, mp3, flac, ogg, opus, m4a) or press to choose a file",
  );
  const transcript = h("textarea", { rows: 2, placeholder: "What the clip says, word for word" });
  const cloners = models.filter((m) => m.installed && m.can_clone);
  const model = h("select", {}, ...cloners.map((m) => h("option", { value: m.id, selected: !!m.default }, m.id)));
  const language = h("select", {});
  const fillLanguages = () => {
    const m = models.find((x) => x.id === model.value);
    language.replaceChildren(...(m?.languages ?? ["auto"]).map((l) => h("option", { value: l }, l)));
  };
  model.addEventListener("change", fillLanguages);
  fillLanguages();

  const referenceWav = (): Blob => {
    if (decoded) return floatWav(decoded.wave.selection());
    if (raw) return raw;
    throw new Error("Step 1 first: upload or record a reference clip (5–30 s of clear speech).");
  };

  let reportTimer = 0;
  const checkReference = () => {
    clearTimeout(reportTimer);
    reportTimer = window.setTimeout(async () => {
      try {
        const r = await api.referenceReport(referenceWav());
        reportBox.replaceChildren(renderReport(r));
      } catch (e) {
        reportBox.replaceChildren();
        showError(uploadError, e);
      }
    }, 150);
  };

  const useClip = (clip: Clip | null, blob: Blob) => {
    clearError(uploadError);
    raw = blob;
    decoded = null;
    waveBox.replaceChildren();
    if (clip) {
      const wave = new Waveform(clip, checkReference);
      decoded = { wave };
      waveBox.append(wave.element);
    }
    checkReference();
  };
  const takeFile = async (f: File) => {
    try {
      useClip(await decodeClip(f), f);
    } catch {
      useClip(null, f); // the browser cannot decode it; the server will say why (or accept it)
    }
  };
  file.addEventListener("change", () => file.files?.[0] && void takeFile(file.files[0]));
  drop.addEventListener("click", () => file.click());
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      file.click();
    }
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files?.[0];
    if (f) void takeFile(f);
  });
  const mic = new MicRecorder(
    (clip, blob) => useClip(clip, blob),
    (e) => showError(uploadError, e),
  );

  const reference = async () => ({
    model: model.value,
    language: language.value,
    reference_audio: base64(await referenceWav().arrayBuffer()),
    reference_text: transcript.value.trim() || undefined,
  });
  const panel = new GeneratePanel(reference, () => "cloned from a clip");

  // Step 3: save the voice (consent asked for; the ethics guidance in view).
  const name = h("input", { type: "text", pattern: "[\\p{L}\\p{Nd}][\\p{L}\\p{M}\\p{Nd}_.\\-]{0,63}", placeholder: "e.g. grandma" });
  const consent = h("input", { type: "text", placeholder: "Who agreed to this, and when" });
  const saveError = errorBox();
  const saved = h("p", { class: "status", role: "status" });
  const save = h("button", { type: "button", class: "secondary" }, "Save voice");
  save.addEventListener("click", async () => {
    clearError(saveError);
    saved.textContent = "";
    if (!name.value.trim()) {
      showError(saveError, "Give the voice a name.");
      name.focus();
      return;
    }
    if (!consent.value.trim() && !confirm("No consent note: save this voice without recording who agreed to it? The server will not speak with it until a note is recorded (Saved Voices → Consent).")) return;
    // A voice with a transcript is prepared while it is saved (its reference
    // decoded once, 1-3 s), so the button says so rather than looking idle.
    save.disabled = true;
    saved.textContent = "Saving…";
    try {
      const form = new FormData();
      form.append("name", name.value.trim());
      form.append("audio", referenceWav(), "reference.wav");
      if (transcript.value.trim()) form.append("transcript", transcript.value.trim());
      form.append("consent", consent.value.trim());
      form.append("model", model.value);
      const v = await api.saveVoice(form);
      saved.textContent = `Saved “${v.name}”. Find it under Saved Voices.`;
    } catch (e) {
      saved.textContent = "";
      showError(saveError, e);
    } finally {
      save.disabled = false;
    }
  });

  return h(
    "section",
    { class: "page", "aria-labelledby": "clone-title" },
    h("h1", { id: "clone-title" }, "Voice Cloning"),
    h(
      "section",
      { class: "card", "aria-labelledby": "step1" },
      h("h2", { id: "step1" }, "Step 1: Upload reference audio"),
      h("p", { class: "hint" }, "5–30 seconds of clear speech by a single speaker, with little background noise."),
      drop,
      field("Reference clip", file),
      mic.element,
      uploadError,
      waveBox,
      reportBox,
      field("Transcript (optional)", transcript, "Closer clone: type what the clip says."),
      h("div", { class: "row" }, field("Model", model), field("Language", language)),
    ),
    h("section", { class: "card", "aria-labelledby": "step2" }, h("h2", { id: "step2" }, "Step 2: Generate speech"), panel.element),
    h(
      "section",
      { class: "card", "aria-labelledby": "step3" },
      h("h2", { id: "step3" }, "Step 3: Save and reuse"),
      h(
        "aside",
        { class: "ethics", "aria-label": "Ethical use" },
        h("strong", {}, "Use cloned voices responsibly. "),
        "Only clone a voice with its owner's permission, never to deceive or impersonate, and follow the law where you are.",
      ),
      h("div", { class: "row" }, field("Voice name", name), field("Consent note", consent)),
      save,
      saveError,
      saved,
    ),
  );
}
