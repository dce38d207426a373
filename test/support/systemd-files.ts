/**
 * Reading deploy/systemd's files as systemd does, for the tests that run the unit without systemd:
 * a unit file's sections and settings, an EnvironmentFile's variables, and a command line split
 * into words. Only the rules those files use: enough to fail when a file says something systemd
 * would read otherwise.
 */

/** Section name → setting → every value it was given, in order (a key may repeat). */
export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of joinContinuations(text)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = unit.get(header[1]!) ?? new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 0) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** A backslash at the end of a line continues it on the next, as systemd reads both file kinds. */
function joinContinuations(text: string): string[] {
  const lines: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    if (line.endsWith("\\")) pending += `${line.slice(0, -1)} `;
    else {
      lines.push(pending + line);
      pending = "";
    }
  }
  if (pending) lines.push(pending);
  return lines;
}

/**
 * An EnvironmentFile: KEY=VALUE lines, blank lines and lines starting with # or ; skipped, spaces
 * around the key and value dropped, and a value in single or double quotes unquoted (a backslash
 * escapes the next character inside double quotes). A line without = is an error here, as systemd
 * ignores it with a warning a unit's author would not want.
 */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of joinContinuations(text)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`not a KEY=VALUE line: ${line}`);
    env[match[1]!] = unquote(match[2]!);
  }
  return env;
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
    const inner = value.slice(1, -1);
    return quote === '"' ? inner.replace(/\\(.)/g, "$1") : inner;
  }
  return value;
}

/** ExecStart's words: split on spaces, with "…" and '…' keeping spaces inside one word. */
export function commandWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
    words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : (match[2] ?? match[3]!));
  }
  return words;
}

/** "30s", "2min", "1min 30s", "500ms" or a bare number of seconds, in milliseconds. */
export function timeSpanMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, sec: 1_000, min: 60_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of value.trim().split(/\s+/)) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|sec|min|m|h)?$/.exec(part);
    if (!match) throw new Error(`not a systemd time span: ${value}`);
    total += Number(match[1]) * units[match[2] ?? "s"]!;
  }
  return total;
}
