import type { Hono } from "hono";
import { readFile } from "node:fs/promises";
import { ackWaitFor, type Config } from "./config.ts";
import { parseStaticConfig, type StaticConfig, StaticConfigError } from "./domain/static-config.ts";
import type { Logger } from "./log.ts";
import { HookdMetrics } from "./metrics.ts";
import { readSecretRef } from "./secret-refs.ts";
import { Closers } from "./start/closers.ts";
import type { StartOptions } from "./start/options.ts";
import { startConsumers } from "./start/consumers.ts";
import { buildDeliveries } from "./start/deliveries.ts";
import { buildHttpApp } from "./start/http.ts";
import { openStorage } from "./start/storage.ts";
import { permissionRefusal } from "./nats/connect-refusal.ts";
import { buildSubscriptions } from "./start/subscriptions.ts";
import { startTokens } from "./start/tokens.ts";
import { buildTopicStreams } from "./start/topic-streams.ts";
import { startIndexer } from "./start/indexer.ts";
import { startConsoleServices } from "./start/console-services.ts";
import { OpenSseResponses } from "./http/change-sse.ts";
import type { ConsoleServices } from "./runtime/console-services.ts";

/**
 * Wires hookd together; runtime-neutral, so the Node and Deno entry points only add serving and
 * signals. Start-up runs in parts (src/start/), each pushing how to stop what it started onto one
 * stack, which `stop()` and a start that fails halfway both unwind.
 */

export type { StartOptions } from "./start/options.ts";

export type Hookd = {
  app: Hono;
  natsUrl: string;
  /** The token for "/", when hookd made the key itself (so the operator has a way in). */
  generatedAdminToken: string | null;
  /** The signing secret hookd made or took from NATS (not HOOKD_SIGNING_SECRET's), so start-up says how to read it. */
  generatedSigningSecret: string | null;
  /** The change feed, fleet figures and bulk actions, for the console to call in process. */
  consoleServices: ConsoleServices;
  /** Ends every topic stream with a "shutting-down" frame; call before closing the HTTP server, which waits for open requests. */
  closeStreams(): Promise<void>;
  stop(): Promise<void>;
};

export async function startHookd(config: Config, log: Logger, options: StartOptions = {}): Promise<Hookd> {
  // A broken config file stops hookd before it starts anything.
  const configFile = await readConfigFile(config);
  const metrics = options.metrics ?? new HookdMetrics();
  // A part's stop waits for its attempts in flight, which end within the attempt timeout.
  const closers = new Closers(ackWaitFor(config));
  try {
    const storage = await openStorage(config, log, closers);
    const tokens = await startTokens(storage, log, closers);
    const deliveryPart = buildDeliveries(config, storage, log, closers);
    const subscriptionPart = await buildSubscriptions(config, { storage, deliveryPart, configFile }, log, closers);
    if (config.HOOKD_WORKERS === "on") {
      await startConsumers(config, { storage, deliveryPart, subscriptionPart, configFile, metrics }, log, closers);
    }
    startIndexer(config, storage, deliveryPart, log, closers);
    const topicStreams = buildTopicStreams(config, storage, metrics, log, closers);
    topicStreams.followRevocations(tokens.revocations);
    const consolePart = await startConsoleServices(
      config,
      {
        storage,
        deliveryListing: deliveryPart.deliveryListing,
        deliveryCommands: deliveryPart.deliveryCommands,
      },
      log,
      closers,
    );
    const sseResponses = new OpenSseResponses();
    closers.push("console streams", () => sseResponses.closeAll());
    const app = await buildHttpApp(
      config,
      { storage, tokens, deliveryPart, subscriptionPart, topicStreams, configFile, metrics, consolePart, sseResponses },
      log,
      options,
    );
    return {
      app,
      natsUrl: storage.natsUrl,
      generatedAdminToken: storage.generatedAdminToken,
      generatedSigningSecret: storage.signing.generated ? storage.signing.secret : null,
      consoleServices: consolePart.services,
      closeStreams: async () => {
        consolePart.changeStreams.closeAll();
        sseResponses.closeAll();
        await topicStreams.closeAll();
      },
      stop: () => closers.unwind(log),
    };
  } catch (error) {
    await closers.unwind(log);
    // A NATS user without a permission hookd needs is the operator's to fix: said as such, on one line.
    throw permissionRefusal(error) ?? error;
  }
}

async function readConfigFile(config: Config): Promise<StaticConfig | null> {
  const path = config.HOOKD_CONFIG;
  if (!path) return null;
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    const why = error.code === "ENOENT"
      ? "no such file"
      : error.code === "EACCES"
      ? "hookd may not read it"
      : error.code;
    // Worded as a wrong variable is (config.ts), since HOOKD_CONFIG is the one to fix.
    throw new StaticConfigError(
      `hookd's configuration is invalid:\n  HOOKD_CONFIG: cannot read ${path} (${why ?? error.message})`,
    );
  });
  return parseStaticConfig(text, path, readSecretRef);
}
