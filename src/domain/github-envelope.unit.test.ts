import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.ts";
import { decodeGitHubEnvelope, encodeGitHubEnvelope, GitHubEnvelopeError } from "./github-envelope.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("Hookbot's ?extra-metadata=github envelope", () => {
  it("is Go's marshalling of the headers and the body as a []byte: sorted keys, Payload in base64", () => {
    const body = '{"zen":"Design for failure.","hook_id":1,"html":"<a>&"}';
    const envelope = encodeGitHubEnvelope({
      delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      event: "ping",
      signature: "sha1=7d38cdd689735b008b3c702edd92eea23791c5f6",
      payload: utf8(body),
    });
    expect(text(envelope)).toBe(
      `{"Delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958","Event":"ping","Payload":"${
        Buffer.from(body).toString("base64")
      }","Signature":"sha1=7d38cdd689735b008b3c702edd92eea23791c5f6"}`,
    );
    expect(text(encodeGitHubEnvelope({ delivery: "", event: "", signature: "", payload: utf8("hi") }))).toBe(
      '{"Delivery":"","Event":"","Payload":"aGk=","Signature":""}',
    );
  });
  it("keeps every byte of a binary or empty body, and escapes header values as Go does", () => {
    const binary = new Uint8Array([0, 255, 254, 10, 13, 60]);
    const envelope = encodeGitHubEnvelope({ delivery: "d", event: "a<b>&c", signature: "", payload: binary });
    expect(text(envelope)).toBe(
      `{"Delivery":"d","Event":"a\\u003cb\\u003e\\u0026c","Payload":"${
        Buffer.from(binary).toString("base64")
      }","Signature":""}`,
    );
    expect(decodeGitHubEnvelope(envelope).payload).toEqual(binary);
    expect(text(encodeGitHubEnvelope({ delivery: "", event: "", signature: "", payload: new Uint8Array(0) })))
      .toContain('"Payload":""');
  });
  it("reads back the way Hookbot's router does", () => {
    const webhook = { delivery: "x", event: "push", signature: "sha1=00", payload: utf8('{"ref":"refs/heads/main"}') };
    expect(decodeGitHubEnvelope(encodeGitHubEnvelope(webhook))).toEqual(webhook);
    // Go matches keys to fields case-insensitively, keeps zero values for missing or null fields, and skips line breaks in base64.
    expect(decodeGitHubEnvelope(utf8('{"event":"push","PAYLOAD":"aGk\\n=","Signature":null,"Other":1}'))).toEqual({
      delivery: "",
      event: "push",
      signature: "",
      payload: utf8("hi"),
    });
    expect(decodeGitHubEnvelope(utf8("null")).payload).toBeNull();
    expect(decodeGitHubEnvelope(utf8('{"Delivery":5,"Event":"push"}')).delivery).toBe("");
  });
  it("refuses what Hookbot's json.Unmarshal refuses", () => {
    for (const bad of ["not json", "[1]", '{"Event":5}', '{"Payload":"aGk"}', '{"Payload":"a*b="}', '{"Payload":{}}']) {
      expect(() => decodeGitHubEnvelope(utf8(bad)), bad).toThrow(GitHubEnvelopeError);
    }
  });
});
