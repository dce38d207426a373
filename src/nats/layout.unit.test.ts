import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseTopic, TopicNameError } from "../domain/topic-name.ts";
import { createLayout, type ParsedSubject, type StreamSettings } from "./layout.ts";

/**
 * The JetStream layout without a server: the default names are the ones deployed hookd instances
 * already use (changing one strands existing data), every subject parses back to what built it,
 * and a namespace reaches every name.
 */

const settings: StreamSettings = {
  journalMaxAgeMs: 3_600_000,
  topicMaxAgeMs: 3_600_000,
  idempotencyWindowMs: 120_000,
  ackWaitMs: 30_000,
  maxAckPending: 1_000,
};

/** NATS subject matching: "*" is one token, ">" one or more at the end. */
function subjectMatches(filter: string, subject: string): boolean {
  const want = filter.split(".");
  const got = subject.split(".");
  for (let i = 0; i < want.length; i++) {
    if (want[i] === ">") return got.length > i;
    if (i >= got.length || (want[i] !== "*" && want[i] !== got[i])) return false;
  }
  return want.length === got.length;
}

/** One subject of each kind, with what it should parse to. */
function samples(layout = createLayout()): [string, ParsedSubject][] {
  const { subjects } = layout;
  const id = "dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z";
  const sub = "sub_01J9Z3QK8Y2M4N6P8R0T2V4X6Z";
  return [
    [subjects.deliveryCreated(id), { kind: "delivery-created", id }],
    [subjects.deliveryTransitions(id), { kind: "delivery-transitions", id }],
    [subjects.deliveryWork(id), { kind: "delivery-work", id }],
    [subjects.publishedEvent("evt_01J9Z3QK8Y2M4N6P8R0T2V4X6Z"), {
      kind: "published-event",
      id: "evt_01J9Z3QK8Y2M4N6P8R0T2V4X6Z",
    }],
    [subjects.lease(sub), { kind: "lease", subscriptionId: sub }],
    [subjects.ingestBatch("01J9Z3QK8Y2M4N6P8R0T2V"), { kind: "ingest-batch", key: "01J9Z3QK8Y2M4N6P8R0T2V" }],
    [subjects.ingestBatchTouched("01J9Z3QK8Y2M4N6P8R0T2V"), {
      kind: "ingest-batch-touched",
      key: "01J9Z3QK8Y2M4N6P8R0T2V",
    }],
    [subjects.fanOutLeft(4_711), { kind: "fan-out-left", topicSeq: 4_711 }],
    [subjects.subscription(sub), { kind: "subscription", id: sub }],
    [subjects.rate(sub), { kind: "rate", key: sub }],
    [subjects.setting("signing-secret"), { kind: "setting", name: "signing-secret" }],
    [subjects.revocation("Ab3_-xYz09kL"), { kind: "revocation", tokenId: "Ab3_-xYz09kL" }],
    [subjects.line(sub), { kind: "line", subscriptionId: sub }],
    [subjects.bulkJob("bulk_01J9Z3QK8Y2M4N6P8R0T2V4X6Z"), { kind: "bulk-job", id: "bulk_01J9Z3QK8Y2M4N6P8R0T2V4X6Z" }],
    [subjects.bulkJobIds("bulk_01J9Z3QK8Y2M4N6P8R0T2V4X6Z", 3), {
      kind: "bulk-job-ids",
      id: "bulk_01J9Z3QK8Y2M4N6P8R0T2V4X6Z",
      page: 3,
    }],
    [subjects.indexEntry("in-flight", ["ABC", "_", "DEF", "_"]), { kind: "index-entry", state: "in-flight" }],
    [subjects.indexedDelivery(id), { kind: "indexed-delivery", id }],
    [subjects.indexedKey("ABCDEFGHJKMN"), { kind: "indexed-key", token: "ABCDEFGHJKMN" }],
    [subjects.indexCheckpoint, { kind: "index-checkpoint" }],
    [subjects.topic("github.com/org/repo"), { kind: "topic", topic: "github.com/org/repo", namespace: "safe" }],
    [subjects.topic("a b/ümlaut/x*y>z", "unsafe"), { kind: "topic", topic: "a b/ümlaut/x*y>z", namespace: "unsafe" }],
  ];
}

