import { describe, expect, it } from "vitest";
import { listenFailure } from "./boot.ts";

describe("the line a failed listen stops hookd with", () => {
  const config = { HOOKD_HOST: "notahost.invalid", HOOKD_PORT: 8080 };
  const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

  it("names HOOKD_HOST when the host does not resolve (Node's getaddrinfo)", () => {
    expect(listenFailure(config, errno("ENOTFOUND", "getaddrinfo ENOTFOUND notahost.invalid"))).toBe(
      "hookd cannot listen on notahost.invalid:8080: HOOKD_HOST=notahost.invalid is neither an address nor a name " +
        "this machine resolves.",
    );
  });

  it("names both variables for an error it has no words for (Deno's lookup failure has no code)", () => {
    expect(listenFailure(config, new Error("failed to lookup address information: Name or service not known"))).toBe(
      "hookd cannot listen on notahost.invalid:8080 (check HOOKD_HOST and HOOKD_PORT): failed to lookup address " +
        "information: Name or service not known",
    );
  });

  it("names HOOKD_PORT when the port is taken, with an IPv6 host in brackets", () => {
    expect(listenFailure({ HOOKD_HOST: "::1", HOOKD_PORT: 8080 }, errno("EADDRINUSE", "listen EADDRINUSE"))).toMatch(
      /^hookd cannot listen on \[::1\]:8080: the port is taken \(HOOKD_PORT=8080\)/,
    );
  });
});
