// This browser's generations (text, voice, time, RTF, the audio), in IndexedDB.
function open() {
    return new Promise((resolve, reject) => {
        const req = indexedDB.open("izwi", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("generations", { keyPath: "id", autoIncrement: true });
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
}
async function run(mode, f) {
    const db = await open();
    return new Promise((resolve, reject) => {
        const req = f(db.transaction("generations", mode).objectStore("generations"));
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
}
export const history = {
    add: (g) => run("readwrite", (s) => s.add(g)),
    all: async () => (await run("readonly", (s) => s.getAll())).reverse(),
    remove: (id) => run("readwrite", (s) => s.delete(id)),
};
