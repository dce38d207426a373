import { describe, expect, it } from "vitest";
import { unguardedRouters } from "./router-guard.ts";
import { parseStaticConfig } from "./static-config.ts";

describe("unguardedRouters", () => {
  it("names the GitHub routers whose source topic no secret covers", () => {
    const config = parseStaticConfig(
      JSON.stringify({
        routers: [
          { name: "guarded", type: "github", from: "github.com/acme/all" },
          { name: "guarded-prefix", type: "github", from: "github.com/acme/" },
          { name: "open", type: "github", from: "github.com/other/all" },
          { name: "open-unsafe", type: "github", from: "/unsafe/github.com/acme/all" },
        ],
        github: { secrets: [{ topic: "github.com/acme/", secret: "s3cret" }] },
      }),
      "hookd.json",
    );
    expect(unguardedRouters(config.routers, config.github.secrets).map((router) => router.name)).toEqual([
      "open",
      "open-unsafe",
    ]);
  });
});
