/**
 * Lets a timer run without holding a stopping process open, where the runtime's timers can do that
 * (Node's are objects with `unref`; Deno's are numbers, and stay as they are). Returns the timer, so
 * it can be kept for clearTimeout or clearInterval.
 */
export function unrefTimer<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
