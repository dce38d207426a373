import type { Logger } from "../log.ts";

/**
 * Start-up's undo list. Each part of hookd that starts something pushes how to stop it; `stop()`
 * and a start that fails halfway both unwind the list newest first, so whatever a later part
 * depends on (the NATS link, the embedded server) is closed last and nothing is left running.
 */
export class Closers {
  readonly #stack: { name: string; close: () => unknown }[] = [];
  #unwinding: Promise<void> | null = null;

  push(name: string, close: () => unknown): void {
    this.#stack.push({ name, close });
  }

  /** Closes everything pushed so far, newest first; one closer failing does not keep the others open. */
  unwind(log: Logger): Promise<void> {
    this.#unwinding ??= (async () => {
      for (let entry = this.#stack.pop(); entry; entry = this.#stack.pop()) {
        try {
          await entry.close();
        } catch (error) {
          log.warn({ err: error, part: entry.name }, "could not stop a part of hookd cleanly");
        }
      }
    })();
    return this.#unwinding;
  }
}
