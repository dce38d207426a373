/**
 * Runs a callback after the I/O callbacks of this turn of the event loop, so work that arrived in
 * one turn (HTTP requests, NATS messages) can be handled together. Node and Deno both have
 * setImmediate; a timer stands in elsewhere.
 */
export const endOfTurn: (callback: () => void) => void =
  (globalThis as { setImmediate?: (callback: () => void) => void }).setImmediate ?? ((callback) => setTimeout(callback, 0));
