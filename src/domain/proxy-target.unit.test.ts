import { describe, expect, it } from "vitest";
import { isProxyPath, proxyPathOf, proxyTargetUrl, withoutReservedParameters } from "./proxy-target.ts";

describe("the proxy form's target", () => {
  it("takes a first segment with a dot, a port, localhost or [IPv6] as the target's authority", () => {
    expect(proxyTargetUrl("/example.com/user/callback/endpoint", "?x=1")).toBe(
      "http://example.com/user/callback/endpoint?x=1",
    );
    expect(proxyTargetUrl("/example.com", "")).toBe("http://example.com/");
    expect(proxyTargetUrl("/localhost/a", "")).toBe("http://localhost/a");
    expect(proxyTargetUrl("/receiver:8080/a", "")).toBe("http://receiver:8080/a");
    expect(proxyTargetUrl("/127.0.0.1:3000/a%2Fb/", "?q=%20")).toBe("http://127.0.0.1:3000/a%2Fb/?q=%20");
    expect(proxyTargetUrl("/[::1]:3000/a", "")).toBe("http://[::1]:3000/a");
  });

  it("names https by port 443", () => {
    expect(proxyTargetUrl("/example.com:443/hook", "?a=b")).toBe("https://example.com/hook?a=b");
    expect(proxyTargetUrl("/example.com:4430/hook", "")).toBe("http://example.com:4430/hook");
  });

  it("names a URL as the form would, and the form's name leads back to the URL", () => {
    for (
      const [url, path] of [
        ["http://example.com/r?x=1", "/example.com/r"],
        ["http://example.com:80/r", "/example.com/r"],
        ["http://127.0.0.1:9000/a%2Fb", "/127.0.0.1:9000/a%2Fb"],
        ["https://example.com/r", "/example.com:443/r"],
        ["http://[::1]:3000/", "/[::1]:3000/"],
        ["http://localhost", "/localhost/"],
      ] as const
    ) {
      expect(proxyPathOf(new URL(url)), url).toBe(path);
      expect(proxyTargetUrl(path, new URL(url).search)).toBe(new URL(url).toString());
    }
    for (const url of ["https://example.com:8443/r", "http://example.com:443/r", "http://intranet/r", "ftp://a.b/"]) {
      expect(proxyPathOf(new URL(url)), url).toBeNull();
    }
  });

  it("never takes a segment without a dot or a port, however it is spelled", () => {
    for (
      const path of [
        "/",
        "/dispatch",
        "/api/v1/deliveries",
        "/pub/example.com/x",
        "/healthz",
        "/localhostx/a",
        "/xlocalhost/a",
        "/.well-known/x",
        "/example./x",
        "/a..b/x",
        "/https:/example.com/x",
        "/example.com:/x",
        "/user@example.com/x",
      ]
    ) {
      expect(isProxyPath(path), path).toBe(false);
      expect(proxyTargetUrl(path, ""), path).toBeNull();
    }
  });
});

describe("hookd's reserved parameters in the proxy form", () => {
  it("takes out _wait, _callback and _errback, however encoded, and keeps every other byte", () => {
    expect(withoutReservedParameters("?a=1&_wait=5&b=a%20b&_callback=http%3A%2F%2Fx&%5Ferrback=y&_other=1"))
      .toBe("?a=1&b=a%20b&_other=1");
    expect(withoutReservedParameters("?_wait=5")).toBe("");
    expect(withoutReservedParameters("")).toBe("");
    expect(withoutReservedParameters("?x=%zz&y")).toBe("?x=%zz&y");
  });
});
