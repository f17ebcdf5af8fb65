// Models: installed and available ones with sizes, which is in use, pull with progress.
import { api } from "./api.js";
import { clearError, errorBox, h, showError } from "./dom.js";
export async function modelsPage() {
    const table = h("tbody");
    const error = errorBox();
    const render = async () => {
        let models;
        try {
            models = await api.models(true);
        }
        catch (e) {
            showError(error, e);
            return;
        }
        table.replaceChildren(...models.map((m) => row(m, render, error)));
    };
    await render();
    return h("section", { class: "page", "aria-labelledby": "models-title" }, h("h1", { id: "models-title" }, "Models"), h("section", { class: "card" }, error, 
    // Scrolls sideways on its own when a phone is narrower than the table.
    h("div", { class: "table-scroll", role: "region", "aria-label": "Models", tabindex: 0 }, h("table", {}, h("caption", {}, "Installed and available models"), h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Model"), h("th", { scope: "col" }, "What it does"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Action"))), table))));
}
function row(m, render, error) {
    const state = m.installed
        ? [m.default ? "in use (default)" : "installed", m.loaded ? "loaded" : ""].filter(Boolean).join(", ")
        : `not installed (${m.approx_size ?? "size unknown"})`;
    const does = m.description ?? [m.can_clone ? "clones voices" : "", m.has_presets ? `presets: ${(m.speakers ?? []).join(", ")}` : ""].filter(Boolean).join("; ");
    const action = h("td");
    if (!m.installed) {
        const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": `Download of ${m.id}` });
        const button = h("button", { type: "button", class: "secondary" }, `Pull ${m.id}`);
        button.addEventListener("click", async () => {
            clearError(error);
            button.disabled = true;
            bar.hidden = false;
            try {
                await api.pull(m.id, (done, total) => {
                    bar.value = total ? done / total : 0;
                });
                await render();
            }
            catch (e) {
                showError(error, e);
                button.disabled = false;
                bar.hidden = true;
            }
        });
        action.append(button, bar);
    }
    return h("tr", {}, h("th", { scope: "row" }, m.id), h("td", {}, does), h("td", {}, state), action);
}
