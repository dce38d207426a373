/**
 * Attempt slots per origin (scheme://host:port). An origin may hold `limit` attempts at once, so a
 * slow receiver never takes every slot of an instance. Past the limit, an attempt to an origin that
 * answers fast waits here for a slot, as long as the queue ahead of it takes to go through: a local
 * wait is far cheaper than handing the work back to NATS and reading it again. An attempt to a slow
 * origin (or one not yet timed) does not wait: it goes back to NATS at once, so a slow receiver's
 * backlog never fills the instance with waiters and others' deliveries keep flowing.
 */
type Waiter = { resolve: (release: (() => void) | null) => void; timer: ReturnType<typeof setTimeout> };

/** How much the latest attempt moves an origin's typical duration. */
const WEIGHT = 0.2;
/** Timings are kept for this many origins at most (a scan of many receivers must not grow memory). */
const MAX_TIMED_ORIGINS = 10_000;

export class OriginGate {
  readonly #inFlight = new Map<string, number>();
  readonly #waiting = new Map<string, Waiter[]>();
  /** A moving average of each origin's attempt time (ms); an origin waits only when it is fast. */
  readonly #typicalMs = new Map<string, number>();
  /** When each origin last finished an attempt: a fast origin that stopped finishing has turned slow. */
  readonly #lastDoneAt = new Map<string, number>();

  constructor(
    private readonly options: {
      limit: number;
      maxWaiting: number;
      /** The shortest a waiter waits before it hands its work back; longer when the origin's attempts take longer. */
      maxWaitMs: number;
      /** An origin counts as fast when its attempts typically take at most this long (default: a quarter of maxWaitMs). */
      fastMs?: number;
      now: () => number;
    },
  ) {}

  /** A release function once a slot is held, or null when the caller should hand the work back. */
  enter(origin: string): Promise<(() => void) | null> {
    const held = this.#inFlight.get(origin) ?? 0;
    if (held < this.options.limit) {
      this.#inFlight.set(origin, held + 1);
      return Promise.resolve(this.#releaser(origin));
    }
    // Waiting pays only if slots free quickly: the origin's attempts typically take at most fastMs, and
    // one finished lately (an origin that was fast and just stalled gets no waiters).
    const typical = this.#typicalMs.get(origin);
    const fastMs = this.options.fastMs ?? this.options.maxWaitMs / 4;
    if (
      typical === undefined || typical > fastMs ||
      this.options.now() - (this.#lastDoneAt.get(origin) ?? -Infinity) > fastMs
    ) return Promise.resolve(null);
    const queue = this.#waiting.get(origin) ?? [];
    if (queue.length >= this.options.maxWaiting) return Promise.resolve(null);
    this.#waiting.set(origin, queue);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          if (queue.length === 0 && this.#waiting.get(origin) === queue) this.#waiting.delete(origin);
          resolve(null);
        }, this.#waitLimitMs(typical)),
      };
      queue.push(waiter);
    });
  }

  /**
   * How long a waiter may wait: long enough for the queue ahead of it to go through the origin's
   * slots (maxWaiting / limit rounds of a typical attempt, and one more), and never less than maxWaitMs.
   * Handing work back costs a NATS redelivery and a journal read, so a fast origin's waiters stay.
   */
  #waitLimitMs(typicalMs: number): number {
    const rounds = Math.ceil(this.options.maxWaiting / this.options.limit) + 1;
    return Math.max(this.options.maxWaitMs, Math.ceil(rounds * typicalMs));
  }

  #releaser(origin: string): () => void {
    const started = this.options.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const done = this.options.now();
      const took = done - started;
      const typical = this.#typicalMs.get(origin);
      if (typical === undefined && this.#typicalMs.size >= MAX_TIMED_ORIGINS) {
        this.#typicalMs.clear();
        this.#lastDoneAt.clear();
      }
      this.#typicalMs.set(origin, typical === undefined ? took : typical + WEIGHT * (took - typical));
      this.#lastDoneAt.set(origin, done);
      const queue = this.#waiting.get(origin);
      const next = queue?.shift();
      if (next) {
        if (queue!.length === 0) this.#waiting.delete(origin);
        clearTimeout(next.timer);
        // The slot is handed over: the count stays the same, so nobody can jump the queue.
        next.resolve(this.#releaser(origin));
        return;
      }
      const left = (this.#inFlight.get(origin) ?? 1) - 1;
      if (left <= 0) this.#inFlight.delete(origin);
      else this.#inFlight.set(origin, left);
    };
  }
}
