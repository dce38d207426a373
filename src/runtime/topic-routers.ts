import { sha256 } from "../domain/hashes.ts";
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { routeGitHubPush, type RouterDecision, type RouterInput } from "../domain/github-router.ts";
import { ulid } from "../domain/ids.ts";
import type { RouterConfig } from "../domain/static-config.ts";
import { TopicNameError } from "../domain/topic-name.ts";
import type { Logger } from "../log.ts";
import { ensureRouterConsumer } from "../nats/ensure-streams.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import { runWorkQueue, type WorkQueueRunner } from "../nats/work-queue.ts";

/**
 * Runs the routers from the config file: each reads its topic through its own durable consumer and
 * republishes what its rule makes of each message. A republished message's idempotency key is
 * (router, source sequence, output index), so a message redelivered after a crash, or handled
 * again by another instance, publishes nothing new.
 */

export type RouterRule = (input: RouterInput) => RouterDecision;

const RULES: Record<RouterConfig["type"], RouterRule> = { github: routeGitHubPush };

export type TopicRouterDeps = { topics: TopicLog; log: Logger; clock: () => number; layout: JetStreamLayout };

export function routedIdempotencyKey(routerName: string, sourceSeq: number, index: number): string {
  return `router:${routerName}:${sourceSeq}:${index}`;
}

/** The routed event's id, derived like its idempotency key so every attempt names the same event. */
async function routedEventId(key: string, sourceTimeMs: number): Promise<string> {
  const digest = await sha256(new TextEncoder().encode(key));
  return "evt_" + ulid(sourceTimeMs, digest.subarray(0, 10));
}

export class TopicRouter {
  private readonly rule: RouterRule;

  constructor(
    private readonly config: RouterConfig,
    private readonly deps: TopicRouterDeps,
  ) {
    this.rule = RULES[config.type];
  }

  async handle(message: JsMsg): Promise<void> {
    let topic: string;
    try {
      topic = this.deps.layout.topicOf(message.subject).topic;
    } catch (error) {
      if (!(error instanceof TopicNameError)) throw error;
      // Handing it back would stall the router: it keeps one message in flight.
      this.deps.log.error(
        { err: error, router: this.config.name, subject: message.subject },
        "not a topic subject; skipping it",
      );
      message.term();
      return;
    }
    const decision = this.rule({ topic, body: message.data });
    if (decision.ignored) {
      this.deps.log.debug(
        { router: this.config.name, seq: message.seq, topic, reason: decision.ignored },
        "router ignored a message",
      );
    }
    const sourceTimeMs = Math.floor(message.info.timestampNanos / 1e6);
    for (const [index, out] of decision.messages.entries()) {
      const key = routedIdempotencyKey(this.config.name, message.seq, index);
      const result = await this.deps.topics.publish({
        id: await routedEventId(key, sourceTimeMs),
        topic: out.topic,
        namespace: "safe",
        body: out.body,
        contentType: out.contentType,
        type: out.type,
        idempotencyKey: key,
        // The key names the source message: if this hookd routes it differently from the one that did first, that one stands.
        onKeyReuse: "first",
        publishedAt: new Date(this.deps.clock()).toISOString(),
      });
      this.deps.log.info({
        router: this.config.name,
        from: topic,
        seq: message.seq,
        to: out.topic,
        routed_seq: result.seq,
        duplicate: result.duplicate,
      }, "routed");
    }
    message.ack();
  }
}

export type TopicRouters = { stop(): Promise<void> };

export async function startTopicRouters(options: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  routers: readonly RouterConfig[];
  deps: TopicRouterDeps;
  /** How long a router's consumer outlives its last reader: the topic log's max age. */
  inactiveMs: number;
}): Promise<TopicRouters> {
  const runners: WorkQueueRunner[] = [];
  const { layout, log } = options.deps;
  try {
    for (const config of options.routers) {
      const consumer = await ensureRouterConsumer(options.jsm, layout, {
        routerName: config.name,
        from: config.from,
        inactiveMs: options.inactiveMs,
      });
      const router = new TopicRouter(config, options.deps);
      const handle = (message: JsMsg) => router.handle(message);
      const stream = layout.streams.topics;
      runners.push(await runWorkQueue({ js: options.js, concurrency: 1, handle, log, stream, consumer }));
    }
  } catch (error) {
    await Promise.allSettled(runners.map((runner) => runner.stop()));
    throw error;
  }
  return {
    async stop() {
      await Promise.allSettled(runners.map((runner) => runner.stop()));
    },
  };
}
