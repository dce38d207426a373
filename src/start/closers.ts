import type { Logger } from "../log.ts";

/**
 * Start-up's undo list. Each part of hookd that starts something pushes how to stop it; `stop()`
 * and a start that fails halfway both unwind the list newest first, so whatever a later part
 * depends on (the NATS link, the embedded server) is closed last and nothing is left running.
 */
export class Closers {
  readonly #stack: { name: string; close: () => unknown }[] = [];
  #unwinding: Promise<void> | null = null;

  /**
   * `partTimeoutMs`: how long one part may take to stop (its attempts in flight end within their timeout);
   * past it, the stop goes on without it and says which part it was, so a stop always ends.
   */
  constructor(private readonly partTimeoutMs = Infinity) {}

  push(name: string, close: () => unknown): void {
    this.#stack.push({ name, close });
  }

  /** Closes everything pushed so far, newest first; one closer failing or hanging does not keep the others open. */
  unwind(log: Logger): Promise<void> {
    this.#unwinding ??= (async () => {
      for (let entry = this.#stack.pop(); entry; entry = this.#stack.pop()) {
        try {
          if (!(await this.#closedInTime(entry.close))) {
            log.error(
              { part: entry.name, waitedMs: this.partTimeoutMs },
              "a part of hookd did not stop in time; stopping the rest without it",
            );
          }
        } catch (error) {
          log.warn({ err: error, part: entry.name }, "could not stop a part of hookd cleanly");
        }
      }
    })();
    return this.#unwinding;
  }

  async #closedInTime(close: () => unknown): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => {
      if (Number.isFinite(this.partTimeoutMs)) timer = setTimeout(() => resolve(false), this.partTimeoutMs);
    });
    try {
      return await Promise.race([Promise.resolve(close()).then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
