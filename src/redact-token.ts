/**
 * Stream routes take `?token=` (a browser's EventSource and WebSocket cannot send a header), so a
 * URL hookd writes down (an error's message, a logged request) may hold a token. Every log line
 * passes through this before it is written (log.ts), so no code path can log one by forgetting.
 * @module
 */

// `token=` after `?` or `&`, plain or percent-encoded (%3F, %26, %3D), up to the next parameter,
// fragment, quote, backslash (a JSON escape) or whitespace.
const QUERY_TOKEN = /((?:[?&;]|%3F|%26)token(?:=|%3D))((?:[^&#\s"'\\<>%]|%(?!26|23)[0-9a-f]{2})+)/gi;

export const REDACTED = "[redacted]";

/** `text` with the value of every `?token=` / `&token=` in it replaced by "[redacted]". */
export function redactQueryTokens(text: string): string {
  return text.replace(QUERY_TOKEN, `$1${REDACTED}`);
}
