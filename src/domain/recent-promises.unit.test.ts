import { describe, expect, it } from "vitest";
import { RecentPromises } from "./recent-promises.ts";

describe("RecentPromises", () => {
  it("loads a key once while it is kept, and shares a lookup still in progress", async () => {
    const cache = new RecentPromises<number, string>(2);
    let loads = 0;
    const load = (value: string) => () => {
      loads++;
      return Promise.resolve(value);
    };
    const [a, b] = await Promise.all([cache.get(1, load("one")), cache.get(1, load("uno"))]);
    expect([a, b, loads]).toEqual(["one", "one", 1]);
  });

  it("drops the least recently used key when full", async () => {
    const cache = new RecentPromises<number, number>(2);
    const loaded: number[] = [];
    const load = (key: number) => () => (loaded.push(key), Promise.resolve(key));
    await cache.get(1, load(1));
    await cache.get(2, load(2));
    await cache.get(1, load(1)); // 1 is now the most recent
    await cache.get(3, load(3)); // drops 2
    await cache.get(1, load(1));
    await cache.get(2, load(2));
    expect(loaded).toEqual([1, 2, 3, 2]);
  });

  it("does not keep a failed lookup", async () => {
    const cache = new RecentPromises<string, string>(4);
    await expect(cache.get("k", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    await expect(cache.get("k", () => Promise.resolve("up"))).resolves.toBe("up");
  });
});
