import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { sha256, useHashes, webCryptoHashes } from "./domain/hashes.ts";
import { decodeSecret, signStandardWebhook } from "./domain/sign-standard-webhooks.ts";
import { signWebSub } from "./domain/sign-websub.ts";
import { fanOutDeliveryId } from "./runtime/fan-out.ts";
import { reportDeliveryId } from "./domain/delivery-report.ts";
import { nodeHashes } from "./hashes-node.ts";

/**
 * Node's entry point swaps Web Crypto's hashes for Node's own (src/domain/hashes.ts): every id and signature
 * must come out the same either way, or a fan-out delivery's id would change with the instance that derives it.
 */

const SECRET = "whsec_" + Buffer.alloc(32, 9).toString("base64");
const body = new TextEncoder().encode('{"type":"invoice.paid","n":1}');

const underEach = async <T>(run: () => Promise<T>): Promise<[T, T]> => {
  try {
    useHashes(webCryptoHashes);
    const web = await run();
    useHashes(nodeHashes);
    return [web, await run()];
  } finally {
    useHashes(webCryptoHashes);
  }
};

describe("Node's hashes", () => {
  it("hash as Web Crypto's do, for empty and long inputs too", async () => {
    for (const data of [new Uint8Array(), body, new Uint8Array(100_000).fill(7)]) {
      const key = () => decodeSecret(SECRET);
      expect(await nodeHashes.sha256(data)).toEqual(await webCryptoHashes.sha256(data));
      expect(Buffer.from(await nodeHashes.hmacSha256("whsec", SECRET, key, data))).toEqual(
        Buffer.from(await webCryptoHashes.hmacSha256("whsec", SECRET, key, data)),
      );
    }
  });

  it("derive the same fan-out delivery id, and the same report id", async () => {
    const [web, node] = await underEach(() => fanOutDeliveryId("evt_01", "sub_01", 1_764_000_000_000));
    expect(node).toBe(web);
    const [webReport, nodeReport] = await underEach(() =>
      reportDeliveryId("callback", "the-reported-subject", 3, 1_764_000_000_000)
    );
    expect(nodeReport).toBe(webReport);
    const [webDigest, nodeDigest] = await underEach(() => sha256(body));
    expect(Buffer.from(nodeDigest)).toEqual(Buffer.from(webDigest));
  });

  it("sign a Standard Webhook that the reference verifier accepts, and a WebSub body alike", async () => {
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const input = { secrets: [SECRET], id: "msg_1", timestampSeconds, body };
    const [web, node] = await underEach(() => signStandardWebhook(input));
    expect(node).toBe(web);
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(timestampSeconds), "webhook-signature": node };
    expect(new Webhook(SECRET).verify(new TextDecoder().decode(body), headers)).toEqual(
      JSON.parse(new TextDecoder().decode(body)),
    );
    const [webSub, nodeSub] = await underEach(() => signWebSub("hub-secret", body));
    expect(nodeSub).toBe(webSub);
  });
});
