// The bundles esbuild builds under dist/ (npm run build, which npm install's prepare script, npm start and
// npm test run), and whether one is current. Each build ends by stamping its bundle: a digest of the bundle
// and of every input esbuild's metafile lists (and tsconfig.json, whose settings esbuild compiles in).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const packageRoot = new URL("../", import.meta.url);
let tsxRegistered = false;

/** The digest a bundle's stamp holds; it throws when the bundle, its metafile or one of its inputs is missing. */
function digestOf(folder, file, root) {
  const { inputs } = JSON.parse(readFileSync(new URL(`dist/${folder}/meta.json`, root), "utf8"));
  const hash = createHash("sha256");
  // The metafile names inputs relative to the folder the build ran in: the package root (npm scripts run there).
  for (const path of [`dist/${folder}/${file}`, "tsconfig.json", ...Object.keys(inputs).sort()]) {
    hash.update(`${path}\n`).update(readFileSync(new URL(path, root))).update("\n");
  }
  return hash.digest("hex");
}

/**
 * dist/<folder>/<file> when its stamp matches the bundle and its inputs as they are now, else null: a source
 * changed since the build (a pull, an edit, an unpacked archive whatever its files' dates), or a bundle half
 * written by a build still running, makes the caller run the TypeScript sources through tsx instead.
 */
export function currentBundle(folder, file, root = packageRoot) {
  try {
    const stamp = readFileSync(new URL(`dist/${folder}/stamp`, root), "utf8").trim();
    return stamp === digestOf(folder, file, root) ? new URL(`dist/${folder}/${file}`, root) : null;
  } catch {
    return null;
  }
}

/** Writes dist/<folder>/stamp for the bundle just built: the last step of its build script. */
export function stampBundle(folder, file, root = packageRoot) {
  writeFileSync(new URL(`dist/${folder}/stamp`, root), `${digestOf(folder, file, root)}\n`);
}

/** Runs the TypeScript module at `path` (relative to the package root) through tsx, registered once a process. */
export async function importSource(path) {
  if (!tsxRegistered) {
    const { register } = await import("tsx/esm/api");
    register();
    tsxRegistered = true;
  }
  return import(new URL(path, packageRoot).href);
}

// `node bin/bundles.mjs stamp <folder> <file>`: what package.json's build scripts run after esbuild.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "stamp") {
  stampBundle(process.argv[3], process.argv[4]);
}
