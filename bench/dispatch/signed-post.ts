import { createHmac } from "node:crypto";
import { Agent, request } from "undici";

/**
 * What both of hookd's neighbours in bench/dispatch do per job: POST the body with Standard
 * Webhooks' headers and an HMAC-SHA256 signature computed for that job, as hookd sends, through
 * undici's `request` (the plain client a team would reach for), and read the answer to its end.
 */

const SECRET = Buffer.alloc(32, 7);

export type SignedPoster = {
  /** The receiver's status code. */
  post(job: { id: string; url: string; body: string }): Promise<number>;
  close(): Promise<void>;
};

export function signedPoster(connections: number): SignedPoster {
  const agent = new Agent({ connections });
  return {
    async post({ id, url, body }) {
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = createHmac("sha256", SECRET).update(`${id}.${timestamp}.${body}`).digest("base64");
      const response = await request(url, {
        method: "POST",
        body,
        headers: {
          "content-type": "text/plain",
          "webhook-id": id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": `v1,${signature}`,
        },
        dispatcher: agent,
      });
      await response.body.dump();
      return response.statusCode;
    },
    close: () => agent.close(),
  };
}
