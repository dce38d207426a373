import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.ts";
import { type GitHubSecretRule, githubSecretsFor, verifyGitHubSignature } from "./github-signature.ts";

const sign = (hash: "sha256" | "sha1", secret: string, body: string) =>
  `${hash}=${createHmac(hash, secret).update(body).digest("hex")}`;

describe("GitHub webhook signatures", () => {
  const body = '{"ref":"refs/heads/main"}';

  it("accepts GitHub's documented example", async () => {
    // From GitHub's "Validating webhook deliveries".
    const check = await verifyGitHubSignature(["It's a Secret to Everybody"], utf8("Hello, World!"), {
      sha256: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
      sha1: undefined,
    });
    expect(check).toEqual({ valid: true, header: "X-Hub-Signature-256" });
  });
  it("checks X-Hub-Signature-256 when present, else X-Hub-Signature", async () => {
    expect(
      await verifyGitHubSignature(["s3cret"], utf8(body), { sha256: sign("sha256", "s3cret", body), sha1: undefined }),
    ).toEqual({ valid: true, header: "X-Hub-Signature-256" });
    expect(
      await verifyGitHubSignature(["s3cret"], utf8(body), { sha256: undefined, sha1: sign("sha1", "s3cret", body) }),
    ).toEqual({ valid: true, header: "X-Hub-Signature" });
    expect(
      await verifyGitHubSignature(["s3cret"], utf8(body), {
        sha256: sign("sha256", "s3cret", body).toUpperCase().replace("SHA256", "sha256"),
        sha1: undefined,
      }),
    ).toMatchObject({ valid: true });
  });
  it("a wrong SHA-256 signature is not rescued by a right SHA-1 one", async () => {
    const check = await verifyGitHubSignature(["s3cret"], utf8(body), {
      sha256: sign("sha256", "other", body),
      sha1: sign("sha1", "s3cret", body),
    });
    expect(check).toEqual({ valid: false, header: "X-Hub-Signature-256", reason: "mismatch" });
  });
  it("refuses a missing, malformed or wrong signature, or a changed body", async () => {
    expect(await verifyGitHubSignature(["s3cret"], utf8(body), { sha256: undefined, sha1: undefined })).toEqual({
      valid: false,
      header: null,
      reason: "missing",
    });
    expect(await verifyGitHubSignature(["s3cret"], utf8(body), { sha256: "", sha1: "" })).toMatchObject({
      valid: false,
      reason: "missing",
    });
    expect(await verifyGitHubSignature(["s3cret"], utf8(body), { sha256: "garbage", sha1: undefined })).toMatchObject({
      valid: false,
      reason: "mismatch",
    });
    expect(
      await verifyGitHubSignature(["s3cret"], utf8(body), { sha256: undefined, sha1: sign("sha256", "s3cret", body) }),
    ).toMatchObject({ valid: false });
    expect(
      await verifyGitHubSignature(["s3cret"], utf8(body + " "), {
        sha256: sign("sha256", "s3cret", body),
        sha1: undefined,
      }),
    ).toMatchObject({ valid: false });
    expect(await verifyGitHubSignature([], utf8(body), { sha256: sign("sha256", "s3cret", body), sha1: undefined }))
      .toMatchObject({ valid: false });
  });
  it("any of several secrets will do (a rotation)", async () => {
    for (const secret of ["old", "new"]) {
      expect(
        await verifyGitHubSignature(["old", "new"], utf8(body), {
          sha256: sign("sha256", secret, body),
          sha1: undefined,
        }),
      ).toMatchObject({ valid: true });
    }
  });
});

describe("which secrets guard a topic", () => {
  const rule = (
    topic: string,
    recursive: boolean,
    secret: string,
    namespace: "safe" | "unsafe" = "safe",
  ): GitHubSecretRule => ({ topic: { topic, recursive, namespace }, secret });
  const rules = [
    rule("github.com", true, "everything"),
    rule("github.com/acme", true, "acme"),
    rule("github.com/acme", true, "acme-next"),
    rule("github.com/acme/all", false, "all"),
    rule("github.com", true, "unsafe", "unsafe"),
  ];

  it("the most specific rule wins; rules with the same topic all apply", () => {
    expect(githubSecretsFor(rules, "safe", "github.com/acme/all")).toEqual(["all"]);
    expect(githubSecretsFor(rules, "safe", "github.com/acme/widget")).toEqual(["acme", "acme-next"]);
    expect(githubSecretsFor(rules, "safe", "github.com/other")).toEqual(["everything"]);
    // "github.com/acme/" covers what is below it, not github.com/acme itself.
    expect(githubSecretsFor(rules, "safe", "github.com/acme")).toEqual(["everything"]);
  });
  it("keeps namespaces apart, and an uncovered topic is not guarded", () => {
    expect(githubSecretsFor(rules, "unsafe", "github.com/acme/all")).toEqual(["unsafe"]);
    expect(githubSecretsFor(rules, "safe", "gitlab.com/acme")).toEqual([]);
    expect(githubSecretsFor([], "safe", "github.com/acme")).toEqual([]);
  });
});
