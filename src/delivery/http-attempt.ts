import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { Agent } from "undici";
import type { AttemptErrorCode } from "../domain/attempt-outcome.ts";
import type { NetworkPolicy } from "./network-policy.ts";
import { cappedExchange } from "./capped-exchange.ts";

/**
 * One outbound HTTP attempt: bounded in time, no redirects followed, the response kept up to a
 * size, and every address the socket connects to checked against the network policy (the DNS
 * lookup happens inside the connect, so a name can't resolve to one address for the check and
 * another for the connection).
 */

export type OutboundRequest = { url: string; method: string; headers: Record<string, string>; body: Uint8Array };

export type AttemptResult = {
  response?: { status: number; headers: Record<string, string>; body: string; bodyTruncated: boolean };
  latencyMs: number;
  error?: string;
  errorCode?: AttemptErrorCode;
};

export type FetchedContent = { status: number; headers: Record<string, string>; body: Uint8Array };

export type HttpAttempter = {
  send(request: OutboundRequest): Promise<AttemptResult>;
  /** GETs a resource whole (up to maxBytes), through the same guard and limits: WebSub's content fetch. */
  get(url: string, maxBytes: number): Promise<FetchedContent>;
  close(): Promise<void>;
};

export const RESPONSE_BODY_LIMIT = 64 * 1024;

class ForbiddenTargetError extends Error {
  readonly code = "HOOKD_FORBIDDEN_TARGET";
}

class InvalidTargetError extends Error {
  readonly code = "HOOKD_INVALID_TARGET";
}

function guardedLookup(policy: NetworkPolicy) {
  return (
    hostname: string,
    options: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const verdicts = addresses.map((entry) => ({ address: entry.address, ...policy.verdict(entry.address) }));
      const forbidden = verdicts.find((entry) => !entry.allowed);
      if (forbidden) {
        return callback(
          new ForbiddenTargetError(
            `${hostname} resolves to ${forbidden.address}, which HOOKD_ALLOWED_NETWORKS does not allow: ${forbidden.reason}`,
          ),
          [],
        );
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** Requests refused before any byte is sent: by undici, by cappedExchange, by checkedUrl, or by a URL parser. */
const INVALID_TARGET_CODES = ["UND_ERR_INVALID_ARG", "HOOKD_INVALID_TARGET", "ERR_INVALID_URL"];

function describeError(error: unknown): { code: AttemptErrorCode; message: string } {
  for (
    let current = error as (Error & { code?: string; cause?: unknown }) | undefined;
    current;
    current = current.cause as typeof current
  ) {
    if (current instanceof ForbiddenTargetError || current.code === "HOOKD_FORBIDDEN_TARGET") {
      return { code: "forbidden-target", message: current.message };
    }
    if (current.name === "TimeoutError" || current.name === "AbortError" || /TIMEOUT/.test(current.code ?? "")) {
      return { code: "timeout", message: `timed out: ${current.message}` };
    }
    if (INVALID_TARGET_CODES.includes(current.code ?? "")) {
      return { code: "invalid-target", message: current.message };
    }
  }
  const top = error as Error & { code?: string; cause?: Error & { code?: string } };
  const code = top.cause?.code ?? top.code;
  return { code: "network", message: `${code ? `${code}: ` : ""}${top.cause?.message ?? top.message}` };
}

const decoder = new TextDecoder();

type AttempterOptions = { timeoutMs: number; policy: NetworkPolicy; connectionsPerOrigin?: number };

export function createHttpAttempter(options: AttempterOptions): HttpAttempter {
  const agent = new Agent({
    connect: { lookup: guardedLookup(options.policy), timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 4_000,
    connections: options.connectionsPerOrigin ?? 128,
  });
  return {
    send: (outbound) => send(agent, options, outbound),
    async get(target, maxBytes) {
      const request = {
        url: checkedUrl(options.policy, target),
        method: "GET",
        headers: { "user-agent": "hookd/0.1" },
      };
      // One byte past the limit tells "too large" from "exactly the limit".
      const response = await cappedExchange(agent, request, maxBytes + 1, options.timeoutMs);
      if (response.truncated || response.body.length > maxBytes) {
        throw new Error(`the content is larger than ${maxBytes} bytes`);
      }
      return { status: response.status, headers: flattenHeaders(response.headers), body: response.body };
    },
    close: () => agent.close(),
  };
}

/** Literal IPs never reach the DNS lookup hook, so they are checked here. */
function checkedUrl(policy: NetworkPolicy, target: string): URL {
  // URL.canParse is Node 19.9+ and Deno alike; a thrown TypeError carries a code only on Node.
  if (!URL.canParse(target)) throw new InvalidTargetError(`${JSON.stringify(target)} is not a URL`);
  const url = new URL(target);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidTargetError(`${url.protocol} is not a scheme hookd delivers to: use http: or https:`);
  }
  const verdict = policy.literalVerdict(url.hostname);
  if (verdict && !verdict.allowed) {
    throw new ForbiddenTargetError(
      `${url.hostname} is in a network that HOOKD_ALLOWED_NETWORKS does not allow: ${verdict.reason}`,
    );
  }
  return url;
}

async function send(agent: Agent, options: AttempterOptions, outbound: OutboundRequest): Promise<AttemptResult> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const url = checkedUrl(options.policy, outbound.url);
    const hasBody = outbound.body.length > 0 && outbound.method !== "GET" && outbound.method !== "HEAD";
    const request = {
      url,
      method: outbound.method,
      headers: outbound.headers,
      body: hasBody ? outbound.body : undefined,
    };
    const response = await cappedExchange(agent, request, RESPONSE_BODY_LIMIT, options.timeoutMs);
    return {
      response: {
        status: response.status,
        headers: flattenHeaders(response.headers),
        body: decoder.decode(response.body),
        bodyTruncated: response.truncated,
      },
      latencyMs: latency(),
    };
  } catch (error) {
    const { code, message } = describeError(error);
    return { latencyMs: latency(), error: message, errorCode: code };
  }
}