describe("the JetStream layout", () => {
  it("names streams and consumers as deployed hookd instances already do", () => {
    const layout = createLayout();
    expect(layout.namespace).toBe("hookd");
    expect(layout.streams).toEqual({
      journal: "HOOKD_JOURNAL",
      work: "HOOKD_WORK",
      topics: "HOOKD_TOPICS",
      subscriptions: "HOOKD_SUBSCRIPTIONS",
      ingest: "HOOKD_INGEST",
      rates: "HOOKD_RATES",
      settings: "HOOKD_SETTINGS",
      revocations: "HOOKD_REVOCATIONS",
      lines: "HOOKD_LINES",
      jobs: "HOOKD_JOBS",
      index: "HOOKD_INDEX",
      indexed: "HOOKD_INDEXED",
    });
    const { workers, fanOut, expander, router } = layout.consumers;
    expect([workers, fanOut, expander, router("github-org")]).toEqual([
      "hookd-workers",
      "hookd-fanout",
      "hookd-expander",
      "hookd-router-github-org",
    ]);
  });

  it("builds the subjects deployed hookd instances already use", () => {
    const { subjects } = createLayout();
    expect(subjects.deliveryCreated("d1")).toBe("hookd.journal.delivery.d1.created");
    expect(subjects.deliveryTransitions("d1")).toBe("hookd.journal.delivery.d1");
    expect(subjects.allDeliveryJournals).toBe("hookd.journal.delivery.>");
    expect(subjects.allDeliveryCreated).toBe("hookd.journal.delivery.*.created");
    expect(subjects.deliveryWork("d1")).toBe("hookd.work.delivery.d1");
    expect(subjects.lease("s1")).toBe("hookd.work.lease.s1");
    expect(subjects.ingestBatch("k1")).toBe("hookd.ingest.k1");
    expect(subjects.subscription("s1")).toBe("hookd.subscriptions.s1");
    expect(subjects.allSubscriptions).toBe("hookd.subscriptions.*");
    expect(subjects.rate("s1")).toBe("hookd.rates.s1");
    expect(subjects.setting("signing-secret")).toBe("hookd.settings.signing-secret");
  });

  it("maps topics to subjects and back", () => {
    const { subjects, topicOf: topicOfSubject } = createLayout();
    const topicSubject = subjects.topic;
    expect(topicSubject("github.com/org/repo")).toBe("hookd.topic.s.github_2Ecom.org.repo");
    expect(topicOfSubject("hookd.topic.s.github_2Ecom.org.repo")).toEqual({
      topic: "github.com/org/repo",
      namespace: "safe",
    });
    expect(topicSubject("foo", "unsafe")).toBe("hookd.topic.u.foo");
    expect(topicOfSubject("hookd.topic.u.foo")).toEqual({ topic: "foo", namespace: "unsafe" });
  });

  it("filters a topic, or everything below it for a recursive pattern", () => {
    const { topicFilter } = createLayout().subjects;
    expect(topicFilter(parseTopic("foo/", { allowRecursive: true }))).toBe("hookd.topic.s.foo.>");
    expect(topicFilter(parseTopic("foo"))).toBe("hookd.topic.s.foo");
    expect(topicFilter(parseTopic("foo/", { allowRecursive: true }), "unsafe")).toBe("hookd.topic.u.foo.>");
  });

  it("says why a subject is not a topic's", () => {
    const { topicOf } = createLayout();
    expect(() => topicOf("hookd.work.delivery.d1")).toThrow(TopicNameError);
    expect(() => topicOf("hookd.topic.x.foo")).toThrow(/no topic namespace/);
    expect(() => topicOf("other.topic.s.foo")).toThrow(/not a topic subject/);
  });

  it("parses every subject it builds back into what built it", () => {
    const layout = createLayout();
    for (const [subject, parsed] of samples(layout)) expect(layout.parseSubject(subject), subject).toEqual(parsed);
  });

  it("parses nothing it did not build", () => {
    const layout = createLayout();
    for (
      const subject of [
        "other.work.delivery.d1",
        "hookd.work.delivery",
        "hookd.work.delivery.d1.extra",
        "hookd.work.other.d1",
        "hookd.journal.delivery.d1.updated",
        "hookd.journal.subscription.s1",
        "hookd.journal.event.e1.extra",
        "hookd.subscriptions.s1.extra",
        "hookd.ingest..k1",
        "hookd.topic.x.foo",
        "hookd.topic.s.bad_token",
        "hookd.unknown.x",
        "hookd",
      ]
    ) {
      expect(layout.parseSubject(subject), subject).toBeNull();
    }
  });

  it("stores every subject it builds in exactly one stream, the one that owns it", () => {
    const layout = createLayout();
    const owner: Record<ParsedSubject["kind"], string> = {
      "delivery-created": layout.streams.journal,
      "delivery-transitions": layout.streams.journal,
      "published-event": layout.streams.journal,
      "delivery-work": layout.streams.work,
      lease: layout.streams.work,
      "ingest-batch": layout.streams.ingest,
      "ingest-batch-touched": layout.streams.journal,
      "fan-out-left": layout.streams.journal,
      subscription: layout.streams.subscriptions,
      rate: layout.streams.rates,
      setting: layout.streams.settings,
      revocation: layout.streams.revocations,
      line: layout.streams.lines,
      "bulk-job": layout.streams.jobs,
      "bulk-job-ids": layout.streams.jobs,
      topic: layout.streams.topics,
      "index-entry": layout.streams.index,
      "indexed-delivery": layout.streams.indexed,
      "indexed-key": layout.streams.indexed,
      "index-checkpoint": layout.streams.indexed,
    };
    const configs = layout.streamConfigs(settings);
    for (const [subject, parsed] of samples(layout)) {
      const streams = configs.filter((config) => config.subjects?.some((filter) => subjectMatches(filter, subject)));
      expect(streams.map((config) => config.name), subject).toEqual([owner[parsed.kind]]);
    }
  });

  it("keeps a delivery's ask out of every stream, and reads its id back", () => {
    const layout = createLayout({ namespace: "acme" });
    const subject = layout.subjects.deliveryAsked("dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z");
    expect(subject).toBe("acme.asked.delivery.dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z");
    expect(subjectMatches(layout.subjects.allDeliveryAsks, subject)).toBe(true);
    const configs = layout.streamConfigs(settings);
    expect(configs.filter((config) => config.subjects?.some((filter) => subjectMatches(filter, subject)))).toEqual([]);
    expect(layout.subjects.askedDeliveryId(subject)).toBe("dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z");
    expect(layout.subjects.askedDeliveryId("hookd.asked.delivery.dlv_x")).toBeNull();
    expect(layout.subjects.askedDeliveryId("acme.asked.delivery.a.b")).toBeNull();
  });

  it("configures the streams and shared consumers as before", () => {
    const layout = createLayout();
    const configs = Object.fromEntries(layout.streamConfigs(settings).map((config) => [config.name, config]));
    expect(Object.keys(configs)).toHaveLength(12);
    expect(configs.HOOKD_JOURNAL?.subjects).toEqual(["hookd.journal.>"]);
    expect(configs.HOOKD_WORK?.sources).toEqual([
      { name: "HOOKD_JOURNAL", filter_subject: "hookd.journal.delivery.*.created" },
    ]);
    expect(configs.HOOKD_WORK?.retention).toBe("workqueue");
    expect(configs.HOOKD_INGEST?.retention).toBe("workqueue");
    expect(configs.HOOKD_SUBSCRIPTIONS?.max_age).toBeUndefined();
    expect(configs.HOOKD_RATES).toMatchObject({
      subjects: ["hookd.rates.>"],
      storage: "memory",
      max_age: 3_600_000_000_000,
    });
    // A shared setting (the generated signing secret) must outlive any age limit.
    expect(configs.HOOKD_SETTINGS).toMatchObject({ subjects: ["hookd.settings.>"], max_msgs_per_subject: 1 });
    expect(configs.HOOKD_SETTINGS?.max_age).toBeUndefined();
    // A token without an expiry stays revoked for good.
    expect(configs.HOOKD_REVOCATIONS).toMatchObject({ subjects: ["hookd.revoked.>"], max_msgs_per_subject: 1 });
    expect(configs.HOOKD_REVOCATIONS?.max_age).toBeUndefined();
    // An ordered subscription's line must outlive any quiet spell.
    expect(configs.HOOKD_LINES).toMatchObject({ subjects: ["hookd.lines.>"], max_msgs_per_subject: 1 });
    expect(configs.HOOKD_LINES?.max_age).toBeUndefined();
    // The index's entries share few subjects; its pointers have one each, in a stream of their own.
    expect(configs.HOOKD_INDEX).toMatchObject({ subjects: ["hookd.index.>"], max_age: configs.HOOKD_JOURNAL?.max_age });
    expect(configs.HOOKD_INDEX?.max_msgs_per_subject).toBeUndefined();
    expect(configs.HOOKD_INDEXED).toMatchObject({ subjects: ["hookd.indexed.>"], max_msgs_per_subject: 1 });
    // The journal exists before the work stream that sources it.
    const order = layout.streamConfigs(settings).map((config) => config.name);
    expect(order.indexOf("HOOKD_JOURNAL")).toBeLessThan(order.indexOf("HOOKD_WORK"));

    const consumers = layout
      .durableConsumers(settings)
      .map(({ stream, config }) => [stream, config.durable_name, config.filter_subject]);
    expect(consumers).toEqual([
      ["HOOKD_INGEST", "hookd-expander", undefined],
      ["HOOKD_TOPICS", "hookd-fanout", "hookd.topic.s.>"],
      ["HOOKD_WORK", "hookd-workers", undefined],
    ]);
    const from = { topic: "a", recursive: true, namespace: "unsafe" } as const;
    const router = layout.routerConsumer({ routerName: "r1", from, inactiveMs: 1_000 });
    expect([router.stream, router.config.durable_name, router.config.filter_subject]).toEqual([
      "HOOKD_TOPICS",
      "hookd-router-r1",
      "hookd.topic.u.a.>",
    ]);
    expect(router.updatable).toEqual(["filter_subject", "inactive_threshold", "num_replicas"]);
  });

  it("puts a namespace in every name it makes", () => {
    const layout = createLayout({ namespace: "acme-prod" });
    const from = { topic: "a", recursive: false, namespace: "safe" } as const;
    const router = layout.routerConsumer({ routerName: "r1", from, inactiveMs: 1_000 });
    const everything = JSON.stringify([
      layout.streams,
      Object.values(layout.consumers).map((name) => (typeof name === "string" ? name : name("r1"))),
      samples(layout).map(([subject]) => subject),
      layout.subjects.allDeliveryJournals,
      layout.subjects.allDeliveryCreated,
      layout.subjects.allSubscriptions,
      layout.streamConfigs(settings),
      layout.durableConsumers(settings),
      router,
    ]);
    expect(everything).not.toMatch(/hookd/i);
    for (const name of Object.values(layout.streams)) expect(name).toMatch(/^ACME-PROD_[A-Z]+$/);
    for (const [subject, parsed] of samples(layout)) {
      expect(subject.startsWith("acme-prod.")).toBe(true);
      expect(layout.parseSubject(subject)).toEqual(parsed);
      // Another deployment's subjects are not this one's.
      expect(createLayout().parseSubject(subject)).toBeNull();
    }
    expect(layout.consumers.workers).toBe("acme-prod-workers");
  });

  it("refuses a namespace that would not make valid or distinct names", () => {
    for (const namespace of ["", "Hookd", "a.b", "a b", "a*", "-a", "a>", "x".repeat(33)]) {
      expect(() => createLayout({ namespace }), namespace).toThrow(/namespace/);
    }
  });

  it("gives every stream and durable consumer the replica count, one by default", () => {
    const from = { topic: "a", recursive: false, namespace: "safe" } as const;
    for (const replicas of [undefined, 3]) {
      const layout = createLayout(replicas === undefined ? {} : { replicas });
      const want = replicas ?? 1;
      expect(layout.replicas).toBe(want);
      // The memory-stored rate stream too.
      for (const config of layout.streamConfigs(settings)) {
        expect([config.name, config.num_replicas]).toEqual([config.name, want]);
      }
      const consumers = [
        ...layout.durableConsumers(settings),
        layout.routerConsumer({ routerName: "r", from, inactiveMs: 1 }),
      ];
      for (const { config, updatable } of consumers) {
        expect(config.num_replicas).toBe(want);
        // A start with a higher count brings existing consumers up to it.
        expect(updatable).toContain("num_replicas");
      }
    }
    for (const replicas of [0, 6, 1.5]) expect(() => createLayout({ replicas })).toThrow(/replica count/);
  });

  it("backs up every stream but the list's index once, each before the streams its messages move on to", () => {
    const { streams, backupOrder } = createLayout();
    const { index, indexed, ...kept } = streams;
    expect([...backupOrder].sort()).toEqual(Object.values(kept).sort());
    expect(backupOrder).not.toContain(index);
    expect(backupOrder).not.toContain(indexed);
    // topic log -> fan-out batches (ingest) -> journal -> work queue (sourced from the journal).
    const at = (stream: string) => backupOrder.indexOf(stream);
    expect(at(streams.topics)).toBeLessThan(at(streams.ingest));
    expect(at(streams.ingest)).toBeLessThan(at(streams.journal));
    expect(at(streams.journal)).toBeLessThan(at(streams.work));
  });
});

