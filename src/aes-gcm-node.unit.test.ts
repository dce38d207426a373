import { describe, expect, it } from "vitest";
import { useAesGcm, webCryptoAesGcm } from "./domain/aes-gcm.ts";
import { SecretBox, SecretBoxError } from "./domain/secret-box.ts";
import { nodeAesGcm } from "./aes-gcm-node.ts";

/**
 * Node's entry point swaps Web Crypto's AES-GCM for Node's own (src/domain/aes-gcm.ts): a secret sealed by an
 * instance under one must open on an instance under the other (Node and Deno share one NATS), and every
 * secret sealed before the swap must still open.
 */

const SECRET = "whsec_c2l4dGVlbi1ieXRlLWtleS1hbmQtc29tZQ==";
/** Sealed by the secret box before AES-GCM became a port (Web Crypto's deriveKey), under "golden key material". */
const SEALED_BEFORE =
  "enc:v1:aWFCs4pqu1s:BBoeG0pD31pq37it:Rvci47GJs1Fx_LTbE0O3vmQ7wi5dfUHqhSN_bcJxlLDbSw7Q8CiH7KYdounrYFkhfD0OcpnHha0OzA";

const boxes = async (material: string) => {
  try {
    useAesGcm(webCryptoAesGcm);
    const web = await SecretBox.fromKeys(material);
    useAesGcm(nodeAesGcm);
    return { web, node: await SecretBox.fromKeys(material) };
  } finally {
    useAesGcm(webCryptoAesGcm);
  }
};

describe("Node's AES-GCM", () => {
  it("opens what Web Crypto's sealed, and the other way round", async () => {
    const { web, node } = await boxes("a key of some length");
    expect(await web.open(await node.seal(SECRET, "sub_a"), "sub_a")).toBe(SECRET);
    expect(await node.open(await web.seal(SECRET, "sub_a"), "sub_a")).toBe(SECRET);
    const long = "x".repeat(10_000);
    expect(await web.open(await node.seal(long, "sub_a"), "sub_a")).toBe(long);
    expect(await node.open(await web.seal("", "sub_a"), "sub_a")).toBe("");
  });

  it("opens a secret sealed before AES-GCM was a port, under either", async () => {
    const { web, node } = await boxes("golden key material");
    expect(await web.open(SEALED_BEFORE, "sub_golden")).toBe(SECRET);
    expect(await node.open(SEALED_BEFORE, "sub_golden")).toBe(SECRET);
  });

  it("refuses another owner's text and a tampered one, as Web Crypto's does", async () => {
    const { web, node } = await boxes("golden key material");
    for (const box of [web, node]) {
      await expect(box.open(SEALED_BEFORE, "sub_other")).rejects.toThrow(SecretBoxError);
      // A bit of the ciphertext's first byte flipped ("Rvci…" → "Qvci…").
      const tampered = SEALED_BEFORE.replace(":Rvci", ":Qvci");
      expect(tampered).not.toBe(SEALED_BEFORE);
      await expect(box.open(tampered, "sub_golden")).rejects.toThrow(SecretBoxError);
      await expect(box.open(SEALED_BEFORE.replace(/:[^:]+$/, ":AAAA"), "sub_golden")).rejects.toThrow(SecretBoxError);
      const noNonce = SEALED_BEFORE.replace(":BBoeG0pD31pq37it:", ":AA:");
      await expect(box.open(noNonce, "sub_golden")).rejects.toThrow(SecretBoxError);
    }
  });

  it("hands back bytes of their own, not a view into Buffer's shared pool", async () => {
    const key = await nodeAesGcm(new Uint8Array(32).fill(1));
    const nonce = new Uint8Array(12).fill(2);
    const aad = new TextEncoder().encode("sub_a");
    const sealed = await key.seal(nonce, aad, new TextEncoder().encode(SECRET));
    const opened = await key.open(nonce, aad, sealed);
    expect(new TextDecoder().decode(opened)).toBe(SECRET);
    for (const bytes of [sealed, opened]) expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
  });

  it("takes only a 32-byte key", async () => {
    await expect(nodeAesGcm(new Uint8Array(16))).rejects.toThrow(/32 bytes/);
  });
});
