import type { SecretBox } from "./secret-box.ts";

/**
 * Seals the secrets a delivery's created event carries, and opens them for each attempt. The
 * associated data names the purpose ("delivery"), not the delivery: a dispatch's id is only known
 * inside the group commit, after sealing, and one sealed text can then serve every delivery signed
 * with the same secret (the server's default, a subscription's), so a dispatch costs a map lookup
 * rather than an AES-GCM call. Copying a sealed secret onto another delivery needs write access to
 * the journal, which can create such a delivery anyway.
 */

const OWNER = "delivery";
/**
 * Distinct secrets remembered each way; past it the memo starts over (only a cache: a miss seals or opens
 * again). One event goes to every subscription of its topic, each with its own secret, in turn: with more of
 * them than the memo holds, every delivery sealed again (an AES-GCM call, a third of what else a fan-out
 * delivery costs hookd). Each secret remembered takes a few hundred bytes.
 */
export const MEMO_SIZE = 65_536;

export class DeliverySecrets {
  readonly #sealed = new Map<string, string>();
  readonly #opened = new Map<string, string>();

  constructor(private readonly box: SecretBox) {}

  seal(secrets: readonly string[]): Promise<string[]> {
    return Promise.all(secrets.map((secret) => this.#memo(this.#sealed, secret, () => this.#sealOne(secret))));
  }

  /** The plain secrets of a created event; a text stored before sealing reads as is. */
  open(texts: readonly string[]): Promise<string[]> {
    return Promise.all(texts.map((text) => this.#memo(this.#opened, text, () => this.box.open(text, OWNER))));
  }

  /** Keyed fingerprints of `text`, current key first (SecretBox.fingerprints). */
  fingerprints = (text: string): Promise<string[]> => this.box.fingerprints(text);

  /** A delivery is often attempted by the instance that sealed its secrets (fan-out's, record 27): it opens them from here. */
  async #sealOne(secret: string): Promise<string> {
    const sealed = await this.box.seal(secret, OWNER);
    this.#remember(this.#opened, sealed, secret);
    return sealed;
  }

  async #memo(memo: Map<string, string>, key: string, make: () => Promise<string>): Promise<string> {
    const known = memo.get(key);
    if (known !== undefined) return known;
    const value = await make();
    this.#remember(memo, key, value);
    return value;
  }

  #remember(memo: Map<string, string>, key: string, value: string): void {
    if (memo.size >= MEMO_SIZE) memo.clear();
    memo.set(key, value);
  }
}
