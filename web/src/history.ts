// This browser's generations (text, voice, time, RTF, the audio), in IndexedDB.

export interface Generation {
  id?: number;
  text: string;
  voice: string;
  time: string; // ISO 8601
  seconds: number;
  rtf: number;
  seed: number;
  wav: Blob;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("izwi", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("generations", { keyPath: "id", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise((resolve, reject) => {
    const req = f(db.transaction("generations", mode).objectStore("generations"));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export const history = {
  add: (g: Generation) => run("readwrite", (s) => s.add(g)),
  all: async () => ((await run("readonly", (s) => s.getAll())) as Generation[]).reverse(),
  remove: (id: number) => run("readwrite", (s) => s.delete(id)),
};
