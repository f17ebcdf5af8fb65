// Text to Speech: a saved voice or a preset speaker, language, instruction,
// speed, and sampling under "Advanced".
import { api } from "./api.js";
import { field, h } from "./dom.js";
import { GeneratePanel } from "./generate.js";
export function ttsPage(models, voices, chosen) {
    const installed = models.filter((m) => m.installed);
    const voice = h("select", {});
    const model = h("select", {});
    const language = h("select", {});
    const instruction = h("input", { type: "text", placeholder: "e.g. speak slowly and warmly" });
    const speed = h("input", { type: "number", min: 0.25, max: 4, step: 0.05, value: 1 });
    const temperature = h("input", { type: "number", min: 0, max: 2, step: 0.05, placeholder: "model default" });
    const seed = h("input", { type: "number", min: 0, step: 1, placeholder: "random" });
    // Voices: saved ones (any model that clones) and the presets of CustomVoice models.
    const saved = voices.map((v) => h("option", { value: `saved:${v.id}`, selected: v.id === chosen }, v.name));
    const presets = installed.flatMap((m) => (m.speakers ?? []).map((s) => h("option", { value: `preset:${m.id}:${s}` }, `${s} (${m.id})`)));
    voice.append(h("optgroup", { label: "Saved voices" }, ...saved), h("optgroup", { label: "Preset speakers" }, ...presets));
    const refresh = () => {
        const [kind, m] = voice.value.split(":");
        const usable = installed.filter((x) => (kind === "preset" ? x.id === m : x.can_clone));
        model.replaceChildren(...usable.map((x) => h("option", { value: x.id, selected: !!x.default }, x.id)));
        const chosenModel = installed.find((x) => x.id === model.value);
        language.replaceChildren(...(chosenModel?.languages ?? ["auto"]).map((l) => h("option", { value: l }, l)));
    };
    voice.addEventListener("change", refresh);
    model.addEventListener("change", refresh);
    refresh();
    const request = async () => {
        if (!voice.value)
            throw new Error("Choose a voice: save one on Voice Cloning, or install a CustomVoice model for presets.");
        const [kind, , preset] = voice.value.split(":");
        const req = {
            input: "",
            model: model.value,
            voice: kind === "saved" ? voice.value.slice(6) : preset,
            language: language.value,
            speed: Number(speed.value) || 1,
        };
        if (instruction.value.trim())
            req.instructions = instruction.value.trim();
        if (temperature.value !== "")
            req.temperature = Number(temperature.value);
        if (seed.value !== "")
            req.seed = Number(seed.value);
        return req;
    };
    const panel = new GeneratePanel(request, () => voice.selectedOptions[0]?.textContent ?? "");
    return h("section", { class: "page", "aria-labelledby": "tts-title" }, h("h1", { id: "tts-title" }, "Text to Speech"), h("section", { class: "card", "aria-label": "Voice and model" }, h("div", { class: "row" }, field("Voice", voice), field("Model", model), field("Language", language)), field("Instruction", instruction, "Style instruction (CustomVoice 1.7B models); other models ignore it or say so."), field("Speed", speed, "0.25–4×; the pitch stays the same."), h("details", {}, h("summary", {}, "Advanced"), h("div", { class: "row" }, field("Temperature", temperature, "0 = always the likeliest sound"), field("Seed", seed, "The same seed gives the same speech")))), h("section", { class: "card", "aria-label": "What to say" }, panel.element));
}
// Fetches what the page needs, then builds it.
export async function loadTtsPage(chosen) {
    const [models, voices] = await Promise.all([api.models(), api.voices()]);
    return ttsPage(models, voices, chosen);
}
