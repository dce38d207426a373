const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** The parts one after another, in one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const byte of view) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * base64 both ways, as atob and btoa read and write it. Every request body is stored in base64 and read back
 * for each attempt, and under Node 20 and 22 btoa costs about 15 µs a kilobyte (atob a few); so a runtime may
 * install a faster codec that gives the same text and bytes (Node's entry point installs Buffer's,
 * src/base64-node.ts). Where the runtime has the standard Uint8Array methods (Deno), they are the default.
 */
export type Base64Codec = {
  encode(bytes: Uint8Array): string;
  /** Throws on text atob refuses. */
  decode(text: string): Uint8Array<ArrayBuffer>;
};

export const atobCodec: Base64Codec = {
  encode(view) {
    let binary = "";
    const chunk = 0x8000;
    for (let i = 0; i < view.length; i += chunk) {
      binary += String.fromCharCode(...view.subarray(i, i + chunk));
    }
    return btoa(binary);
  },
  decode(text) {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  },
};

// The TC39 base64 methods (Uint8Array.prototype.toBase64, Uint8Array.fromBase64); TypeScript's lib has no types for them yet.
const toStandard = (Uint8Array.prototype as { toBase64?: (this: Uint8Array) => string }).toBase64;
const fromStandard = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array<ArrayBuffer> }).fromBase64;

const standardCodec: Base64Codec | null = toStandard && fromStandard
  ? {
    encode: (view) => toStandard.call(view),
    // Where fromBase64 refuses text, atob has the last word, so what atob reads is read as before.
    decode: (text) => {
      try {
        return fromStandard(text);
      } catch {
        return atobCodec.decode(text);
      }
    },
  }
  : null;

let base64: Base64Codec = standardCodec ?? atobCodec;

/** Set once by a runtime's entry point, before hookd starts. */
export function useBase64(codec: Base64Codec): void {
  base64 = codec;
}

export function toBase64(bytes: Uint8Array | ArrayBuffer): string {
  return base64.encode(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return base64.decode(text);
}

/** base64url without padding (RFC 4648 §5), as used in `/dispatch/<target>` paths. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new Error("not base64url");
  const normal = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(normal + "=".repeat((4 - (normal.length % 4)) % 4));
}

export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Compares without an early exit, so the time taken does not tell how many leading characters matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/** How long `bytes` bytes are once base64-encoded (with padding). */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The most bytes that base64 text of `length` characters can hold. */
export function base64Capacity(length: number): number {
  return Math.floor((length * 3) / 4);
}
