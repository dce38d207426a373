import { describe, expect, it } from "vitest";
import { api, eventually, spawnTestHookd, startTestHookd } from "./support/hookd.ts";
import type { Answer, Received } from "./support/receiver.ts";
import { hookdSuite } from "./support/suite.ts";

// Two hookd instances on one NATS: one in this process, one a child process the test kills.
const suite = hookdSuite({ hookd: "none", receiver: false });

const EVENTS = 500;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A receiver of events numbered 1..500 that fails the 100th three times, and notes what an ordered
 * subscription must never do: an event arriving before the one ahead of it was answered with success.
 */
function orderedReceiver() {
  const arrivals: number[] = [];
  const successes: number[] = [];
  const succeeded = new Set<number>();
  const early: string[] = [];
  let failuresOf100 = 0;
  const respond = async (request: Received): Promise<Answer> => {
    const n = Number(request.body.toString());
    arrivals.push(n);
    if (n > 1 && !succeeded.has(n - 1)) early.push(`${n} arrived before ${n - 1} succeeded`);
    if (n === 100 && failuresOf100 < 3) {
      failuresOf100++;
      return { status: 500 };
    }
    // A short answer time keeps an attempt on the wire often enough for the kill to cut one off. The
    // event counts as a success only once it is answered: one arriving during this wait is early.
    await new Promise((resolve) => setTimeout(resolve, 5));
    succeeded.add(n);
    successes.push(n);
    return { status: 200 };
  };
  return { respond, arrivals, successes, succeeded, early };
}

/** The list without repeats of the same number in a row: a redelivery repeats the head, it never goes back. */
const withoutRepeats = (list: number[]) => list.filter((n, i) => i === 0 || n !== list[i - 1]);

describe("ordered delivery across instances", () => {
  it("500 events reach the receiver in order across two instances, one SIGKILLed midway", async () => {
    const seen = orderedReceiver();
    const r = await suite.startReceiver(seen.respond);
    const doomed = await spawnTestHookd({ NATS_URL: suite.nats.url, HOOKD_INSTANCE_ID: "doomed" });
    const survivor = await startTestHookd(suite.nats.url, { HOOKD_INSTANCE_ID: "survivor" });
    try {
      const created = await api(survivor.url, "/api/v1/subscriptions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          topic: "ledger/entries",
          url: r.url,
          dialect: "plain",
          ordered: true,
          retry_schedule: "200ms,200ms,200ms,200ms,200ms",
        }),
      });
      expect(created.status).toBe(201);
      const { id } = await created.json();
      // Both instances know the subscription before events flow, so either one's fan-out and workers take part.
      await eventually(async () => (await api(doomed.url, `/api/v1/subscriptions/${id}`)).ok, 10_000, "the sub");
      const eventIds: string[] = [];
      let killedAt: number | null = null;
      for (const n of range(1, EVENTS)) {
        // Half through each instance, in the order of the numbers: the topic log's order is 1..500.
        const via = n % 2 === 0 || killedAt !== null ? survivor.url : doomed.url;
        const response = await api(via, "/pub/ledger/entries", { method: "POST", body: String(n) });
        expect(response.status).toBe(202);
        eventIds.push((await response.json()).id);
        if (killedAt === null && seen.succeeded.size >= 150) {
          await doomed.kill("SIGKILL");
          killedAt = seen.succeeded.size;
        }
      }
      if (killedAt === null) {
        await eventually(async () => seen.succeeded.size >= 150, 60_000, "150 events delivered");
        await doomed.kill("SIGKILL");
        killedAt = seen.succeeded.size;
      }
      expect(killedAt).toBeLessThan(EVENTS);

      await eventually(async () => seen.succeeded.size === EVENTS, 150_000, "all 500 events to succeed");
      expect(seen.early).toEqual([]);
      expect(withoutRepeats(seen.arrivals)).toEqual(range(1, EVENTS));
      expect([...new Set(seen.successes)]).toEqual(range(1, EVENTS));
      expect(seen.arrivals.filter((n) => n === 100).length).toBeGreaterThanOrEqual(4);
      const view = await eventually(
        async () => {
          const current = await (await api(survivor.url, `/api/v1/subscriptions/${id}`)).json();
          return current.ordered_line?.head?.state === "delivered" ? current : undefined;
        },
        20_000,
        "the line to rest at its last event",
      );
      expect(view.ordered_line).toMatchObject({ head: { event_id: eventIds.at(-1) }, waiting: 0 });
      // Both instances carried the line: before the kill, some heads were attempted by the doomed one.
      const workers = new Set<string>();
      for (const eventId of eventIds.slice(0, killedAt).filter((_, i) => i % 5 === 0)) {
        const event = await (await api(survivor.url, `/api/v1/events/${eventId}`)).json();
        const delivery = await (await api(survivor.url, `/api/v1/deliveries/${event.deliveries[0].id}`)).json();
        for (const attempt of delivery.attempts) workers.add(attempt.worker);
      }
      expect(workers).toEqual(new Set(["doomed", "survivor"]));
    } finally {
      await doomed.kill("SIGKILL");
      await survivor.stop();
    }
  }, 240_000);

  it("the head on the wire when its instance is SIGKILLed is sent again by another before the next event", async () => {
    const seen = orderedReceiver();
    // The first request for event 5 hangs: the only instance with workers is then certainly holding the head.
    let hung = false;
    const r = await suite.startReceiver((request) => {
      if (request.body.toString() === "5" && !hung) {
        hung = true;
        return { status: 200, delayMs: 120_000 };
      }
      return seen.respond(request);
    });
    const doomed = await spawnTestHookd({ NATS_URL: suite.nats.url, HOOKD_INSTANCE_ID: "doomed" });
    const front = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" });
    let rescuer: Awaited<ReturnType<typeof startTestHookd>> | undefined;
    try {
      const created = await api(front.url, "/api/v1/subscriptions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ topic: "ledger/kill", url: r.url, dialect: "plain", ordered: true }),
      });
      const { id } = await created.json();
      await eventually(async () => (await api(doomed.url, `/api/v1/subscriptions/${id}`)).ok, 10_000, "the sub");
      for (const n of range(1, 10)) {
        expect((await api(front.url, "/pub/ledger/kill", { method: "POST", body: String(n) })).status).toBe(202);
      }
      await eventually(async () => hung, 30_000, "event 5 on the wire");
      // Past the quick window: the attempt's start is journaled, so the journal shows it in flight.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await doomed.kill("SIGKILL");
      expect(seen.arrivals).toEqual([1, 2, 3, 4]);
      rescuer = await startTestHookd(suite.nats.url, { HOOKD_INSTANCE_ID: "rescuer" });
      await eventually(async () => seen.succeeded.size === 10, 60_000, "all 10 events to succeed");
      expect(seen.early).toEqual([]);
      expect(seen.arrivals).toEqual(range(1, 10));
      const view = await (await api(rescuer.url, `/api/v1/subscriptions/${id}`)).json();
      expect(view.ordered_line.head.state).toBe("delivered");
    } finally {
      await doomed.kill("SIGKILL");
      await rescuer?.stop();
      await front.stop();
    }
  }, 120_000);
});
