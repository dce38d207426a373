import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./log.ts";
import { redactQueryTokens } from "./redact-token.ts";

const TOKEN = "0123456789abcdef0123456789abcdef01234567";

describe("redactQueryTokens", () => {
  it.each([
    [`/sse/a?token=${TOKEN}`, "/sse/a?token=[redacted]"],
    [`/stream?topic=a&token=${TOKEN}&since=0`, "/stream?topic=a&token=[redacted]&since=0"],
    [`http://h/sub/a?TOKEN=${TOKEN}#x`, "http://h/sub/a?TOKEN=[redacted]#x"],
    [`"url":"/sub/a?token=${TOKEN}"`, `"url":"/sub/a?token=[redacted]"`],
    [
      `/dispatch?_url=http%3A%2F%2Fh%2F%3Ftoken%3D${TOKEN}%26a%3D1`,
      "/dispatch?_url=http%3A%2F%2Fh%2F%3Ftoken%3D[redacted]%26a%3D1",
    ],
  ])("%s", (text, expected) => {
    expect(redactQueryTokens(text)).toBe(expected);
  });

  it("leaves other parameters, and names that only end in token, alone", () => {
    for (const text of ["/a?topic=token", "/a?mytoken=x", `{"admin_token":"${TOKEN}"}`, "/a?token"]) {
      expect(redactQueryTokens(text)).toBe(text);
    }
  });
});

describe("hookd's logger", () => {
  it("writes no query token, whether in a field, the message or an error's message and stack", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger("info", sink);
    const url = `http://127.0.0.1/sse/t?token=${TOKEN}`;
    log.warn({ url, err: new Error(`failed on ${url}`) }, `while serving ${url}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(TOKEN);
    expect(lines[0]).toContain("token=[redacted]");
  });
});
