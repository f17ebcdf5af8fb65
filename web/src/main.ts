// The app shell: sidebar navigation (hash routes), theme, one page at a time.
import { api } from "./api.js";
import { clonePage } from "./clone_page.js";
import { describe, h } from "./dom.js";
import { historyPage } from "./history_page.js";
import { modelsPage } from "./models_page.js";
import { loadTtsPage } from "./tts_page.js";
import { voicesPage } from "./voices_page.js";

const routes: Record<string, { title: string; build: (params: URLSearchParams) => Promise<HTMLElement> }> = {
  "#/clone": { title: "Voice Cloning", build: async () => clonePage(await api.models()) },
  "#/tts": { title: "Text to Speech", build: async (p) => loadTtsPage(p.get("voice") ?? undefined) },
  "#/voices": { title: "Saved Voices", build: () => voicesPage(go) },
  "#/models": { title: "Models", build: () => modelsPage() },
  "#/history": { title: "History", build: () => historyPage() },
};

function go(route: string): void {
  location.hash = route;
}

async function show(): Promise<void> {
  const [path, query] = (location.hash || "#/clone").split("?");
  const route = routes[path] ?? routes["#/clone"];
  const main = document.getElementById("main")!;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a"))
    a.toggleAttribute("aria-current", a.getAttribute("href") === path) && a.setAttribute("aria-current", "page");
  document.title = `${route.title} · izwi`;
  main.setAttribute("aria-busy", "true");
  try {
    main.replaceChildren(await route.build(new URLSearchParams(query ?? "")));
  } catch (e) {
    main.replaceChildren(h("section", { class: "page" }, h("h1", {}, route.title), h("p", { class: "error", role: "alert" }, describe(e))));
  }
  main.removeAttribute("aria-busy");
  main.querySelector("h1")?.setAttribute("tabindex", "-1");
  if (document.activeElement !== document.body) main.querySelector<HTMLElement>("h1")?.focus();
}

function setupTheme(): void {
  const button = document.getElementById("theme")!;
  const apply = (t: string) => {
    document.documentElement.dataset.theme = t;
    button.setAttribute("aria-pressed", String(t === "dark"));
    button.textContent = t === "dark" ? "Light theme" : "Dark theme";
  };
  const stored = localStorage.getItem("izwi-theme");
  apply(stored ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  button.addEventListener("click", () => {
    const t = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("izwi-theme", t);
    apply(t);
  });
}

setupTheme();
window.addEventListener("hashchange", () => void show());
void show();
