import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

/**
 * HOOKD_PROCESSES under Node (decision record 41): the first process forks that many hookd processes,
 * which share the HTTP port through Node's cluster (connections handed out in turn); each one is an
 * instance of its own on the shared NATS, as instances on several machines are. The first process
 * serves nothing itself: it stops them all on a signal, or when one of them ends, and answers their
 * /metrics with every process's metrics added up (prom-client's AggregatorRegistry), since a scrape
 * reaches whichever process the cluster hands its connection to.
 */

const METRICS_ASKED = "hookd:metrics-asked";
const METRICS_ANSWERED = "hookd:metrics-answered";

type MetricsAsked = { type: typeof METRICS_ASKED; id: number };
type MetricsAnswered = { type: typeof METRICS_ANSWERED; id: number; text?: string; error?: string };

const isMessage = <T extends { type: string }>(message: unknown, type: T["type"]): message is T =>
  typeof message === "object" && message !== null && (message as { type?: unknown }).type === type;

/** True in a process the first one forked. */
export const isForkedProcess = (): boolean => cluster.isWorker;

/** A process's name for an operator: the instance id given, numbered per process, or none (each then names itself). */
export function forkedInstanceId(base: string | undefined, index: number): Record<string, string> {
  return base === undefined ? {} : { HOOKD_INSTANCE_ID: `${base}-${index + 1}` };
}

/**
 * The first process: forks `count` hookd processes and watches them. A signal stops them all; one that
 * ends on its own (a crash, NATS refusing it at start) stops the others too, so a supervisor (systemd)
 * sees hookd end and restarts it whole, rather than running on with fewer processes than it was told.
 */
export function superviseProcesses(
  count: number,
  instanceId: string | undefined,
  exit: (code: number) => never,
  stopWhenParentExits: (stop: () => void) => void,
): void {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let exitCode = 0;
  const stopAll = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  cluster.on("message", (worker, message: unknown) => {
    if (!isMessage<MetricsAsked>(message, METRICS_ASKED)) return;
    const answer = (fields: Omit<MetricsAnswered, "type" | "id">) =>
      worker.isConnected() && worker.send({ type: METRICS_ANSWERED, id: message.id, ...fields });
    aggregator.clusterMetrics().then((text) => answer({ text }), (error: Error) => answer({ error: error.message }));
  });
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      exitCode = code || 1;
      console.error(
        `hookd process ${worker.process.pid} ended (${signal ?? `exit code ${code}`}); stopping the other processes`,
      );
      stopAll();
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) exit(exitCode);
  });
  process.on("SIGINT", stopAll);
  process.on("SIGTERM", stopAll);
  stopWhenParentExits(stopAll);
  for (let index = 0; index < count; index++) cluster.fork(forkedInstanceId(instanceId, index));
}

/**
 * In a forked process: lets the first one read `registry`, and returns what /metrics serves, every
 * process's metrics added up, asked of the first process over the cluster's channel.
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
    waiting.delete(message.id);
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = ++lastId;
      waiting.set(id, (answer) => (answer.text === undefined ? reject(new Error(answer.error)) : resolve(answer.text)));
      process.send!({ type: METRICS_ASKED, id } satisfies MetricsAsked);
    });
}
