import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hookdSuite } from "./support/suite.ts";

/**
 * The OpenAPI document as its users' tools read it: it documents every route the app has (drawn
 * from Hono's own route table, so a new route cannot go undocumented), Redocly's linter finds no
 * error in it, and openapi-typescript turns it into types a strict TypeScript project compiles,
 * with named component types and per-operation response types.
 *
 * Route paths compare as the document writes them: Hono's `:id` is `{id}`, and a trailing `*` (the
 * topic routes /pub/*, /sub/*, /sse/*, whose topics contain "/") is a last path parameter, which the
 * document names `{topic}` and describes as a "/"-separated topic.
 */

const run = promisify(execFile);
const repo = resolve(".");
const bin = (name: string) => join(repo, "node_modules/.bin", name);
const TOOL_TIMEOUT_MS = 90_000;

const suite = hookdSuite({ receiver: false });
let dir: string;
let documentFile: string;
// deno-lint-ignore no-explicit-any -- the document is JSON read by path
let document: any;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hookd-openapi-"));
  const response = await fetch(`${suite.hookd.url}/api/v1/openapi.json`);
  expect(response.status).toBe(200);
  document = await response.json();
  documentFile = join(dir, "openapi.json");
  await writeFile(documentFile, JSON.stringify(document, null, 2));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** "/a/:id/*" and "/a/{id}/{topic}" both as "/a/{}/{}". */
const shape = (path: string) => path.replace(/:[^/]+|\{[^}]+\}|\*$/g, "{}");

describe("the OpenAPI document", () => {
  it("documents every route in the app's route table", () => {
    const documented = new Set<string>();
    for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
      for (const method of Object.keys(operations)) documented.add(`${method.toUpperCase()} ${shape(path)}`);
    }
    const routes = suite.hookd.hookd.app.routes
      // Middleware (app.use) is registered for every method, and "*" is the not-found fallback: neither is a route.
      .filter((route) => route.method !== "ALL" && route.path !== "*" && route.path !== "/*")
      // The console's pages are HTML for a browser (docs/console.md), not operations of the JSON API.
      .filter((route) => !route.path.startsWith("/console"))
      .map((route) => `${route.method} ${shape(route.path)}`);
    expect(routes.length).toBeGreaterThan(30);
    expect([...new Set(routes)].filter((route) => !documented.has(route))).toEqual([]);
  });

  it("offers the ?token= query scheme only on the stream operations", () => {
    const withQueryToken: string[] = [];
    for (
      const [path, operations] of Object.entries(
        document.paths as Record<string, Record<string, { security?: object[] }>>,
      )
    ) {
      for (const [method, operation] of Object.entries(operations)) {
        const security: object[] = operation.security ?? document.security ?? [];
        if (security.some((scheme) => "token" in scheme)) withQueryToken.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(withQueryToken.sort()).toEqual(
      ["GET /sse/{topic}", "GET /stream", "GET /sub/{topic}", "GET /unsafe/sub/{topic}"],
    );
    expect(document.security).not.toContainEqual({ token: [] });
  });

  it("names every operation, and its schemas are components", () => {
    const operations = Object.values(document.paths as Record<string, Record<string, { operationId?: string }>>)
      .flatMap((path) => Object.values(path));
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.filter((id) => id === undefined)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const name of ["Problem", "Delivery", "Subscription", "Event"]) {
      expect(document.components.schemas).toHaveProperty(name);
    }
    const problem = document.components.schemas.Problem.properties;
    for (const member of ["field", "errors", "state", "limit", "allowed", "conflicts"]) {
      expect(problem).toHaveProperty(member);
    }
    expect(document.servers.length).toBeGreaterThan(0);
  });

  it("passes Redocly's linter with no errors", { timeout: TOOL_TIMEOUT_MS }, async () => {
    const result = await run(bin("redocly"), ["lint", documentFile, "--format=json"], {
      timeout: TOOL_TIMEOUT_MS,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
    }).catch((error: { stdout: string; stderr: string }) => error);
    const report = JSON.parse(result.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string }[];
    };
    const errors = report.problems.filter((problem) => problem.severity === "error");
    expect(errors.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
    expect(report.totals.errors).toBe(0);
  });

  it("generates TypeScript types that a strict project compiles and uses", { timeout: TOOL_TIMEOUT_MS }, async () => {
    await run(bin("openapi-typescript"), [documentFile, "-o", join(dir, "hookd-api.ts")], { timeout: TOOL_TIMEOUT_MS });
    await writeFile(join(dir, "usage.ts"), USES_THE_TYPES);
    await writeFile(join(dir, "example.ts"), await docsExample());
    await writeFile(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG));
    await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    await symlink(join(repo, "node_modules"), join(dir, "node_modules"), "dir");
    const compiled = await run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", dir], {
      timeout: TOOL_TIMEOUT_MS,
    }).catch((error: { stdout: string }) => error);
    expect(compiled.stdout).toBe("");
  });
});

/** docs/api.md's client example, exactly as the page shows it. */
async function docsExample(): Promise<string> {
  const page = await readFile(join(repo, "docs/api.md"), "utf8");
  const example = /```ts\n([\s\S]*?)```/.exec(page);
  expect(example).not.toBeNull();
  return example![1]!;
}

const USES_THE_TYPES = `
import type { components, operations, paths } from "./hookd-api.js";

type Delivery = components["schemas"]["Delivery"];
type Problem = components["schemas"]["Problem"];
type Listed = operations["listDeliveries"]["responses"][200]["content"]["application/json"];
type Created = paths["/api/v1/deliveries"]["post"]["responses"][202]["content"]["application/json"];

export function describe(delivery: Delivery, page: Listed, created: Created, problem: Problem): string {
  const attempts: number = delivery.attempts.length;
  const state: string = delivery.state;
  const next: string | null = page.next_cursor;
  const field: string | undefined = problem.field;
  return [created.id, state, attempts, next, field, problem.errors?.[0]?.message].join(" ");
}

// @ts-expect-error a delivery's id is a string, which proves the types are real, not any
export const wrong: number = ({} as Delivery).id;
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    module: "nodenext",
    moduleResolution: "nodenext",
    target: "es2022",
    lib: ["es2023"],
    types: ["node"],
    skipLibCheck: true,
  },
  files: ["usage.ts", "example.ts", "hookd-api.ts"],
};
