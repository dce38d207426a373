/**
 * Random bytes for ids and the secret box's nonces, drawn from a pool refilled 4 KiB at a time: one getRandomValues call per
 * request cost a twentieth of ingest's CPU (each call is a trip into the runtime's CSPRNG). The
 * bytes are the same CSPRNG's; each is handed out once.
 */
const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let offset = 0;

export function randomBytes(length: number): Uint8Array {
  if (length > POOL_SIZE) return crypto.getRandomValues(new Uint8Array(length));
  if (offset + length > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    offset = 0;
  }
  const bytes = pool.slice(offset, offset + length);
  offset += length;
  return bytes;
}
