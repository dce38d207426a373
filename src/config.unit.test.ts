import { describe, expect, it } from "vitest";
import { ackWaitFor, ConfigError, loadConfig } from "./config.ts";

describe("configuration", () => {
  it("has working defaults", () => {
    const config = loadConfig({});
    expect(config.HOOKD_PORT).toBe(8080);
    expect(config.HOOKD_HOST).toBe("127.0.0.1");
    expect(config.HOOKD_DATA_DIR).toBe("./data");
    expect(config.NATS_URL).toBeUndefined();
    expect(config.HOOKD_TIMEOUT).toBe(15_000);
    expect(config.HOOKD_RETRY_SCHEDULE).toEqual([
      5_000,
      30_000,
      120_000,
      600_000,
      1_800_000,
      3_600_000,
      10_800_000,
      21_600_000,
      43_200_000,
      86_400_000,
    ]);
    expect(config.HOOKD_MAX_BODY).toBe(1_048_576);
    expect(config.HOOKD_ALLOWED_NETWORKS).toEqual([]);
    expect(ackWaitFor(config)).toBe(25_000);
  });
  it("reads values and treats empty strings as unset", () => {
    const config = loadConfig({
      HOOKD_PORT: "9000",
      HOOKD_TIMEOUT: "2.5s",
      HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8, ::1/128",
      NATS_URL: "",
      HOOKD_MAX_BODY: "256KiB",
    });
    expect(config.HOOKD_PORT).toBe(9000);
    expect(config.HOOKD_TIMEOUT).toBe(2_500);
    expect(config.HOOKD_ALLOWED_NETWORKS).toEqual(["127.0.0.0/8", "::1/128"]);
    expect(config.NATS_URL).toBeUndefined();
    expect(config.HOOKD_MAX_BODY).toBe(262_144);
  });
  it("names every wrong variable and says what it accepts", () => {
    let error: unknown;
    try {
      loadConfig({
        HOOKD_PORT: "http",
        HOOKD_TIMEOUT: "soon",
        HOOKD_ALLOWED_NETWORKS: "10.0.0.1",
        HOOKD_SIGNING_SECRET: "secret",
        HOOKD_KEY: "short",
        HOOKD_RETRY_SCHEDULE: ",",
        HOOKD_CORS_ORIGINS: "https://ok.example.com, app.example.com/path",
        HOOKD_STREAM_BUFFER: "10",
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/HOOKD_PORT: "http" must be a whole number from 0 to 65535/);
    expect(message).toMatch(/HOOKD_TIMEOUT: "soon" is not a duration/);
    expect(message).toMatch(/HOOKD_ALLOWED_NETWORKS: "10.0.0.1" is not a CIDR/);
    expect(message).toMatch(/HOOKD_SIGNING_SECRET: must be a Standard Webhooks secret/);
    expect(message).toMatch(/HOOKD_KEY: HOOKD_KEY must be at least 16 characters/);
    expect(message).toMatch(/HOOKD_RETRY_SCHEDULE: needs 1 to 50 delays/);
    expect(message).toMatch(/HOOKD_CORS_ORIGINS: "app.example.com\/path" is not an origin/);
    expect(message).not.toMatch(/ok\.example\.com/);
    expect(message).toMatch(/HOOKD_STREAM_BUFFER: must be at least 1KiB/);
  });
  it("refuses a retry delay over 30 days, a duration over a hundred years and a body limit under 1KiB", () => {
    expect(loadConfig({ HOOKD_RETRY_SCHEDULE: "1m,30d" }).HOOKD_RETRY_SCHEDULE).toEqual([60_000, 2_592_000_000]);
    expect(() => loadConfig({ HOOKD_RETRY_SCHEDULE: "1m,31d" })).toThrow(
      /HOOKD_RETRY_SCHEDULE: has a delay over 30d/,
    );
    expect(() => loadConfig({ HOOKD_RETRY_SCHEDULE: "99999999999999d" })).toThrow(
      /HOOKD_RETRY_SCHEDULE: "99999999999999d" is longer than 36500d/,
    );
    expect(() => loadConfig({ HOOKD_MAX_BODY: "0" })).toThrow(/HOOKD_MAX_BODY: must be at least 1KiB/);
    expect(() => loadConfig({ HOOKD_JOURNAL_MAX_AGE: "99999999999999d" })).toThrow(
      /HOOKD_JOURNAL_MAX_AGE: "99999999999999d" is longer than 36500d/,
    );
  });
  it("signs with a generated secret unless HOOKD_SIGNING_SECRET names one, or is off", () => {
    expect(loadConfig({}).HOOKD_SIGNING_SECRET).toBeUndefined();
    expect(loadConfig({ HOOKD_SIGNING_SECRET: "off" }).HOOKD_SIGNING_SECRET).toBe("off");
    const secret = "whsec_" + btoa("0123456789abcdef01234567");
    expect(loadConfig({ HOOKD_SIGNING_SECRET: secret }).HOOKD_SIGNING_SECRET).toBe(secret);
    expect(() => loadConfig({ HOOKD_SIGNING_SECRET: "false" })).toThrow(
      /HOOKD_SIGNING_SECRET: must be a Standard Webhooks secret \(whsec_ followed by base64 of 16 to 64 bytes\), or "off" to send deliveries unsigned; leave it unset to have hookd make one/,
    );
  });

  it("replicas and namespace: defaults, values, and a message naming the variable", () => {
    const defaults = loadConfig({});
    expect([defaults.HOOKD_REPLICAS, defaults.HOOKD_REPLICAS_SHRINK, defaults.HOOKD_NAMESPACE]).toEqual([
      1,
      "0",
      "hookd",
    ]);
    const set = loadConfig({ HOOKD_REPLICAS: "3", HOOKD_REPLICAS_SHRINK: "1", HOOKD_NAMESPACE: "staging-2" });
    expect([set.HOOKD_REPLICAS, set.HOOKD_REPLICAS_SHRINK, set.HOOKD_NAMESPACE]).toEqual([3, "1", "staging-2"]);
    const cases: [Record<string, string>, RegExp][] = [
      [{ HOOKD_REPLICAS: "0" }, /HOOKD_REPLICAS: "0" must be a whole number from 1 to 5/],
      [{ HOOKD_REPLICAS: "6" }, /HOOKD_REPLICAS: .*from 1 to 5/],
      [{ HOOKD_REPLICAS_SHRINK: "yes" }, /HOOKD_REPLICAS_SHRINK: must be 1/],
      [{ HOOKD_NAMESPACE: "Prod" }, /HOOKD_NAMESPACE: must be lower-case letters, digits and "-"/],
      [{ HOOKD_NAMESPACE: "a.b" }, /HOOKD_NAMESPACE: .*subject/],
      [{ HOOKD_NAMESPACE: "a*" }, /HOOKD_NAMESPACE/],
      [{ HOOKD_NAMESPACE: "-x" }, /HOOKD_NAMESPACE/],
      [{ HOOKD_NAMESPACE: "x".repeat(33) }, /HOOKD_NAMESPACE: must be at most 32 characters/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(message);
      expect(() => loadConfig(env)).toThrow(ConfigError);
    }
  });
  it("processes: one by default; more need NATS_URL, and the message names the variable", () => {
    expect(loadConfig({}).HOOKD_PROCESSES).toBe(1);
    expect(loadConfig({ HOOKD_PROCESSES: "4", NATS_URL: "nats://127.0.0.1:4222" }).HOOKD_PROCESSES).toBe(4);
    const named = { HOOKD_PROCESSES: "9", NATS_URL: "nats://127.0.0.1:4222", HOOKD_INSTANCE_ID: "x".repeat(98) };
    expect(loadConfig(named).HOOKD_INSTANCE_ID).toHaveLength(98);
    const cases: [Record<string, string>, RegExp][] = [
      [{ HOOKD_PROCESSES: "2" }, /HOOKD_PROCESSES: more than one process needs NATS_URL/],
      [
        { HOOKD_PROCESSES: "0", NATS_URL: "nats://127.0.0.1:4222" },
        /HOOKD_PROCESSES: "0" must be a whole number from 1 to 64/,
      ],
      [{ HOOKD_PROCESSES: "two", NATS_URL: "nats://127.0.0.1:4222" }, /HOOKD_PROCESSES: "two" must be a whole number/],
      [
        { HOOKD_PROCESSES: "12", NATS_URL: "nats://127.0.0.1:4222", HOOKD_INSTANCE_ID: "x".repeat(98) },
        /HOOKD_INSTANCE_ID: must be at most 97 characters with HOOKD_PROCESSES=12/,
      ],
    ];
    for (const [env, message] of cases) expect(() => loadConfig(env), JSON.stringify(env)).toThrow(message);
  });
});
