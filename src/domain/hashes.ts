import { hmacKey } from "./hmac-keys.ts";

/**
 * The two hashes every delivery's path takes: SHA-256 (a fan-out delivery's id is derived with it, as are a
 * report's and a routed event's) and HMAC-SHA256 (its signature). Web Crypto's run on every runtime and are the default. Under Node each Web
 * Crypto call is a job handed to libuv's thread pool and back, which cost a fan-out delivery more of hookd's
 * time than both hashes themselves; so Node's entry point installs Node's own, synchronous, ones
 * (src/hashes-node.ts, decision record 29). Both give the same bytes.
 */
export type Hashes = {
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /** `label` and `raw` name the key (as hmacKey does, for Web Crypto's imported keys); `key` makes its bytes. */
  hmacSha256(label: string, raw: string, key: () => Uint8Array<ArrayBuffer>, data: Uint8Array): Promise<Uint8Array>;
};

export const webCryptoHashes: Hashes = {
  async sha256(data) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  },
  async hmacSha256(label, raw, key, data) {
    const imported = await hmacKey(label, raw, key);
    return new Uint8Array(await crypto.subtle.sign("HMAC", imported, data as Uint8Array<ArrayBuffer>));
  },
};

let installed: Hashes = webCryptoHashes;

/** Set once by a runtime's entry point, before hookd starts. */
export function useHashes(hashes: Hashes): void {
  installed = hashes;
}

export function sha256(data: Uint8Array): Promise<Uint8Array> {
  return installed.sha256(data);
}

export function hmacSha256(
  label: string,
  raw: string,
  key: () => Uint8Array<ArrayBuffer>,
  data: Uint8Array,
): Promise<Uint8Array> {
  return installed.hmacSha256(label, raw, key, data);
}
