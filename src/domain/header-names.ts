import { z } from "zod";

/** HTTP header names are case-insensitive; hookd stores them lowercased so a later one can't shadow an earlier one. */
export function lowercaseHeaderNames(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A header value as HTTP allows it: no CR, LF or NUL, which would split or end the header. */
export const HeaderValueSchema = z.string().refine(
  (value) => !/[\r\n\0]/.test(value),
  "header values must not contain CR, LF or NUL",
);

/** Headers a caller asks hookd to send: names are HTTP tokens and values one line, or no request could carry them. */
export const HeaderMapSchema = z.record(
  z.string().regex(HEADER_NAME, "header names must be HTTP tokens"),
  HeaderValueSchema,
);

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, so no copy of a message carries them on. */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];
