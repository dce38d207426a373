/**
 * First attempts on the wire whose start is not journaled yet (decision record 31). Such an attempt
 * waits up to the quick window for its receiver, to journal its start and outcome in one append. A
 * fan-out delivery is known only by its journal, so while the window is open nothing can find it:
 * `/verify`, asked from the receiver's handler during that very request, would answer INVALID. An ask
 * closes the window at once; it is answered once the start is journaled.
 */

export type QuickWindow = {
  /** Resolves when someone asks for the delivery: its start is to be journaled now. */
  readonly asked: Promise<void>;
  /** The delivery's first append has landed (or will not be made here): askers are answered. Idempotent. */
  done(): void;
};

type Open = { ask: () => void; asked: Promise<void>; answered: Promise<void>; answer: () => void };

export class QuickWindows {
  readonly #open = new Map<string, Open>();

  open(id: string): QuickWindow {
    let ask!: () => void;
    let answer!: () => void;
    const entry: Open = {
      ask: () => ask(),
      asked: new Promise<void>((resolve) => (ask = resolve)),
      answered: new Promise<void>((resolve) => (answer = resolve)),
      answer: () => answer(),
    };
    this.#open.set(id, entry);
    return {
      asked: entry.asked,
      done: () => {
        // A later window of the same id (its retry on this instance) is not this one's to close.
        if (this.#open.get(id) === entry) this.#open.delete(id);
        entry.answer();
      },
    };
  }

  /** Closes the delivery's window; resolves once its start is journaled. False at once when none is open here. */
  async ask(id: string): Promise<boolean> {
    const entry = this.#open.get(id);
    if (!entry) return false;
    entry.ask();
    await entry.answered;
    return true;
  }

  get size(): number {
    return this.#open.size;
  }
}
