import { describe, expect, it } from "vitest";
import { isSealed, SecretBox, SecretBoxError } from "./secret-box.ts";

const secret = "whsec_" + btoa("sixteen-byte-key-and-some");
const owner = "sub_01HZZZZZZZZZZZZZZZZZZZZZZZ";

describe("secret box", () => {
  it("seals to enc:v1:<key id>:<nonce>:<ciphertext> and opens back", async () => {
    const box = await SecretBox.fromKeys("current key material");
    const sealed = await box.seal(secret, owner);
    expect(sealed).toMatch(/^enc:v1:[A-Za-z0-9_-]{11}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(sealed.split(":")[2]).toBe(box.keyId);
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toContain(secret.slice(6));
    expect(isSealed(sealed)).toBe(true);
    expect(await box.open(sealed, owner)).toBe(secret);
  });

  it("seals the same secret differently each time (fresh nonce)", async () => {
    const box = await SecretBox.fromKeys("current key material");
    expect(await box.seal(secret, owner)).not.toBe(await box.seal(secret, owner));
  });

  it("refuses a text sealed under a key it doesn't hold, naming the variable to set", async () => {
    const sealed = await (await SecretBox.fromKeys("one key")).seal(secret, owner);
    const other = await SecretBox.fromKeys("another key");
    await expect(other.open(sealed, owner)).rejects.toThrow(/HOOKD_SECRETS_KEY_PREVIOUS/);
  });

  it("refuses a tampered text", async () => {
    const box = await SecretBox.fromKeys("current key material");
    const sealed = await box.seal(secret, owner);
    // A character of the ciphertext's first, whole base64 group: the last one may carry only padding bits.
    const at = sealed.lastIndexOf(":") + 1;
    const flipped = sealed[at] === "A" ? "B" : "A";
    const tampered = sealed.slice(0, at) + flipped + sealed.slice(at + 1);
    await expect(box.open(tampered, owner)).rejects.toBeInstanceOf(SecretBoxError);
    await expect(box.open(sealed + ":x", owner)).rejects.toThrow(/malformed/);
    await expect(box.open("enc:v1:" + box.keyId + ":!!:??", owner)).rejects.toBeInstanceOf(SecretBoxError);
  });

  it("refuses a text moved to another owner", async () => {
    const box = await SecretBox.fromKeys("current key material");
    const sealed = await box.seal(secret, owner);
    await expect(box.open(sealed, "sub_01HYYYYYYYYYYYYYYYYYYYYYYY")).rejects.toThrow(/another owner/);
  });

  it("opens under a previous key after rotation, and seals under the new one", async () => {
    const old = await SecretBox.fromKeys("old key material");
    const sealedBefore = await old.seal(secret, owner);
    const rotated = await SecretBox.fromKeys("new key material", ["old key material"]);
    expect(await rotated.open(sealedBefore, owner)).toBe(secret);
    const sealedAfter = await rotated.seal(secret, owner);
    expect(sealedAfter.split(":")[2]).toBe(rotated.keyId);
    expect(rotated.keyId).not.toBe(old.keyId);
    await expect(old.open(sealedAfter, owner)).rejects.toBeInstanceOf(SecretBoxError);
  });

  it("reads a legacy plain secret as is", async () => {
    const box = await SecretBox.fromKeys("current key material");
    expect(await box.open(secret, owner)).toBe(secret);
    expect(await box.openAll([secret, await box.seal("other", owner)], owner)).toEqual([secret, "other"]);
  });
});
