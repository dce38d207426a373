/**
 * The nats-server's own message counters, read from its monitoring port (/varz): every message a
 * client sent (in) and every message the server handed to a client (out), whatever client it was.
 * A figure per delivery taken from these does not depend on how fast the machine is.
 */

export type NatsTraffic = { inMsgs: number; outMsgs: number };

export async function natsTrafficOf(monitorPort: number): Promise<NatsTraffic> {
  const varz = await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json() as {
    in_msgs: number;
    out_msgs: number;
  };
  return { inMsgs: varz.in_msgs, outMsgs: varz.out_msgs };
}

/** The messages between two readings, per `count` (e.g. per delivery). */
export function trafficPer(before: NatsTraffic, after: NatsTraffic, count: number): NatsTraffic {
  return { inMsgs: (after.inMsgs - before.inMsgs) / count, outMsgs: (after.outMsgs - before.outMsgs) / count };
}
