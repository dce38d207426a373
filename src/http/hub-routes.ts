import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { boundLease, MAX_SECRET_BYTES } from "../domain/websub.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { Logger } from "../log.ts";
import type { WebSubHub } from "../runtime/websub-hub.ts";
import { type ApiApp, AUTH_PROBLEMS, bodyRef, defineRoute, problems } from "./api-docs.ts";
import { PublishedSchema } from "./publish-docs.ts";
import { badRequest, unprocessable } from "./problem.ts";
import { readBody } from "./read-body.ts";
import { validateTarget } from "./target-url.ts";

/**
 * POST /hub, the W3C WebSub hub: subscribe and unsubscribe answer 202 at once and verify intent in
 * the background; Hookah's hub.verify=sync verifies first and answers 204, or 409 when it failed;
 * publish fetches the topic URL and distributes its content. Unknown parameters are ignored.
 */

function topicUrl(raw: string | null, field: string): string {
  if (!raw) throw badRequest(`${field} is required: the topic's URL`, { field });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest(`${field} must be an absolute http(s) URL`, { field });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw badRequest(`${field} must be an absolute http(s) URL`, { field });
  }
  return raw;
}

type HubDeps = { hub: WebSubHub; policy: NetworkPolicy; log: Logger };
const HUB_FORM_LIMIT = 64 * 1024;

/** The form as WebSub defines it; the route reads it field by field (unknown fields are ignored, as WebSub asks). */
const HubFormSchema = z.object({
  "hub.mode": z.enum(["subscribe", "unsubscribe", "publish"]),
  "hub.callback": z.string().optional().describe("subscribe, unsubscribe: the subscriber's URL"),
  "hub.topic": z.string().optional().describe("the topic's URL"),
  "hub.url": z.string().optional().describe("publish: the topic's URL (or hub.topic)"),
  "hub.lease_seconds": z.string().regex(/^\d+$/).optional(),
  "hub.secret": z.string().optional().describe(`1 to ${MAX_SECRET_BYTES} bytes: content is signed with it`),
  "hub.verify": z.enum(["sync", "async"]).optional().describe("sync (Hookah): verify before answering"),
});

const hubRoute = createRoute({
  method: "post",
  path: "/hub",
  operationId: "websubHub",
  summary: "The W3C WebSub hub: subscribe, unsubscribe, publish",
  tags: ["websub"],
  request: {
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: bodyRef("WebSubHubRequest", HubFormSchema) } },
    },
  },
  responses: {
    202: {
      description: "subscribe, unsubscribe: accepted with no body, intent is verified next; " +
        "publish: the event stored, with this body",
      content: { "application/json": { schema: PublishedSchema } },
    },
    204: { description: "hub.verify=sync: verified and done" },
    ...problems({
      400: "Not a form, or an invalid field (see field)",
      409: "hub.verify=sync: verification of intent failed",
      413: "Form over 64 KiB",
      422: "Callback in a forbidden network, or the topic could not be fetched",
    }),
    ...AUTH_PROBLEMS,
  },
});

export function mountHubRoutes(app: ApiApp, deps: HubDeps): void {
  defineRoute(app, hubRoute, async (c) => {
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      throw badRequest(
        "WebSub requests are forms: send Content-Type: application/x-www-form-urlencoded with hub.mode and its parameters.",
      );
    }
    const form = new URLSearchParams(new TextDecoder().decode(await readBody(c, HUB_FORM_LIMIT, null)));
    const mode = form.get("hub.mode");
    if (mode === "publish") return publish(c, form, deps);
    if (mode !== "subscribe" && mode !== "unsubscribe") {
      throw badRequest('hub.mode must be "subscribe", "unsubscribe" or "publish"', { field: "hub.mode" });
    }
    return subscription(c, mode, form, deps);
  });
}

async function publish(c: Context, form: URLSearchParams, deps: HubDeps): Promise<Response> {
  const target = form.get("hub.url") ?? form.get("hub.topic");
  const topic = topicUrl(target, form.has("hub.url") ? "hub.url" : "hub.topic");
  validateTarget(topic, "hub.url", deps.policy);
  try {
    const published = await deps.hub.publish(topic);
    return c.json(published, 202);
  } catch (error) {
    throw unprocessable(
      "topic-fetch-failed",
      `hookd could not fetch the topic to distribute it: ${(error as Error).message}`,
      { field: "hub.url" },
    );
  }
}

/** Subscribe or unsubscribe: verified in the background (202), or first with Hookah's hub.verify=sync. */
async function subscription(
  c: Context,
  mode: "subscribe" | "unsubscribe",
  form: URLSearchParams,
  deps: HubDeps,
): Promise<Response> {
  const callback = validateTarget(form.get("hub.callback"), "hub.callback", deps.policy).toString();
  const topic = topicUrl(form.get("hub.topic"), "hub.topic");
  const leaseText = form.get("hub.lease_seconds");
  if (leaseText !== null && !/^\d+$/.test(leaseText)) {
    throw badRequest("hub.lease_seconds must be a whole number of seconds", { field: "hub.lease_seconds" });
  }
  const secret = form.get("hub.secret") ?? undefined;
  if (secret !== undefined && (secret.length === 0 || new TextEncoder().encode(secret).length > MAX_SECRET_BYTES)) {
    throw badRequest(`hub.secret must be 1 to ${MAX_SECRET_BYTES} bytes`, { field: "hub.secret" });
  }
  const hubUrl = new URL("/hub", c.req.url).toString();
  const leaseSeconds = boundLease(leaseText === null ? undefined : Number(leaseText));
  const work = mode === "subscribe"
    ? () => deps.hub.subscribe({ callback, topic, leaseSeconds, secret, hubUrl })
    : () => deps.hub.unsubscribe({ callback, topic });
  if (form.get("hub.verify") === "sync") {
    const result = await work();
    if (result.ok) return c.body(null, 204);
    return c.json(
      {
        type: "urn:hookd:problem:verification-failed",
        title: "Verification of intent failed",
        status: 409,
        detail: result.reason,
      },
      409,
      { "content-type": "application/problem+json" },
    );
  }
  void work().catch((error: unknown) =>
    deps.log.warn({ err: error, callback, topic, mode }, "WebSub request failed after it was accepted")
  );
  return c.body(null, 202);
}
