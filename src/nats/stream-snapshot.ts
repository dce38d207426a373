import { createInbox, type NatsConnection } from "@nats-io/transport-node";

/**
 * JetStream's stream snapshot and restore API, which nats.js does not wrap: what `nats stream
 * backup` and `restore` use. A snapshot is asked for on `<api>.STREAM.SNAPSHOT.<stream>` with an
 * inbox to deliver to; the server answers with the stream's config and state, then sends the
 * snapshot (an s2-compressed tar, kept as it comes) in chunks to the inbox, each with a reply
 * subject to acknowledge it (the server's flow control), and ends with an empty message. A restore
 * is asked for on `<api>.STREAM.RESTORE.<stream>` with that config and state; the server answers
 * with a subject, takes the chunks there as requests (acknowledging each) and, after an empty one,
 * answers with the restored stream's info or an error. The server checks the snapshot; this module
 * only moves bytes.
 */

/** What the server says a snapshot holds: kept beside the snapshot, and sent back to restore it. */
export type SnapshotMeta = { config: { name: string; storage?: string } & Record<string, unknown>; state: unknown };

/** `$JS.API`, or `$JS.<domain>.API` for a JetStream domain. */
export const jetStreamApi = (domain?: string) => (domain ? `$JS.${domain}.API` : "$JS.API");

/** Chunks small enough for any max_payload hookd runs with (its own minimum is far above this). */
const CHUNK_BYTES = 128 * 1024;
/** A snapshot or restore that moves nothing for this long has stalled (the server gives up after 5 s). */
const STALL_MS = 30_000;

type ApiAnswer = { error?: { code: number; description: string } } & Record<string, unknown>;

function answerOf(data: Uint8Array, what: string): ApiAnswer {
  const answer = JSON.parse(new TextDecoder().decode(data)) as ApiAnswer;
  if (answer.error) throw new Error(`${what}: ${answer.error.description} (${answer.error.code})`);
  return answer;
}

/**
 * The empty message that ends a snapshot says how it ended (nats-server 2.9 jetstream_api.go):
 * no status or 204 when it is complete; 408 No Flow Response, 408 No Interest or 500 <read error>
 * when the server gave up, and what came before it is a truncated snapshot, not a backup.
 */
export function endOfSnapshot(code: number, description: string, stream: string): void {
  if (code === 0 || (code >= 200 && code < 300)) return;
  throw new SnapshotError(
    `snapshot of ${stream}: NATS ended it early (${code} ${description}); nothing of it is a backup, try again`,
  );
}

/** A snapshot or restore the server refused or broke off: said on one line. */
export class SnapshotError extends Error {}

/** Streams `stream`'s snapshot to `write`, chunk by chunk, and resolves with its config and state. */
export async function snapshotStream(
  nc: NatsConnection,
  api: string,
  stream: string,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<SnapshotMeta> {
  const inbox = createInbox();
  const chunks = nc.subscribe(inbox);
  let stalled = false;
  let timer = setTimeout(() => {}, 0);
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      chunks.unsubscribe();
    }, STALL_MS);
  };
  try {
    const request = JSON.stringify({ deliver_subject: inbox, chunk_size: CHUNK_BYTES });
    const answer = answerOf(
      (await nc.request(`${api}.STREAM.SNAPSHOT.${stream}`, request, { timeout: STALL_MS })).data,
      `snapshot of ${stream}`,
    );
    watch();
    for await (const chunk of chunks) {
      if (chunk.data.length === 0) {
        endOfSnapshot(chunk.headers?.code ?? 0, chunk.headers?.description ?? "", stream);
        break;
      }
      await write(chunk.data);
      if (chunk.reply) chunk.respond();
      watch();
    }
    if (stalled) throw new Error(`snapshot of ${stream}: no data from NATS for ${STALL_MS / 1000} s`);
    return { config: answer.config as SnapshotMeta["config"], state: answer.state };
  } finally {
    clearTimeout(timer);
    chunks.unsubscribe();
  }
}

/** Restores a stream that does not exist yet from its snapshot's chunks; resolves once the server has it. */
export async function restoreStream(
  nc: NatsConnection,
  api: string,
  meta: SnapshotMeta,
  chunks: AsyncIterable<Uint8Array>,
): Promise<void> {
  const stream = meta.config.name;
  const what = `restore of ${stream}`;
  const request = JSON.stringify({ config: meta.config, state: meta.state });
  const answer = answerOf(
    (await nc.request(`${api}.STREAM.RESTORE.${stream}`, request, { timeout: STALL_MS })).data,
    what,
  );
  const target = answer.deliver_subject as string;
  for await (const chunk of rechunked(chunks)) {
    const ack = await nc.request(target, chunk, { timeout: STALL_MS });
    // An empty answer takes the chunk; "-ERR '…'" refuses it (a storage failure on the server).
    if (ack.data.length > 0) throw new Error(`${what}: ${new TextDecoder().decode(ack.data)}`);
  }
  // The server restores once it has everything, which takes a while for a large stream.
  answerOf((await nc.request(target, new Uint8Array(0), { timeout: 10 * STALL_MS })).data, what);
}

/** The file's bytes in chunks of at most CHUNK_BYTES, whatever sizes the reader hands out. */
async function* rechunked(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const piece of source) {
    for (let at = 0; at < piece.length; at += CHUNK_BYTES) yield piece.subarray(at, at + CHUNK_BYTES);
  }
}
