import type { Context } from "hono";
import { fromBase64Url, toBase64 } from "../domain/bytes.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import { type ApiApp, defineRoute } from "./api-docs.ts";
import { dispatchRoute, dispatchToRoute } from "./dispatch-docs.ts";
import { checkBodyAgainstType } from "./body-content-type.ts";
import { dispatchControls, refuseDeliveryControls } from "./dispatch-controls.ts";
import { acceptDelivery, type IngestDeps } from "./ingest.ts";
import { badRequest } from "./problem.ts";
import { readBody } from "./read-body.ts";
import { acceptPublish, type PublishDeps } from "./publish.ts";
import { topicOr400 } from "./topic-params.ts";

/**
 * Hookah's dispatcher: POST /dispatch delivers the request to `_url` (query or body; form,
 * multipart, JSON or raw body), POST /dispatch/<base64url(target)> forwards the raw body.
 */

/** Hookah's fields, read from the query or the body and never forwarded: the target, the topic, and the controls. */
const HOOKAH_FIELDS = ["_url", "_topic", "_wait", "_callback", "_errback"] as const;
const decoder = new TextDecoder();

/** Hookah's fields as found, the query's winning over the body's. */
type Fields = Partial<Record<(typeof HOOKAH_FIELDS)[number], string>>;

type Forward = {
  target: string | null;
  topic: string | null;
  fields: Fields;
  body: Uint8Array;
  contentType: string | null;
};

function queryFields(query: Record<string, string>): Fields {
  const fields: Fields = {};
  for (const name of HOOKAH_FIELDS) if (query[name] !== undefined) fields[name] = query[name];
  return fields;
}

/** Fills in the fields the query left out from the body's (`read` gives null for an absent one). */
function withBodyFields(fields: Fields, read: (name: string) => string | null): Fields {
  const merged = { ...fields };
  for (const name of HOOKAH_FIELDS) merged[name] ??= read(name) ?? undefined;
  return merged;
}

function forwardOf(fields: Fields, body: Uint8Array, contentType: string | null): Forward {
  return { target: fields._url ?? null, topic: fields._topic ?? null, fields, body, contentType };
}

/** A JSON body's field: a number is taken as its text (`"_wait": 5`), anything else but a string as absent. */
function jsonField(value: unknown): string | null {
  if (typeof value === "string") return value;
  return typeof value === "number" ? String(value) : null;
}

async function readForward(c: Context, maxBytes: number): Promise<Forward> {
  // One pass over the query string for every field: on ingest's hot path each lookup rescans it.
  const query = c.req.query();
  const fromQuery = queryFields(query);
  const contentType = c.req.header("content-type") ?? "";
  const raw = await readBody(c, maxBytes, "HOOKD_MAX_BODY");
  const json = checkBodyAgainstType(c, raw, contentType);
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    const form = new URLSearchParams(decoder.decode(raw));
    const fields = withBodyFields(fromQuery, (name) => form.get(name));
    // Re-encoded only to drop Hookah's fields: a form without them is forwarded byte for byte.
    if (!HOOKAH_FIELDS.some((field) => form.has(field))) return forwardOf(fields, raw, contentType);
    for (const field of HOOKAH_FIELDS) form.delete(field);
    return forwardOf(fields, new TextEncoder().encode(form.toString()), contentType);
  }
  if (/^multipart\/form-data\b/i.test(contentType)) return await readMultipart(raw, contentType, fromQuery);
  if (fromQuery._url === undefined && fromQuery._topic === undefined && isHookahObject(json)) {
    const rest: Record<string, unknown> = { ...json };
    for (const name of HOOKAH_FIELDS) delete rest[name];
    const fields = withBodyFields(fromQuery, (name) => jsonField(json[name]));
    return forwardOf(fields, new TextEncoder().encode(JSON.stringify(rest)), contentType);
  }
  return forwardOf(fromQuery, raw, contentType || null);
}

/** A JSON object naming one of Hookah's fields: then the object is the request, not only its body. */
function isHookahObject(json: unknown): json is Record<string, unknown> {
  return typeof json === "object" && json !== null && !Array.isArray(json) &&
    HOOKAH_FIELDS.some((name) => name in json);
}

async function readMultipart(raw: Uint8Array<ArrayBuffer>, contentType: string, fromQuery: Fields): Promise<Forward> {
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw badRequest("The multipart body could not be parsed; check its boundary and parts.");
  }
  const fields = withBodyFields(fromQuery, (name) => {
    const value = form.get(name);
    return typeof value === "string" ? value : null;
  });
  for (const name of HOOKAH_FIELDS) form.delete(name);
  // Re-encoding gives a fresh boundary, so the forwarded content type must come from the re-encoded body.
  const encoded = new Response(form);
  return forwardOf(fields, new Uint8Array(await encoded.arrayBuffer()), encoded.headers.get("content-type"));
}

function decodeTargetSegment(segment: string): string {
  try {
    return decoder.decode(fromBase64Url(segment));
  } catch {
    throw badRequest("The path after /dispatch/ must be the base64url encoding of the target URL.");
  }
}

export function mountDispatchRoutes(app: ApiApp, deps: IngestDeps & PublishDeps & { policy: NetworkPolicy }): void {
  defineRoute(app, dispatchRoute, async (c) => {
    const forward = await readForward(c, deps.maxBodyBytes);
    // Hookah: _topic without _url publishes to the topic instead of delivering to one URL.
    if (forward.target === null && forward.topic !== null) {
      const { topic } = topicOr400(forward.topic, "_topic");
      refuseDeliveryControls(forward.fields, "a publish to _topic");
      return acceptPublish(c, deps, {
        topic,
        namespace: "safe",
        body: forward.body,
        contentType: forward.contentType ?? undefined,
      });
    }
    return acceptDelivery(c, deps, {
      target: forward.target,
      targetField: "_url",
      method: "POST",
      headers: forward.contentType ? { "content-type": forward.contentType } : {},
      body: toBase64(forward.body),
      secrets: [],
      source: "dispatch",
      ...dispatchControls(forward.fields),
    });
  });

  defineRoute(app, dispatchToRoute, async (c) => {
    const target = decodeTargetSegment(c.req.param("target"));
    const contentType = c.req.header("content-type");
    const body = await readBody(c, deps.maxBodyBytes, "HOOKD_MAX_BODY");
    checkBodyAgainstType(c, body, contentType);
    return acceptDelivery(c, deps, {
      target,
      targetField: "path",
      method: "POST",
      headers: contentType ? { "content-type": contentType } : {},
      body: toBase64(body),
      secrets: [],
      source: "dispatch",
      ...dispatchControls(c.req.query()),
    });
  });
}
