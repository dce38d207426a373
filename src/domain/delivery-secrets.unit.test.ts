import { describe, expect, it } from "vitest";
import { DeliverySecrets } from "./delivery-secrets.ts";
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
});
