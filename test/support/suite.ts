import { afterAll, beforeAll } from "vitest";
import { startTestHookd, type TestHookd } from "./hookd.ts";
import { startNats, type NatsProcess } from "./processes.ts";
import { startReceiver, type Receiver, type Responder } from "./receiver.ts";

/**
 * The usual suite: its own nats-server, one in-process hookd, one receiver, all stopped at the end.
 * The fields are filled in by beforeAll, so read them inside tests.
 */
export type Suite = { nats: NatsProcess; hookd: TestHookd; receiver: Receiver };

export function hookdSuite(options: { env?: Record<string, string>; respond?: Responder } = {}): Suite {
  const suite = {} as Suite;
  beforeAll(async () => {
    suite.nats = await startNats();
    suite.hookd = await startTestHookd(suite.nats.url, options.env);
    suite.receiver = await startReceiver(options.respond);
  });
  afterAll(async () => {
    await suite.receiver?.stop();
    await suite.hookd?.stop();
    await suite.nats?.stop();
  });
  return suite;
}
