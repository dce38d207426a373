import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import { MetricsUnavailableError } from "./metrics.ts";

/**
 * /metrics with HOOKD_PROCESSES above 1 (decision record 41): a scrape reaches whichever process the
 * cluster hands its connection to, so that process asks the first one, over the cluster's channel,
 * for every process's metrics added up. The first one asks each process for its registry and adds
 * them up as prom-client's AggregatorRegistry does; the asking and waiting are hookd's own, so a
 * process that does not answer costs a timeout, not an entry left behind in prom-client's own ask.
 */

type Metrics = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;
type Message =
  | { type: "hookd:metrics-asked"; id: number }
  | { type: "hookd:metrics-answered"; id: number; text?: string; error?: string }
  | { type: "hookd:registry-asked"; id: number }
  | { type: "hookd:registry-answered"; id: number; metrics?: Metrics; error?: string };

/** A process that has not answered by then is stuck or stopping: the scrape fails rather than show part of the sum. */
const GATHER_MS = 5_000;
/** The first process's own wait, and a little more for its answer to come back. */
const ANSWER_WAIT_MS = GATHER_MS + 1_000;

const isMessage = <T extends Message["type"]>(message: unknown, type: T): message is Extract<Message, { type: T }> =>
  typeof message === "object" && message !== null && (message as { type?: unknown }).type === type;

/** Sends `message` unless the channel is gone (the first process or this one stopping): then false. */
function sent(to: Worker | NodeJS.Process, message: Message): boolean {
  const connected = "isConnected" in to ? to.isConnected() : to.connected;
  if (!connected || !to.send) return false;
  // A channel that closes meanwhile reports it here, rather than as an error event nothing listens to.
  to.send(message, undefined, undefined, () => undefined);
  return true;
}

/** In the first process: answers each forked process's ask with every process's metrics added up. */
export function relayMetrics(): void {
  type Gather = { asked: Set<number>; answers: Metrics[]; done: (answers: Metrics[] | null) => void };
  const gathering = new Map<number, Gather>();
  let lastGather = 0;
  const gather = () =>
    new Promise<Metrics[] | null>((resolve) => {
      const id = ++lastGather;
      const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
      const timer = setTimeout(() => done(null), GATHER_MS);
      const done = (answers: Metrics[] | null) => {
        clearTimeout(timer);
        gathering.delete(id);
        resolve(answers);
      };
      gathering.set(id, { asked: new Set(workers.map((worker) => worker.id)), answers: [], done });
      if (workers.length === 0 || !workers.every((worker) => sent(worker, { type: "hookd:registry-asked", id }))) {
        done(null);
      }
    });
  cluster.on("message", (worker, message: unknown) => {
    if (isMessage(message, "hookd:registry-answered")) {
      const open = gathering.get(message.id);
      // Each process counted once, and only one that was asked.
      if (!open?.asked.delete(worker.id)) return;
      if (message.metrics === undefined) return open.done(null);
      open.answers.push(message.metrics);
      if (open.asked.size === 0) open.done(open.answers);
    }
    if (isMessage(message, "hookd:metrics-asked")) void answer(worker, message.id, gather);
  });
  // A process gone mid-gather will not answer: the gathers it was in end now, not after their 5 s.
  cluster.on("exit", (worker) => {
    for (const open of gathering.values()) if (open.asked.has(worker.id)) open.done(null);
  });
}

async function answer(worker: Worker, id: number, gather: () => Promise<Metrics[] | null>): Promise<void> {
  try {
    const answers = await gather();
    if (answers === null) {
      throw new Error(`a hookd process did not give its metrics within ${GATHER_MS / 1000} s (stuck, or stopping)`);
    }
    sent(worker, { type: "hookd:metrics-answered", id, text: await AggregatorRegistry.aggregate(answers).metrics() });
  } catch (error) {
    sent(worker, { type: "hookd:metrics-answered", id, error: (error as Error).message });
  }
}

/**
 * In a forked process: gives the first one `registry` when asked, and returns what /metrics serves:
 * every process's metrics added up, or a MetricsUnavailableError naming why they could not be had.
 */
export function metricsOfEveryProcess(registry: Registry): () => Promise<string> {
  const waiting = new Map<number, (answer: { text?: string; error?: string }) => void>();
  let lastId = 0;
  process.on("message", (message: unknown) => {
    if (isMessage(message, "hookd:metrics-answered")) waiting.get(message.id)?.(message);
    if (!isMessage(message, "hookd:registry-asked")) return;
    void registry.getMetricsAsJSON().then(
      (metrics) => sent(process, { type: "hookd:registry-answered", id: message.id, metrics }),
      (error: Error) => sent(process, { type: "hookd:registry-answered", id: message.id, error: error.message }),
    );
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = ++lastId;
      const timer = setTimeout(() => settle({ error: "the first hookd process did not answer" }), ANSWER_WAIT_MS);
      const settle = (answer: { text?: string; error?: string }) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (answer.text === undefined) reject(new MetricsUnavailableError(answer.error));
        else resolve(answer.text);
      };
      waiting.set(id, settle);
      if (!sent(process, { type: "hookd:metrics-asked", id })) settle({ error: "the first hookd process is gone" });
    });
}
