import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import {
  TopicNameError,
  type TopicNamespace,
  topicOfTokens,
  type TopicPattern,
  topicTokens,
} from "../domain/topic-name.ts";

/**
 * The JetStream layout: every stream hookd keeps, its configuration, every durable consumer, and
 * every subject, built and parsed. Nothing else spells a NATS name, so a deployment's namespace
 * and its replica count (HOOKD_NAMESPACE, HOOKD_REPLICAS) are decided here once. With the default namespace "hookd":
 *
 * | stream                | subjects                                                | holds                         |
 * |-----------------------|---------------------------------------------------------|-------------------------------|
 * | `HOOKD_JOURNAL`       | `hookd.journal.delivery.<id>.created`, `…delivery.<id>` | a delivery's request, history |
 * |                       | `hookd.journal.event.<event id>`                        | where a published event sits  |
 * |                       | `hookd.journal.batch.<batch key>`                       | ingest batches touched        |
 * | `HOOKD_WORK`          | `hookd.work.delivery.<id>`, `hookd.work.lease.<sub id>` | work items (retries, batched  |
 * |                       |                                                         | hand-offs), sourced creates   |
 * | `HOOKD_TOPICS`        | `hookd.topic.<s or u>.<encoded topic tokens>`           | the topic log                 |
 * | `HOOKD_SUBSCRIPTIONS` | `hookd.subscriptions.<id>`                              | subscriptions' journals       |
 * | `HOOKD_INGEST`        | `hookd.ingest.<batch key>`                              | accepted dispatches, batched  |
 * | `HOOKD_RATES`         | `hookd.rates.<key>`                                     | rate limits' next free slots  |
 * | `HOOKD_SETTINGS`      | `hookd.settings.<name>`                                 | values every instance shares  |
 * | `HOOKD_REVOCATIONS`   | `hookd.revoked.<token id>`                              | revoked token ids             |
 * | `HOOKD_LINES`         | `hookd.lines.<subscription id>`                         | ordered subscriptions' heads  |
 * | `HOOKD_JOBS`          | `hookd.jobs.bulk.<job id>`, `…bulk.<job id>.ids.<page>` | bulk actions' journals, lists |
 * | `HOOKD_INDEX`         | `hookd.index.<state>.<sub>.<host>.<topic>.<type>`       | one entry per delivery        |
 * | `HOOKD_INDEXED`       | `hookd.indexed.d.<id>`, `.k.<key hash>`, `.checkpoint`  | where each entry sits         |
 *
 * Durable consumers: `hookd-workers` (work), `hookd-fanout` (safe topics), `hookd-expander` (ingest)
 * and `hookd-router-<router name>` (topics). A delivery's journal is two subjects: `<id>.created`
 * holds the accepted request (one message, written by ingest) and `<id>` holds its transitions. The
 * work stream *sources* the created subjects server-side, so accepting a dispatch is a single publish.
 * A delivery accepted in an ingest batch has no `<id>.created`: its first `<id>` message holds its
 * request (decision record 26).
 */

export const DEFAULT_NAMESPACE = "hookd";
/** JetStream keeps at most five copies of a stream. */
export const MAX_REPLICAS = 5;
/** Entries kept per bulk job: its start, its newest progress, its end (each entry holds the whole job). */
export const BULK_JOB_ENTRIES_KEPT = 20;

export type StreamSettings = {
  journalMaxAgeMs: number;
  topicMaxAgeMs: number;
  idempotencyWindowMs: number;
  ackWaitMs: number;
  maxAckPending: number;
};

export type StreamSpec = Partial<StreamConfig> & { name: string };

export type DurableConsumerSpec = {
  stream: string;
  config: Partial<ConsumerConfig> & { durable_name: string };
  /** Settings brought up to date on a consumer that already exists; the others keep their first values. */
  updatable: (keyof ConsumerConfig)[];
};

