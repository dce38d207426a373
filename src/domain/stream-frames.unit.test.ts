import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.ts";
import { jsonLine, sseEndFrame, sseFrame, type StreamMessage, webSocketFrame } from "./stream-frames.ts";

const message = (body: Uint8Array | string, extra: Partial<StreamMessage> = {}): StreamMessage => ({
  seq: 42,
  id: "evt_1",
  topic: "shop/orders",
  type: null,
  contentType: "text/plain",
  publishedAt: "2026-11-23T12:00:00.000Z",
  body: typeof body === "string" ? utf8(body) : body,
  ...extra,
});

describe("SSE frames", () => {
  it("carry the sequence as id, the event type as event name and the body as data", () => {
    expect(sseFrame(message("hello", { type: "order.created" }), "raw")).toBe(
      "id: 42\nevent: order.created\ndata: hello\n\n",
    );
    expect(sseFrame(message("hello"), "raw")).toBe("id: 42\nevent: message\ndata: hello\n\n");
  });

  it("give each line of a multi-line body its own data field, whatever the line break", () => {
    expect(sseFrame(message("a\nb\r\nc\rd\n"), "raw")).toBe(
      "id: 42\nevent: message\ndata: a\ndata: b\ndata: c\ndata: d\ndata: \n\n",
    );
    expect(sseFrame(message(""), "raw")).toBe("id: 42\nevent: message\ndata: \n\n");
  });

  it("send a body that is not UTF-8 as base64, with the event name saying so", () => {
    expect(sseFrame(message(new Uint8Array([0xff, 0x00, 0x41])), "raw")).toBe(
      "id: 42\nevent: message+base64\ndata: /wBB\n\n",
    );
  });

  it("wrap the message in a JSON envelope naming the topic in json format", () => {
    const frame = sseFrame(message("x\ny", { type: "t" }), "json");
    expect(frame.startsWith("id: 42\nevent: t\ndata: {")).toBe(true);
    const data = JSON.parse(frame.split("\n")[2]!.slice("data: ".length));
    expect(data).toEqual({
      seq: 42,
      id: "evt_1",
      topic: "shop/orders",
      type: "t",
      content_type: "text/plain",
      published_at: "2026-11-23T12:00:00.000Z",
      body: "x\ny",
    });
  });

  it("end with a hookd.disconnect event carrying the last message's id, so a reconnect resumes after it", () => {
    const frame = sseEndFrame({ reason: "slow-consumer", lastSeq: 41 });
    expect(frame).toMatch(/^id: 41\nevent: hookd.disconnect\ndata: \{.*"reason":"slow-consumer","last_id":"41"/);
  });
});

describe("JSON lines and WebSocket frames", () => {
  it("write one JSON object per line, base64 for binary bodies", () => {
    expect(JSON.parse(jsonLine(message("hi")))).toMatchObject({
      seq: 42,
      topic: "shop/orders",
      type: null,
      body: "hi",
    });
    expect(JSON.parse(jsonLine(message(new Uint8Array([0xc3]))))).toMatchObject({ body_base64: "ww==" });
    expect(jsonLine(message("a\nb")).split("\n")).toHaveLength(2);
  });

  it("send the body alone, or topic NUL body on recursive subscriptions", () => {
    expect(webSocketFrame(message("body"), false)).toEqual(utf8("body"));
    expect(Buffer.from(webSocketFrame(message("body"), true)).toString("latin1")).toBe("shop/orders\u0000body");
  });
});
