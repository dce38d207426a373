import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.ts";
import { encodeGitHubEnvelope } from "./github-envelope.ts";
import { routeGitHubPush } from "./github-router.ts";

const SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
const ZEROS = "0".repeat(40);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A message as `POST /pub/github.com/acme/all?extra-metadata=github` stores it. */
function envelope(event: string, payload: unknown): { topic: string; body: Uint8Array } {
  return {
    topic: "github.com/acme/all",
    body: encodeGitHubEnvelope({ delivery: "d-1", event, signature: "", payload: utf8(JSON.stringify(payload)) }),
  };
}

const push = (overrides: Record<string, unknown> = {}) => ({
  ref: "refs/heads/main",
  before: "9049f1265b7d61be4a8904a9a27120d2064dab3b",
  after: SHA,
  repository: { full_name: "acme/widget", name: "widget" },
  pusher: { name: "octocat", email: "octocat@github.com" },
  ...overrides,
});

describe("the GitHub router (Hookbot's rule)", () => {
  it("republishes a push to github.com/repo/<owner>/<repo>/branch/<branch> as Hookbot's JSON", () => {
    const decision = routeGitHubPush(envelope("push", push()));
    expect(decision.messages).toHaveLength(1);
    const [out] = decision.messages;
    expect(out!.topic).toBe("github.com/repo/acme/widget/branch/main");
    expect(text(out!.body)).toBe(`{"Branch":"main","Repo":"acme/widget","SHA":"${SHA}","Type":"push","Who":"octocat"}`);
    expect(out!.contentType).toBe("application/json");
    expect(out!.type).toBe("push");
  });
  it("keeps branch names with slashes whole", () => {
    const [out] = routeGitHubPush(envelope("push", push({ ref: "refs/heads/feature/x" }))).messages;
    expect(out!.topic).toBe("github.com/repo/acme/widget/branch/feature/x");
    expect(JSON.parse(text(out!.body)).Branch).toBe("feature/x");
  });
  it("routes a tag push under branch/refs/tags/<tag>, since Hookbot strips only refs/heads/", () => {
    const [out] = routeGitHubPush(envelope("push", push({ ref: "refs/tags/v1.2.0" }))).messages;
    expect(out!.topic).toBe("github.com/repo/acme/widget/branch/refs/tags/v1.2.0");
    expect(JSON.parse(text(out!.body))).toMatchObject({ Branch: "refs/tags/v1.2.0", Type: "push" });
  });
  it("announces a deleted branch like any push, with forty zeros as its SHA", () => {
    const [out] =
      routeGitHubPush(envelope("push", push({ deleted: true, after: ZEROS, ref: "refs/heads/old" }))).messages;
    expect(out!.topic).toBe("github.com/repo/acme/widget/branch/old");
    expect(JSON.parse(text(out!.body)).SHA).toBe(ZEROS);
  });
  it('names the pusher "<unknown>" when there is none, escaped as Go writes it', () => {
    const [out] = routeGitHubPush(envelope("push", push({ pusher: null }))).messages;
    expect(text(out!.body)).toContain('"Who":"\\u003cunknown\\u003e"');
    expect(JSON.parse(text(out!.body)).Who).toBe("<unknown>");
    const [nameless] = routeGitHubPush(envelope("push", push({ pusher: { email: "x@example.com" } }))).messages;
    expect(JSON.parse(text(nameless!.body)).Who).toBe("");
  });
  it("ignores events other than push", () => {
    for (const event of ["issues", "pull_request", "create", "delete", "ping"]) {
      const decision = routeGitHubPush(envelope(event, push()));
      expect(decision.messages, event).toEqual([]);
      expect(decision.ignored).toContain("not a push");
    }
  });
  it('takes Type from a top-level "type" in the payload, as Hookbot\'s untagged Event.Type field does', () => {
    expect(routeGitHubPush(envelope("push", push({ type: "other" }))).messages).toEqual([]);
  });
  it("ignores a push with no repository.full_name", () => {
    expect(routeGitHubPush(envelope("push", push({ repository: null }))).ignored).toContain("no repository.full_name");
    expect(routeGitHubPush(envelope("push", push({ repository: { name: "widget" } }))).messages).toEqual([]);
  });
  it("ignores what isn't an envelope: a raw webhook body, a non-JSON payload, wrongly typed fields", () => {
    expect(routeGitHubPush({ topic: "github.com/acme/all", body: utf8(JSON.stringify(push())) }).ignored).toContain(
      "no Payload",
    );
    expect(routeGitHubPush({ topic: "t", body: utf8("plain text") }).ignored).toContain("not a GitHub envelope");
    const notJson = {
      topic: "t",
      body: encodeGitHubEnvelope({ delivery: "", event: "push", signature: "", payload: utf8("x") }),
    };
    expect(routeGitHubPush(notJson).messages).toEqual([]);
    expect(routeGitHubPush(envelope("push", push({ ref: 5 }))).messages).toEqual([]);
    expect(routeGitHubPush(envelope("push", push({ pusher: "octocat" }))).messages).toEqual([]);
  });
  it("ignores a push whose topic would not be a valid hookd topic", () => {
    expect(routeGitHubPush(envelope("push", push({ ref: "refs/heads/" }))).ignored).toMatch(/not a valid topic/);
    expect(routeGitHubPush(envelope("push", push({ ref: "" }))).ignored).toMatch(/not a valid topic/);
  });
});
