import { sleep } from "../support/figures.ts";

/**
 * The load of a chaos run: `workers` loops POSTing /dispatch to the two instances in turn, until
 * `until` says stop. Counts every answer by kind; keeps the id of every 202, the deliveries hookd
 * promised to make.
 */
export type LoadCounts = {
  accepted: Set<string>;
  /** 503s with Retry-After: hookd saying "not now" (NATS down), allowed and not a loss. */
  unavailable: number;
  /** 5xx other than a 503 with Retry-After: failures. */
  serverErrors: number;
  /** Any other status (a 4xx to a valid request would be a bug, so each is shown). */
  other: Map<number, number>;
  /** No answer: connection refused or cut, the instance being killed or down. */
  noAnswer: number;
  /** The longest time without a 202, in ms. */
  longestGapMs: number;
  samples: string[];
};

export type LoadTarget = { urls(): (string | undefined)[]; receiverUrl: string; token: string };

export async function runLoad(target: LoadTarget, workers: number, until: () => boolean): Promise<LoadCounts> {
  const counts: LoadCounts = {
    accepted: new Set(),
    unavailable: 0,
    serverErrors: 0,
    other: new Map(),
    noAnswer: 0,
    longestGapMs: 0,
    samples: [],
  };
  let sent = 0;
  let last202 = Date.now();
  const accept = (id: string) => {
    const now = Date.now();
    counts.longestGapMs = Math.max(counts.longestGapMs, now - last202);
    last202 = now;
    counts.accepted.add(id);
  };
  const loop = async () => {
    while (!until()) {
      const n = sent++;
      const urls = target.urls();
      const url = urls[n % 2] ?? urls[(n + 1) % 2];
      if (!url) {
        await sleep(20);
        continue;
      }
      const pause = await dispatchOnce(url, n, target, counts, accept);
      if (pause) await sleep(pause);
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
  counts.longestGapMs = Math.max(counts.longestGapMs, Date.now() - last202);
  return counts;
}

/** One dispatch, counted; resolves with how long the loop should wait before its next. */
async function dispatchOnce(
  url: string,
  n: number,
  target: LoadTarget,
  counts: LoadCounts,
  accept: (id: string) => void,
): Promise<number> {
  const to = encodeURIComponent(`${target.receiverUrl}/chaos`);
  let response: Response;
  try {
    response = await fetch(`${url}/dispatch?_url=${to}`, {
      method: "POST",
      headers: { authorization: `Bearer ${target.token}`, "content-type": "text/plain" },
      body: `n=${n}`,
      signal: AbortSignal.timeout(15_000),
    });
  } catch {
    counts.noAnswer++;
    return 20;
  }
  const text = await response.text().catch(() => "");
  if (response.status === 202) {
    accept((JSON.parse(text) as { id: string }).id);
    return 0;
  }
  if (response.status === 503 && response.headers.has("retry-after")) {
    counts.unavailable++;
    return 100;
  }
  if (response.status >= 500) counts.serverErrors++;
  else counts.other.set(response.status, (counts.other.get(response.status) ?? 0) + 1);
  if (counts.samples.length < 10) counts.samples.push(`${response.status} from ${url}: ${text.slice(0, 300)}`);
  return 20;
}
