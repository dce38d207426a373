import { Agent, request } from "undici";

/**
 * A backlog of exactly `count` dispatches, POSTed to an instance that only accepts (HOOKD_WORKERS=off),
 * 64 at once: what a drain then times. Answers how many hookd accepted (202); a bench drains those.
 * A bench stops by itself: a request unanswered for 30 s, or the whole backlog not in after five
 * minutes, throws.
 */
export async function acceptBacklog(options: {
  hookdUrl: string;
  /** The receiver's URL the dispatches go to. */
  target: string;
  /** A token for /dispatch. */
  token: string;
  count: number;
}): Promise<number> {
  const agent = new Agent({ connections: 64 });
  const url = `${options.hookdUrl}/dispatch?_url=${encodeURIComponent(options.target)}`;
  const headers = { authorization: `Bearer ${options.token}`, "content-type": "text/plain" };
  let next = 0;
  let accepted = 0;
  const giveUpAt = Date.now() + 5 * 60_000;
  try {
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < options.count) {
        if (Date.now() > giveUpAt) throw new Error(`hookd took ${next} of ${options.count} dispatches in 5 minutes`);
        const i = next++;
        const response = await request(url, {
          method: "POST",
          body: `n=${i}`,
          headers,
          dispatcher: agent,
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        await response.body.dump();
        if (response.statusCode === 202) accepted++;
      }
    }));
  } finally {
    await agent.close();
  }
  return accepted;
}
