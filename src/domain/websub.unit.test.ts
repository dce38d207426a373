import { describe, expect, it } from "vitest";
import { boundLease, DEFAULT_LEASE_SECONDS, hookdTopicFor, MAX_LEASE_SECONDS, verificationUrl } from "./websub.ts";
import { parseTopic } from "./topic-name.ts";

describe("WebSub rules", () => {
  it("maps topic URLs to valid, distinct hookd topics", () => {
    const a = hookdTopicFor("https://example.com/feed?x=1");
    expect(parseTopic(a).topic).toBe(a);
    expect(a).not.toBe(hookdTopicFor("https://example.com/feed?x=2"));
  });
  it("appends verification parameters to an existing query with &", () => {
    expect(
      verificationUrl("https://sub.example/cb?id=7", {
        mode: "subscribe",
        topic: "https://t/",
        challenge: "abc",
        leaseSeconds: 60,
      }),
    ).toBe(
      "https://sub.example/cb?id=7&hub.mode=subscribe&hub.topic=https%3A%2F%2Ft%2F&hub.challenge=abc&hub.lease_seconds=60",
    );
    expect(verificationUrl("https://sub.example/cb", { mode: "unsubscribe", topic: "t", challenge: "c" })).toBe(
      "https://sub.example/cb?hub.mode=unsubscribe&hub.topic=t&hub.challenge=c",
    );
  });
  it("bounds leases", () => {
    expect(boundLease(undefined)).toBe(DEFAULT_LEASE_SECONDS);
    expect(boundLease(10 ** 9)).toBe(MAX_LEASE_SECONDS);
    expect(boundLease(0)).toBe(1);
  });
});
