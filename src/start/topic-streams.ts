import type { Config } from "../config.ts";
import { base64Length } from "../domain/bytes.ts";
import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";
import { TopicFeeds } from "../nats/topic-feeds.ts";
import { TopicCatchUp } from "../nats/topic-catch-up.ts";
import { TopicStreams } from "../runtime/topic-streams.ts";
import type { Closers } from "./closers.ts";
import { ENVELOPE_ROOM, type Storage } from "./storage.ts";

/** Start-up's streams-out part: the shared live feeds and the listeners' topic streams (SSE, WebSocket, /stream). */

export function buildTopicStreams(
  config: Config,
  storage: Storage,
  metrics: HookdMetrics,
  log: Logger,
  closers: Closers,
): TopicStreams {
  const feeds = new TopicFeeds(storage.js, storage.jsm, log, storage.layout);
  closers.push("topic feeds", () => feeds.stop());
  const streams = new TopicStreams({
    feeds,
    layout: storage.layout,
    catchUp: new TopicCatchUp(storage.js, storage.jsm, catchUpPullBytes(config, storage), storage.layout),
    log,
    bufferBytes: config.HOOKD_STREAM_BUFFER,
    heartbeatMs: config.HOOKD_STREAM_HEARTBEAT,
    maxPerToken: config.HOOKD_STREAM_MAX_PER_TOKEN,
    onEnded: (reason) => metrics.streamsEnded.inc({ reason }),
  });
  // Listeners are told to resume elsewhere before the feeds and the NATS link go.
  closers.push("topic streams", () => streams.closeAll());
  return streams;
}

/** A pull by bytes must fit the largest topic message (a GitHub envelope is the body in base64), or it would stall. */
function catchUpPullBytes(config: Config, storage: Storage): number {
  const largestMessage = Math.min(storage.maxPayload(), base64Length(storage.maxBodyBytes) + ENVELOPE_ROOM);
  return Math.max(config.HOOKD_STREAM_BUFFER, largestMessage);
}
