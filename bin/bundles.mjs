// The bundles esbuild builds under dist/ (npm run build, which npm install's prepare script, npm start and
// npm test run), and whether one is current: each is built with a metafile listing its inputs.
import { readFileSync, statSync } from "node:fs";

const packageRoot = new URL("../", import.meta.url);

/**
 * dist/<folder>/<file> when it exists and none of its inputs (as dist/<folder>/meta.json lists them) changed
 * since it was built, else null: a source edited or pulled since the last build makes the caller run the
 * TypeScript sources through tsx instead, which are always current.
 */
export function currentBundle(folder, file, root = packageRoot) {
  const bundle = new URL(`dist/${folder}/${file}`, root);
  try {
    const built = statSync(bundle).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(new URL(`dist/${folder}/meta.json`, root), "utf8"));
    // The metafile names inputs relative to the folder the build ran in: the package root (npm scripts run there).
    return Object.keys(inputs).every((input) => statSync(new URL(input, root)).mtimeMs <= built) ? bundle : null;
  } catch {
    return null;
  }
}

/** Runs the TypeScript module at `path` (relative to the package root) through tsx. */
export async function importSource(path) {
  const { register } = await import("tsx/esm/api");
  register();
  return import(new URL(path, packageRoot).href);
}
