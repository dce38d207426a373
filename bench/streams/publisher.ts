import { Agent, request } from "undici";
import { percentile, sleep } from "../support/figures.ts";
import { MAX_INFLIGHT, now, PUBLISH_OVERRUN, timeLeft, TOPIC } from "./settings.ts";

/** bench/streams' publisher: POST /pub to the bench's topic on a schedule, each body stamped with its send time. */

export type PublishResult = {
  attempted: number;
  accepted: number;
  failed: number;
  /** Failures by kind (status and problem title, or the client's error), with counts. */
  errors: Record<string, number>;
  seconds: number;
  achievedRate: number;
  inflightBound: boolean;
  /** True when the publisher gave up before offering everything (hookd answered too slowly). */
  cutShort: boolean;
  /** POST /pub round trips as the publisher saw them, ms. */
  ackP50: number;
  ackP99: number;
};

/** Open loop at `rate`/s for `seconds`, at most MAX_INFLIGHT unanswered; each body carries its send time. */
export async function publish(
  base: string,
  authorization: string,
  phase: number,
  rate: number,
  seconds: number,
): Promise<PublishResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const agent = new Agent({ connections: MAX_INFLIGHT, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000 });
  let attempted = 0;
  let cutShort = false;
  const url = `${base}/pub/${TOPIC}`;
  let inflight = 0;
  let freed: (() => void) | null = null;
  let accepted = 0;
  let failed = 0;
  let inflightBound = false;
  const errors: Record<string, number> = {};
  const failure = (kind: string) => {
    failed++;
    errors[kind] = (errors[kind] ?? 0) + 1;
  };
  const acks: number[] = [];
  const sends: Promise<void>[] = [];
  const started = performance.now();
  const giveUpAt = started + seconds * 1000 * PUBLISH_OVERRUN + 3_000;
  for (let i = 0; i < total; i++) {
    if (performance.now() > giveUpAt || timeLeft() < 10_000) {
      cutShort = true;
      break;
    }
    attempted++;
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    while (inflight >= MAX_INFLIGHT) {
      inflightBound = true;
      await new Promise<void>((resolve) => (freed = resolve));
    }
    inflight++;
    const sentAt = performance.now();
    sends.push(
      request(url, {
        method: "POST",
        body: `${phase}|${i}|${now()}`,
        headers: { authorization, "content-type": "text/plain" },
        dispatcher: agent,
      })
        .then(async (response) => {
          const text = await response.body.text();
          acks.push(performance.now() - sentAt);
          if (response.statusCode === 202) accepted++;
          else failure(`HTTP ${response.statusCode} ${/"title":"([^"]*)"/.exec(text)?.[1] ?? text.slice(0, 80)}`);
        })
        .catch((error: Error) => failure(`client: ${error.message}`))
        .finally(() => {
          inflight--;
          const wake = freed;
          freed = null;
          wake?.();
        }),
    );
  }
  await Promise.all(sends);
  const elapsed = (performance.now() - started) / 1000;
  await agent.close();
  acks.sort((a, b) => a - b);
  const ackP50 = percentile(acks, 0.5);
  const ackP99 = percentile(acks, 0.99);
  return {
    attempted,
    accepted,
    failed,
    errors,
    seconds: elapsed,
    achievedRate: attempted / elapsed,
    inflightBound,
    cutShort,
    ackP50,
    ackP99,
  };
}
