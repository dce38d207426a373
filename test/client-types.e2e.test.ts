import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * TypeScript users of hookd/client, as they set up their projects: a strict Node project resolving
 * modules the `nodenext` way and a browser project resolving them the `bundler` way, each in a folder of
 * its own outside the repository, with hookd in its node_modules (a link to this checkout). Each must
 * type-check against the shipped declaration files (dist/types, built here as npm run build does), and
 * the `@ts-expect-error` lines prove the types are real: were they `any`, those lines would be errors.
 */

const run = promisify(execFile);
const repo = resolve(".");
const tsc = join(repo, "node_modules/typescript/bin/tsc");

const USES_THE_CLIENT = `
import { dispatch, HookdError, listen, publish, StreamEndedError, type TopicMessage } from "hookd/client";

const stop = new AbortController();
const published: { id: string; seq: number } = await publish("http://127.0.0.1:8080", "shop/orders", '{"id":1}', {
  token: "t",
  type: "order.created",
  contentType: "application/json",
});
const dispatched: { id: string } = await dispatch("http://127.0.0.1:8080", { url: "https://example.com/h", body: {} });
await listen("http://127.0.0.1:8080/sub/shop/orders", {
  since: 0,
  signal: stop.signal,
  backoff: { initialMs: 500, maxMs: 30_000 },
  onMessage: (message: TopicMessage) => console.log(message.seq, message.topic, message.text(), message.json()),
  onError: (error) => {
    if (error instanceof StreamEndedError) console.log(error.reason, error.lastId);
    if (error instanceof HookdError) console.log(error.status, error.problem?.detail);
  },
});
console.log(published.seq, dispatched.id);

// @ts-expect-error a topic is a string
await publish("http://127.0.0.1:8080", 42, "body");
// @ts-expect-error backoff delays are numbers
await listen("http://127.0.0.1:8080/sub/x", { onMessage: () => {}, backoff: { initialMs: "soon", maxMs: 1 } });
// @ts-expect-error a message's sequence is a number
const seq: string = ({} as TopicMessage).seq;
console.log(seq);
`;

const PROJECTS = {
  nodenext: {
    packageJson: { type: "module" },
    compilerOptions: {
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "es2022",
      lib: ["es2023"],
      types: ["node"],
    },
  },
  bundler: {
    packageJson: {},
    compilerOptions: {
      module: "esnext",
      moduleResolution: "bundler",
      target: "es2022",
      lib: ["es2023", "dom", "dom.iterable"],
      types: [],
    },
  },
} as const;

let parent: string;

beforeAll(async () => {
  // What npm install's prepare step and npm test build; built again here so the test checks these sources.
  await run("npm", ["run", "build:types"], { cwd: repo });
  parent = await mkdtemp(join(tmpdir(), "hookd-client-types-"));
});

afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

async function makeProject(name: keyof typeof PROJECTS, folder: string = name): Promise<string> {
  const project = PROJECTS[name];
  const dir = join(parent, folder);
  await mkdir(join(dir, "node_modules/@types"), { recursive: true });
  await symlink(repo, join(dir, "node_modules/hookd"), "dir");
  await symlink(join(repo, "node_modules/@types/node"), join(dir, "node_modules/@types/node"), "dir");
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: `uses-hookd-${name}`, ...project.packageJson }));
  const compilerOptions = {
    ...project.compilerOptions,
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    // The shipped declaration files are checked too, not skipped.
    skipLibCheck: false,
    noEmit: true,
  };
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["index.ts"] }));
  await writeFile(join(dir, "index.ts"), USES_THE_CLIENT);
  return dir;
}

async function typeCheck(dir: string): Promise<string> {
  try {
    await run(process.execPath, [tsc, "-p", dir], { cwd: dir, timeout: 60_000 });
    return "";
  } catch (error) {
    return (error as { stdout?: string }).stdout || String(error);
  }
}

describe("hookd/client for TypeScript users", () => {
  for (const name of Object.keys(PROJECTS) as (keyof typeof PROJECTS)[]) {
    it(`type-checks in a strict project with moduleResolution ${name}`, async () => {
      expect(await typeCheck(await makeProject(name))).toBe("");
    });
  }

  it("fails where the client's types say so, so the check above is not vacuous", async () => {
    const dir = await makeProject("nodenext", "misuse");
    await writeFile(join(dir, "index.ts"), USES_THE_CLIENT.replaceAll("// @ts-expect-error", "//"));
    const errors = await typeCheck(dir);
    expect(errors.match(/error TS\d+/g)).toHaveLength(3);
    expect(errors).not.toMatch(/TS5097/);
  });
});