/** What a subject names, as its builder took it. */
export type ParsedSubject =
  | { kind: "delivery-created"; id: string }
  | { kind: "delivery-transitions"; id: string }
  | { kind: "published-event"; id: string }
  | { kind: "delivery-work"; id: string }
  | { kind: "lease"; subscriptionId: string }
  | { kind: "ingest-batch"; key: string }
  | { kind: "ingest-batch-touched"; key: string }
  | { kind: "fan-out-left"; topicSeq: number }
  | { kind: "subscription"; id: string }
  | { kind: "rate"; key: string }
  | { kind: "setting"; name: string }
  | { kind: "revocation"; tokenId: string }
  | { kind: "line"; subscriptionId: string }
  | { kind: "bulk-job"; id: string }
  | { kind: "bulk-job-ids"; id: string; page: number }
  | { kind: "index-entry"; state: string }
  | { kind: "indexed-delivery"; id: string }
  | { kind: "indexed-key"; token: string }
  | { kind: "index-checkpoint" }
  | { kind: "topic"; topic: string; namespace: TopicNamespace };

export type JetStreamLayout = {
  /** Starts every subject (`hookd.…`) and consumer name (`hookd-…`) and, upper-cased, every stream (`HOOKD_…`). */
  readonly namespace: string;
  /** Copies JetStream keeps of every stream and durable consumer (num_replicas). */
  readonly replicas: number;
  readonly streams: {
    readonly journal: string;
    readonly work: string;
    readonly topics: string;
    readonly subscriptions: string;
    readonly ingest: string;
    readonly rates: string;
    readonly settings: string;
    readonly revocations: string;
    readonly lines: string;
    readonly jobs: string;
    /** The delivery list's entries: one message per delivery, on a subject naming its state and facets. */
    readonly index: string;
    /** Where each delivery's entry sits (one message per delivery), and the indexer's checkpoint. */
    readonly indexed: string;
  };
  readonly consumers: {
    readonly workers: string;
    readonly fanOut: string;
    readonly expander: string;
    router(routerName: string): string;
  };
  readonly subjects: {
    deliveryCreated(id: string): string;
    deliveryTransitions(id: string): string;
    /** Both subjects of every delivery's journal. */
    readonly allDeliveryJournals: string;
    readonly allDeliveryCreated: string;
    /** A published event's record: its topic-log sequence, so the event can be found by id. */
    publishedEvent(eventId: string): string;
    deliveryWork(id: string): string;
    lease(subscriptionId: string): string;
    ingestBatch(key: string): string;
    /**
     * Written once a command has touched a delivery still in its ingest batch: the batch's first attempts then
     * read each delivery's journal before sending it (decision record 26).
     */
    ingestBatchTouched(key: string): string;
    readonly allIngestBatchTouches: string;
    /**
     * Written by an instance that stops before it has made every delivery of a topic event (the event at
     * `topicSeq`): the next taker reads each delivery's journal before sending it (decision record 31).
     */
    fanOutLeft(topicSeq: number): string;
    /**
     * Not stored: a request asking the instance whose first attempt of the delivery is on the wire, its
     * start not yet journaled, to journal it now (decision record 31).
     */
    deliveryAsked(id: string): string;
    readonly allDeliveryAsks: string;
    /** The delivery id a `deliveryAsked` subject names, or null for another subject. */
    askedDeliveryId(subject: string): string | null;
    subscription(id: string): string;
    readonly allSubscriptions: string;
    rate(key: string): string;
    /** A value every instance on this NATS shares, such as the generated signing secret. */
    setting(name: string): string;
    /** A revoked token's id (one message per id). */
    revocation(tokenId: string): string;
    readonly allRevocations: string;
    /** An ordered subscription's line: which event is its head (one message, replaced by compare-and-set). */
    line(subscriptionId: string): string;
    /** A bulk action's journal: every entry holds the whole job as it then stood. */
    bulkJob(id: string): string;
    /** Every bulk job's journal (not their lists): what instances watch for jobs to take over. */
    readonly allBulkJobs: string;
    /** One page of the deliveries a bulk job acts on, in order, written once when it starts. */
    bulkJobIds(id: string, page: number): string;
    /** A delivery's index entry: its state, then the hashed facets (domain/delivery-listing.ts). */
    indexEntry(state: string, facets: readonly string[]): string;
    /** The entries a listing reads: null leaves the state or a facet open. */
    indexFilter(state: string | null, facets: readonly (string | null)[]): string;
    /** Where a delivery's index entry sits (one message per delivery). */
    indexedDelivery(id: string): string;
    /** The newest delivery created with an idempotency key, by the key's hash (domain/delivery-listing.ts's facetToken). */
    indexedKey(token: string): string;
    /** How far the indexer has read the journal, and which instance reads it. */
    readonly indexCheckpoint: string;
    /** The subject a topic's events are stored on. */
    topic(topic: string, namespace?: TopicNamespace): string;
    /** The filter for a subscription: the topic itself, or everything below it when recursive. */
    topicFilter(pattern: TopicPattern, namespace?: TopicNamespace): string;
  };
  /** What a subject of this layout names; null for anything else (another namespace, a malformed subject). */
  parseSubject(subject: string): ParsedSubject | null;
  /** The topic a topic-log subject belongs to; throws TopicNameError, saying why, for any other subject. */
  topicOf(subject: string): { topic: string; namespace: TopicNamespace };
  /**
   * Every stream, upstream first, the order `hookd backup` snapshots them in while hookd may run: a
   * message that moves downstream (topic log -> fan-out batch -> journal -> work) after its upstream
   * stream was snapshotted is still unacknowledged in that snapshot, so after a restore it is
   * processed again (at least once) rather than lost between two snapshots. The delivery list's
   * index is left out: it is derived from the journal, and a copy taken at another moment than the
   * journal's could name journal sequences the restored journal gives to other messages; a hookd
   * started on the restored streams builds it again from the journal.
   */
  readonly backupOrder: readonly string[];
  /** Every stream, in an order that creates a stream before another one sources it. */
  streamConfigs(settings: StreamSettings): StreamSpec[];
  /** The durable consumers every instance shares. */
  durableConsumers(settings: StreamSettings): DurableConsumerSpec[];
  /** A config-file router's durable consumer on the topic log. */
  routerConsumer(options: {
    routerName: string;
    from: TopicPattern & { namespace: TopicNamespace };
    inactiveMs: number;
    ackWaitMs?: number;
  }): DurableConsumerSpec;
};

