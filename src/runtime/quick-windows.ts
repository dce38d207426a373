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
  /** Each delivery's open windows: usually one, but a copy of its work handed out again can open a second here. */
  readonly #open = new Map<string, Set<Open>>();

  open(id: string): QuickWindow {
    let ask!: () => void;
    let answer!: () => void;
    const entry: Open = {
      ask: () => ask(),
      asked: new Promise<void>((resolve) => (ask = resolve)),
      answered: new Promise<void>((resolve) => (answer = resolve)),
      answer: () => answer(),
    };
    const open = this.#open.get(id) ?? new Set<Open>();
    this.#open.set(id, open.add(entry));
    return {
      asked: entry.asked,
      done: () => {
        open.delete(entry);
        // A later window of the same id (its retry on this instance) is not this one's to close.
        if (open.size === 0 && this.#open.get(id) === open) this.#open.delete(id);
        entry.answer();
      },
    };
  }

  /** Closes the delivery's windows; resolves once each has journaled its start. False at once when none is open here. */
  async ask(id: string): Promise<boolean> {
    const open = [...(this.#open.get(id) ?? [])];
    if (open.length === 0) return false;
    for (const entry of open) entry.ask();
    await Promise.all(open.map((entry) => entry.answered));
    return true;
  }

  /** Deliveries with a window open here. */
  get size(): number {
    return this.#open.size;
  }
}
