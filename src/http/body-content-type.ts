import type { Context } from "hono";
import { badRequest } from "./problem.ts";

/**
 * A payload checked against its Content-Type where "this is not what it says" is decidable. JSON is:
 * a body labelled application/json (or a +json type) that does not parse is refused with a 400, as
 * every receiver would get a JSON label on bytes no JSON parser reads. A form is not: any bytes
 * parse as application/x-www-form-urlencoded, and Hookah clients post forms, so a form whose body is
 * a JSON object or array (curl -d's default type on '{…}') is taken as sent, and the answer carries
 * a Hookd-Warning header naming the likely mistake. An empty body has nothing to mislabel.
 */

export const WARNING_HEADER = "hookd-warning";

const FORM = "application/x-www-form-urlencoded";
const SUFFIXED_JSON = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+\+json$/;
// RFC 8259: JSON between systems is UTF-8; bytes that are not are not JSON.
const utf8 = new TextDecoder("utf-8", { fatal: true });

function parts(contentType: string): { media: string; charset: string | undefined } {
  const [media = "", ...params] = contentType.split(";").map((part) => part.trim().toLowerCase());
  const charset = params.find((param) => param.startsWith("charset="))?.slice(8).replace(/^"|"$/g, "");
  return { media, charset };
}

/** Whether the type promises JSON text: application/json or a +json type, in UTF-8 (no other charset is checked). */
export function saysJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const { media, charset } = parts(contentType);
  if (media !== "application/json" && !SUFFIXED_JSON.test(media)) return false;
  return charset === undefined || charset === "utf-8";
}

function parse(body: Uint8Array): { ok: true; value: unknown } | { ok: false; error: Error } {
  try {
    return { ok: true, value: JSON.parse(utf8.decode(body)) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/**
 * Checks a payload against its Content-Type (see above); returns the parsed JSON when the type says
 * JSON and the body is not empty, so a route that reads fields from it parses it once.
 */
export function checkBodyAgainstType(c: Context, body: Uint8Array, contentType: string | undefined): unknown {
  if (body.length === 0 || !contentType) return undefined;
  if (saysJson(contentType)) {
    const parsed = parse(body);
    if (parsed.ok) return parsed.value;
    throw badRequest(
      `The body is labelled ${parts(contentType).media} (Content-Type) but is not JSON: ${parsed.error.message}. ` +
        "Send valid UTF-8 JSON, or label the body with what it is (text/plain, application/octet-stream, …).",
      { field: "Content-Type" },
    );
  }
  if (parts(contentType).media === FORM && looksLikeJson(body)) {
    c.header(
      WARNING_HEADER,
      `The body is JSON but labelled ${FORM} (curl -d's default), and is stored and delivered with that label. ` +
        "Send Content-Type: application/json with it.",
    );
  }
  return undefined;
}

/** A JSON object or array; a form field is never written so (a form's `{` would be percent-encoded). */
function looksLikeJson(body: Uint8Array): boolean {
  const first = body.find((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d);
  return (first === 0x7b || first === 0x5b) && parse(body).ok;
}
