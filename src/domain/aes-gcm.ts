/**
 * AES-256-GCM, which the secret box seals and opens secrets with. Web Crypto's runs on every runtime and
 * is the default; under Node each Web Crypto call is a job handed to libuv's thread pool and back, which
 * made sealing a fan-out delivery's copy of its subscription's secret (once per subscription, on the
 * first event after a start) about 50 µs of the main thread's time. So Node's entry point installs Node's
 * own synchronous cipher (src/aes-gcm-node.ts, decision record 32). Both write the same bytes: the
 * ciphertext followed by its 16-byte tag.
 */

export type AesGcmKey = {
  seal(nonce: Uint8Array, additionalData: Uint8Array, plain: Uint8Array): Promise<Uint8Array>;
  /** Rejects when the tag does not match: tampered, another key, or other associated data. */
  open(nonce: Uint8Array, additionalData: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
};

/** Makes a key from its 32 raw bytes. */
export type AesGcm = (raw: Uint8Array) => Promise<AesGcmKey>;

type Bytes = Uint8Array<ArrayBuffer>;
const params = (nonce: Uint8Array, additionalData: Uint8Array) => ({
  name: "AES-GCM",
  iv: nonce as Bytes,
  additionalData: additionalData as Bytes,
});

export const webCryptoAesGcm: AesGcm = async (raw) => {
  const key = await crypto.subtle.importKey("raw", raw as Bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
  return {
    seal: async (nonce, additionalData, plain) =>
      new Uint8Array(await crypto.subtle.encrypt(params(nonce, additionalData), key, plain as Bytes)),
    open: async (nonce, additionalData, sealed) =>
      new Uint8Array(await crypto.subtle.decrypt(params(nonce, additionalData), key, sealed as Bytes)),
  };
};

let installed: AesGcm = webCryptoAesGcm;

/** Set once by a runtime's entry point, before hookd starts (a key made earlier keeps its implementation). */
export function useAesGcm(aesGcm: AesGcm): void {
  installed = aesGcm;
}

export function aesGcmKey(raw: Uint8Array): Promise<AesGcmKey> {
  return installed(raw);
}
