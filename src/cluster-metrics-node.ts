import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

/**
 * /metrics with HOOKD_PROCESSES above 1 (decision record 41): a scrape reaches whichever process the
 * cluster hands its connection to, so that process asks the first one, over the cluster's channel,
 * for every process's metrics added up (prom-client's AggregatorRegistry, which asks each process
 * for its registry in turn).
 */

const METRICS_ASKED = "hookd:metrics-asked";
const METRICS_ANSWERED = "hookd:metrics-answered";
/** prom-client gives up on a process that does not answer after 5 s: a little more, so its answer comes first. */
const ANSWER_WAIT_MS = 6_000;

type MetricsAsked = { type: typeof METRICS_ASKED; id: number };
type MetricsAnswered = { type: typeof METRICS_ANSWERED; id: number; text?: string; error?: string };

const isMessage = <T extends { type: string }>(message: unknown, type: T["type"]): message is T =>
  typeof message === "object" && message !== null && (message as { type?: unknown }).type === type;

/** In the first process: answers each forked process's ask with every process's metrics added up. */
export function relayMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: unknown) => {
    if (!isMessage<MetricsAsked>(message, METRICS_ASKED)) return;
    const answer = (fields: Omit<MetricsAnswered, "type" | "id">) =>
      worker.isConnected() && worker.send({ type: METRICS_ANSWERED, id: message.id, ...fields });
    aggregator.clusterMetrics().then((text) => answer({ text }), (error: Error) => answer({ error: error.message }));
  });
}

/**
 * In a forked process: lets the first one read `registry`, and returns what /metrics serves. When the
 * sum cannot be had (a process stopping or stuck, the first one gone), this process's own metrics,
 * whose `hookd_processes` of 1 says they are one process's: a scrape during an incident still answers.
 */
export function metricsOfEveryProcess(registry: Registry): () => Promise<string> {
  // Constructing it is what makes prom-client answer the first process's asks in this one.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const waiting = new Map<number, (answer: MetricsAnswered) => void>();
  let lastId = 0;
  process.on("message", (message: unknown) => {
    if (!isMessage<MetricsAnswered>(message, METRICS_ANSWERED)) return;
    waiting.get(message.id)?.(message);
  });
  const everyProcess = () =>
    new Promise<string>((resolve, reject) => {
      const id = ++lastId;
      const timer = setTimeout(() => settle({ type: METRICS_ANSWERED, id, error: "no answer" }), ANSWER_WAIT_MS);
      const settle = (answer: MetricsAnswered) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (answer.text === undefined) reject(new Error(answer.error));
        else resolve(answer.text);
      };
      waiting.set(id, settle);
      process.send?.({ type: METRICS_ASKED, id } satisfies MetricsAsked);
    });
  return () => everyProcess().catch(() => registry.metrics());
}
