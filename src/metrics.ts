import { Counter, Gauge, type GaugeConfiguration, Histogram, Registry } from "prom-client";

/** Every process's metrics could not be had (HOOKD_PROCESSES): /metrics answers 503 rather than part of the sum. */
export class MetricsUnavailableError extends Error {}

/** What some gauges read at each scrape, from parts made after the metrics (the NATS link, the topic streams). */
export type MetricReadings = { natsConnected: () => boolean; streamsOpen: () => number; streamFeeds: () => number };

/**
 * hookd's Prometheus metrics, served at GET /metrics. Gauges that read a part are read at each scrape
 * (`collect`), so a scrape answered with every process's metrics (HOOKD_PROCESSES) has each one's.
 */
export class HookdMetrics {
  readonly registry = new Registry();
  #readings: MetricReadings | null = null;
  #exposition: () => Promise<string> = () => this.registry.metrics();

  /** What the reading gauges read from now on. */
  readFrom(readings: MetricReadings): void {
    this.#readings = readings;
  }

  /** The text GET /metrics serves: this registry's, unless `exposeWith` said otherwise (every process's); rejects when it cannot be had. */
  exposition(): Promise<string> {
    return this.#exposition();
  }

  exposeWith(exposition: () => Promise<string>): void {
    this.#exposition = exposition;
  }

  /** A gauge set from `read` at each scrape, once `readFrom` has said what to read. */
  #reading(
    config: Omit<GaugeConfiguration<string>, "registers" | "collect">,
    read: (readings: MetricReadings) => number,
  ) {
    const gauge: Gauge = new Gauge({
      ...config,
      registers: [this.registry],
      collect: () => {
        if (this.#readings) gauge.set(read(this.#readings));
      },
    });
    return gauge;
  }

  readonly accepted = new Counter({
    name: "hookd_deliveries_accepted_total",
    help: "Deliveries accepted (202), by source; idempotent replays excluded",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly refusedUnavailable = new Counter({
    name: "hookd_ingest_unavailable_total",
    help: "Requests answered 503 because NATS JetStream was unavailable",
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: "hookd_attempts_total",
    help: "Delivery attempts made by this instance, by outcome (succeeded, retry, permanent, interrupted)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly attemptSeconds = new Histogram({
    name: "hookd_attempt_duration_seconds",
    help: "Time from sending an attempt to having its response (or error)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly finished = new Counter({
    name: "hookd_deliveries_finished_total",
    help: "Deliveries this instance moved to a final state (delivered, failed)",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  readonly conflicts = new Counter({
    name: "hookd_journal_conflicts_total",
    help: "Journal appends that lost to a concurrent writer and were decided again",
    registers: [this.registry],
  });
  readonly working = new Gauge({
    name: "hookd_work_in_progress",
    help: "Work items this instance is handling right now",
    registers: [this.registry],
  });
  readonly firstAttempts = new Gauge({
    name: "hookd_first_attempts_in_progress",
    help: "First attempts this instance is making from ingest batches and fanned-out events right now",
    registers: [this.registry],
  });
  // Every instance reads the same figure from NATS: added up over processes, it would count it once per process.
  readonly backlogWaiting = new Gauge({
    name: "hookd_backlog_waiting",
    help: "Deliveries waiting in backoff or being attempted, across all instances (the work consumer's ack pending)",
    aggregator: "max",
    registers: [this.registry],
  });
  readonly backlogLimit = new Gauge({
    name: "hookd_backlog_limit",
    help: "HOOKD_MAX_BACKLOG as NATS has it: past it no new delivery is attempted until some come due",
    aggregator: "max",
    registers: [this.registry],
  });
  readonly natsConnected = this.#reading({
    name: "hookd_nats_connected",
    help: "1 while the NATS connection is up (of every process's, when HOOKD_PROCESSES runs several)",
    aggregator: "min",
  }, (readings) => (readings.natsConnected() ? 1 : 0));
  readonly streamsOpen = this.#reading({
    name: "hookd_streams_open",
    help: "Topic streams (SSE, WebSocket, /stream) this instance serves right now",
  }, (readings) => readings.streamsOpen());
  readonly streamFeeds = this.#reading({
    name: "hookd_stream_feeds",
    help: "Live feeds (one NATS consumer each, shared by the listeners of one topic filter) this instance holds",
  }, (readings) => readings.streamFeeds());
  readonly processes: Gauge = new Gauge({
    name: "hookd_processes",
    help: "hookd processes whose metrics this scrape adds up (HOOKD_PROCESSES; 1 when hookd runs one)",
    registers: [this.registry],
    collect: () => this.processes.set(1),
  });
  readonly streamsEnded = new Counter({
    name: "hookd_streams_ended_total",
    help:
      "Topic streams hookd ended itself, by reason (slow-consumer, shutting-down, interrupted, token-revoked, token-expired)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
}