/** Lower case only, so that two namespaces never share stream names once upper-cased; no "." (a subject token). */
const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** Stream names become folder names in the server's store; this keeps the longest well inside any limit. */
const NAMESPACE_MAX_LENGTH = 32;

/** Why `namespace` cannot be one (so configuration can say it before anything connects); null when it can. */
export function namespaceProblem(namespace: string): string | null {
  if (namespace.length > NAMESPACE_MAX_LENGTH) {
    return `must be at most ${NAMESPACE_MAX_LENGTH} characters (got ${namespace.length})`;
  }
  if (!NAMESPACE_PATTERN.test(namespace)) {
    return `must be lower-case letters, digits and "-", starting with a letter or digit (it begins every NATS ` +
      `subject and stream name hookd uses; got "${namespace}")`;
  }
  return null;
}

/** Hookbot's /unsafe/ topics sit under their own token, so no filter on safe topics can ever match one. */
const TOPIC_NAMESPACE_TOKEN: Record<TopicNamespace, string> = { safe: "s", unsafe: "u" };
/** An index entry's subject names four facets after its state: subscription, host, topic, event type. */
const INDEX_FACETS = 4;
/** Longer than the indexer takes to hand over after a crash, so a batch read again writes no second entry. */
const INDEX_DUPLICATE_WINDOW_MS = 120_000;
const nanos = (ms: number) => ms * 1_000_000;

