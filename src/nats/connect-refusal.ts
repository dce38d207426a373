import { errors } from "@nats-io/transport-node";
import type { ConnectPlan } from "./connect-options.ts";

/**
 * Why a first connection to NATS failed, in words an operator acts on: the cause and the variable to
 * fix, on one line. `final` says whether waiting could help (a server still starting) or not
 * (credentials refused, a certificate not trusted).
 */

/** Stops the start: hookd cannot use the NATS it was pointed at. Said on one line, no stack trace. */
export class NatsConnectError extends Error {}

export type Refusal = { final: boolean; reason: string; error: NatsConnectError };

/** Node's codes for a server certificate that does not check out against the trusted CAs. */
const UNTRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
]);

const codeOf = (error: unknown): string => {
  const own = (error as { code?: unknown } | null)?.code;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof own === "string" ? own : typeof cause === "string" ? cause : "";
};

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function tlsRefusal(code: string, message: string, plan: ConnectPlan, at: string): string | null {
  if (UNTRUSTED.has(code)) {
    const fix = plan.options.tls && "ca" in (plan.options.tls ?? {})
      ? "HOOKD_NATS_TLS_CA does not hold the CA that signed it; point it at that CA's certificate"
      : "set HOOKD_NATS_TLS_CA to the certificate of the CA that signed it";
    return `hookd does not trust the TLS certificate of NATS at ${at} (${message}): ${fix}`;
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return `the TLS certificate of NATS at ${at} is not for that address (${message}): ` +
      "name the server in NATS_URL as its certificate does";
  }
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || code.startsWith("ERR_OSSL_")) {
    const fix = plan.options.tls && "cert" in (plan.options.tls ?? {})
      ? "check that HOOKD_NATS_TLS_CERT and HOOKD_NATS_TLS_KEY are a pair the server's CA signed"
      : "if the server requires a client certificate, set HOOKD_NATS_TLS_CERT and HOOKD_NATS_TLS_KEY";
    return `the TLS handshake with NATS at ${at} failed (${message}): ${fix}`;
  }
  if (/does not support 'tls'|tls.*is not available/i.test(message)) {
    return `NATS at ${at} does not offer TLS, which hookd was told to use: use nats:// servers in NATS_URL ` +
      "and unset HOOKD_NATS_TLS_*, or enable TLS on the server";
  }
  return null;
}

function authRefusal(error: unknown, plan: ConnectPlan, at: string): string | null {
  if (error instanceof errors.UserAuthenticationExpiredError) {
    return `NATS at ${at} refused hookd's user: its JWT has expired; give HOOKD_NATS_CREDS a current .creds file`;
  }
  if (!(error instanceof errors.AuthorizationError)) return null;
  const fix = plan.authVariable
    ? `check ${plan.authVariable}`
    : "the server requires them: set NATS_URL's user:password@, HOOKD_NATS_TOKEN, HOOKD_NATS_NKEY or HOOKD_NATS_CREDS";
  return `NATS at ${at} refused hookd's credentials (authorization violation): ${fix}`;
}

export function refusalOf(error: unknown, plan: ConnectPlan, first: { display: string; timeoutMs: number }): Refusal {
  const code = codeOf(error);
  const message = messageOf(error);
  const final = authRefusal(error, plan, first.display) ?? tlsRefusal(code, message, plan, first.display);
  if (final !== null) return { final: true, reason: message, error: new NatsConnectError(final) };
  const reason = code && !message.includes(code) ? `${message}, ${code}` : message;
  return {
    final: false,
    reason,
    error: new NatsConnectError(
      `no NATS server reachable at ${first.display} within ${first.timeoutMs / 1000}s (${reason}): check ` +
        "NATS_URL, or raise HOOKD_NATS_CONNECT_TIMEOUT if the server needs longer to start",
    ),
  };
}

/** jetstreamManager() found no JetStream behind the connection (or none in HOOKD_JS_DOMAIN). */
export function jetStreamRefusal(error: unknown, at: string, domain: string | undefined): NatsConnectError {
  const message = messageOf(error);
  if (error instanceof errors.PermissionViolationError) {
    return new NatsConnectError(
      `NATS at ${at} does not let hookd's user call the JetStream API (${message}): grant the permissions ` +
        "that hookd nats-permissions prints (docs/nats.md)",
    );
  }
  const where = domain ? ` in the JetStream domain "${domain}" (HOOKD_JS_DOMAIN)` : "";
  if (/timeout|temporarily unavailable/i.test(message)) {
    // Asked for 30 s (src/start/nats-connection.ts): JetStream is there but nobody leads it.
    return new NatsConnectError(
      `JetStream at ${at}${where} has had no leader for 30 s (${message}): a NATS cluster needs most of its ` +
        `nodes up to elect one; start the other nodes, or check NATS_URL${domain ? " and HOOKD_JS_DOMAIN" : ""}`,
    );
  }
  const fix = domain
    ? "check HOOKD_JS_DOMAIN against the server's jetstream { domain: … }, and that hookd's user has what " +
      "hookd nats-permissions --domain prints"
    : "enable JetStream on the server (jetstream { store_dir: … }) or for hookd's account, or point NATS_URL at one that has it";
  return new NatsConnectError(`NATS at ${at} has no JetStream${where} (${message}): ${fix}`);
}

/**
 * A start that failed because hookd's NATS user may not use a subject it needs: the refusal naming the
 * subject, or null for any other failure. nats.js may wrap the violation, so the causes are walked.
 */
export function permissionRefusal(error: unknown): NatsConnectError | null {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (!(cause instanceof errors.PermissionViolationError)) continue;
    const what = cause.operation === "subscription" ? "subscribe to" : "publish to";
    return new NatsConnectError(
      `NATS does not let hookd's user ${what} "${cause.subject}": grant it every permission that ` +
        "hookd nats-permissions prints (docs/nats.md)",
    );
  }
  return null;
}
