import { connect } from "node:net";

/**
 * The INFO line a nats-server sends on every new connection, before any TLS: read from a plain TCP
 * socket to learn what the server asks of clients (`tls_verify`: a client certificate). Used only to
 * explain a first connection that failed; null when the server cannot be reached or says nothing.
 */
export function serverInfo(server: string, timeoutMs: number): Promise<Record<string, unknown> | null> {
  const url = new URL(server);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 4222) });
    let text = "";
    const done = (info: Record<string, unknown> | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(info);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on("error", () => done(null));
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n");
      if (end < 0) return text.length > 64 * 1024 ? done(null) : undefined;
      try {
        const line = text.slice(0, end);
        done(line.startsWith("INFO ") ? JSON.parse(line.slice(5)) as Record<string, unknown> : null);
      } catch {
        done(null);
      }
    });
  });
}

/** Whether any of `servers` asks for a client certificate. */
export async function wantsClientCertificate(servers: string[]): Promise<boolean> {
  const infos = await Promise.all(servers.map((server) => serverInfo(server, 2_000)));
  return infos.some((info) => info?.tls_verify === true);
}
