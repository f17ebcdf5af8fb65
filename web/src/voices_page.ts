// Saved Voices: play the reference, use, rename, record consent, export, delete (confirmed), import.
import { api, Voice } from "./api.js";
import { clearError, download, errorBox, field, h, showError } from "./dom.js";

export async function voicesPage(go: (route: string) => void): Promise<HTMLElement> {
  const list = h("ul", { class: "voices", "aria-label": "Saved voices" });
  const error = errorBox();
  const status = h("p", { class: "status", role: "status" });
  const importFile = h("input", { type: "file", accept: ".json,application/json" });

  const render = async () => {
    clearError(error);
    let voices: Voice[];
    try {
      voices = await api.voices();
    } catch (e) {
      showError(error, e);
      return;
    }
    list.replaceChildren(
      ...voices.map((v) => voiceItem(v, render, go, status, error)),
    );
    if (!voices.length) list.append(h("li", { class: "empty" }, "No saved voices yet: clone one on Voice Cloning and save it."));
  };
  importFile.addEventListener("change", async () => {
    const f = importFile.files?.[0];
    if (!f) return;
    clearError(error);
    try {
      const v = await api.importVoice(f);
      status.textContent = `Imported “${v.name}”.`;
      await render();
    } catch (e) {
      showError(error, e);
    }
    importFile.value = "";
  });
  await render();
  return h(
    "section",
    { class: "page", "aria-labelledby": "voices-title" },
    h("h1", { id: "voices-title" }, "Saved Voices"),
    h("section", { class: "card" }, field("Import a voice file (from Export or izwi voices export)", importFile), status, error, list),
  );
}

function voiceItem(
  v: Voice,
  render: () => Promise<void>,
  go: (route: string) => void,
  status: HTMLElement,
  error: HTMLElement,
): HTMLElement {
  const act = (label: string, f: () => Promise<void>) =>
    h("button", {
      type: "button",
      class: "secondary",
      "aria-label": `${label} ${v.name}`,
      onclick: async () => {
        clearError(error);
        try {
          await f();
        } catch (e) {
          showError(error, e);
        }
      },
    }, label);
  return h(
    "li",
    { class: "voice" },
    h("div", {}, h("strong", {}, v.name), h("span", { class: "hint" }, ` · ${v.mode === "icl" ? "clip + transcript" : "clip"} · ${v.duration_s.toFixed(1)} s · ${v.consent ? `consent: ${v.consent}` : "no consent note"}`)),
    referencePlayer(v, error),
    h(
      "div",
      { class: "row" },
      act("Use", async () => go(`#/tts?voice=${encodeURIComponent(v.id)}`)),
      act("Rename", async () => {
        const name = prompt(`New name for “${v.name}”:`, v.name);
        if (!name || name === v.name) return;
        await api.renameVoice(v.id, name);
        status.textContent = `Renamed “${v.name}” to “${name}”.`;
        await render();
      }),
      act("Consent", async () => {
        const note = prompt(`Who agreed to the cloning of “${v.name}”, and when? (The server speaks with a saved voice only once this is recorded.)`, v.consent);
        if (note === null || note === v.consent) return;
        await api.setVoiceConsent(v.id, note);
        status.textContent = note ? `Recorded consent for “${v.name}”.` : `Cleared the consent note of “${v.name}”.`;
        await render();
      }),
      act("Export", async () => download(await api.exportVoice(v.id), `${v.id}.izwi-voice.json`)),
      act("Delete", async () => {
        if (!confirm(`Delete the voice “${v.name}”? Its reference clip is deleted too.`)) return;
        await api.deleteVoice(v.id);
        status.textContent = `Deleted “${v.name}”.`;
        await render();
      }),
    ),
  );
}

// The stored reference clip, fetched through the API (with the key, if any).
function referencePlayer(v: Voice, error: HTMLElement): HTMLElement {
  const audio = h("audio", { controls: true, "aria-label": `Reference clip of ${v.name}` });
  api.voiceAudio(v.id).then(
    (blob) => (audio.src = URL.createObjectURL(blob)),
    (e) => showError(error, e),
  );
  return audio;
}
