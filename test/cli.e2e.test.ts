import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { hookdSuite } from "./support/suite.ts";
import { api, TEST_KEY, tokenFor, waitForState } from "./support/hookd.ts";

const run = promisify(execFile);
const hookdCli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["bin/hookd.mjs", ...args], { env: { ...process.env, HOOKD_KEY: TEST_KEY, ...env } });

const suite = hookdSuite({
  respond: (_request, index) => (index === 0 ? { status: 503, headers: { "retry-after": "0" } } : { status: 200 }),
});

describe("hookd CLI", () => {
  it("make-tokens prints URLs that carry each path's token", async () => {
    const { stdout } = await hookdCli(["make-tokens", "/dispatch", "/pub/foo/", "--url", "https://hooks.example.org"]);
    expect(stdout.trim().split("\n")).toEqual([
      `https://${await tokenFor("/dispatch")}@hooks.example.org/dispatch`,
      `https://${await tokenFor("/pub/foo/")}@hooks.example.org/pub/foo/`,
    ]);
  });

  it("make-tokens refuses something that is not a path", async () => {
    await expect(hookdCli(["make-tokens", "dispatch"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/paths start with \//),
    });
  });

  it("inspect prints the delivery's journal as a timeline", async () => {
    const response = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(suite.receiver.url + "/cli")}`, {
      method: "POST",
      body: "x",
    });
    const { id } = await response.json();
    await waitForState(suite.hookd.url, id, "delivered");
    const { stdout } = await hookdCli(["inspect", id, "--url", suite.hookd.url]);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toBe(`${id}  POST ${suite.receiver.url}/cli`);
    expect(lines[1]).toMatch(/^state: delivered\s+attempts: 2\/4/);
    const events = lines.slice(3).map((line) => line.split(/\s+/).slice(2, 5).join(" "));
    expect(events).toEqual([
      "delivery.created → pending",
      "attempt.started → in-flight",
      "attempt.failed → backoff",
      "attempt.started → in-flight",
      "attempt.succeeded → delivered",
    ]);
    expect(stdout).toMatch(/attempt 1: HTTP 503 in [\d.]+ms; next attempt at /);
  });

  it("subscriptions create, list and delete; publish from a file reaches the subscriber", async () => {
    const created = await hookdCli([
      "subscriptions",
      "create",
      "cli/topic",
      `${suite.receiver.url}/sub`,
      "--dialect",
      "plain",
      "--url",
      suite.hookd.url,
    ]);
    const id = created.stdout.split(/\s+/)[0]!;
    expect(id).toMatch(/^sub_/);
    expect(created.stdout).toMatch(/active\s+cli\/topic\s+→/);
    const listed = await hookdCli(["subscriptions", "list", "--topic", "cli/topic", "--url", suite.hookd.url]);
    expect(listed.stdout).toContain(id);

    const dir = await mkdtemp(join(tmpdir(), "hookd-cli-"));
    const file = join(dir, "event.json");
    await writeFile(file, '{"from":"cli"}');
    const before = suite.receiver.requests.length;
    const published = await hookdCli(["publish", "cli/topic", file, "--type", "cli.test", "--url", suite.hookd.url]);
    expect(published.stdout).toMatch(/^evt_[0-9A-Z]{26} seq \d+\n$/);
    const request = (await suite.receiver.waitFor(before + 1))[before]!;
    expect(request.body.toString()).toBe('{"from":"cli"}');
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["hookd-event-type"]).toBe("cli.test");
    await rm(dir, { recursive: true, force: true });

    const deleted = await hookdCli(["subscriptions", "delete", id, "--url", suite.hookd.url]);
    expect(deleted.stdout).toBe(`${id} unsubscribed\n`);
    expect((await hookdCli(["subscriptions", "list", "--topic", "cli/topic", "--url", suite.hookd.url])).stdout).not
      .toContain(id);
    await expect(hookdCli(["subscriptions", "create", "a//b", "http://127.0.0.1:1/", "--url", suite.hookd.url])).rejects
      .toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/hookd answered 400: topic: the topic has an empty segment/),
      });
  });

  it("inspect reports hookd's problem for an unknown id", async () => {
    await expect(hookdCli(["inspect", "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", "--url", suite.hookd.url])).rejects
      .toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/hookd answered 404: There is no delivery/),
      });
  });
});
