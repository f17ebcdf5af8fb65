// Small DOM helpers: build elements declaratively, show errors next to controls.
import { ApiError } from "./api.js";
// h("button", {class: "primary", onclick: go}, "Generate")
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === false)
            continue;
        if (typeof value === "function")
            el.addEventListener(key.replace(/^on/, ""), value);
        else if (value === true)
            el.setAttribute(key, "");
        else
            el.setAttribute(key, String(value));
    }
    for (const c of children)
        if (c !== null && c !== undefined && c !== false)
            el.append(c);
    return el;
}
let nextId = 0;
export function uid(prefix) {
    return `${prefix}-${++nextId}`;
}
// A labelled form field: the label points at the control.
export function field(label, control, hint) {
    if (!control.id)
        control.id = uid("f");
    const wrap = h("div", { class: "field" }, h("label", { for: control.id }, label), control);
    if (hint) {
        const hintEl = h("p", { class: "hint", id: uid("hint") }, hint);
        control.setAttribute("aria-describedby", hintEl.id);
        wrap.append(hintEl);
    }
    return wrap;
}
// An error region near a control: readable text, announced to screen readers.
export function errorBox() {
    return h("p", { class: "error", role: "alert", hidden: true });
}
export function showError(box, err) {
    box.hidden = false;
    box.textContent = describe(err);
}
export function clearError(box) {
    box.hidden = true;
    box.textContent = "";
}
export function describe(err) {
    if (err instanceof ApiError)
        return err.message;
    if (err instanceof TypeError)
        return `The server did not answer (${err.message}). Is izwi serve running?`;
    if (err instanceof Error)
        return err.message;
    return String(err);
}
export function formatSeconds(s) {
    return `${s.toFixed(1)} s`;
}
export function download(blob, name) {
    const a = h("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
}
