/**
 * Runs a callback after the I/O callbacks of this turn of the event loop, so work that arrived in
 * one turn (HTTP requests, NATS messages) can be handled together. Node and Deno (2.4 and later)
 * have setImmediate; elsewhere a zero timer stands in, which adds up to a millisecond.
 */
export const endOfTurn: (callback: () => void) => void =
  (globalThis as { setImmediate?: (callback: () => void) => void }).setImmediate ??
    ((callback) => setTimeout(callback, 0));
