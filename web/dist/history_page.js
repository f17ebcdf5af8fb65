// History: this browser's generations, with replay and download.
import { download, h } from "./dom.js";
import { history } from "./history.js";
export async function historyPage() {
    const items = await history.all();
    const list = h("ul", { class: "history", "aria-label": "Past generations" });
    for (const g of items) {
        const li = h("li", {}, h("p", {}, h("strong", {}, g.text.length > 120 ? `${g.text.slice(0, 120)}…` : g.text)), h("p", { class: "hint" }, `${g.voice} · ${new Date(g.time).toLocaleString()} · ${g.seconds.toFixed(1)} s · RTF ${g.rtf.toFixed(2)} · seed ${g.seed}`), h("audio", { controls: true, src: URL.createObjectURL(g.wav), "aria-label": "Replay" }), h("div", { class: "row" }, h("button", { type: "button", class: "secondary", onclick: () => download(g.wav, `izwi-${g.id}.wav`) }, "Download WAV"), h("button", { type: "button", class: "secondary", onclick: async () => { await history.remove(g.id); li.remove(); } }, "Remove")));
        list.append(li);
    }
    if (!items.length)
        list.append(h("li", { class: "empty" }, "Nothing generated in this browser yet."));
    return h("section", { class: "page", "aria-labelledby": "history-title" }, h("h1", { id: "history-title" }, "History"), h("section", { class: "card" }, list));
}
