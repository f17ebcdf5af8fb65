// Models: installed and available ones with sizes, which is in use, pull with progress.
import { api } from "./api.js";
import { clearError, errorBox, h, showError } from "./dom.js";
export async function modelsPage() {
    const table = h("tbody", { role: "rowgroup" });
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
    // On a phone the rows become blocks (styles.css, table.stacked); the
    // explicit roles keep it a table for screen readers when CSS changes
    // its display, as some browsers then drop the implicit ones.
    h("table", { class: "stacked", role: "table" }, h("caption", {}, "Installed and available models"), h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, ...["Model", "What it does", "State", "Action"].map((c) => h("th", { scope: "col", role: "columnheader" }, c)))), table)));
}
function row(m, render, error) {
    const state = m.installed
        ? [m.default ? "in use (default)" : "installed", m.loaded ? "loaded" : ""].filter(Boolean).join(", ")
        : `not installed (${m.approx_size ?? "size unknown"})`;
    const does = m.description ?? [m.can_clone ? "clones voices" : "", m.has_presets ? `presets: ${(m.speakers ?? []).join(", ")}` : ""].filter(Boolean).join("; ");
    const action = h("td", { role: "cell" });
    if (!m.installed) {
        const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": `Download of ${m.id}` });
        // "Pull" on the button (the row names the model); its accessible name says which.
        const button = h("button", { type: "button", class: "secondary", "aria-label": `Pull ${m.id}` }, "Pull");
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
    return h("tr", { role: "row" }, h("th", { scope: "row", role: "rowheader" }, m.id), h("td", { role: "cell" }, does), h("td", { role: "cell" }, state), action);
}
