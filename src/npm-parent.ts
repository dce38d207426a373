import { setInterval } from "node:timers";

/**
 * npm and npx start their command under `sh -c`, and that shell does not pass SIGTERM or SIGINT on:
 * a signal to npm kills the shell and leaves the command running under a new parent. `npm start`
 * execs its way to hookd, so npm's signal reaches hookd; `npx hookd serve` and `npx deno run …`
 * cannot. So when npm started hookd (npm sets npm_lifecycle_event), hookd stops once the parent it
 * started under is gone, as it would on the signal. Not otherwise: a hookd started under nohup or a
 * supervisor may outlive the shell that started it.
 */

const CHECK_EVERY_MS = 500;

/** Calls `stop` once the parent process changes; returns how to stop watching. */
export function stopWhenNpmExits(
  env: Record<string, string | undefined>,
  parentPid: () => number,
  stop: () => void,
  checkEveryMs = CHECK_EVERY_MS,
): () => void {
  if (!env.npm_lifecycle_event) return () => {};
  const first = parentPid();
  const timer = setInterval(() => {
    if (parentPid() === first) return;
    clearInterval(timer);
    stop();
  }, checkEveryMs);
  // The watch alone must not keep hookd running.
  timer.unref();
  return () => clearInterval(timer);
}
