import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";

/**
 * The JetStream layout. A delivery's journal is two subjects: `<id>.created` holds the accepted
 * request (one message, written by ingest) and `<id>` holds its transitions. The work stream
 * *sources* the created subjects server-side, so accepting a dispatch is a single publish.
 */
export const JOURNAL_STREAM = "HOOKD_JOURNAL";
export const WORK_STREAM = "HOOKD_WORK";
export const WORK_CONSUMER = "hookd-workers";
export const TOPIC_STREAM = "HOOKD_TOPICS";
/** Subscriptions' journals: no age limit, since an untouched subscription must not expire with its history. */
export const SUBSCRIPTION_STREAM = "HOOKD_SUBSCRIPTIONS";
export const FANOUT_CONSUMER = "hookd-fanout";
export const ATTEMPTS_STREAM = "HOOKD_ATTEMPTS";
/** Accepted dispatches, many to a message (group commit); workers spread each batch into the journal. */
export const INGEST_STREAM = "HOOKD_INGEST";
export const EXPANDER_CONSUMER = "hookd-expander";
/** Resolved attempts kept per subscription for GET …/attempts (the delivery journals keep them all). */
export const ATTEMPTS_KEPT = 100;

export const subjects = {
  deliveryTransitions: (id: string) => `hookd.journal.delivery.${id}`,
  deliveryCreated: (id: string) => `hookd.journal.delivery.${id}.created`,
  allDeliveryTransitions: "hookd.journal.delivery.*",
  allDeliveryJournals: "hookd.journal.delivery.>",
  allDeliveryCreated: "hookd.journal.delivery.*.created",
  deliveryWork: (id: string) => `hookd.work.delivery.${id}`,
  ingestBatch: (key: string) => `hookd.ingest.${key}`,
};

export type StreamSettings = {
  journalMaxAgeMs: number;
  topicMaxAgeMs: number;
  idempotencyWindowMs: number;
  ackWaitMs: number;
  maxAckPending: number;
};

const ns = (ms: number) => ms * 1_000_000;

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (error) {
    if ((error as { name?: string }).name !== "StreamNotFoundError" && !/stream not found/i.test(String(error))) throw error;
    await jsm.streams.add(config);
  }
}

export async function ensureStreams(jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  await ensureStream(jsm, {
    name: JOURNAL_STREAM,
    subjects: ["hookd.journal.>"],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: ns(settings.journalMaxAgeMs),
    // The duplicate window is the Idempotency-Key window; only keyed creates carry a msgID, so it costs memory only for those.
    duplicate_window: ns(Math.min(settings.idempotencyWindowMs, settings.journalMaxAgeMs)),
    allow_direct: true,
  });
  await ensureStream(jsm, {
    name: SUBSCRIPTION_STREAM,
    subjects: ["hookd.subscriptions.>"],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    allow_direct: true,
  });
  // The topic log: every published event once, payload as the message body and metadata as headers.
  await ensureStream(jsm, {
    name: TOPIC_STREAM,
    subjects: ["hookd.topic.>"],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: ns(settings.topicMaxAgeMs),
    duplicate_window: ns(Math.min(settings.idempotencyWindowMs, settings.topicMaxAgeMs)),
    allow_direct: true,
  });
  await ensureStream(jsm, {
    name: ATTEMPTS_STREAM,
    subjects: ["hookd.attempts.>"],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_msgs_per_subject: ATTEMPTS_KEPT,
    max_age: ns(settings.journalMaxAgeMs),
    allow_direct: true,
  });
  await ensureStream(jsm, {
    name: INGEST_STREAM,
    subjects: ["hookd.ingest.>"],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    // A delivery is read from its batch until the batch is spread into the journal (GET right after the 202).
    allow_direct: true,
  });
  await ensureConsumer(jsm, INGEST_STREAM, {
    durable_name: EXPANDER_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ns(30_000),
    max_deliver: -1,
  });
  await ensureStream(jsm, {
    name: WORK_STREAM,
    subjects: ["hookd.work.>"],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    sources: [{ name: JOURNAL_STREAM, filter_subject: subjects.allDeliveryCreated }],
  });
  // Fan-out reads each published event once across all instances; deliveries it creates carry the retries.
  await ensureConsumer(jsm, TOPIC_STREAM, {
    durable_name: FANOUT_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: "hookd.topic.s.>",
    ack_wait: ns(60_000),
    max_deliver: -1,
  });
  await ensureConsumer(
    jsm,
    WORK_STREAM,
    {
      durable_name: WORK_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ns(settings.ackWaitMs),
      // Retries are naks with a delay, and a nak'd message stays pending: this bounds how many deliveries can wait in backoff.
      max_ack_pending: settings.maxAckPending,
      max_deliver: -1,
    },
    ["ack_wait", "max_ack_pending"],
  );
}

/** Creates a durable consumer, or brings the settings named in `updatable` up to date on an existing one. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
  updatable: (keyof ConsumerConfig)[] = [],
): Promise<void> {
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch (error) {
    if (!/consumer not found/i.test(String(error)) && (error as { name?: string }).name !== "ConsumerNotFoundError") throw error;
    try {
      await jsm.consumers.add(stream, config);
    } catch (addError) {
      // Another instance starting at the same moment made it first, with the same settings.
      if (!/already (exists|in use)/i.test(String(addError))) throw addError;
    }
    return;
  }
  if (updatable.length > 0) {
    await jsm.consumers.update(stream, config.durable_name, Object.fromEntries(updatable.map((key) => [key, config[key]])));
  }
}
