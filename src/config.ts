import { z } from "zod";
import { NetworkPolicy } from "./delivery/network-policy.ts";
import { parseByteSize, parseDuration } from "./domain/duration.ts";
import { parseRetrySchedule } from "./domain/retry-policy.ts";
import { parseRate } from "./domain/address-rate-limit.ts";
import { isValidSecret } from "./domain/sign-standard-webhooks.ts";
import { natsSettingProblems } from "./nats/connect-settings.ts";
import { DEFAULT_NAMESPACE, MAX_REPLICAS, namespaceProblem } from "./nats/layout.ts";
import { SIGNING_OFF } from "./signing-secret.ts";

/** hookd's configuration, from HOOKD_* environment variables (and NATS_URL), checked at start. */

/** A string variable with a default, turned into a value by `parse`; what `parse` throws becomes the message. */
const parsed = <T>(fallback: string, parse: (text: string) => T) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parse(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    });

const duration = (fallback: string) => parsed(fallback, parseDuration);

const integer = (fallback: number, min: number, max: number) =>
  parsed(String(fallback), (text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`"${text}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  });

/** A comma-separated list (empty by default); `problem` names what is wrong with an item, or null when it is fine. Every bad item is reported. */
const commaList = (problem: (item: string) => string | null) =>
  z
    .string()
    .default("")
    .transform((text, ctx) => {
      const items = text.split(",").map((part) => part.trim()).filter(Boolean);
      for (const item of items) {
        const message = problem(item);
        if (message !== null) ctx.addIssue({ code: "custom", message });
      }
      return items;
    });

const emptyAsUndefined = (value: unknown) => (value === "" ? undefined : value);
const optionalText = z.preprocess(emptyAsUndefined, z.string().optional());

const MAX_INSTANCE_ID = 100;

export const ConfigSchema = z.object({
  HOOKD_PORT: integer(8080, 0, 65_535),
  HOOKD_HOST: z.string().default("127.0.0.1"),
  HOOKD_DATA_DIR: z.string().default("./data"),
  NATS_URL: z.preprocess(emptyAsUndefined, z.string().optional()),
  HOOKD_NATS_SERVER_BIN: z.string().default("nats-server"),
  // Connecting to an existing NATS (docs/nats.md); which combinations work is checked below.
  HOOKD_NATS_CREDS: optionalText,
  HOOKD_NATS_NKEY: optionalText,
  HOOKD_NATS_TOKEN: optionalText,
  HOOKD_NATS_TLS_CA: optionalText,
  HOOKD_NATS_TLS_CERT: optionalText,
  HOOKD_NATS_TLS_KEY: optionalText,
  HOOKD_JS_DOMAIN: optionalText,
  HOOKD_NATS_CONNECT_TIMEOUT: duration("30s").refine((ms) => ms <= 3_600_000, "must be at most 1h"),
  // Copies JetStream keeps of every stream and durable consumer hookd makes; raising it scales existing streams up.
  HOOKD_REPLICAS: integer(1, 1, MAX_REPLICAS),
  // Lowering HOOKD_REPLICAS below what the streams have is refused unless this says to scale them down.
  HOOKD_REPLICAS_SHRINK: z.enum(["0", "1"], "must be 1 (scale streams down to HOOKD_REPLICAS) or 0").default("0"),
  // Begins every NATS subject, stream and consumer name, so deployments sharing one NATS account see nothing of each other.
  HOOKD_NAMESPACE: parsed(DEFAULT_NAMESPACE, (text) => {
    const problem = namespaceProblem(text);
    if (problem !== null) throw new Error(problem);
    return text;
  }),
  HOOKD_KEY: z.preprocess(emptyAsUndefined, z.string().min(16, "HOOKD_KEY must be at least 16 characters").optional()),
  // Seals subscription and delivery secrets in NATS; unset: a key derived from HOOKD_KEY (or the data folder's key).
  HOOKD_SECRETS_KEY: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, "HOOKD_SECRETS_KEY must be at least 16 characters").optional(),
  ),
  // Keys secrets were sealed under before a rotation, comma-separated: they still open, new ones seal under the current key.
  HOOKD_SECRETS_KEY_PREVIOUS: z.preprocess(
    emptyAsUndefined,
    z.string().optional().transform((text) => (text ?? "").split(",").map((key) => key.trim()).filter(Boolean)),
  ),
  HOOKD_PUBLIC_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
  HOOKD_TIMEOUT: duration("15s").refine((ms) => ms >= 100 && ms <= 300_000, "must be between 100ms and 5m"),
  HOOKD_RETRY_SCHEDULE: parsed("5s,30s,2m,10m,30m,1h,3h,6h,12h,24h", parseRetrySchedule),
  HOOKD_ALLOWED_NETWORKS: commaList((
    cidr,
  ) => (NetworkPolicy.validateCidr(cidr) ? null : `"${cidr}" is not a CIDR such as 127.0.0.0/8 or ::1/128`)),
  HOOKD_MAX_BODY: parsed("1MiB", parseByteSize).refine((bytes) => bytes >= 1_024, "must be at least 1KiB"),
  HOOKD_CONCURRENCY: integer(256, 1, 10_000),
  // Unset: the secret every instance on this NATS shares, made by the first one to start (src/start/signing-secret.ts).
  HOOKD_SIGNING_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().refine(
      (value) => value === SIGNING_OFF || isValidSecret(value),
      `must be a Standard Webhooks secret (whsec_ followed by base64 of 16 to 64 bytes), or "${SIGNING_OFF}" to send ` +
        "deliveries unsigned; leave it unset to have hookd make one",
    ).optional(),
  ),
  // At least the work stream's 2-minute duplicate window: a reused key must never be deduplicated away on its way to the queue.
  HOOKD_IDEMPOTENCY_WINDOW: duration("24h").refine((ms) => ms >= 120_000, "must be at least 2m"),
  HOOKD_JOURNAL_MAX_AGE: duration("30d"),
  HOOKD_TOPIC_MAX_AGE: duration("7d"),
  HOOKD_FAILURE_THRESHOLD: integer(50, 1, 100_000),
  HOOKD_CONFIG: z.preprocess(emptyAsUndefined, z.string().optional()),
  HOOKD_MAX_BACKLOG: integer(1_000_000, 1_000, 100_000_000),
  HOOKD_INSTANCE_ID: z.preprocess(emptyAsUndefined, z.string().max(MAX_INSTANCE_ID).optional()),
  HOOKD_WORKERS: z.enum(["on", "off"]).default("on"),
  // hookd processes sharing the port, each an instance of its own (Node's cluster, src/cluster-node.ts).
  HOOKD_PROCESSES: integer(1, 1, 64),
  HOOKD_STREAM_HEARTBEAT: duration("15s").refine((ms) => ms >= 100 && ms <= 3_600_000, "must be between 100ms and 1h"),
  // Per listener: what hookd holds for a listener that reads slower than the topic is written.
  HOOKD_STREAM_BUFFER: parsed("1MiB", parseByteSize).refine((bytes) => bytes >= 1024, "must be at least 1KiB"),
  HOOKD_STREAM_MAX_PER_TOKEN: integer(100, 1, 1_000_000),
  HOOKD_INLINE_WAITS: integer(1_000, 0, 1_000_000),
  // Origins whose pages may call hookd from a browser (the client library's listen, publish, dispatch); "*" for any.
  HOOKD_CORS_ORIGINS: commaList((origin) =>
    origin === "*" || /^https?:\/\/[^/\s]+$/.test(origin)
      ? null
      : `"${origin}" is not an origin such as https://app.example.com (scheme and host, no path), or *`
  ),
  // The fleet view's window: minutes of journal every instance counts in memory (and reads back at start).
  HOOKD_FLEET_WINDOW: duration("15m").refine(
    (ms) => ms >= 60_000 && ms <= 86_400_000 && ms % 60_000 === 0,
    "must be whole minutes, from 1m to 24h",
  ),
  HOOKD_FLEET_HOSTS: integer(100, 1, 10_000),
  HOOKD_BULK_MAX: integer(100_000, 1, 10_000_000),
  // Deliveries a second one bulk job acts on at most, so a large retry does not hit every receiver at once; 0: no limit.
  HOOKD_BULK_RATE: integer(0, 0, 1_000_000),
  // POST /verify per client address, per instance: "<count>/<window>", or "off".
  HOOKD_VERIFY_RATE: parsed("60/1m", (text) => (text === "off" ? null : parseRate(text, parseDuration))),
  HOOKD_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
}).superRefine((config, ctx) => {
  for (const { variable, message } of natsSettingProblems(config)) {
    ctx.addIssue({ code: "custom", path: [variable], message });
  }
  // Each process is named <id>-<n> (src/cluster-node.ts), within the same 100 characters.
  const most = MAX_INSTANCE_ID - `-${config.HOOKD_PROCESSES}`.length;
  if (config.HOOKD_PROCESSES > 1 && (config.HOOKD_INSTANCE_ID?.length ?? 0) > most) {
    ctx.addIssue({
      code: "custom",
      path: ["HOOKD_INSTANCE_ID"],
      message: `must be at most ${most} characters with HOOKD_PROCESSES=${config.HOOKD_PROCESSES}, ` +
        `which numbers it per process (-1 to -${config.HOOKD_PROCESSES})`,
    });
  }
  // The nats-server hookd starts by itself is one process's (it locks the data folder): the others could not reach it first.
  if (config.HOOKD_PROCESSES > 1 && config.NATS_URL === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["HOOKD_PROCESSES"],
      message: "more than one process needs NATS_URL: the nats-server hookd starts by itself serves one process",
    });
  }
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
  throw new ConfigError(`hookd's configuration is invalid:\n${lines.join("\n")}`);
}

/** Worst case time one attempt holds its work message; the queue redelivers only after this. */
export function ackWaitFor(config: Config): number {
  return config.HOOKD_TIMEOUT + 10_000;
}

/**
 * The longest inline wait (`Prefer: wait`), in whole seconds: one attempt's timeout and 5 s for its
 * hand-out and journaling. A longer wait could only outlast the first attempt, never see a later one.
 */
export function inlineWaitCap(config: Config): number {
  return Math.ceil(config.HOOKD_TIMEOUT / 1000) + 5;
}
