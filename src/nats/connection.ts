import { connect, errors, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log.ts";
import type { ConnectPlan } from "./connect-options.ts";
import { NatsConnectError, refusalOf } from "./connect-refusal.ts";
import { wantsClientCertificate } from "./server-info.ts";

/** A NATS connection that reconnects forever and knows whether it is connected right now. */
export type NatsLink = {
  nc: NatsConnection;
  isConnected(): boolean;
  close(): Promise<void>;
};

/** How long to wait for a server that is not there yet, and where to say so. */
export type FirstConnect = { timeoutMs: number; log: Logger; display: string };

/** A pause between attempts at the first connection: short, as a server coming up is usually up in seconds. */
const RETRY_MS = 1_000;

/**
 * Connects, waiting up to `first.timeoutMs` for a server that is down (one log line when it starts
 * waiting). What waiting cannot fix (credentials refused, a certificate not trusted) ends the start at
 * once with a NatsConnectError saying which variable to fix. nats.js's own waitOnFirstConnect would
 * wait forever, so the first connection is retried here and reconnects after it are nats.js's.
 */
export async function openNats(plan: ConnectPlan, name: string, first: FirstConnect): Promise<NatsLink> {
  const deadline = Date.now() + first.timeoutMs;
  let waiting = false;
  for (;;) {
    try {
      return linkOf(
        first.log,
        await connect({
          ...plan.options,
          name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          // Bounds one attempt at a server that neither answers nor refuses.
          timeout: Math.max(1_000, Math.min(5_000, deadline - Date.now())),
          // Async traces build two Error objects (with stacks) for every request, i.e. every journal append: a tenth of a worker's CPU.
          noAsyncTraces: true,
        }),
      );
    } catch (error) {
      const refusal = refusalOf(error, plan, first);
      if (refusal.final) throw refusal.error;
      await refuseWithoutClientCertificate(plan, first.display);
      if (Date.now() + RETRY_MS > deadline) throw refusal.error;
      if (!waiting) {
        waiting = true;
        first.log.warn(
          { nats: first.display, reason: refusal.reason, timeout_ms: first.timeoutMs },
          "waiting for NATS to be reachable (giving up after HOOKD_NATS_CONNECT_TIMEOUT)",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/**
 * A server that requires a client certificate ends a TLS 1.3 handshake without one after it seems
 * done, and nats.js sees only a timeout; the server's INFO line says it wants one, so ask it.
 */
async function refuseWithoutClientCertificate(plan: ConnectPlan, at: string): Promise<void> {
  if (!plan.tls || plan.clientCertificate) return;
  if (!(await wantsClientCertificate(plan.options.servers as string[]))) return;
  throw new NatsConnectError(
    `NATS at ${at} requires a client certificate (its tls { verify: true }): set HOOKD_NATS_TLS_CERT and ` +
      "HOOKD_NATS_TLS_KEY to a certificate its CA signed, and the key",
  );
}

/** Subjects whose permission violations were logged already: one line each is enough. */
const REPORTED_MAX = 1_000;

function linkOf(log: Logger, nc: NatsConnection): NatsLink {
  let connected = true;
  const reported = new Set<string>();
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") connected = false;
      if (status.type === "reconnect") connected = true;
      // Otherwise a subject hookd's user may not use shows only as requests that time out.
      if (status.type === "error" && status.error instanceof errors.PermissionViolationError) {
        const { operation, subject } = status.error;
        if (reported.has(`${operation} ${subject}`) || reported.size >= REPORTED_MAX) continue;
        reported.add(`${operation} ${subject}`);
        log.error(
          { operation, subject },
          "NATS refused hookd's user a permission it needs; grant every permission hookd nats-permissions prints " +
            "(docs/nats.md)",
        );
      }
    }
  })();
  return {
    nc,
    isConnected: () => connected && !nc.isClosed(),
    async close() {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
