/**
 * The nats-server's own message counters, read from its monitoring port (/varz): every message a
 * client sent (in) and every message the server handed to a client (out), whatever client it was.
 * A figure per delivery taken from these does not depend on how fast the machine is.
 */

export type NatsTraffic = { inMsgs: number; outMsgs: number };

export async function natsTrafficOf(monitorPort: number): Promise<NatsTraffic> {
  const varz = await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json() as {
    in_msgs: number;
    out_msgs: number;
  };
  return { inMsgs: varz.in_msgs, outMsgs: varz.out_msgs };
}

/**
 * Waits until NATS takes fewer than 20 messages in a second (what runs behind a phase, the indexer
 * above all, has finished its share of it), or `giveUpMs` has passed: a bench stops by itself.
 * False when it gave up.
 */
export async function untilNatsQuiet(monitorPort: number, giveUpMs: number): Promise<boolean> {
  let last = await natsTrafficOf(monitorPort);
  for (const quietBy = Date.now() + giveUpMs; Date.now() < quietBy;) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = await natsTrafficOf(monitorPort);
    if (now.inMsgs - last.inMsgs < 20) return true;
    last = now;
  }
  return false;
}

/** The messages between two readings, per `count` (e.g. per delivery). */
export function trafficPer(before: NatsTraffic, after: NatsTraffic, count: number): NatsTraffic {
  return { inMsgs: (after.inMsgs - before.inMsgs) / count, outMsgs: (after.outMsgs - before.outMsgs) / count };
}

/** A reading of what a drain has cost so far: deliveries arrived, CPU ms of each process watched, NATS's counters. */
export type CostReading = { delivered: number; cpuMs: Record<string, number>; traffic?: NatsTraffic };

export type DrainCost = { cpuMs: Record<string, number>; inMsgs: number; outMsgs: number };

/**
 * What each delivery cost between the drain's first and last tenth (from 10% to 90% of `total`
 * arrived): the start and the tail (the indexer catching up, the last stragglers) stay out, so the
 * figure is the steady drain's. CPU per delivery of each process `read` names; NATS messages when
 * it reads them (NaN otherwise). `read` takes one reading; polled every 50 ms until 90% arrived.
 */
export async function steadyDrainCost(
  total: number,
  read: () => Promise<CostReading>,
  deadlineMs = 10 * 60_000,
): Promise<DrainCost> {
  let from: CostReading | null = null;
  const giveUpAt = Date.now() + deadlineMs;
  for (;;) {
    // A bench stops by itself: a drain that never reaches 90% (a delivery lost, hookd down) ends it.
    if (Date.now() > giveUpAt) throw new Error(`the drain did not reach 90% of ${total} within ${deadlineMs / 1000} s`);
    const now = await read();
    if (!from && now.delivered >= total * 0.1) from = now;
    if (from && now.delivered >= total * 0.9 && now.delivered > from.delivered) {
      const count = now.delivered - from.delivered;
      const start = from;
      const cpuMs = Object.fromEntries(
        Object.entries(now.cpuMs).map(([name, ms]) => [name, (ms - (start.cpuMs[name] ?? NaN)) / count]),
      );
      const traffic = start.traffic && now.traffic ? trafficPer(start.traffic, now.traffic, count) : null;
      return { cpuMs, inMsgs: traffic?.inMsgs ?? NaN, outMsgs: traffic?.outMsgs ?? NaN };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** "hookd 0.61 + nats-server 0.32 = 0.93 ms": CPU ms per delivery of each process and their sum. */
export function cpuSplit(cpuMs: Record<string, number>): string {
  const parts = Object.entries(cpuMs).filter(([, ms]) => Number.isFinite(ms));
  const sum = parts.reduce((total, [, ms]) => total + ms, 0);
  return `${parts.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(" + ")} = ${sum.toFixed(2)} ms`;
}

/**
 * Waits (up to `timeoutMs`) until no consumer of `stream` has messages left to read: after a large
 * drain, the delivery indexer of a newly started instance reads the whole journal back, and a
 * figure taken meanwhile measures that catch-up as much as the figure's own subject.
 */
export async function streamReadersCaughtUp(
  monitorPort: number,
  stream: string,
  timeoutMs = 120_000,
): Promise<boolean> {
  for (const giveUpAt = Date.now() + timeoutMs; Date.now() < giveUpAt;) {
    const readers = (await streamDetailsOf(monitorPort)).find((detail) => detail.name === stream)?.consumer_detail ??
      [];
    if (readers.length > 0 && readers.every((reader) => reader.num_pending === 0)) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

export type StreamDetail = {
  name: string;
  state?: { messages?: number };
  consumer_detail?: { num_pending: number }[];
};

/** Every stream the server's monitor port describes (/jsz), with its message count and its consumers. */
export async function streamDetailsOf(monitorPort: number): Promise<StreamDetail[]> {
  type Jsz = { account_details?: { stream_detail?: StreamDetail[] }[] };
  const jsz = await (await fetch(`http://127.0.0.1:${monitorPort}/jsz?consumers=true`)).json() as Jsz;
  return jsz.account_details?.flatMap((account) => account.stream_detail ?? []) ?? [];
}
