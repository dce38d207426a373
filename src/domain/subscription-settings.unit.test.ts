import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseStaticConfig } from "./static-config.ts";
import { type SubscriptionConfig, SubscriptionConfigSchema } from "./subscription-events.ts";
import {
  ApiSubscriptionSettingsSchema,
  newSubscriptionFields,
  subscriptionConfigOf,
  SubscriptionSettingsSchema,
  withSettings,
} from "./subscription-settings.ts";

const NewApiSettings = z.object(newSubscriptionFields(ApiSubscriptionSettingsSchema.shape));
const url = "https://example.com/hook";
const placement: Pick<SubscriptionConfig, "topic" | "recursive" | "url" | "secrets" | "source"> = {
  topic: "shop/orders",
  recursive: false,
  url,
  secrets: [],
  source: "api",
};
const fromFile = (entry: object) => {
  const text = `subscriptions:\n  - ${JSON.stringify({ name: "a", topic: "t", url, ...entry })}\n`;
  return parseStaticConfig(text, "hookd.yaml").subscriptions[0]!;
};

describe("subscription settings", () => {
  it("gives a new subscription the same defaults through the API and the config file", () => {
    const fromApi = NewApiSettings.parse({ url });
    expect(fromApi).toEqual({ url, headers: {}, dialect: "standard-webhooks", metadata: {}, ordered: false });
    expect(fromFile({ dialect: "plain" })).toMatchObject({ headers: {}, metadata: {} });
    const config = subscriptionConfigOf(placement, fromApi);
    expect(config).toMatchObject({ eventTypes: null, owner: null, retrySchedule: null, rateLimit: null });
  });

  it("maps both sources onto the same stored config", () => {
    const settings = { event_types: ["a.b"], owner: "me", headers: { "X-A": "1" }, dialect: "websub", rate_limit: 2 };
    const viaFile = subscriptionConfigOf(placement, fromFile({ secret: "s", ...settings }));
    const viaApi = subscriptionConfigOf(placement, NewApiSettings.parse({ url, ...settings }));
    expect(viaFile).toEqual(viaApi);
    expect(viaApi).toMatchObject({ headers: { "x-a": "1" }, rateLimit: 2, dialect: "websub" });
  });

  it("writes the stored config's keys in the schema's order: the config file's sync compares them as text", () => {
    const config = subscriptionConfigOf(placement, NewApiSettings.parse({ url }));
    // ordered and the report URLs are stored only when set, so configs stored before them still compare equal.
    const whenSet = ["ordered", "callbackUrl", "errbackUrl"];
    const always = Object.keys(SubscriptionConfigSchema.shape).filter((key) => !whenSet.includes(key));
    expect(Object.keys(config)).toEqual(always);
    const withAll = subscriptionConfigOf(
      placement,
      NewApiSettings.parse({ url, ordered: true, callback_url: url, errback_url: url }),
    );
    expect(Object.keys(withAll)).toEqual(Object.keys(SubscriptionConfigSchema.shape));
  });

  it("holds API callers to bounds the operator's file never had", () => {
    const generous = { url, owner: "", headers: { "bad name": "x" }, metadata: { ["k".repeat(101)]: "v" } };
    expect(SubscriptionSettingsSchema.partial().safeParse(generous).success).toBe(true);
    const refused = ApiSubscriptionSettingsSchema.partial().safeParse(generous).error?.issues;
    expect(refused?.map((issue) => issue.path[0])).toEqual(["owner", "headers", "metadata"]);
  });

  it("an update keeps what it leaves out and clears what it sets to null", () => {
    const before = subscriptionConfigOf(placement, NewApiSettings.parse({ url, owner: "me", rate_limit: 5 }));
    const after = withSettings(before, { owner: null, headers: { "X-B": "2" } });
    expect(after).toEqual({ ...before, owner: null, headers: { "x-b": "2" } });
    expect(Object.keys(after)).toEqual(Object.keys(before));
  });
});
