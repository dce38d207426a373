import { describe, expect, it } from "vitest";
import { goJsonObject, goJsonString } from "./go-json.ts";

describe("Go-compatible JSON", () => {
  it("sorts keys and escapes what Go's json.Marshal escapes", () => {
    expect(goJsonObject({ Who: "<unknown>", Branch: "a&b" })).toBe(
      '{"Branch":"a\\u0026b","Who":"\\u003cunknown\\u003e"}',
    );
    expect(goJsonString("line\u2028para\u2029")).toBe('"line\\u2028para\\u2029"');
  });
  it("writes control characters the way Go 1.22 does", () => {
    expect(goJsonString('q"b\\\b\f\n\r\t\u0001\u001f')).toBe('"q\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f"');
  });
  it("leaves other characters as they are, and turns a lone surrogate into U+FFFD", () => {
    expect(goJsonString("ümlaut 🙂 /")).toBe('"ümlaut 🙂 /"');
    expect(goJsonString("a\uD800b")).toBe('"a\uFFFDb"');
  });
});
