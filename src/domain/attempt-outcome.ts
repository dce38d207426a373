/** How an HTTP answer or a transport error counts for a delivery. */
export type OutcomeClass =
  | { kind: "success" }
  | { kind: "permanent"; reason: string }
  | { kind: "retry"; honourRetryAfter: boolean };

export function classifyStatus(status: number): OutcomeClass {
  if (status >= 200 && status < 300) return { kind: "success" };
  // 410 Gone is the receiver saying "stop": retrying would only be noise.
  if (status === 410) return { kind: "permanent", reason: "receiver answered 410 Gone" };
  if (status === 429 || status === 503) return { kind: "retry", honourRetryAfter: true };
  return { kind: "retry", honourRetryAfter: false };
}

/** Error codes the delivery I/O layer reports; only some of them can heal by themselves. */
export type AttemptErrorCode =
  | "forbidden-target"
  | "invalid-target"
  | "timeout"
  | "network"
  | "payload-expired"
  | "secret-unopenable";

export function classifyError(code: AttemptErrorCode): OutcomeClass {
  if (code === "forbidden-target") return { kind: "permanent", reason: "target resolves to a forbidden network" };
  if (code === "invalid-target") return { kind: "permanent", reason: "target URL cannot be requested" };
  if (code === "payload-expired") {
    return { kind: "permanent", reason: "the event is no longer in the topic log (HOOKD_TOPIC_MAX_AGE)" };
  }
  if (code === "secret-unopenable") {
    return { kind: "permanent", reason: "the delivery's sealed signing secret does not open (malformed or tampered)" };
  }
  return { kind: "retry", honourRetryAfter: false };
}