export function createLayout(options: { namespace?: string; replicas?: number } = {}): JetStreamLayout {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const problem = namespaceProblem(namespace);
  if (problem !== null) throw new Error(`the JetStream namespace ${problem}`);
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new Error(`the JetStream replica count must be a whole number from 1 to ${MAX_REPLICAS} (got ${replicas})`);
  }
  const names = namesIn(namespace, replicas);
  const { topics, ingest, journal, work, index: _index, indexed: _indexed, ...rest } = names.streams;
  return {
    ...names,
    backupOrder: [topics, ingest, journal, work, ...Object.values(rest)],
    parseSubject: (subject) => parseSubject(names, subject),
    topicOf: (subject) => topicOf(names, subject),
    streamConfigs: (settings) => streamConfigs(names, settings),
    durableConsumers: (settings) => durableConsumers(names, settings),
    routerConsumer: (router) => routerConsumer(names, router),
  };
}

type Names = Pick<JetStreamLayout, "namespace" | "replicas" | "streams" | "consumers" | "subjects">;

/** Every stream's name: the namespace in capitals, then what it holds. */
function streamNames(namespace: string): Names["streams"] {
  const stream = (kind: string) => `${namespace.toUpperCase()}_${kind}`;
  return {
    journal: stream("JOURNAL"),
    work: stream("WORK"),
    topics: stream("TOPICS"),
    subscriptions: stream("SUBSCRIPTIONS"),
    ingest: stream("INGEST"),
    rates: stream("RATES"),
    settings: stream("SETTINGS"),
    revocations: stream("REVOCATIONS"),
    lines: stream("LINES"),
    jobs: stream("JOBS"),
    index: stream("INDEX"),
    indexed: stream("INDEXED"),
  };
}

function namesIn(namespace: string, replicas: number): Names {
  // Every subject's first token.
  const p = namespace;
  const streams = streamNames(namespace);
  const consumers = {
    workers: `${p}-workers`,
    fanOut: `${p}-fanout`,
    expander: `${p}-expander`,
    router: (routerName: string) => `${p}-router-${routerName}`,
  };
  const topic = (name: string, topicNamespace: TopicNamespace = "safe") =>
    [p, "topic", TOPIC_NAMESPACE_TOKEN[topicNamespace], ...topicTokens(name)].join(".");
  const subjects: JetStreamLayout["subjects"] = {
    deliveryCreated: (id) => `${p}.journal.delivery.${id}.created`,
    deliveryTransitions: (id) => `${p}.journal.delivery.${id}`,
    allDeliveryJournals: `${p}.journal.delivery.>`,
    allDeliveryCreated: `${p}.journal.delivery.*.created`,
    publishedEvent: (eventId) => `${p}.journal.event.${eventId}`,
    deliveryWork: (id) => `${p}.work.delivery.${id}`,
    lease: (subscriptionId) => `${p}.work.lease.${subscriptionId}`,
    ingestBatch: (key) => `${p}.ingest.${key}`,
    ingestBatchTouched: (key) => `${p}.journal.batch.${key}`,
    allIngestBatchTouches: `${p}.journal.batch.*`,
    fanOutLeft: (topicSeq) => `${p}.journal.fanout.${topicSeq}`,
    deliveryAsked: (id) => `${p}.asked.delivery.${id}`,
    allDeliveryAsks: `${p}.asked.delivery.*`,
    askedDeliveryId: (subject) => {
      const prefix = `${p}.asked.delivery.`;
      const id = subject.startsWith(prefix) ? subject.slice(prefix.length) : "";
      return id === "" || id.includes(".") ? null : id;
    },
    subscription: (id) => `${p}.subscriptions.${id}`,
    allSubscriptions: `${p}.subscriptions.*`,
    rate: (key) => `${p}.rates.${key}`,
    setting: (name) => `${p}.settings.${name}`,
    revocation: (tokenId) => `${p}.revoked.${tokenId}`,
    allRevocations: `${p}.revoked.*`,
    line: (subscriptionId) => `${p}.lines.${subscriptionId}`,
    bulkJob: (id) => `${p}.jobs.bulk.${id}`,
    allBulkJobs: `${p}.jobs.bulk.*`,
    bulkJobIds: (id, page) => `${p}.jobs.bulk.${id}.ids.${page}`,
    indexEntry: (state, facets) => [p, "index", state, ...facets].join("."),
    indexFilter: (state, facets) => [p, "index", state ?? "*", ...facets.map((facet) => facet ?? "*")].join("."),
    indexedDelivery: (id) => `${p}.indexed.d.${id}`,
    indexedKey: (token) => `${p}.indexed.k.${token}`,
    indexCheckpoint: `${p}.indexed.checkpoint`,
    topic,
    topicFilter: (pattern, topicNamespace = "safe") =>
      pattern.recursive ? `${topic(pattern.topic, topicNamespace)}.>` : topic(pattern.topic, topicNamespace),
  };
  return { namespace, replicas, streams, consumers, subjects };
}

