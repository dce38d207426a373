import { parseNatsUrl } from "./nats-url.ts";

/**
 * The variables that say how hookd reaches an existing NATS, and the combinations of them that cannot
 * work, each named by the variable to fix. Checked with the rest of the configuration, before anything
 * starts; the files they name are read when hookd connects (src/nats/connect-options.ts).
 */

export type NatsConnectSettings = {
  NATS_URL?: string | undefined;
  HOOKD_NATS_CREDS?: string | undefined;
  HOOKD_NATS_NKEY?: string | undefined;
  HOOKD_NATS_TOKEN?: string | undefined;
  HOOKD_NATS_TLS_CA?: string | undefined;
  HOOKD_NATS_TLS_CERT?: string | undefined;
  HOOKD_NATS_TLS_KEY?: string | undefined;
  HOOKD_JS_DOMAIN?: string | undefined;
};

export type SettingProblem = { variable: keyof NatsConnectSettings; message: string };

/** Only meaningful with NATS_URL: the nats-server hookd starts by itself has no users, TLS or domain. */
const NEEDS_URL = [
  "HOOKD_NATS_CREDS",
  "HOOKD_NATS_NKEY",
  "HOOKD_NATS_TOKEN",
  "HOOKD_NATS_TLS_CA",
  "HOOKD_NATS_TLS_CERT",
  "HOOKD_NATS_TLS_KEY",
  "HOOKD_JS_DOMAIN",
] as const;

/** A JetStream domain is one subject token: $JS.<domain>.API. */
const DOMAIN_PATTERN = /^[A-Za-z0-9_-]+$/;

export function natsSettingProblems(settings: NatsConnectSettings): SettingProblem[] {
  if (settings.NATS_URL === undefined) {
    return NEEDS_URL.filter((name) => settings[name] !== undefined).map((variable) => ({
      variable,
      message: "needs NATS_URL: it applies to an existing NATS, not to the nats-server hookd starts by itself",
    }));
  }
  const problems: SettingProblem[] = [];
  let urlAuth = false;
  try {
    urlAuth = parseNatsUrl(settings.NATS_URL).auth !== null;
  } catch (error) {
    problems.push({ variable: "NATS_URL", message: (error as Error).message });
  }
  const ways = [
    ...(urlAuth ? ["NATS_URL's user:password@ or token@"] : []),
    ...(["HOOKD_NATS_CREDS", "HOOKD_NATS_NKEY", "HOOKD_NATS_TOKEN"] as const).filter((name) =>
      settings[name] !== undefined
    ),
  ];
  if (ways.length > 1) {
    const variable = ways.at(-1) as SettingProblem["variable"];
    problems.push({ variable, message: `set one way to authenticate, not several: ${ways.join(" and ")} are set` });
  }
  if ((settings.HOOKD_NATS_TLS_CERT === undefined) !== (settings.HOOKD_NATS_TLS_KEY === undefined)) {
    const missing = settings.HOOKD_NATS_TLS_CERT === undefined ? "HOOKD_NATS_TLS_CERT" : "HOOKD_NATS_TLS_KEY";
    problems.push({
      variable: missing,
      message: "a client certificate needs both HOOKD_NATS_TLS_CERT (the certificate) and HOOKD_NATS_TLS_KEY " +
        `(its private key); ${missing} is not set`,
    });
  }
  if (settings.HOOKD_JS_DOMAIN !== undefined && !DOMAIN_PATTERN.test(settings.HOOKD_JS_DOMAIN)) {
    problems.push({
      variable: "HOOKD_JS_DOMAIN",
      message: "a JetStream domain is letters, digits, _ and - (as in the server's jetstream { domain: … })",
    });
  }
  return problems;
}
