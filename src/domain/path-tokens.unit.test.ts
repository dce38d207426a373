import { describe, expect, it } from "vitest";
import { grantingScopes, PathTokens } from "./path-tokens.ts";

describe("path tokens (Hookbot-compatible)", () => {
  it("matches Hookbot's published vector", async () => {
    expect(await new PathTokens("foo").tokenFor("/pub/foo/bar")).toBe("2e1150434ba1d8c33bce7c82ee08b5d9850342c7");
  });
  it("lists the path and every ancestor directory as granting scopes", () => {
    expect(grantingScopes("/pub/foo/bar")).toEqual(["/pub/foo/bar", "/pub/foo/", "/pub/", "/"]);
    expect(grantingScopes("/pub/foo/")).toEqual(["/pub/foo/", "/pub/", "/"]);
    expect(grantingScopes("/")).toEqual(["/"]);
  });
  it("a token for a directory grants everything below it, not siblings", async () => {
    const tokens = new PathTokens("k");
    const dir = await tokens.tokenFor("/pub/foo/");
    expect(await tokens.grants("/pub/foo/bar", dir)).toBe(true);
    expect(await tokens.grants("/pub/foo/bar/baz", dir)).toBe(true);
    expect(await tokens.grants("/pub/foobar", dir)).toBe(false);
    expect(await tokens.grants("/pub/foo", dir)).toBe(false);
  });
  it("the admin token for / grants everything, a leaf token only its path", async () => {
    const tokens = new PathTokens("k");
    expect(await tokens.grants("/api/v1/deliveries", await tokens.tokenFor("/"))).toBe(true);
    const leaf = await tokens.tokenFor("/dispatch");
    expect(await tokens.grants("/dispatch", leaf)).toBe(true);
    expect(await tokens.grants("/dispatch/abc", leaf)).toBe(false);
    expect(await tokens.grants("/dispatch", leaf.toUpperCase())).toBe(true);
    expect(await tokens.grants("/dispatch", "nope")).toBe(false);
  });
  it("tokens depend on the key", async () => {
    expect(await new PathTokens("a").tokenFor("/")).not.toBe(await new PathTokens("b").tokenFor("/"));
  });
});
