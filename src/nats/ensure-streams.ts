import type { JetStreamManager } from "@nats-io/jetstream";
import type { DurableConsumerSpec, JetStreamLayout, StreamSettings, StreamSpec } from "./layout.ts";

/**
 * Brings JetStream up to the layout at start: creates the streams and shared durable consumers
 * that are missing and updates the ones that exist, so any instance may start first. What they
 * are is the layout's business (layout.ts); this file only talks to the server.
 */

async function ensureStream(jsm: JetStreamManager, config: StreamSpec): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== "StreamNotFoundError" && !/stream not found/i.test(String(error))) throw error;
    await jsm.streams.add(config);
  }
}

export async function ensureStreams(
  jsm: JetStreamManager,
  layout: JetStreamLayout,
  settings: StreamSettings,
): Promise<void> {
  for (const config of layout.streamConfigs(settings)) await ensureStream(jsm, config);
  for (const consumer of layout.durableConsumers(settings)) await ensureConsumer(jsm, consumer);
}

/** Creates a durable consumer, or brings the settings the spec calls updatable up to date on an existing one. */
export async function ensureConsumer(jsm: JetStreamManager, spec: DurableConsumerSpec): Promise<void> {
  const { stream, config, updatable } = spec;
  try {
    await jsm.consumers.info(stream, config.durable_name);
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
    await jsm.consumers.update(stream, config.durable_name, changes);
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
