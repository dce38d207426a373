import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { toHex } from "../domain/bytes.ts";
import { ulid } from "../domain/ids.ts";
import type { SubscriptionConfig } from "../domain/subscription-events.ts";
import { hookdTopicFor, verificationUrl } from "../domain/websub.ts";
import type { HttpAttempter } from "../delivery/http-attempt.ts";
import type { Logger } from "../log.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import { TransitionRefusedError } from "./errors.ts";
import type { SubscriptionCommands } from "./subscription-commands.ts";
import type { FanOutTarget, SubscriptionDirectory } from "./subscription-directory.ts";

/**
 * The WebSub hub: verification of intent, leases, and content distribution. A subscription is
 * identified by (topic, callback); subscribing again renews it. A lease's end is a work item that
 * NATS hands back when the lease runs out, so no process holds a timer for it.
 */

export type HubDeps = {
  subscriptions: SubscriptionCommands;
  directory: SubscriptionDirectory;
  http: HttpAttempter;
  topics: TopicLog;
  js: JetStreamClient;
  layout: JetStreamLayout;
  clock: () => number;
  log: Logger;
  maxBodyBytes: number;
};

export class WebSubHub {
  constructor(private readonly deps: HubDeps) {}

  find(topic: string, callback: string): FanOutTarget | undefined {
    for (const target of this.deps.directory.index.all()) {
      const { config } = target.subscription;
      if (config.source === "websub" && config.metadata.websub_topic === topic && config.url === callback) {
        return target;
      }
    }
    return undefined;
  }

  /** Verification of intent (§5.3): success is a 2xx whose body is exactly the challenge. */
  async verify(
    mode: "subscribe" | "unsubscribe",
    callback: string,
    topic: string,
    leaseSeconds?: number,
  ): Promise<{ ok: boolean; reason: string }> {
    const challenge = toHex(crypto.getRandomValues(new Uint8Array(16)));
    const url = verificationUrl(callback, {
      mode,
      topic,
      challenge,
      ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
    });
    const result = await this.deps.http.send({
      url,
      method: "GET",
      headers: { "user-agent": "hookd/0.1 (WebSub hub)" },
      body: new Uint8Array(0),
    });
    if (!result.response) return { ok: false, reason: result.error ?? "no answer" };
    if (result.response.status < 200 || result.response.status >= 300) {
      return { ok: false, reason: `callback answered ${result.response.status}` };
    }
    if (result.response.body !== challenge) return { ok: false, reason: "callback did not echo the challenge" };
    return { ok: true, reason: "verified" };
  }

  async subscribe(
    input: { callback: string; topic: string; leaseSeconds: number; secret: string | undefined; hubUrl: string },
  ): Promise<{ ok: boolean; reason: string }> {
    const verified = await this.verify("subscribe", input.callback, input.topic, input.leaseSeconds);
    // A failed verification leaves the previous state as it was (§5.3.1).
    if (!verified.ok) {
      this.deps.log.info(
        { callback: input.callback, topic: input.topic, reason: verified.reason },
        "WebSub subscription not verified",
      );
      return verified;
    }
    const expiresAt = this.deps.clock() + input.leaseSeconds * 1000;
    const at = new Date(this.deps.clock()).toISOString();
    const config: SubscriptionConfig = {
      topic: hookdTopicFor(input.topic),
      recursive: false,
      url: input.callback,
      secrets: input.secret ? [{ secret: input.secret, expiresAt: null }] : [],
      eventTypes: null,
      owner: null,
      description: null,
      headers: { link: `<${input.hubUrl}>; rel="hub", <${input.topic}>; rel="self"` },
      dialect: input.secret ? "websub" : "plain",
      retrySchedule: null,
      rateLimit: null,
      metadata: { websub_topic: input.topic },
      source: "websub",
    };
    const existing = this.find(input.topic, input.callback);
    let id: string;
    if (existing && existing.subscription.state !== "unsubscribed") {
      id = existing.id;
      await this.deps.subscriptions.update(id, () => ({ config, changed: ["websub re-subscribe"] }));
      const renewal = existing.subscription.state === "expired" ? "verification.succeeded" : "lease.renewed";
      await this.deps.subscriptions.transition(id, "renewed", { type: renewal, at, data: { expiresAt } });
    } else {
      id = (await this.deps.subscriptions.create(config, { needsVerification: true, expiresAt })).id;
      await this.deps.subscriptions.transition(id, "verified", {
        type: "verification.succeeded",
        at,
        data: { expiresAt },
      });
    }
    const lease = this.deps.layout.subjects.lease(id);
    await this.deps.js.publish(lease, JSON.stringify({ expiresAt }), { msgID: `lease:${id}:${expiresAt}` });
    return verified;
  }

  async unsubscribe(input: { callback: string; topic: string }): Promise<{ ok: boolean; reason: string }> {
    const verified = await this.verify("unsubscribe", input.callback, input.topic);
    const existing = this.find(input.topic, input.callback);
    if (verified.ok && existing) {
      await this.deps.subscriptions.unsubscribe(existing.id, "unsubscribed through the WebSub hub").catch(
        (error: unknown) => {
          if (!(error instanceof TransitionRefusedError)) throw error;
        },
      );
    }
    return verified;
  }

  /** Content distribution (§7): fetch the topic URL and publish its content with its exact content type. */
  async publish(topicUrl: string): Promise<{ id: string; seq: number; topic: string }> {
    const content = await this.deps.http.get(topicUrl, this.deps.maxBodyBytes);
    if (content.status < 200 || content.status >= 300) throw new Error(`the topic URL answered ${content.status}`);
    const topic = hookdTopicFor(topicUrl);
    const result = await this.deps.topics.publish({
      id: "evt_" + ulid(this.deps.clock(), crypto.getRandomValues(new Uint8Array(10))),
      topic,
      namespace: "safe",
      body: content.body,
      contentType: content.headers["content-type"],
      publishedAt: new Date(this.deps.clock()).toISOString(),
    });
    return { id: result.id, seq: result.seq, topic };
  }

  /** A lease work item: expire the subscription once its lease has run out, else wait for it. */
  async handleLease(message: JsMsg): Promise<void> {
    const lease = this.deps.layout.parseSubject(message.subject);
    // The worker hands over only lease items; anything else names no lease to end.
    if (lease?.kind !== "lease") {
      message.ack();
      return;
    }
    const id = lease.subscriptionId;
    const subscription = await this.deps.subscriptions.find(id);
    const expiresAt = subscription?.context.expiresAt ?? null;
    if (
      !subscription || expiresAt === null || subscription.state === "expired" || subscription.state === "unsubscribed"
    ) {
      message.ack();
      return;
    }
    const now = this.deps.clock();
    if (expiresAt > now) {
      message.nak(expiresAt - now);
      return;
    }
    await this.deps.subscriptions
      .transition(id, "expired", { type: "lease.expired", at: new Date(now).toISOString(), data: {} })
      .catch((error: unknown) => {
        if (!(error instanceof TransitionRefusedError)) throw error;
      });
    message.ack();
  }
}
