import { connect, type NatsConnection } from "@nats-io/transport-node";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startTestHookd, type TestHookd } from "./hookd.ts";
import { type NatsProcess, startNats } from "./processes.ts";
import { type Receiver, type Responder, startReceiver } from "./receiver.ts";

/**
 * The set-up every integration suite shares: its own nats-server, one hookd in this process, one
 * receiver, and whatever else it asks for, all stopped at the end (in describe scope when called
 * inside a describe). The fields are filled in by beforeAll, so read them inside tests and hooks.
 */
export type Suite = {
  nats: NatsProcess;
  /** The suite's hookd; unset with `hookd: "none"`. A test that replaces it assigns the new one here. */
  hookd: TestHookd;
  /** Answers as `respond` says; unset with `receiver: false`. */
  receiver: Receiver;
  /** A NATS connection for reading streams directly; set with `connect: true`. */
  nc: NatsConnection;
  /** A temporary folder, removed at the end. */
  dir: string;
  /** The HOOKD_CONFIG file written from `config`, for more instances that read the same one. */
  configFile: string;
  /** Another receiver, stopped with the suite. */
  startReceiver(respond?: Responder): Promise<Receiver>;
};

export type SuiteOptions = {
  /** The hookd's environment, over the test defaults (test/support/hookd.ts). */
  env?: Record<string, string>;
  respond?: Responder;
  /** "none" when each test starts its own hookd (several, or as child processes it kills). */
  hookd?: "in-process" | "none";
  /** false when every test brings its own receivers. */
  receiver?: boolean;
  connect?: boolean;
  /** A config file (YAML) the hookd reads through HOOKD_CONFIG. */
  config?: string;
  /** For the nats-server, e.g. a small max_payload. */
  nats?: { maxPayloadBytes?: number };
};

export function hookdSuite(options: SuiteOptions = {}): Suite {
  const receivers: Receiver[] = [];
  const suite = {
    async startReceiver(respond?: Responder) {
      const receiver = await startReceiver(respond);
      receivers.push(receiver);
      return receiver;
    },
  } as Suite;
  beforeAll(async () => {
    suite.dir = await mkdtemp(join(tmpdir(), "hookd-suite-"));
    suite.nats = await startNats(options.nats);
    const env = { ...options.env };
    if (options.config !== undefined) {
      suite.configFile = join(suite.dir, "hookd.yaml");
      await writeFile(suite.configFile, options.config);
      env.HOOKD_CONFIG = suite.configFile;
    }
    if (options.hookd !== "none") suite.hookd = await startTestHookd(suite.nats.url, env);
    if (options.receiver !== false) suite.receiver = await suite.startReceiver(options.respond);
    if (options.connect) suite.nc = await connect({ servers: suite.nats.url });
  });
  afterAll(async () => {
    await suite.nc?.close();
    for (const receiver of receivers) await receiver.stop();
    await suite.hookd?.stop();
    await suite.nats?.stop();
    if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
  });
  return suite;
}