describe("JetStream names outside the layout", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const exempt = new Set(["src/nats/layout.ts", "src/nats/layout.unit.test.ts"]);
  // Quoted strings that start like a subject but name something else: hookd's SSE end event, key file, lock file, config file.
  const NOT_SUBJECTS = /^(disconnect|key|lock|json|yaml)\b/;
  const SUBJECT = /["'`]hookd\.([\w$>*{]+)/g;
  // Env vars share the HOOKD_ prefix, so stream names are matched by their suffixes.
  const STREAM = /["'`]HOOKD_(JOURNAL|WORK|TOPICS|SUBSCRIPTIONS|INGEST|RATES)\b/g;
  const CONSUMER = /["'`]hookd-(workers|fanout|expander|router-)/g;

  function sources(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sources(path);
      return entry.name.endsWith(".ts") ? [path] : [];
    });
  }

  it("no other file in src or actors spells a subject, stream or durable consumer name", () => {
    const found: string[] = [];
    for (const path of [...sources(join(root, "src")), ...sources(join(root, "actors"))]) {
      const file = relative(root, path).split("\\").join("/");
      if (exempt.has(file)) continue;
      readFileSync(path, "utf8")
        .split("\n")
        .forEach((line, index) => {
          const subjects = [...line.matchAll(SUBJECT)].filter((match) => !NOT_SUBJECTS.test(match[1]!));
          const names = [...line.matchAll(STREAM), ...line.matchAll(CONSUMER)];
          for (const match of [...subjects, ...names]) found.push(`${file}:${index + 1}: ${match[0]}`);
        });
    }
    expect(found).toEqual([]);
  });
});
