import { describe, expect, it } from "vitest";
import { PathTokens } from "./path-tokens.ts";
import { parseRevocableToken, RevocableTokens } from "./revocable-tokens.ts";
import { TokenCheck } from "./token-check.ts";

const tokens = new RevocableTokens("k");
const never = () => false;
const T0 = Date.UTC(2030, 0, 1);

describe("revocable tokens (hkd1.…)", () => {
  it("carries its id, expiry and path, and verifies under its key only", async () => {
    const token = await tokens.issue("/pub/foo/", T0, "abcdefgh12");
    expect(token).toMatch(/^hkd1\.abcdefgh12\.1893456000\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await tokens.verify(token)).toEqual({ id: "abcdefgh12", expiresAt: T0, path: "/pub/foo/" });
    expect(await new RevocableTokens("other").verify(token)).toBeNull();
    expect(parseRevocableToken(token)?.path).toBe("/pub/foo/");
  });

  it("refuses any tampered part", async () => {
    const token = await tokens.issue("/pub/foo/", T0, "abcdefgh12");
    const [prefix, id, expiry, path, mac] = token.split(".") as [string, string, string, string, string];
    const other = await tokens.issue("/", T0, "abcdefgh12");
    const tampered = [
      [prefix, "abcdefgh13", expiry, path, mac],
      [prefix, id, "1993456000", path, mac],
      [prefix, id, "0", path, mac],
      [prefix, id, expiry, other.split(".")[3], mac],
      [prefix, id, expiry, path, (mac[0] === "A" ? "B" : "A") + mac.slice(1)],
      ["hkd2", id, expiry, path, mac],
    ];
    for (const parts of tampered) expect(await tokens.verify(parts.join("."))).toBeNull();
    for (const junk of ["", "hkd1", "hkd1....", `${token}.x`, token.slice(0, -1)]) {
      expect(await tokens.verify(junk)).toBeNull();
    }
  });

  it("expires at its expiry second, not before", async () => {
    const token = await tokens.issue("/pub/a", T0);
    expect(await tokens.check("/pub/a", token, T0 - 1, never)).toBe("granted");
    expect(await tokens.check("/pub/a", token, T0, never)).toBe("expired");
    const forever = await tokens.issue("/pub/a", null);
    expect(forever.split(".")[2]).toBe("0");
    expect(await tokens.check("/pub/a", forever, Number.MAX_SAFE_INTEGER, never)).toBe("granted");
  });

  it("grants as Hookbot's tokens do: the path, and below it when it ends in /", async () => {
    const hookbot = new PathTokens("k");
    const cases: [string, string][] = [
      ["/pub/foo/", "/pub/foo/bar"],
      ["/pub/foo/", "/pub/foo/bar/baz"],
      ["/pub/foo/", "/pub/foobar"],
      ["/pub/foo/", "/pub/foo"],
      ["/pub/foo", "/pub/foo/bar"],
      ["/pub/foo", "/pub/foo"],
      ["/", "/api/v1/deliveries"],
    ];
    for (const [scope, path] of cases) {
      const expected = (await hookbot.grants(path, await hookbot.tokenFor(scope))) ? "granted" : "denied";
      expect(await tokens.check(path, await tokens.issue(scope, null), T0, never), `${scope} → ${path}`).toBe(expected);
    }
  });

  it("says revoked only of a token it signed, whatever path is asked", async () => {
    const token = await tokens.issue("/pub/a", null, "revokedid1");
    const revoked = (id: string) => id === "revokedid1";
    expect(await tokens.check("/elsewhere", token, T0, revoked)).toBe("revoked");
    const forged = await new RevocableTokens("other").issue("/pub/a", null, "revokedid1");
    expect(await tokens.check("/pub/a", forged, T0, revoked)).toBe("denied");
  });

  it("keeps Hookbot's tokens working beside the new form", async () => {
    const check = new TokenCheck("k", { isRevoked: never, clock: () => T0 });
    expect(await check.check("/pub/x", await check.hookbot.tokenFor("/pub/"))).toBe("granted");
    expect(await check.check("/pub/x", await check.hookbot.tokenFor("/sub/"))).toBe("denied");
    expect(await check.check("/pub/x", await check.revocable.issue("/pub/", T0 + 1000))).toBe("granted");
  });
});
