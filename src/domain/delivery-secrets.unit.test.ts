import { describe, expect, it } from "vitest";
import { DeliverySecrets, MEMO_SIZE } from "./delivery-secrets.ts";
import { isSealed, SecretBox } from "./secret-box.ts";

describe("delivery secrets", () => {
  it("seals each secret, reuses one sealed text per secret, and opens them back", async () => {
    const secrets = new DeliverySecrets(await SecretBox.fromKeys("a-key-of-sixteen-chars"));
    const [first, second] = await secrets.seal(["whsec_a", "whsec_b"]);
    expect(isSealed(first!)).toBe(true);
    expect(first).not.toContain("whsec_a");
    expect(await secrets.seal(["whsec_a"])).toEqual([first]);
    expect(await secrets.open([first!, second!])).toEqual(["whsec_a", "whsec_b"]);
  });

  it("opens what another instance sealed under the same key, and reads a plain secret as is", async () => {
    const sealed = await new DeliverySecrets(await SecretBox.fromKeys("a-key-of-sixteen-chars")).seal(["whsec_x"]);
    const other = new DeliverySecrets(await SecretBox.fromKeys("a-key-of-sixteen-chars"));
    expect(await other.open([...sealed, "whsec_plain"])).toEqual(["whsec_x", "whsec_plain"]);
  });

  it("does not open a subscription's sealed secret as a delivery's (another owner)", async () => {
    const box = await SecretBox.fromKeys("a-key-of-sixteen-chars");
    const forSubscription = await box.seal("whsec_s", "sub_01");
    await expect(new DeliverySecrets(box).open([forSubscription])).rejects.toThrow(/another owner/);
  });

  it("opens a secret it sealed itself without decrypting it again", async () => {
    const box = await SecretBox.fromKeys("a-key-of-sixteen-chars");
    let decrypted = 0;
    const counting = Object.assign(Object.create(box) as SecretBox, {
      open: (text: string, owner: string) => (decrypted++, box.open(text, owner)),
    });
    const secrets = new DeliverySecrets(counting);
    const sealed = await secrets.seal(["whsec_fan", "whsec_out"]);
    expect(await secrets.open(sealed)).toEqual(["whsec_fan", "whsec_out"]);
    expect(decrypted).toBe(0);
    // Another instance's sealed text is decrypted once, then remembered.
    const other = await new DeliverySecrets(box).seal(["whsec_else"]);
    expect(await secrets.open(other)).toEqual(["whsec_else"]);
    expect(await secrets.open(other)).toEqual(["whsec_else"]);
    expect(decrypted).toBe(1);
  });

  it("seals each of 10,000 subscriptions' secrets once, however often an event goes to all of them", async () => {
    const box = await SecretBox.fromKeys("a-key-of-sixteen-chars");
    let sealings = 0;
    const counting = Object.assign(Object.create(box) as SecretBox, {
      seal: (secret: string, owner: string) => (sealings++, box.seal(secret, owner)),
    });
    const secrets = new DeliverySecrets(counting);
    const subscriptions = Array.from({ length: 10_000 }, (_, i) => `whsec_subscription_${i}`);
    expect(MEMO_SIZE).toBeGreaterThan(subscriptions.length);
    for (let event = 0; event < 3; event++) {
      for (const secret of subscriptions) await secrets.seal([secret]);
    }
    expect(sealings).toBe(subscriptions.length);
  });
});
