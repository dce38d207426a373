import { describe, expect, it } from "vitest";
import {
  decodeSegment,
  encodeSegment,
  parseTopic,
  topicMatches,
  TopicNameError,
  topicOfTokens,
  topicTokens,
} from "./topic-name.ts";

// Where the tokens go in a NATS subject is the JetStream layout's business: src/nats/layout.unit.test.ts.

describe("topic names", () => {
  it("encodes segments into NATS-safe tokens, reversibly", () => {
    for (const segment of ["github.com", "a b", "x*y>z", "under_score", "ümlaut", "emoji🙂", "plain-name", "%2F"]) {
      const token = encodeSegment(segment);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeSegment(token)).toBe(segment);
    }
    expect(encodeSegment("github.com")).toBe("github_2Ecom");
  });
  it("maps topics to tokens and back", () => {
    expect(topicTokens("github.com/org/repo")).toEqual(["github_2Ecom", "org", "repo"]);
    expect(topicOfTokens(["github_2Ecom", "org", "repo"])).toBe("github.com/org/repo");
  });
  it("a recursive pattern covers everything below it and not its siblings", () => {
    const below = parseTopic("foo/", { allowRecursive: true });
    expect(below).toEqual({ topic: "foo", recursive: true });
    expect(topicMatches(below, "foo/bar")).toBe(true);
    expect(topicMatches(below, "foo/bar/baz")).toBe(true);
    expect(topicMatches(below, "foobar")).toBe(false);
    expect(topicMatches(below, "foo")).toBe(false);
  });
  it("refuses bad topics with a reason", () => {
    const reason = (text: string, allowRecursive = false) => {
      try {
        parseTopic(text, { allowRecursive });
        return "accepted";
      } catch (error) {
        expect(error).toBeInstanceOf(TopicNameError);
        return (error as Error).message;
      }
    };
    expect(reason("")).toMatch(/empty/);
    expect(reason("a//b")).toMatch(/empty segment/);
    expect(reason("/a")).toMatch(/start with/);
    expect(reason("a/")).toMatch(/can't end in/);
    expect(reason("a/", true)).toBe("accepted");
    expect(reason("a\nb")).toMatch(/control character/);
    expect(reason("x".repeat(300))).toMatch(/longer than/);
  });
});