function topicOf({ namespace }: Names, subject: string): { topic: string; namespace: TopicNamespace } {
  const tokens = subject.split(".");
  if (tokens.length < 4 || tokens[0] !== namespace || tokens[1] !== "topic") {
    throw new TopicNameError(`"${subject}" is not a topic subject`);
  }
  const topicNamespace = tokens[2] === "u" ? "unsafe" : tokens[2] === "s" ? "safe" : null;
  if (!topicNamespace) throw new TopicNameError(`"${subject}" has no topic namespace`);
  return { topic: topicOfTokens(tokens.slice(3)), namespace: topicNamespace };
}

/** A subject under `<ns>.journal.`, its tokens after that. */
function parseJournalSubject(rest: string[]): ParsedSubject | null {
  const [first, second, third] = rest;
  if (first === "event") {
    return rest.length === 2 && second !== undefined ? { kind: "published-event", id: second } : null;
  }
  if (first === "batch") {
    return rest.length === 2 && second !== undefined ? { kind: "ingest-batch-touched", key: second } : null;
  }
  if (first === "fanout") {
    const topicSeq = Number(second);
    return rest.length === 2 && Number.isSafeInteger(topicSeq) && topicSeq > 0
      ? { kind: "fan-out-left", topicSeq }
      : null;
  }
  if (first !== "delivery" || second === undefined) return null;
  if (rest.length === 2) return { kind: "delivery-transitions", id: second };
  return rest.length === 3 && third === "created" ? { kind: "delivery-created", id: second } : null;
}

function parseSubject(names: Names, subject: string): ParsedSubject | null {
  const [head, area, ...rest] = subject.split(".");
  if (head !== names.namespace || rest.some((token) => token === "")) return null;
  // Every id and key is one token; only the journal's created subject and topics have more.
  const [first, second, third] = rest;
  const one = rest.length === 1 ? first : undefined;
  switch (area) {
    case "journal":
      return parseJournalSubject(rest);
    case "work":
      if (rest.length !== 2 || second === undefined) return null;
      if (first === "delivery") return { kind: "delivery-work", id: second };
      return first === "lease" ? { kind: "lease", subscriptionId: second } : null;
    case "ingest":
      return one === undefined ? null : { kind: "ingest-batch", key: one };
    case "subscriptions":
      return one === undefined ? null : { kind: "subscription", id: one };
    case "rates":
      return one === undefined ? null : { kind: "rate", key: one };
    case "settings":
      return one === undefined ? null : { kind: "setting", name: one };
    case "revoked":
      return one === undefined ? null : { kind: "revocation", tokenId: one };
    case "lines":
      return one === undefined ? null : { kind: "line", subscriptionId: one };
    case "jobs":
      if (first !== "bulk" || second === undefined) return null;
      if (rest.length === 2) return { kind: "bulk-job", id: second };
      return rest.length === 4 && third === "ids" && /^\d+$/.test(rest[3]!)
        ? { kind: "bulk-job-ids", id: second, page: Number(rest[3]) }
        : null;
    case "index":
      return rest.length === INDEX_FACETS + 1 && first !== undefined ? { kind: "index-entry", state: first } : null;
    case "indexed":
      if (one === "checkpoint") return { kind: "index-checkpoint" };
      if (rest.length !== 2 || second === undefined) return null;
      if (first === "d") return { kind: "indexed-delivery", id: second };
      return first === "k" ? { kind: "indexed-key", token: second } : null;
    case "topic":
      try {
        return { kind: "topic", ...topicOf(names, subject) };
      } catch (error) {
        if (error instanceof TopicNameError) return null;
        throw error;
      }
    default:
      return null;
  }
}

