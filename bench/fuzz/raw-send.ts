import { connect } from "node:net";

/**
 * Writes `bytes` to a fresh loopback connection and resolves with the status of the first answer,
 * "closed" if the server closed without one, or "no answer" after `waitMs`. The socket is destroyed
 * either way.
 */
export function rawSend(port: number, bytes: Buffer, waitMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let read = "";
    const finish = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish("no answer"), waitMs);
    socket.on("error", () => finish(read ? statusOf(read) : "closed"));
    socket.on("close", () => finish(read ? statusOf(read) : "closed"));
    socket.on("data", (chunk) => {
      read += chunk.toString("latin1");
      if (read.includes("\r\n")) finish(statusOf(read));
    });
    socket.write(bytes, () => undefined);
  });
}

function statusOf(read: string): string {
  return /^HTTP\/1\.[01] (\d{3})/.exec(read)?.[1] ?? "unparsed";
}
