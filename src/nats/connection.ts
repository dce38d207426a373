import { connect, type NatsConnection } from "@nats-io/transport-node";

/** A NATS connection that reconnects forever and knows whether it is connected right now. */
export type NatsLink = {
  nc: NatsConnection;
  isConnected(): boolean;
  close(): Promise<void>;
};

export async function openNats(url: string, name: string): Promise<NatsLink> {
  const nc = await connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    // Async traces build two Error objects (with stacks) for every request, i.e. every journal append: a tenth of a worker's CPU.
    noAsyncTraces: true,
  });
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") connected = false;
      if (status.type === "reconnect") connected = true;
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
