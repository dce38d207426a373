import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { headerBlock, InvalidHeaderError } from "./header-block.ts";

/** The header block must be byte for byte what nats.js's MsgHdrs encodes, and refuse what it refuses. */

const natsEncoded = (entries: [string, string][]) => {
  const hdrs = headers();
  for (const [key, value] of entries) hdrs.set(key, value);
  return (hdrs as unknown as { encode(): Uint8Array }).encode();
};

describe("headerBlock", () => {
  it("encodes as nats.js's MsgHdrs does, values trimmed and keys as given", () => {
    const entries: [string, string][] = [
      ["Hookd-State", "delivered"],
      ["Hookd-Steps", "attempt.started>in-flight attempt.succeeded>delivered"],
      ["hookd-lower-case", "  spaced  "],
      ["Hookd-Empty", ""],
      ["Hookd-Unicode", "café ☕"],
      ["Nats-Expected-Last-Subject-Sequence", "0"],
    ];
    expect(headerBlock(entries).encode()).toEqual(natsEncoded(entries));
  });

  it("refuses a name nats.js refuses (a colon, a space, a tab, DEL, a character past ASCII), and an empty one", () => {
    for (const key of ["Bad:Name", "Bad Name", "Bad\tName", "Bad\x7fName", "Bäd"]) {
      expect(() => headerBlock([[key, "v"]])).toThrow(InvalidHeaderError);
      expect(() => natsEncoded([[key, "v"]])).toThrow();
    }
    expect(() => headerBlock([["", "v"]])).toThrow(InvalidHeaderError);
  });

  it("takes every name character nats.js takes, the ends of the range too", () => {
    const entries: [string, string][] = [["!", "a"], ["9", "b"], [";", "c"], ["~", "d"], ["A-z_0.9", "e"]];
    expect(headerBlock(entries).encode()).toEqual(natsEncoded(entries));
  });

  it("refuses a name given twice, which nats.js would have kept one of silently", () => {
    expect(() => headerBlock([["Nats-Msg-Id", "a"], ["Nats-Msg-Id", "b"]])).toThrow(InvalidHeaderError);
  });

  it("refuses a value with a line break, which could add a header of its own", () => {
    for (const value of ["a\r\nHookd-State: delivered", "a\nb", "a\rb"]) {
      expect(() => headerBlock([["Hookd-Target", value]])).toThrow(InvalidHeaderError);
      expect(() => natsEncoded([["Hookd-Target", value]])).toThrow();
    }
  });
});
