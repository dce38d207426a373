import type { Context } from "hono";
import { fromBase64Url, toBase64 } from "../domain/bytes.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import { type ApiApp, defineRoute } from "./api-docs.ts";
import { dispatchRoute, dispatchToRoute } from "./dispatch-docs.ts";
import { checkBodyAgainstType } from "./body-content-type.ts";
import { dispatchControls } from "./dispatch-controls.ts";
import { acceptDelivery, type IngestDeps } from "./ingest.ts";
import { badRequest } from "./problem.ts";
import { readBody } from "./read-body.ts";
import { acceptPublish, type PublishDeps } from "./publish.ts";
import { topicOr400 } from "./topic-params.ts";

/**
 * Hookah's dispatcher: POST /dispatch delivers the request to `_url` (query or body; form,
 * multipart, JSON or raw body), POST /dispatch/<base64url(target)> forwards the raw body.
 */

const HOOKAH_FIELDS = ["_url", "_topic"];
const decoder = new TextDecoder();

type Forward = { target: string | null; topic: string | null; body: Uint8Array; contentType: string | null };

async function readForward(c: Context, maxBytes: number): Promise<Forward> {
  // One pass over the query string for both fields: on ingest's hot path each lookup rescans it.
  const query = c.req.query();
  const queryTarget = query._url ?? null;
  const queryTopic = query._topic ?? null;
  const contentType = c.req.header("content-type") ?? "";
  const raw = await readBody(c, maxBytes);
  const json = checkBodyAgainstType(c, raw, contentType);
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    const form = new URLSearchParams(decoder.decode(raw));
    const target = queryTarget ?? form.get("_url");
    const topic = queryTopic ?? form.get("_topic");
    // Re-encoded only to drop Hookah's fields: a form without them is forwarded byte for byte.
    if (!HOOKAH_FIELDS.some((field) => form.has(field))) return { target, topic, body: raw, contentType };
    for (const field of HOOKAH_FIELDS) form.delete(field);
    return { target, topic, body: new TextEncoder().encode(form.toString()), contentType };
  }
  if (/^multipart\/form-data\b/i.test(contentType)) {
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
    } catch {
      throw badRequest("The multipart body could not be parsed; check its boundary and parts.");
    }
    const field = (name: string) => {
      const value = form.get(name);
      return typeof value === "string" ? value : null;
    };
    const target = queryTarget ?? field("_url");
    const topic = queryTopic ?? field("_topic");
    for (const name of HOOKAH_FIELDS) form.delete(name);
    // Re-encoding gives a fresh boundary, so the forwarded content type must come from the re-encoded body.
    const encoded = new Response(form);
    return {
      target,
      topic,
      body: new Uint8Array(await encoded.arrayBuffer()),
      contentType: encoded.headers.get("content-type"),
    };
  }
  if (queryTarget === null && queryTopic === null) {
    if (json && typeof json === "object" && !Array.isArray(json) && ("_url" in json || "_topic" in json)) {
      const { _url, _topic, ...rest } = json as Record<string, unknown>;
      return {
        target: typeof _url === "string" ? _url : null,
        topic: typeof _topic === "string" ? _topic : null,
        body: new TextEncoder().encode(JSON.stringify(rest)),
        contentType,
      };
    }
  }
  return { target: queryTarget, topic: queryTopic, body: raw, contentType: contentType || null };
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
      refuseDeliveryControls(c.req.query());
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
      ...dispatchControls(c.req.query()),
    });
  });

  defineRoute(app, dispatchToRoute, async (c) => {
    const target = decodeTargetSegment(c.req.param("target"));
    const contentType = c.req.header("content-type");
    const body = await readBody(c, deps.maxBodyBytes);
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

/** A publish has no one delivery to wait for or report on: a control meant for one is a mistake worth naming. */
function refuseDeliveryControls(query: Record<string, string>): void {
  const given = ["_wait", "_callback", "_errback"].find((name) => query[name] !== undefined);
  if (given === undefined) return;
  throw badRequest(
    `${given} applies to a delivery to _url, not to a publish to _topic (a subscription's callback_url and errback_url report on its deliveries).`,
    { field: given },
  );
}
