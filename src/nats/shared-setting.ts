import { type Journal, JournalConflictError } from "./journal.ts";

/**
 * A value every instance on one NATS must agree on, such as the signing secret hookd made: one message
 * on its own subject. The first instance to start writes its offer at expected sequence 0; every later
 * one, and one that lost that race, takes what is stored. So instances agree without talking to each other.
 */
export async function agreeOnSetting(journal: Journal, subject: string, offer: string): Promise<string> {
  const stored = await journal.readLast(subject);
  if (stored) return new TextDecoder().decode(stored.data);
  try {
    await journal.append(subject, offer, { expectedSeq: 0 });
    return offer;
  } catch (error) {
    if (!(error instanceof JournalConflictError)) throw error;
  }
  const winner = await journal.readLast(subject);
  if (!winner) throw new Error(`another instance wrote ${subject}, but it cannot be read back`);
  return new TextDecoder().decode(winner.data);
}
