import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { followAsSse, type SseItem } from "./event-stream.ts";

/**
 * followAsSse ends its follower when the browser goes away. A browser that leaves while the follower
 * is still being set up (the NATS consumer being created) must end it too: otherwise the stream's
 * loop lives on, every push renders a fragment (a page read of the index, for the list) and writes it
 * nowhere, and the NATS consumer is never stopped.
 */

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe("followAsSse", () => {
  it("answers HEAD with the stream's headers and starts no follower", async () => {
    let started = 0;
    const app = new Hono();
    app.get("/live", (c) =>
      followAsSse(c, async () => {
        started++;
        return { stop: () => undefined };
      }));
    const response = await app.request("/live", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toBe(0);
  });

  it("stops the follower when the browser leaves after it was set up", async () => {
    const stopped = deferred<"stopped">();
    const app = new Hono();
    app.get("/live", (c) => followAsSse(c, async () => ({ stop: () => stopped.resolve("stopped") })));
    const response = await app.request("/live");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await response.body!.cancel();
    expect(await stopped.promise).toBe("stopped");
  });

  it("stops the follower when the browser left while it was being set up", async () => {
    const ready = deferred<void>();
    const stopped = deferred<"stopped">();
    let push: ((item: SseItem) => void) | null = null;
    let rendered = 0;
    const app = new Hono();
    app.get("/live", (c) =>
      followAsSse(
        c,
        async (onItem) => {
          push = onItem;
          await ready.promise;
          return { stop: () => stopped.resolve("stopped") };
        },
        0,
        async (item) => {
          rendered++;
          return item;
        },
      ));
    const response = await app.request("/live");
    // The browser goes away before the follower is set up.
    await response.body!.cancel();
    ready.resolve();
    // A change arrives afterwards: nobody reads it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    push!({ id: "1", event: "results", data: "" });
    const outcome = await Promise.race([
      stopped.promise,
      new Promise<"still following">((resolve) => setTimeout(() => resolve("still following"), 2_000)),
    ]);
    expect(outcome).toBe("stopped");
    expect(rendered).toBe(0);
  });
});
