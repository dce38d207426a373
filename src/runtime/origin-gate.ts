/**
 * Attempt slots per origin (scheme://host:port). An origin may hold `limit` attempts at once, so a
 * slow receiver never takes every slot of an instance. Past the limit an attempt may wait here a
 * short while for a slot: behind a fast receiver one frees within milliseconds, and a local wait is
 * far cheaper than handing the work back to NATS and reading it again. Behind a slow receiver the
 * wait runs out and the caller hands the work back, so waiters never pile up for long.
 */
type Waiter = { resolve: (release: (() => void) | null) => void; timer: ReturnType<typeof setTimeout> };

export class OriginGate {
  readonly #inFlight = new Map<string, number>();
  readonly #waiting = new Map<string, Waiter[]>();

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
    private readonly maxWaitMs: number,
  ) {}

  /** A release function once a slot is held, or null when none came free in time (or the queue is full). */
  enter(origin: string): Promise<(() => void) | null> {
    const held = this.#inFlight.get(origin) ?? 0;
    if (held < this.limit) {
      this.#inFlight.set(origin, held + 1);
      return Promise.resolve(this.#releaser(origin));
    }
    const queue = this.#waiting.get(origin) ?? [];
    if (queue.length >= this.maxWaiting) return Promise.resolve(null);
    this.#waiting.set(origin, queue);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          if (queue.length === 0 && this.#waiting.get(origin) === queue) this.#waiting.delete(origin);
          resolve(null);
        }, this.maxWaitMs),
      };
      queue.push(waiter);
    });
  }

  #releaser(origin: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
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
