/**
 * A fixed number of places, taken and given back: bounds how much work many callers run at once.
 * Waiters get places in the order they asked.
 */
export class Places {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly count: number,
    /** Told how many places are held each time that changes. */
    private readonly onHeld: (held: number) => void = () => undefined,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`places must be a positive integer, not ${count}`);
    this.#free = count;
  }

  /** Resolves once a place is free, with the function that gives it back (once, however often it is called). */
  async take(): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
      this.onHeld(this.count - this.#free);
    } else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#waiting.shift();
      // Handed straight to the next waiter, so a new caller cannot take it first (and as many stay held).
      if (next) next();
      else {
        this.#free++;
        this.onHeld(this.count - this.#free);
      }
    };
  }
}
