/**
 * How many streams each token holds open on this instance, bounded (HOOKD_STREAM_MAX_PER_TOKEN).
 * Topic streams and change streams each keep one count, so a token's two kinds do not take each
 * other's places.
 */

export class TooManyStreamsError extends Error {
  constructor(readonly limit: number) {
    super(`This token already holds ${limit} open streams on this instance (HOOKD_STREAM_MAX_PER_TOKEN).`);
  }
}

export class TokenSlots {
  readonly #held = new Map<string, number>();

  constructor(private readonly maxPerToken: number) {}

  /**
   * Takes one of the token's places, or throws TooManyStreamsError; the function gives it back (once,
   * however often it is called). Tokens are hex and checked case-insensitively, so they count that way.
   */
  hold(token: string): () => void {
    const key = token.toLowerCase();
    const held = this.#held.get(key) ?? 0;
    if (held >= this.maxPerToken) throw new TooManyStreamsError(this.maxPerToken);
    this.#held.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(key) ?? 1) - 1;
      if (left <= 0) this.#held.delete(key);
      else this.#held.set(key, left);
    };
  }
}
