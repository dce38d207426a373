/** dist/<folder>/<file> when it is current (none of its metafile's inputs is newer), else null. */
export function currentBundle(folder: string, file: string, root?: URL): URL | null;
/** Runs the TypeScript module at `path` (relative to the package root) through tsx. */
export function importSource(path: string): Promise<unknown>;
