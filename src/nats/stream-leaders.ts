import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Which of hookd's streams have no leader right now, for /healthz. On a cluster a stream answers
 * writes only through its leader: while one is being elected (its node died) the stream takes
 * nothing, and ingest answers 503. A single server leads every stream itself. A stream whose
 * info does not come back in time counts as leaderless: that is what a writer would meet too.
 * Answers are kept for a moment, so a load balancer polling every instance costs NATS little.
 */
export type StreamLeaders = { leaderless(): Promise<string[]> };

export function watchStreamLeaders(
  nc: NatsConnection,
  layout: JetStreamLayout,
  options: { cacheMs?: number; timeoutMs?: number; domain?: string | undefined } = {},
): StreamLeaders {
  const cacheMs = options.cacheMs ?? 1_000;
  const names = Object.values(layout.streams);
  let cached: { at: number; answer: Promise<string[]> } | null = null;
  const check = async () => {
    // The domain's API ($JS.<domain>.API): behind a leaf node $JS.API is another JetStream, or none.
    const domain = options.domain ? { domain: options.domain } : {};
    const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs ?? 2_000, checkAPI: false, ...domain });
    const led = await Promise.all(
      names.map((name) =>
        jsm.streams.info(name).then(
          (info) => !info.cluster || Boolean(info.cluster.leader),
          () => false,
        )
      ),
    );
    return names.filter((_, index) => !led[index]);
  };
  return {
    leaderless() {
      const now = performance.now();
      if (!cached || now - cached.at > cacheMs) cached = { at: now, answer: check() };
      return cached.answer;
    },
  };
}
