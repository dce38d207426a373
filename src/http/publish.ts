import type { Context } from "hono";
import { EVENT_TYPE_PATTERN } from "../domain/event-type.ts";
import { ulid } from "../domain/ids.ts";
import { randomBytes } from "../domain/random-pool.ts";
import type { TopicNamespace } from "../domain/topic-name.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import { checkBodyAgainstType } from "./body-content-type.ts";
import { refuseDeliveryControls } from "./dispatch-controls.ts";
import { applyGitHubPublishRules, type GitHubPublishDeps } from "./github-publish.ts";
import { idempotencyKeyOf } from "./ingest.ts";
import type { ApiApp } from "./api-docs.ts";
import { badRequest } from "./problem.ts";
import { publishRoute } from "./publish-docs.ts";
import { readBody } from "./read-body.ts";
import { topicInPath } from "./topic-params.ts";

/** Publishing to topics: POST /pub/<topic> (Hookbot) and the shared path /dispatch takes for `_topic` (Hookah). */

export type PublishDeps = {
  topics: TopicLog;
  isNatsConnected: () => boolean;
  maxBodyBytes: number;
  clock: () => number;
} & GitHubPublishDeps;

function eventTypeOf(c: Context): string | undefined {
  const type = c.req.header("hookd-event-type") ?? c.req.query("type");
  if (type === undefined || type === "") return undefined;
  if (!EVENT_TYPE_PATTERN.test(type)) {
    throw badRequest(
      "The event type (Hookd-Event-Type header or ?type=) must be 1 to 128 characters of letters, digits and . _ : / -, such as contact.create.",
      {
        field: "type",
      },
    );
  }
  // Streams name hookd's own control events (hookd.disconnect) this way; a publisher's event must never look like one.
  if (type.toLowerCase().startsWith("hookd.")) {
    throw badRequest(
      `Event types starting with "hookd." are reserved for hookd's own stream events; name yours differently (got "${type}").`,
      { field: "type" },
    );
  }
  return type;
}

export async function acceptPublish(
  c: Context,
  deps: PublishDeps,
  event: { topic: string; namespace: TopicNamespace; body: Uint8Array; contentType: string | undefined },
): Promise<Response> {
  const type = eventTypeOf(c);
  const idempotencyKey = idempotencyKeyOf(c);
  const stored = await applyGitHubPublishRules(c, deps, event);
  if (!deps.isNatsConnected()) throw new NatsUnavailableError(new Error("not connected"));
  const result = await deps.topics.publish({
    id: "evt_" + ulid(deps.clock(), randomBytes(10)),
    topic: event.topic,
    namespace: event.namespace,
    body: stored.body,
    contentType: stored.contentType,
    type: type ?? stored.defaultType,
    idempotencyKey,
    publishedAt: new Date(deps.clock()).toISOString(),
  });
  return c.json(
    { id: result.id, seq: result.seq, topic: event.topic },
    202,
    result.duplicate ? { "idempotent-replayed": "true" } : {},
  );
}

export function mountPublishRoutes(app: ApiApp, deps: PublishDeps): void {
  // Hookbot's /unsafe/pub/ needs no token, so its topics live in their own namespace and never reach safe listeners or subscriptions.
  for (const [prefix, namespace] of [["/pub/", "safe"], ["/unsafe/pub/", "unsafe"]] as const) {
    app.openAPIRegistry.registerPath(publishRoute(prefix));
    app.post(`${prefix}*`, async (c) => {
      const { topic } = topicInPath(c, prefix);
      refuseDeliveryControls(c.req.query(), `a publish to ${prefix}<topic>`);
      const body = await readBody(c, deps.maxBodyBytes, "HOOKD_MAX_BODY");
      const contentType = c.req.header("content-type");
      checkBodyAgainstType(c, body, contentType);
      return acceptPublish(c, deps, { topic, namespace, body, contentType });
    });
  }
}
