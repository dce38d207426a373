import { type AesGcmKey, aesGcmKey } from "./aes-gcm.ts";
import { fromBase64Url, toBase64Url, utf8 } from "./bytes.ts";
import { randomBytes } from "./random-pool.ts";

/**
 * Seals secrets before they go into NATS, so a stream dump or a backup holds no signing secret:
 * AES-256-GCM under a key derived by HKDF-SHA256 from key material (HOOKD_SECRETS_KEY, else the
 * server key), written as `enc:v1:<key id>:<nonce>:<ciphertext+tag>` (base64url). The associated
 * data is the owner's id (a subscription's), so a sealed secret copied onto another owner does not
 * open. Opening tries the key the text names among the current and previous keys, which is what
 * lets the key rotate; text without the prefix is a secret stored before sealing, and reads as is.
 * Web Crypto derives the keys; the cipher is the installed AES-GCM (Web Crypto's, or Node's: aes-gcm.ts).
 */

export const SEALED_PREFIX = "enc:v1:";
const SALT = utf8("hookd secret box");
const decoder = new TextDecoder();

export class SecretBoxError extends Error {
  /** True when the text names a key this box doesn't hold (another instance, or this one once configured, may open it). */
  constructor(message: string, readonly unknownKey = false) {
    super(message);
  }
}

type BoxKey = { id: string; key: AesGcmKey; mac: CryptoKey };

async function deriveKey(material: string): Promise<BoxKey> {
  const base = await crypto.subtle.importKey("raw", utf8(material), "HKDF", false, ["deriveKey", "deriveBits"]);
  const hkdf = (info: string) => ({ name: "HKDF", hash: "SHA-256", salt: SALT, info: utf8(info) });
  // The same 256 bits Web Crypto's deriveKey to an AES-GCM key would take, handed to whichever AES-GCM is installed.
  const key = await aesGcmKey(new Uint8Array(await crypto.subtle.deriveBits(hkdf("aes-256-gcm v1"), base, 256)));
  // The id names the key without revealing it: a separate HKDF output, so it says nothing about the AES key.
  const id = toBase64Url(new Uint8Array(await crypto.subtle.deriveBits(hkdf("key id v1"), base, 64)));
  const mac = await crypto.subtle.deriveKey(hkdf("fingerprint v1"), base, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return { id, key, mac };
}

export class SecretBox {
  private constructor(private readonly current: BoxKey, private readonly all: ReadonlyMap<string, BoxKey>) {}

  /** A box sealing under `current` and opening under it or any of `previous` (a rotation's old keys). */
  static async fromKeys(current: string, previous: readonly string[] = []): Promise<SecretBox> {
    const keys = await Promise.all([current, ...previous].map(deriveKey));
    const all = new Map<string, BoxKey>();
    for (const key of keys) if (!all.has(key.id)) all.set(key.id, key);
    return new SecretBox(keys[0]!, all);
  }

  /** The current key's id, as sealed texts name it. */
  get keyId(): string {
    return this.current.id;
  }

  async seal(secret: string, owner: string): Promise<string> {
    // From the pool: a nonce is never handed out twice, and a call into the CSPRNG per seal cost more than the seal.
    const nonce = randomBytes(12);
    const sealed = await this.current.key.seal(nonce, utf8(owner), utf8(secret));
    return `${SEALED_PREFIX}${this.current.id}:${toBase64Url(nonce)}:${toBase64Url(sealed)}`;
  }

  /** The secret inside `text`; a text that isn't sealed is a legacy plain secret and comes back unchanged. */
  async open(text: string, owner: string): Promise<string> {
    if (!isSealed(text)) return text;
    const [keyId, nonce, sealed, ...rest] = text.slice(SEALED_PREFIX.length).split(":");
    if (!keyId || !nonce || !sealed || rest.length > 0) throw new SecretBoxError("a sealed secret is malformed");
    const key = this.all.get(keyId);
    if (!key) {
      throw new SecretBoxError(
        `a secret is sealed under key ${keyId}, which is neither HOOKD_SECRETS_KEY nor a previous key; ` +
          "set the key it was sealed under in HOOKD_SECRETS_KEY_PREVIOUS",
        true,
      );
    }
    try {
      return decoder.decode(await key.key.open(fromBase64Url(nonce), utf8(owner), fromBase64Url(sealed)));
    } catch {
      throw new SecretBoxError(
        `a secret sealed under key ${keyId} does not open: tampered, or sealed for another owner`,
      );
    }
  }

  /**
   * Keyed fingerprints of `text` (HMAC-SHA256, base64url), under the current key first, then each
   * previous one: what hookd stores instead of a plain digest of something secret, so a dump allows
   * no offline guessing; the previous keys' let a comparison made across a rotation still match.
   */
  async fingerprints(text: string): Promise<string[]> {
    const keys = [this.current, ...[...this.all.values()].filter((key) => key !== this.current)];
    return Promise.all(
      keys.map(async ({ mac }) => toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", mac, utf8(text))))),
    );
  }

  sealAll(secrets: readonly string[], owner: string): Promise<string[]> {
    return Promise.all(secrets.map((secret) => this.seal(secret, owner)));
  }

  openAll(texts: readonly string[], owner: string): Promise<string[]> {
    return Promise.all(texts.map((text) => this.open(text, owner)));
  }
}

export function isSealed(text: string): boolean {
  return text.startsWith(SEALED_PREFIX);
}

/** The id of the key `text` is sealed under; null for a plain (legacy) secret. */
export function sealedKeyId(text: string): string | null {
  return isSealed(text) ? (text.slice(SEALED_PREFIX.length).split(":")[0] ?? "") : null;
}