/** Every stream, each with the deployment's replica count (the memory-stored rate stream too). */
function streamConfigs(names: Names, settings: StreamSettings): StreamSpec[] {
  return streamLiterals(names, settings).map((spec) => ({ ...spec, num_replicas: names.replicas }));
}

// Long: one literal per stream, so the function is as long as the list of streams.
function streamLiterals({ namespace: p, streams, subjects }: Names, settings: StreamSettings): StreamSpec[] {
  return [
    {
      name: streams.journal,
      subjects: [`${p}.journal.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(settings.journalMaxAgeMs),
      // The duplicate window is the Idempotency-Key window; only keyed creates carry a msgID, so it costs memory
      // only for those.
      duplicate_window: nanos(Math.min(settings.idempotencyWindowMs, settings.journalMaxAgeMs)),
      allow_direct: true,
    },
    {
      // No age limit: an untouched subscription must not expire with its history.
      name: streams.subscriptions,
      subjects: [`${p}.subscriptions.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      allow_direct: true,
    },
    {
      // The topic log: every published event once, payload as the message body and metadata as headers.
      name: streams.topics,
      subjects: [`${p}.topic.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(settings.topicMaxAgeMs),
      duplicate_window: nanos(Math.min(settings.idempotencyWindowMs, settings.topicMaxAgeMs)),
      allow_direct: true,
    },
    {
      // Accepted dispatches, many to a message (group commit); the expander writes each batch into the journal.
      name: streams.ingest,
      subjects: [`${p}.ingest.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      // A delivery is read from its batch until the batch is expanded into the journal (GET right after the 202).
      allow_direct: true,
    },
    {
      name: streams.work,
      subjects: [`${p}.work.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      sources: [{ name: streams.journal, filter_subject: subjects.allDeliveryCreated }],
    },
    {
      name: streams.rates,
      subjects: [`${p}.rates.>`],
      retention: RetentionPolicy.Limits,
      // Slots only matter for a moment; losing them on a server restart just lets one burst through.
      storage: StorageType.Memory,
      max_msgs_per_subject: 1,
      max_age: nanos(3_600_000),
      allow_direct: true,
    },
    {
      // One message per setting, written once by the first instance to start; never aged out.
      name: streams.settings,
      subjects: [`${p}.settings.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      allow_direct: true,
    },
    {
      // One message per revoked token id, read whole by every instance at start and followed live. No age
      // limit: a token without an expiry stays revoked for good (the list grows by one small message per revocation).
      name: streams.revocations,
      subjects: [`${p}.revoked.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      allow_direct: true,
    },
    {
      // One message per ordered subscription: the event at the head of its line, replaced by compare-and-set.
      // No age limit: an ordered subscription that is quiet for a month must still know where its line stands.
      name: streams.lines,
      subjects: [`${p}.lines.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      allow_direct: true,
    },
    {
      // Bulk actions: each job's progress as whole records, so any instance answers for a job another one runs.
      name: streams.jobs,
      subjects: [`${p}.jobs.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: BULK_JOB_ENTRIES_KEPT,
      max_age: nanos(settings.journalMaxAgeMs),
      allow_direct: true,
    },
    {
      // Few subjects (states times facets), many messages each: counting a state and reading a page stay cheap.
      // Entries age out with the journal they were read from.
      name: streams.index,
      subjects: [`${p}.index.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(settings.journalMaxAgeMs),
      duplicate_window: nanos(Math.min(INDEX_DUPLICATE_WINDOW_MS, settings.journalMaxAgeMs)),
      allow_direct: true,
    },
    {
      // One message per delivery: a stream of its own, so its million subjects never slow the entries' reads.
      name: streams.indexed,
      subjects: [`${p}.indexed.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      max_age: nanos(settings.journalMaxAgeMs),
      allow_direct: true,
    },
  ];
}

/** The shared durable consumers, each with the deployment's replica count, brought up to it on every start. */
function durableConsumers(names: Names, settings: StreamSettings): DurableConsumerSpec[] {
  return durableLiterals(names, settings).map((spec) => replicated(names, spec));
}

function replicated(names: Names, spec: DurableConsumerSpec): DurableConsumerSpec {
  return {
    ...spec,
    config: { ...spec.config, num_replicas: names.replicas },
    updatable: [...spec.updatable, "num_replicas"],
  };
}

function durableLiterals(names: Names, settings: StreamSettings): DurableConsumerSpec[] {
  const { namespace: p, streams, consumers } = names;
  return [
    {
      stream: streams.ingest,
      config: {
        durable_name: consumers.expander,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // Its handler makes first attempts (decision record 26): a batch whose worker died is handed out
        // again after the same lease as a delivery's work.
        ack_wait: nanos(settings.ackWaitMs),
        max_deliver: -1,
      },
      updatable: ["ack_wait"],
    },
    {
      // Fan-out reads each published event once across all instances; deliveries it makes carry the retries.
      stream: streams.topics,
      config: {
        durable_name: consumers.fanOut,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: `${p}.topic.${TOPIC_NAMESPACE_TOKEN.safe}.>`,
        // Its handler makes first attempts (decision record 27), with the same lease as a delivery's work.
        ack_wait: nanos(settings.ackWaitMs),
        max_deliver: -1,
      },
      updatable: ["ack_wait"],
    },
    {
      stream: streams.work,
      config: {
        durable_name: consumers.workers,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(settings.ackWaitMs),
        // Retries are naks with a delay, and a nak'd message stays pending: this bounds how many deliveries can
        // wait in backoff.
        max_ack_pending: settings.maxAckPending,
        max_deliver: -1,
      },
      updatable: ["ack_wait", "max_ack_pending"],
    },
  ];
}

/**
 * Each router reads the topic log through its own durable consumer, named from the router: its position
 * survives restarts, and every instance pulls from the same consumer, so the instances share the work and
 * route each message once.
 */
function routerConsumer(
  names: Names,
  options: Parameters<JetStreamLayout["routerConsumer"]>[0],
): DurableConsumerSpec {
  const { streams, consumers, subjects } = names;
  return replicated(names, {
    stream: streams.topics,
    config: {
      durable_name: consumers.router(options.routerName),
      ack_policy: AckPolicy.Explicit,
      // A new router announces what is published from now on, not the log's past week of pushes.
      deliver_policy: DeliverPolicy.New,
      filter_subject: subjects.topicFilter(options.from, options.from.namespace),
      // One message in flight across all instances keeps the routed messages in their published order
      // (a deploy bot must not see push B and then the older push A as the branch's latest).
      max_ack_pending: 1,
      ack_wait: nanos(options.ackWaitMs ?? 30_000),
      max_deliver: -1,
      // A router removed from the config leaves no reader; NATS drops its consumer once everything it
      // could still read has aged out of the topic log, so no instance has to decide that it is gone.
      inactive_threshold: nanos(options.inactiveMs),
    },
    // Changing "from" keeps the position: messages after it on the new topic are routed, none twice.
    updatable: ["filter_subject", "inactive_threshold"],
  });
}
