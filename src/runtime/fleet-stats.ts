import { DELIVERY_STATES } from "../../actors/delivery.machine.ts";
import type { DeliveryChange } from "../domain/delivery-changes.ts";
import { FleetWindow, type FleetWindowSnapshot } from "../domain/fleet-window.ts";
import type { Logger } from "../log.ts";
import type { DeliveryChangeFeed } from "../nats/delivery-change-feed.ts";

/**
 * The fleet view's figures on this instance: how many deliveries are in each state now, and the last
 * minutes' flow (states entered, transitions, per-host success and latency) counted from the change
 * feed. When first asked, it reads the window's journal back by time, so a fresh instance shows the same
 * minutes as one that has run for hours. Watchers are told at most once a second that figures moved.
 */

export type StateCounts = Record<string, number>;
/** Counts deliveries per state from scratch; today a scan of the journal's heads, later the delivery index. */
export type CountStates = () => Promise<StateCounts>;

export type FleetSnapshot = FleetWindowSnapshot & {
  /** Deliveries per state now: a count taken at most `countRefreshMs` ago, moved on by every change since. */
  states: StateCounts;
  /** The journal sequence the figures include changes up to. */
  position: number;
  /** False while the window is still being read back from the journal: the flow covers only part of it. */
  window_complete: boolean;
};

export type FleetStatsOptions = {
  feed: DeliveryChangeFeed;
  countStates: CountStates;
  log: Logger;
  windowMinutes: number;
  maxHosts: number;
  clock: () => number;
  /** How old the from-scratch count may get before a request takes a new one. */
  countRefreshMs?: number;
  /** How often watchers may be told (ms). */
  notifyMs?: number;
};

type Baseline = { counts: StateCounts; at: number };

const CATCHING_UP_REFRESH_MS = 3_000;

export class FleetStats {
  readonly #window: FleetWindow;
  #position = 0;
  #baseline: Baseline | null = null;
  #counting: Promise<Baseline> | null = null;
  /** Changes per state since the baseline's count began: +1 entering, -1 leaving. */
  #deltas = new Map<string, number>();
  readonly #watchers = new Set<() => void>();
  #moved = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  #started: Promise<void> | null = null;
  /** The window's read-back is done: changes from here on are live, and move the counts per state. */
  #caughtUp = false;

  constructor(private readonly options: FleetStatsOptions) {
    this.#window = new FleetWindow(options.windowMinutes, options.maxHosts);
  }

  /**
   * Starts the shared change feed, reading back the window's journal first, the first time anyone
   * asks for the figures: an instance whose console nobody opens reads no journal for them (the read
   * back of a busy window takes a while and competed with deliveries when it ran at every start).
   * Figures asked for meanwhile do not wait for it: they say the window is not complete yet, and
   * watchers hear of it filling in.
   */
  start(): Promise<void> {
    if (this.#started) return this.#started;
    const sinceMs = this.options.clock() - this.options.windowMinutes * 60_000;
    const reader = { deliver: (changes: readonly DeliveryChange[]) => this.#take(changes), lost: () => undefined };
    this.#started = this.options.feed.attachSince(sinceMs, reader).then(() => {
      this.#caughtUp = true;
      // Counted again from the index, and moved by live changes only from here on.
      this.#baseline = null;
      this.#moved = true;
    });
    this.#started.catch((error: unknown) => {
      // The next request for the figures tries again.
      this.#started = null;
      this.options.log.warn({ err: error }, "could not read the fleet window back from the journal");
    });
    return this.#started;
  }

  #take(changes: readonly DeliveryChange[]): void {
    const now = this.options.clock();
    for (const change of changes) {
      this.#window.add(change, now);
      this.#position = change.seq;
      // Changes read back happened before the count was taken: only live ones move it.
      if (!this.#caughtUp) continue;
      if (change.from !== null) this.#deltas.set(change.from, (this.#deltas.get(change.from) ?? 0) - 1);
      this.#deltas.set(change.to, (this.#deltas.get(change.to) ?? 0) + 1);
    }
    this.#moved = true;
  }

  /** The figures now. */
  async snapshot(): Promise<FleetSnapshot> {
    // A failed start is tried again at the next request; the figures are then what it has counted.
    void this.start().catch(() => undefined);
    const states = await this.stateCounts();
    return {
      ...this.#window.snapshot(this.options.clock()),
      states,
      position: this.#position,
      window_complete: this.#caughtUp,
    };
  }

  /** Deliveries per state now. */
  async stateCounts(): Promise<StateCounts> {
    // The counts move with the feed's changes between two counts, so the feed must be running.
    void this.start().catch(() => undefined);
    // While the window is read back, no change moves the count: it is taken again more often.
    const refreshMs = this.#caughtUp ? this.options.countRefreshMs ?? 60_000 : CATCHING_UP_REFRESH_MS;
    const fresh = this.#baseline && this.options.clock() - this.#baseline.at < refreshMs;
    const baseline = fresh ? this.#baseline! : await this.#recount();
    const counts: StateCounts = Object.fromEntries(DELIVERY_STATES.map((state) => [state, 0]));
    for (const [state, count] of Object.entries(baseline.counts)) counts[state] = count;
    for (const [state, delta] of this.#deltas) counts[state] = Math.max(0, (counts[state] ?? 0) + delta);
    return counts;
  }

  #recount(): Promise<Baseline> {
    this.#counting ??= (async () => {
      // Changes from here on move the new count; ones the count already saw are counted twice, for at most one refresh.
      const deltas = new Map<string, number>();
      const previous = this.#deltas;
      this.#deltas = deltas;
      try {
        const counts = await this.options.countStates();
        this.#baseline = { counts, at: this.options.clock() };
        return this.#baseline;
      } catch (error) {
        for (const [state, delta] of deltas) previous.set(state, (previous.get(state) ?? 0) + delta);
        this.#deltas = previous;
        throw error;
      } finally {
        this.#counting = null;
      }
    })();
    return this.#counting;
  }

  /** Calls `watcher` at most once per `notifyMs` while the figures move; returns how to stop. */
  watch(watcher: () => void): () => void {
    void this.start().catch(() => undefined);
    this.#watchers.add(watcher);
    this.#timer ??= setInterval(() => this.#notify(), this.options.notifyMs ?? 1_000);
    return () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  #notify(): void {
    if (!this.#moved) return;
    this.#moved = false;
    for (const watcher of this.#watchers) {
      try {
        watcher();
      } catch (error) {
        this.options.log.error({ err: error }, "a fleet watcher failed");
      }
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#watchers.clear();
  }
}
