/** dist/<folder>/<file> when its stamp matches the bundle and its inputs as they are now, else null. */
export function currentBundle(folder: string, file: string, root?: URL): URL | null;
/** Writes dist/<folder>/stamp for the bundle just built. */
export function stampBundle(folder: string, file: string, root?: URL): void;
/** Runs the TypeScript module at `path` (relative to the package root) through tsx. */
export function importSource(path: string): Promise<unknown>;
