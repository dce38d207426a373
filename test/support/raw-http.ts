import { connect, type Socket } from "node:net";

/**
 * Raw HTTP/1.1 over a plain socket, for what fetch and EventSource never do: pipelined requests,
 * a connection dropped right after the headers. Loopback only; every socket is destroyed by the
 * time the returned promise settles.
 */

export type RawRequest = { method?: string; path: string; headers?: Record<string, string> };

export function rawRequestText(request: RawRequest): string {
  const headers = { host: "x", ...request.headers };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `${request.method ?? "GET"} ${request.path} HTTP/1.1\r\n${lines}\r\n`;
}

/**
 * Sends `text`, waits for the first bytes back (or `waitMs`, whichever comes first; 0 waits for
 * nothing), then destroys the socket. Resolves with what was read.
 */
export function sendThenDestroy(baseUrl: string, text: string, waitMs = 2_000): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    let read = "";
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(read);
    };
    const timer = setTimeout(finish, waitMs);
    socket.on("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
    socket.on("data", (chunk) => {
      read += chunk.toString("latin1");
      finish();
    });
    socket.on("connect", () => {
      socket.write(text);
      if (waitMs === 0) setImmediate(finish);
    });
  });
}
