import type { HookdProcess, NatsProcess } from "../../test/support/processes.ts";
import type { ListenerChild } from "./listener-child.ts";

/**
 * Everything bench/streams has started and not yet stopped, so that any way out (the end, an error,
 * SIGINT, the time limit) stops it.
 */

export const running: { nats: NatsProcess | null; hookd: HookdProcess | null; clients: ListenerChild[] } = {
  nats: null,
  hookd: null,
  clients: [],
};

let cleaning: Promise<void> | null = null;

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(running.clients.map((client) => client.close()));
    running.clients = [];
    if (running.hookd) {
      // hookd's data folder goes with it (test/support/processes.ts removes it on exit).
      await running.hookd.stop().catch(() => undefined);
      running.hookd = null;
    }
    await running.nats?.stop().catch(() => undefined);
  })();
  return cleaning;
}
