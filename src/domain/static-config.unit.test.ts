import { describe, expect, it } from "vitest";
import { StaticSubscriptionSchema } from "./static-config.ts";
import { subscriptionConfigOf } from "./subscription-settings.ts";

const entry = { name: "orders", topic: "shop/orders", url: "https://billing.example.com/hooks", dialect: "plain" };

describe("a static subscription's report URLs", () => {
  it("are stored when given, and left out of the stored config when not", () => {
    const parsed = StaticSubscriptionSchema.parse({ ...entry, errback_url: "https://ops.example.com/failures" });
    const placement = {
      topic: "shop/orders",
      recursive: false,
      url: entry.url,
      secrets: [],
      source: "config" as const,
    };
    expect(subscriptionConfigOf(placement, parsed)).toMatchObject({ errbackUrl: "https://ops.example.com/failures" });
    const plain = subscriptionConfigOf(placement, StaticSubscriptionSchema.parse(entry));
    expect("callbackUrl" in plain || "errbackUrl" in plain).toBe(false);
  });

  it("must be absolute http(s) URLs", () => {
    const result = StaticSubscriptionSchema.safeParse({ ...entry, callback_url: "ftp://example.com/x" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("callback_url must be an absolute http(s) URL");
  });
});
