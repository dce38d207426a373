import { createLayout, type JetStreamLayout } from "./layout.ts";

/**
 * The NATS permissions hookd needs, and no more: derived from the layout, so what `hookd
 * nats-permissions` prints, what docs/nats.md shows and what the least-privilege test grants are the
 * subjects hookd really uses. Everything but the inbox is scoped to one namespace's streams, so two
 * deployments' users on one account cannot touch each other's streams (docs/nats.md says what the
 * shared inbox leaves open).
 */

export type NatsPermissions = { publish: string[]; subscribe: string[] };

/** Settings do not change any stream's subjects; the layout wants some to build the configs. */
const ANY_SETTINGS = { journalMaxAgeMs: 1, topicMaxAgeMs: 1, idempotencyWindowMs: 1, ackWaitMs: 1, maxAckPending: 1 };

/**
 * Per stream, the JetStream API calls hookd makes: it creates and updates its streams at start, reads
 * their state, creates durable and ephemeral (ordered) consumers, pulls from them, deletes the
 * ephemeral ones, and reads single messages with direct get.
 */
function streamApi(api: string, stream: string): string[] {
  return [
    `${api}.STREAM.INFO.${stream}`,
    `${api}.STREAM.CREATE.${stream}`,
    `${api}.STREAM.UPDATE.${stream}`,
    // <consumer> or <consumer>.<filter subject>: create and update, durable and ephemeral alike.
    `${api}.CONSUMER.CREATE.${stream}.>`,
    `${api}.CONSUMER.INFO.${stream}.*`,
    `${api}.CONSUMER.DELETE.${stream}.*`,
    `${api}.CONSUMER.MSG.NEXT.${stream}.*`,
    `${api}.DIRECT.GET.${stream}`,
    // The last message on a subject: DIRECT.GET.<stream>.<subject>.
    `${api}.DIRECT.GET.${stream}.>`,
  ];
}

/**
 * The calls only some streams need: a message read from a stream without direct get (a batched
 * delivery's ingest batch; whether the work queue still holds a delivery's work; the journal, as its
 * leader sees it: whether a command touched an ingest batch, or journaled a delivery; the delivery
 * index's checkpoint, as its leader sees it: whether another instance took the index over), and purging a
 * subject's older entries (`hookd reseal`: a subscription's and the shared signing secret's), and
 * deleting a delivery's index entry once a newer one replaces it.
 */
function extraStreamApi(api: string, layout: JetStreamLayout): string[] {
  const { ingest, work, journal, subscriptions, settings, index, indexed } = layout.streams;
  return [
    ...[ingest, work, journal, indexed].map((stream) => `${api}.STREAM.MSG.GET.${stream}`),
    ...[subscriptions, settings].map((stream) => `${api}.STREAM.PURGE.${stream}`),
    `${api}.STREAM.MSG.DELETE.${index}`,
  ];
}

export function natsPermissions(
  options: { namespace?: string; domain?: string | undefined; inboxPrefix?: string } = {},
): NatsPermissions {
  const layout: JetStreamLayout = createLayout(options.namespace === undefined ? {} : { namespace: options.namespace });
  // A server in the domain maps $JS.<domain>.API.> onto its $JS.API.> and checks the user's permissions on
  // both subjects (a violation on the mapped one is dropped silently: the request times out), so both are granted.
  const apis = options.domain ? [`$JS.${options.domain}.API`, "$JS.API"] : ["$JS.API"];
  const streams = Object.values(layout.streams);
  const ownSubjects = layout.streamConfigs(ANY_SETTINGS).flatMap((stream) => stream.subjects ?? []);
  return {
    publish: [
      // Publishing events, journal entries, work items, settings: the streams' own subjects.
      ...ownSubjects,
      ...apis.flatMap((api) => [
        // jetstreamManager() reads the account's JetStream info once, at start.
        `${api}.INFO`,
        ...streams.flatMap((stream) => streamApi(api, stream)),
        ...extraStreamApi(api, layout),
      ]),
      // Acks (and naks with a delay) of consumed messages, and flow-control replies of ordered push consumers.
      ...streams.flatMap((stream) => [`$JS.ACK.${stream}.>`, `$JS.FC.${stream}.>`]),
      // Asking for a fan-out delivery whose first attempt is on the wire, its start not journaled yet (record 31),
      // and answering such an ask: the answer goes to the asking instance's inbox.
      layout.subjects.allDeliveryAsks,
      `${options.inboxPrefix ?? "_INBOX"}.>`,
    ],
    // Every reply hookd waits for (publish acks, API answers, pulled and pushed messages) comes to an inbox.
    subscribe: [
      `${options.inboxPrefix ?? "_INBOX"}.>`,
      // Touch marks on ingest batches, heard as they are written (decision record 26).
      layout.subjects.allIngestBatchTouches,
      // Those asks, answered by the instance making the attempt (decision record 31).
      layout.subjects.allDeliveryAsks,
    ],
  };
}

