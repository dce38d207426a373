import { fromBase64, utf8 } from "../domain/bytes.ts";
import type { StreamEnvelope } from "../domain/stream-frames.ts";

/** One message of a topic, as `listen` hands it over. JSON.stringify gives hookd's envelope back. */
export type TopicMessage = {
  /** The topic log's sequence: increases along a stream, but not by one (the log holds every topic). */
  readonly seq: number;
  readonly id: string;
  readonly topic: string;
  readonly type: string | null;
  readonly contentType: string | null;
  readonly publishedAt: string;
  readonly body: Uint8Array;
  text(): string;
  json(): unknown;
  toJSON(): StreamEnvelope;
};

const lenientUtf8 = new TextDecoder();

const stringOrNull = (value: unknown) => value === null || typeof value === "string";

function isEnvelope(value: unknown): value is StreamEnvelope {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(v.seq) &&
    typeof v.id === "string" &&
    typeof v.topic === "string" &&
    stringOrNull(v.type) &&
    stringOrNull(v.content_type) &&
    typeof v.published_at === "string" &&
    (typeof v.body === "string" || typeof v.body_base64 === "string")
  );
}

/** The data of one SSE event sent with format=json. */
export function parseEnvelope(data: string): StreamEnvelope {
  let value: unknown = null;
  try {
    value = JSON.parse(data);
  } catch {
    // reported below, with the data
  }
  if (!isEnvelope(value)) {
    throw new TypeError(
      `The stream sent an event that is not a hookd message envelope (${
        JSON.stringify(data.slice(0, 80))
      }); is the URL a hookd /sub/ or /sse/ stream?`,
    );
  }
  return value;
}

export function messageOf(envelope: StreamEnvelope): TopicMessage {
  const text = "body" in envelope ? envelope.body : null;
  const body = "body" in envelope ? utf8(envelope.body) : fromBase64(envelope.body_base64);
  const asText = () => text ?? lenientUtf8.decode(body);
  return {
    seq: envelope.seq,
    id: envelope.id,
    topic: envelope.topic,
    type: envelope.type,
    contentType: envelope.content_type,
    publishedAt: envelope.published_at,
    body,
    text: asText,
    json: () => JSON.parse(asText()),
    toJSON: () => envelope,
  };
}
