/**
 * The delivery comparison in rounds: each round drains the same number of jobs (hookd: as many of
 * them as it accepted) through hookd, the BullMQ peer and the bare JetStream floor, one after the other, starting with a different one each
 * round (in three rounds each goes first, second and third once). This machine's speed moves by half
 * within minutes (two drains of the same code ten minutes apart read 2,722/s and 4,141/s), so a ratio
 * of two drains taken minutes apart carries that swing; within a round they run back to back,
 * and the median of the rounds' ratios is the figure to compare.
 */

export const CONTENDERS = ["hookd", "BullMQ", "floor"] as const;
export type Contender = (typeof CONTENDERS)[number];
export type Drain = { perSecond: number; cpuMs: Record<string, number> } | { skipped: string };
export type Round = Record<Contender, Drain>;

/** The order round `index` (from 0) drains in: the contenders rotated by the round's number. */
export function roundOrder(index: number): Contender[] {
  const start = index % CONTENDERS.length;
  return [...CONTENDERS.slice(start), ...CONTENDERS.slice(0, start)];
}

export async function alternatingRounds(
  rounds: number,
  drains: Record<Contender, () => Promise<Drain>>,
  onRound: (round: Round, index: number) => void = () => {},
): Promise<Round[]> {
  const done: Round[] = [];
  for (let index = 0; index < rounds; index++) {
    const round: Partial<Round> = {};
    for (const contender of roundOrder(index)) round[contender] = await drains[contender]();
    done.push(round as Round);
    onRound(round as Round, index);
  }
  return done;
}

const rateOf = (drain: Drain) => ("skipped" in drain ? null : drain.perSecond);

/** `a`'s rate over `b`'s in each round where both drained, in round order; empty when none did. */
export function roundRatios(rounds: readonly Round[], a: Contender, b: Contender): number[] {
  return rounds.flatMap((round) => {
    const [over, under] = [rateOf(round[a]), rateOf(round[b])];
    return over === null || under === null ? [] : [over / under];
  });
}

/** The middle value, or the mean of the two middle ones for an even count (a skipped round leaves two). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** "0.51, 0.48, 0.55 (median 0.51)"; a dash when no round drained both. */
export function ratioLine(ratios: readonly number[]): string {
  if (ratios.length === 0) return "–";
  return `${ratios.map((ratio) => ratio.toFixed(2)).join(", ")} (median ${median(ratios).toFixed(2)})`;
}

/**
 * CPU ms per job of every process a drain read, summed: what the whole machine spent on one job. NaN
 * when a process could not be read (redis-server where /proc does not show it): a sum without it
 * would flatter that side.
 */
export function cpuPerJob(drain: Drain): number {
  if ("skipped" in drain) return NaN;
  const readings = Object.values(drain.cpuMs);
  return readings.length === 0 ? NaN : readings.reduce((sum, ms) => sum + ms, 0);
}
