// Fails when web/dist (the committed, embedded build of web/src) is not what
// compiling web/src gives now: run `npm run build` in web/ and commit dist/.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const web = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../web");
const tsc = createRequire(path.join(web, "package.json")).resolve("typescript/bin/tsc");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "izwi-dist-"));
execFileSync(process.execPath, [tsc, "-p", web, "--outDir", out], { stdio: "inherit" });
const fresh = fs.readdirSync(out).sort();
const committed = fs.readdirSync(path.join(web, "dist")).sort();
const stale = [];
if (JSON.stringify(fresh) !== JSON.stringify(committed)) stale.push(`files: ${committed} vs ${fresh}`);
for (const f of fresh)
  if (committed.includes(f) && !fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(web, "dist", f))))
    stale.push(f);
fs.rmSync(out, { recursive: true, force: true });
if (stale.length) {
  console.error(`web/dist is stale (${stale.join(", ")}): run \`npm run build\` in web/ and commit web/dist`);
  process.exit(1);
}
console.log(`web/dist matches web/src (${fresh.length} files)`);
