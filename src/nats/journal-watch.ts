import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";

/**
 * Follows new messages on journal subjects live, through an ordered consumer that NATS drops by
 * itself once nobody reads it: what a console page open on a delivery (or on the list) listens to,
 * so every hookd instance shows the same journal without polling it.
 */

export type JournalChange = { seq: number; subject: string; headers: Record<string, string> };

export type JournalWatch = { stop(): void };

export async function watchJournal(
  js: JetStreamClient,
  stream: string,
  options: { filter: string; afterSeq: number; headersOnly?: boolean },
  onChange: (change: JournalChange) => void,
  onLost: () => void,
): Promise<JournalWatch> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: options.filter,
    // After what the page already shows: a reconnect (Last-Event-ID) misses nothing and repeats nothing.
    ...(options.afterSeq > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.afterSeq + 1 }
      : { deliver_policy: DeliverPolicy.New }),
    headers_only: options.headersOnly ?? true,
  });
  const messages = await consumer.consume();
  let stopped = false;
  void (async () => {
    for await (const message of messages) {
      const headers: Record<string, string> = {};
      for (const key of message.headers?.keys() ?? []) headers[key] = message.headers!.get(key);
      onChange({ seq: message.seq, subject: message.subject, headers });
    }
  })().catch(() => undefined).finally(() => {
    if (!stopped) onLost();
  });
  return {
    stop() {
      stopped = true;
      messages.stop();
      // Gone now rather than at the client's inactivity threshold (five minutes): a closed page leaves nothing.
      void consumer.delete().catch(() => undefined);
    },
  };
}
