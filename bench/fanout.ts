import { Agent, request } from "undici";
import { SubscriptionStore } from "../src/nats/subscription-store.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { createLayout } from "../src/nats/layout.ts";
import { SecretBox } from "../src/domain/secret-box.ts";
import { SubscriptionCommands } from "../src/runtime/subscription-commands.ts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type Child, freePort, startNats } from "../test/support/processes.ts";
import { fmt, percentile, sleep } from "./support/figures.ts";
import { subscribeMany, timeOneEvent } from "./support/fan-out.ts";
import { type NatsTraffic, natsTrafficOf, trafficPer, untilNatsQuiet } from "./support/nats-traffic.ts";
import {
  BENCH_KEY,
  benchTokens as tokens,
  cpuMsOf,
  memoryOf,
  receiverStats,
  startHookd,
  startReceiver,
} from "./support/processes.ts";

/**
 * bench/fanout: one event to 1,000 and to 10,000 subscriptions on a local receiver (time until all
 * delivered, deliveries per second), and the publish rate to topics with 0, 1 and 10 subscriptions,
 * with what each event cost from its publish until its deliveries arrived: NATS messages (every
 * client's) and hookd's CPU, figures that do not depend on the machine's speed. Prints figures;
 * asserts nothing. BENCH_SECONDS (default 5) sets the publish phases.
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
type PhaseStart = { delivered: number; traffic: NatsTraffic; cpuMs: number };
async function main() {
  const monitorPort = await freePort();
  const nats = await startNats({ monitorPort });
  const children: Child[] = [];
  const admin = `Bearer ${await tokens.tokenFor("/")}`;
  const agent = new Agent({ connections: 32 });
  try {
    const receiver = await startReceiver();
    children.push(receiver);
    const receiverUrl = receiver.url;
    const hookd = await startHookd(nats.url);
    children.push(hookd);
    const base = hookd.url;
    const post = async (path: string, body: string, contentType = "application/json") => {
      const response = await request(`${base}${path}`, {
        method: "POST",
        body,
        headers: { authorization: admin, "content-type": contentType },
        dispatcher: agent,
      });
      const text = await response.body.text();
      if (response.statusCode >= 300) throw new Error(`${path}: ${response.statusCode} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const subscribe = (topic: string, count: number) =>
      subscribeMany({ hookdUrl: base, admin, receiverUrl, topic }, count, { dialect: "plain" });
    const count = async () => (await receiverStats(receiverUrl)).count;

    console.log("hookd bench/fanout\n");
    let subscribed = 0;
    for (const target of [1_000, 10_000]) {
      await subscribe("fan/out", target - subscribed);
      subscribed = target;
      const seconds = await timeOneEvent({ hookdUrl: base, admin, receiverUrl, topic: "fan/out" }, target);
      console.log(
        `  one event → ${fmt(target)} subscriptions: all delivered in ${seconds.toFixed(2)} s (${
          fmt(target / seconds)
        } deliveries/s)`,
      );
    }

    // 100,000 subscriptions on other topics must not slow fan-out to one topic's subscribers.
    // They are written through hookd's own subscription commands from this process (the API would take minutes).
    await subscribe("hot/topic", 10);
    const oneTopicLatency = async (rounds: number) => {
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) {
        await fetch(`${receiverUrl}/__reset`, { method: "POST" });
        const started = performance.now();
        await post("/pub/hot/topic", `{"round":${i}}`);
        while ((await count()) < 10) await sleep(2);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      return percentile(times, 0.5);
    };
    const before = await oneTopicLatency(20);
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const commands = new SubscriptionCommands({
      store: new SubscriptionStore(
        jetstream(nc),
        jsm,
        new JetStreamPublisher(nc),
        createLayout(),
        // The crowd has no secrets; the box is hookd's own all the same, so what it writes would open there.
        await SecretBox.fromKeys(BENCH_KEY),
      ),
      clock: Date.now,
      failureThreshold: 50,
    });
    const crowd = 100_000;
    let made = 0;
    const crowdStart = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (made < crowd) {
          const i = made++;
          await commands.create({
            topic: `crowd/${i}`,
            recursive: false,
            url: `${receiverUrl}/never`,
            secrets: [],
            eventTypes: null,
            owner: null,
            description: null,
            headers: {},
            dialect: "plain",
            retrySchedule: null,
            rateLimit: null,
            metadata: {},
            source: "api",
          });
        }
      }),
    );
    console.log(
      `  wrote ${fmt(crowd)} subscriptions on other topics in ${
        ((performance.now() - crowdStart) / 1000).toFixed(1)
      } s`,
    );
    // Give every instance's follower time to index them all.
    for (let listed = 0; listed < crowd;) {
      listed = ((await (await fetch(`${base}/api/v1/subscriptions?topic=crowd/${crowd - 1}`, {
          headers: { authorization: admin },
        })).json()) as { data: unknown[] }).data.length
        ? crowd
        : 0;
      if (!listed) await sleep(200);
    }
    const after = await oneTopicLatency(20);
    console.log(
      `  publish → delivered to one topic's 10 subscribers (median of 20): ${before.toFixed(1)} ms before, ${
        after.toFixed(1)
      } ms with ${fmt(crowd)} more subscriptions on other topics`,
    );
    await nc.close();
    /** NATS messages and hookd CPU per event since `since`, once `expected` deliveries arrived and NATS is quiet. */
    const eventCost = async (since: PhaseStart, published: number, expected: number): Promise<string> => {
      for (const giveUpAt = Date.now() + 5 * 60_000; (await count()) - since.delivered < expected;) {
        if (Date.now() > giveUpAt) return "not measured: its deliveries did not all arrive within 5 minutes";
        await sleep(50);
      }
      // The indexer and the change feed finish their share of the phase.
      await untilNatsQuiet(monitorPort, 60_000);
      const traffic = trafficPer(since.traffic, await natsTrafficOf(monitorPort), published);
      const cpuMs = ((await cpuMsOf(hookd.child.pid!)) - since.cpuMs) / published;
      return `NATS messages in ${traffic.inMsgs.toFixed(2)} + out ${traffic.outMsgs.toFixed(2)}, hookd CPU ${
        cpuMs.toFixed(2)
      } ms`;
    };
    for (const [topic, subscribers] of [["pub/zero", 0], ["pub/one", 1], ["pub/ten", 10]] as const) {
      await subscribe(topic, subscribers);
      const since: PhaseStart = {
        delivered: await count(),
        traffic: await natsTrafficOf(monitorPort),
        cpuMs: await cpuMsOf(hookd.child.pid!),
      };
      let published = 0;
      const deadline = performance.now() + SECONDS * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (performance.now() < deadline) {
            await post(`/pub/${topic}`, '{"n":1}');
            published++;
          }
        }),
      );
      const rate = published / ((performance.now() - started) / 1000);
      console.log(
        `  publish to a topic with ${subscribers} subscription(s): ${fmt(rate)} events/s accepted (32 in flight, ${
          fmt(rate * subscribers)
        } deliveries/s created)`,
      );
      console.log(
        `    per event, until its deliveries arrived: ${await eventCost(since, published, published * subscribers)}`,
      );
    }
    const rss = (await memoryOf(hookd.child.pid!)).rssMb;
    console.log(`  hookd RSS with ${fmt(subscribed + 21 + 100_000)} subscriptions indexed: ${rss.toFixed(0)} MB`);
  } finally {
    await agent.close();
    for (const child of children) await child.stop();
    await nats.stop();
  }
}

await main();
process.exit(0);
