import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import type { DurableConsumerSpec, JetStreamLayout, StreamSettings, StreamSpec } from "./layout.ts";

/**
 * Brings JetStream up to the layout at start: creates the streams and shared durable consumers
 * that are missing and updates the ones that exist, so any instance may start first. What they
 * are is the layout's business (layout.ts); this file only talks to the server.
 *
 * Replicas: an existing stream with fewer copies than the layout's is scaled up in place (an
 * update, which nats-server 2.9 carries out). One with more is left alone and the start refused,
 * unless the operator said to shrink: losing copies is not something to do by a typo.
 */

/** JetStream cannot hold the streams as configured (replicas): said in one line naming the setting to change. */
export class StreamSetupError extends Error {}

export type EnsureOptions = {
  /** HOOKD_REPLICAS_SHRINK: scale streams with more replicas than the layout's down to it. */
  allowShrink?: boolean;
  /** The NATS servers, as hookd logs them (no credentials): named when JetStream has no leader. */
  servers?: string;
};

/** How long a stream or consumer that is electing a leader (a node died, or its replicas just changed) is waited for. */
const SETTLE_MS = 30_000;
const settling = (error: unknown) => /timeout|temporarily unavailable|no responders/i.test(String(error));

/** Nobody has led `what` for SETTLE_MS: most likely a cluster with too few of its nodes up. */
const leaderless = (what: string, servers: string | undefined, cause: string, waited = `${SETTLE_MS / 1000} s`) =>
  new StreamSetupError(
    `JetStream at ${servers ?? "NATS_URL"} has had no leader for ${what} (${waited}; ${cause}): ` +
      "a NATS cluster needs most of its nodes up to elect one; start the other nodes, or check NATS_URL.",
  );

/**
 * Asks again while the answer is "nobody leads this right now", for up to SETTLE_MS, then refuses
 * the start in one line; other errors pass at once.
 */
async function settled<T>(ask: () => Promise<T>, what: string, servers?: string): Promise<T> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    try {
      return await ask();
    } catch (error) {
      if (!settling(error)) throw error;
      if (Date.now() > deadline) throw leaderless(what, servers, String((error as Error)?.message ?? error));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function ensureStream(jsm: JetStreamManager, config: StreamSpec, options: EnsureOptions): Promise<void> {
  let info: StreamInfo;
  try {
    info = await settled(() => jsm.streams.info(config.name), `stream ${config.name}`, options.servers);
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== "StreamNotFoundError" && !/stream not found/i.test(String(error))) throw error;
    await jsm.streams.add(config).catch((addError: unknown) => refused(config, addError));
    return;
  }
  checkReplicas(info, config, options);
  await settled(() => jsm.streams.update(config.name, config), `stream ${config.name}`, options.servers).catch(
    (updateError: unknown) => refused(config, updateError),
  );
  // A scaled stream elects a leader among its new peers; what start-up does next writes to it.
  if ((info.config.num_replicas || 1) !== (config.num_replicas ?? 1)) {
    await waitForLeader(jsm, config.name, options.servers);
  }
}

async function waitForLeader(jsm: JetStreamManager, stream: string, servers?: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const { cluster } = await settled(() => jsm.streams.info(stream), `stream ${stream}`, servers);
    // A single server leads everything itself and names no cluster.
    if (!cluster || cluster.leader) return;
    if (Date.now() > deadline) throw leaderless(`stream ${stream}`, servers, "its replicas elected none");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function checkReplicas(info: StreamInfo, config: StreamSpec, options: EnsureOptions): void {
  const wanted = config.num_replicas ?? 1;
  const has = info.config.num_replicas || 1;
  // A single server takes an update to 3 replicas without a word and keeps one copy.
  if (wanted > 1 && !info.cluster) throw notClustered(wanted);
  if (wanted < has && !options.allowShrink) {
    throw new StreamSetupError(
      `hookd's stream ${config.name} has ${has} replicas and HOOKD_REPLICAS is ${wanted}: hookd does not remove ` +
        `copies by itself. Set HOOKD_REPLICAS=${has}, or set HOOKD_REPLICAS_SHRINK=1 to scale the streams down to ${wanted}.`,
    );
  }
}

const notClustered = (wanted: number) =>
  new StreamSetupError(
    `HOOKD_REPLICAS is ${wanted} but the NATS server is not part of a JetStream cluster, which keeps one copy: ` +
      `set HOOKD_REPLICAS=1, or point NATS_URL at a cluster of at least ${wanted} servers.`,
  );

/** JetStream's refusal of a stream, reworded when it is about the replica count; other errors pass unchanged. */
function refused(config: StreamSpec, error: unknown): never {
  const wanted = config.num_replicas ?? 1;
  const text = String((error as Error)?.message ?? error);
  if (wanted > 1 && /non-clustered mode/i.test(text)) throw notClustered(wanted);
  if (wanted > 1 && /no suitable peers|insufficient resources|replicas/i.test(text)) {
    throw new StreamSetupError(
      `JetStream refused stream ${config.name} with ${wanted} replicas (${text}): HOOKD_REPLICAS=${wanted} is more ` +
        `than the NATS cluster's JetStream servers can hold. Set HOOKD_REPLICAS to at most their number.`,
    );
  }
  throw error;
}

export async function ensureStreams(
  jsm: JetStreamManager,
  layout: JetStreamLayout,
  settings: StreamSettings,
  options: EnsureOptions = {},
): Promise<void> {
  try {
    for (const config of layout.streamConfigs(settings)) await ensureStream(jsm, config, options);
    for (const consumer of layout.durableConsumers(settings)) await ensureConsumer(jsm, consumer, options.servers);
  } catch (error) {
    // A create or update that timed out: the cluster lost its leader between two questions.
    if (error instanceof StreamSetupError || !settling(error)) throw error;
    throw leaderless(
      "hookd's streams",
      options.servers,
      String((error as Error)?.message ?? error),
      "no answer in time",
    );
  }
}

/** Creates a durable consumer, or brings the settings the spec calls updatable up to date on an existing one. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  spec: DurableConsumerSpec,
  servers?: string,
): Promise<void> {
  const { stream, config, updatable } = spec;
  const what = `consumer ${config.durable_name}`;
  try {
    await settled(() => jsm.consumers.info(stream, config.durable_name), what, servers);
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== "ConsumerNotFoundError" && !/consumer not found/i.test(String(error))) throw error;
    try {
      await jsm.consumers.add(stream, config);
    } catch (addError) {
      // Another instance starting at the same moment made it first, with the same settings.
      if (!/already (exists|in use)/i.test(String(addError))) throw addError;
    }
    return;
  }
  if (updatable.length > 0) {
    const changes = Object.fromEntries(updatable.map((key) => [key, config[key]]));
    await settled(() => jsm.consumers.update(stream, config.durable_name, changes), what, servers);
  }
}

/** Creates or updates a config-file router's consumer; answers its name. */
export async function ensureRouterConsumer(
  jsm: JetStreamManager,
  layout: JetStreamLayout,
  options: Parameters<JetStreamLayout["routerConsumer"]>[0],
): Promise<string> {
  const spec = layout.routerConsumer(options);
  await ensureConsumer(jsm, spec);
  return spec.config.durable_name;
}