/**
 * What `hookd backup` and `hookd restore` need, for a user of their own (hookd's own user cannot
 * snapshot): list the streams, read their info, snapshot and restore them (acknowledging each chunk
 * on $JS.SNAPSHOT.*), and delete what a failed restore had restored.
 */
export function backupPermissions(options: { namespace?: string; domain?: string | undefined } = {}): NatsPermissions {
  const layout = createLayout(options.namespace === undefined ? {} : { namespace: options.namespace });
  const apis = options.domain ? [`$JS.${options.domain}.API`, "$JS.API"] : ["$JS.API"];
  const streams = layout.backupOrder;
  return {
    publish: [
      ...apis.flatMap((api) => [
        `${api}.INFO`,
        `${api}.STREAM.NAMES`,
        ...streams.flatMap((stream) => [
          `${api}.STREAM.INFO.${stream}`,
          `${api}.STREAM.SNAPSHOT.${stream}`,
          `${api}.STREAM.RESTORE.${stream}`,
          `${api}.STREAM.DELETE.${stream}`,
        ]),
      ]),
      ...streams.flatMap((stream) => [`$JS.SNAPSHOT.ACK.${stream}.>`, `$JS.SNAPSHOT.RESTORE.${stream}.>`]),
    ],
    subscribe: ["_INBOX.>"],
  };
}

const quoted = (subjects: string[], indent: string) => subjects.map((subject) => `${indent}"${subject}"`).join("\n");

/** A nats-server `permissions` block for hookd's user, as `users: [{ user: …, permissions: <this> }]` takes it. */
export function permissionsBlock(permissions: NatsPermissions, indent = ""): string {
  return [
    `${indent}permissions: {`,
    `${indent}  publish: {`,
    `${indent}    allow: [`,
    quoted(permissions.publish, `${indent}      `),
    `${indent}    ]`,
    `${indent}  }`,
    `${indent}  subscribe: {`,
    `${indent}    allow: [`,
    quoted(permissions.subscribe, `${indent}      `),
    `${indent}    ]`,
    `${indent}  }`,
    `${indent}}`,
  ].join("\n");
}

/** What `hookd nats-permissions` prints: the block, with a comment saying where it goes. */
export function permissionsText(
  options: { namespace?: string | undefined; domain?: string | undefined; backup?: boolean },
): string {
  const namespace = options.namespace ?? createLayout().namespace;
  const domain = options.domain ? `, JetStream domain "${options.domain}"` : "";
  const scope = { ...(options.namespace ? { namespace: options.namespace } : {}), domain: options.domain };
  if (options.backup) {
    return [
      `# The NATS permissions hookd backup and hookd restore need (namespace "${namespace}"${domain}): put this`,
      "# block in a user of their own, e.g. { user: hookd-backup, password: ..., permissions: { ... } }",
      permissionsBlock(backupPermissions(scope)),
      "",
    ].join("\n");
  }
  return [
    `# The NATS permissions hookd needs (namespace "${namespace}"${domain}): put this block in hookd's`,
    "# user, e.g. authorization { users: [ { user: hookd, password: ..., permissions: { ... } } ] }",
    permissionsBlock(natsPermissions(options)),
    "",
  ].join("\n");
}
