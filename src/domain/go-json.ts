/**
 * JSON text as Go's encoding/json.Marshal (Go 1.22+, which Hookbot builds with) writes a map:
 * keys sorted, no spaces, and "<", ">", "&", U+2028 and U+2029 escaped. Hookbot consumers may
 * hash or compare the bytes they receive, so hookd writes exactly what Hookbot wrote.
 */

const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

// A lone surrogate can't be UTF-8; Go's decoder would already have turned it into U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** One JSON string as Go writes it. JSON.stringify already matches Go 1.22 for quotes, backslashes and control characters. */
export function goJsonString(text: string): string {
  return JSON.stringify(text.replace(LONE_SURROGATE, "\uFFFD")).replace(
    /[<>&\u2028\u2029]/g,
    (char) => GO_ESCAPES[char]!,
  );
}

/** A map[string]string as Go marshals it: keys in byte order (for these ASCII keys, code-unit order). */
export function goJsonObject(fields: Readonly<Record<string, string>>): string {
  const keys = Object.keys(fields).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((key) => `${goJsonString(key)}:${goJsonString(fields[key]!)}`).join(",")}}`;
}
