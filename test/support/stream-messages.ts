import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** One stored message, as a dump of the server would show it: its data and headers as text. */
export type DumpedMessage = { stream: string; subject: string; seq: number; text: string };

/**
 * Every message still stored in every stream on the server (a work queue's acked ones are gone),
 * for tests that search a whole NATS dump for what must not be there.
 */
export async function* everyStoredMessage(nc: NatsConnection): AsyncGenerator<DumpedMessage> {
  const jsm = await jetstreamManager(nc);
  const decoder = new TextDecoder();
  for await (const stream of jsm.streams.names()) {
    const { state } = await jsm.streams.info(stream);
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!message) continue;
      const text = decoder.decode(message.data) + JSON.stringify(message.header ?? {});
      yield { stream, subject: message.subject, seq, text };
    }
  }
}
