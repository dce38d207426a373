import type { Context } from "hono";
import { type AddressRateLimit } from "../domain/address-rate-limit.ts";
import { constantTimeEqual, toHex } from "../domain/bytes.ts";
import { isDeliveryId } from "../domain/ids.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import { type DeliveryBody, loadDeliveryBody } from "../runtime/delivery-body.ts";
import { DeliveryNotFoundError } from "../runtime/delivery-commands.ts";
import { EventExpiredError } from "../runtime/errors.ts";
import { type ApiApp, defineRoute } from "./api-docs.ts";
import { clientAddress } from "./client-address.ts";
import { badRequest, ProblemError } from "./problem.ts";
import { readBody } from "./read-body.ts";
import { verifyRoute } from "./verify-docs.ts";

/**
 * POST /verify: a receiver that doubts a request posts its body back with its webhook-id, and hookd
 * answers whether it sent exactly that (PayPal's IPN model, which Hookah planned). The body is the
 * raw bytes received, not wrapped in JSON or base64, so nothing between the receiver and hookd can
 * re-encode it; the id rides in `Hookd-Delivery-Id` or `Webhook-Id`, the header it arrived in (or `?id=`). The answer says
 * nothing else: an unknown id, another body, a body too large and a delivery aged out of the journal
 * or topic log are all INVALID. Bodies compare by SHA-256 digest in constant time.
 */

export type VerifyDeps = {
  deliveryStore: DeliveryStore;
  topics: TopicLog;
  maxBodyBytes: number;
  isNatsConnected: () => boolean;
  clock: () => number;
  /** null: no limit (HOOKD_VERIFY_RATE=off). */
  verifyLimit: AddressRateLimit | null;
  /**
   * Asks for a delivery whose first attempt may be on the wire, its start not journaled yet (a fan-out
   * delivery, verified from the receiver's handler: decision record 31); resolves once it is, or is not there.
   */
  askForDelivery?: (id: string) => Promise<void>;
};

export function mountVerifyRoutes(app: ApiApp, deps: VerifyDeps): void {
  defineRoute(app, verifyRoute, async (c) => {
    refuseOverLimit(c, deps);
    const id = idOf(c);
    if (!deps.isNatsConnected()) throw new NatsUnavailableError(new Error("not connected"));
    const received = await readBounded(c, deps.maxBodyBytes);
    const verified = received !== null && isDeliveryId(id) && await sentBody(deps, id, received);
    return answer(c, verified);
  });
}

function refuseOverLimit(c: Context, deps: VerifyDeps): void {
  const taken = deps.verifyLimit?.take(clientAddress(c), deps.clock());
  if (!taken || taken.allowed) return;
  throw new ProblemError({
    status: 429,
    kind: "rate-limited",
    title: "Too many verifications from this address",
    detail: `Verify again after Retry-After; this address may verify ${deps.verifyLimit!.rate.count} times per ` +
      `${deps.verifyLimit!.rate.perMs / 1000} s (HOOKD_VERIFY_RATE).`,
    headers: { "retry-after": String(Math.max(1, Math.ceil(taken.retryAfterMs / 1000))) },
  });
}

function idOf(c: Context): string {
  // The same id arrives as webhook-id (Standard Webhooks) and Hookd-Delivery-Id (every delivery): any one will do.
  const given = [c.req.header("webhook-id"), c.req.header("hookd-delivery-id"), c.req.query("id")]
    .filter((id): id is string => id !== undefined);
  if (new Set(given).size > 1) {
    throw badRequest(
      "The Webhook-Id header, the Hookd-Delivery-Id header and ?id= name different deliveries; send one.",
      { field: "id" },
    );
  }
  const id = given[0];
  if (!id) {
    throw badRequest(
      "Name the delivery: send the Hookd-Delivery-Id (or Webhook-Id) the request carried as a header " +
        "(or as ?id=), and the body it carried, byte for byte, as the body.",
      { field: "Webhook-Id" },
    );
  }
  return id;
}

/** The body, or null when it is over the limit: a declared length over it is not read at all. */
async function readBounded(c: Context, maxBytes: number): Promise<Uint8Array | null> {
  try {
    return await readBody(c, maxBytes, "HOOKD_MAX_BODY");
  } catch (error) {
    if (error instanceof ProblemError && error.problem.status === 413) return null;
    throw error;
  }
}

async function sentBody(deps: VerifyDeps, id: string, received: Uint8Array): Promise<boolean> {
  let stored: Uint8Array;
  try {
    stored = (await loadAskingOnce(deps, id)).body;
  } catch (error) {
    if (error instanceof DeliveryNotFoundError || error instanceof EventExpiredError) return false;
    throw error;
  }
  const [ours, theirs] = await Promise.all([digest(stored), digest(received)]);
  return constantTimeEqual(ours, theirs);
}

/**
 * A delivery found nowhere may be a fan-out delivery on the wire (a batch's is found in its batch): asked
 * for, it is journaled, and read again. An unknown id so costs up to the ask's timeout.
 */
async function loadAskingOnce(deps: VerifyDeps, id: string): Promise<DeliveryBody> {
  try {
    return await loadDeliveryBody(deps, id);
  } catch (error) {
    if (!(error instanceof DeliveryNotFoundError) || !deps.askForDelivery) throw error;
  }
  await deps.askForDelivery(id);
  return await loadDeliveryBody(deps, id);
}

async function digest(bytes: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

function answer(c: Context, verified: boolean): Response {
  // Never cached: the same request is INVALID once the delivery ages out.
  const headers = { "cache-control": "no-store", vary: "accept" };
  if (/\bapplication\/json\b/i.test(c.req.header("accept") ?? "")) {
    return c.json({ verified }, 200, headers);
  }
  return c.text(verified ? "VERIFIED" : "INVALID", 200, headers);
}
