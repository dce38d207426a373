import { toBase64, utf8 } from "./bytes.ts";

/** The SSE event name of hookd's own end frame; publishers cannot use "hookd." types, so it is never theirs. */
export const END_EVENT = "hookd.disconnect";

/**
 * How a topic message is written to a listener, one encoding per transport. The same message goes
 * to every listener of a feed, so each encoding is made once per message and shared.
 */

export type StreamMessage = {
  seq: number;
  id: string;
  topic: string;
  type: string | null;
  contentType: string | null;
  publishedAt: string;
  body: Uint8Array;
};

/**
 * `raw`: the SSE data is the body itself (exact-topic default); `json`: the data is the envelope
 * below, which names the topic (recursive default, and /stream's lines).
 */
export type StreamFormat = "raw" | "json";

/** The JSON envelope of /stream lines and of SSE/WebSocket `format=json`. */
export type StreamEnvelope = {
  seq: number;
  id: string;
  topic: string;
  type: string | null;
  content_type: string | null;
  published_at: string;
} & ({ body: string } | { body_base64: string });

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The body as text, or null when it is not UTF-8 (and so must travel as base64). */
export function bodyText(body: Uint8Array): string | null {
  try {
    return strictUtf8.decode(body);
  } catch {
    return null;
  }
}

export function envelopeOf(message: StreamMessage): StreamEnvelope {
  const text = bodyText(message.body);
  const head = {
    seq: message.seq,
    id: message.id,
    topic: message.topic,
    type: message.type,
    content_type: message.contentType,
    published_at: message.publishedAt,
  };
  return text === null ? { ...head, body_base64: toBase64(message.body) } : { ...head, body: text };
}

/** The suffix on an SSE event name whose data is base64 because the body is not UTF-8 text. */
export const BASE64_EVENT_SUFFIX = "+base64";

function dataLines(text: string): string {
  // SSE splits data on CR, LF and CRLF and joins the lines with LF, so each line gets its own field.
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join("");
}

export function sseFrame(message: StreamMessage, format: StreamFormat): string {
  const name = message.type ?? "message";
  if (format === "json") {
    return `id: ${message.seq}\nevent: ${name}\n${dataLines(JSON.stringify(envelopeOf(message)))}\n`;
  }
  const text = bodyText(message.body);
  if (text === null) {
    return `id: ${message.seq}\nevent: ${name}${BASE64_EVENT_SUFFIX}\ndata: ${toBase64(message.body)}\n\n`;
  }
  return `id: ${message.seq}\nevent: ${name}\n${dataLines(text)}\n`;
}

/** The last SSE event of a stream that hookd ends; its id is the last message's, so a reconnect resumes right after it. */
export function sseEndFrame(end: StreamEnd): string {
  return `id: ${end.lastSeq}\nevent: ${END_EVENT}\n${dataLines(JSON.stringify(endBody(end)))}\n`;
}

/**
 * An id with no data: EventSource takes it as its last event id without dispatching anything, so a
 * listener that has not had a message yet still resumes from where its stream started.
 */
export function ssePosition(seq: number): string {
  return `id: ${seq}\n\n`;
}

export const SSE_HEARTBEAT = ": heartbeat\n\n";

export function jsonLine(message: StreamMessage): string {
  return JSON.stringify(envelopeOf(message)) + "\n";
}

export function jsonEndLine(end: StreamEnd): string {
  return JSON.stringify({ end: endBody(end) }) + "\n";
}

/** Hookbot's WebSocket frames: the body, or on a recursive subscription `topic NUL body`. */
export function webSocketFrame(message: StreamMessage, recursive: boolean): Uint8Array {
  if (!recursive) return message.body;
  const topic = utf8(message.topic);
  const frame = new Uint8Array(topic.length + 1 + message.body.length);
  frame.set(topic, 0);
  frame[topic.length] = 0;
  frame.set(message.body, topic.length + 1);
  return frame;
}

/** Why hookd ended a stream; the listener resumes after `lastSeq`. */
export type StreamEnd = {
  reason: "slow-consumer" | "shutting-down" | "interrupted" | "token-revoked" | "token-expired";
  lastSeq: number;
};

/** WebSocket close codes (the 4000–4999 range is the application's; 4001 echoes the 401 a new request would get). */
export const WS_CLOSE = {
  "slow-consumer": 4008,
  "shutting-down": 1001,
  interrupted: 1011,
  "token-revoked": 4001,
  "token-expired": 4001,
} as const;

const RESUME = "reconnect with Last-Event-ID (or since) set to last_id to resume without a gap.";
const NEW_TOKEN = "resume with a valid token, Last-Event-ID (or since) set to last_id, to miss nothing.";

function endBody(end: StreamEnd) {
  const detail = {
    "slow-consumer": `The listener read too slowly and its buffer filled; ${RESUME}`,
    "shutting-down": `This hookd instance is stopping; ${RESUME}`,
    interrupted: `hookd lost its connection to NATS while reading the log; ${RESUME}`,
    "token-revoked": `The token this stream was opened with has been revoked; ${NEW_TOKEN}`,
    "token-expired": `The token this stream was opened with has expired; ${NEW_TOKEN}`,
  }[end.reason];
  return { reason: end.reason, last_id: String(end.lastSeq), detail };
}

export function webSocketCloseReason(end: StreamEnd): string {
  // A close reason holds at most 123 bytes.
  return `${end.reason}; resume with since=${end.lastSeq}`;
}
