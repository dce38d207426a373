import {
  applyDeliveryEvent,
  deliveryInputOf,
  initialDelivery,
  persistDelivery,
  restoreDelivery,
  stateOf,
} from "../../actors/delivery.fold.ts";
import type { DeliveryState } from "../../actors/delivery.machine.ts";
import { DELIVERY_ID_PREFIX, isDeliveryId, ulid } from "../domain/ids.ts";
import type { DeliveryCreated, DeliveryRequest, DeliveryTransition } from "../domain/delivery-events.ts";
import { deliveryConflicts, deliveryRequestDigests, IdempotencyKeyReusedError } from "../domain/idempotency.ts";
import type { DeliverySecrets } from "../domain/delivery-secrets.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import { JournalConflictError } from "../nats/journal.ts";
import { ActorNotFoundError, TransitionRefusedError } from "./errors.ts";
import type { IngestBatcher } from "../nats/ingest-batcher.ts";
import { tagsOf } from "../nats/delivery-change-headers.ts";

/** What a user can ask of deliveries: create one, retry it by hand, cancel it. */

/** Kept as names for what the delivery API throws. */
export class DeliveryNotFoundError extends ActorNotFoundError {
  constructor(id: string) {
    super("delivery", id);
  }
}

export type CreateDelivery = {
  request: DeliveryRequest;
  secrets: string[];
  source: "dispatch" | "api";
  idempotencyKey?: string | undefined;
  /**
   * The secrets the request itself named (none when it left signing to the server's default), for
   * the Idempotency-Key's fingerprint: a server secret changed between a request and its retry is
   * no conflict. Defaults to `secrets`.
   */
  givenSecrets?: readonly string[];
  /** Report URLs, already checked against the network policy. */
  reports?: { callbackUrl?: string | undefined; errbackUrl?: string | undefined };
};

export type CommandDeps = {
  store: DeliveryStore;
  /** Seals the secrets before they go into the journal. */
  secrets: DeliverySecrets;
  /** Group commit for unkeyed creates; without it every create is its own journal message. */
  batcher?: IngestBatcher;
  clock: () => number;
  randomBytes: (length: number) => Uint8Array;
  schedule: readonly number[];
};

/** A retry or cancel a bulk job asks for. */
export type BulkOrigin = {
  /** The job's id, journaled with the request. */
  job: string;
  /**
   * The job was taken over and the delivery is in the chunk its previous runner may have acted on
   * without journaling its progress: when the delivery's journal already holds this job's request,
   * nothing more is done (a retried delivery still pending has lost work queued again, as any retry
   * of a pending delivery does). Costs a read of the delivery's whole journal, so only then.
   */
  resumed?: boolean;
};

// A batch's deliveries share its time (ingest-batcher.ts), so the text is made once per batch, not per delivery.
let lastIso = { ms: Number.NaN, text: "" };
const iso = (ms: number) =>
  ms === lastIso.ms ? lastIso.text : (lastIso = { ms, text: new Date(ms).toISOString() }).text;
const requestData = (origin: BulkOrigin | undefined) => (origin ? { bulkJob: origin.job } : {});

export class DeliveryCommands {
  #releaseLine: ((subscriptionId: string) => Promise<void>) | null = null;

  constructor(private readonly deps: CommandDeps) {}

  /**
   * What moves an ordered line on once its head is cancelled, set at start-up when the ordered lines
   * exist (they are built after these commands). Every cancel (the API's, the console's, a bulk
   * job's) then lets the next event go at once rather than at the next sweep.
   */
  releaseOrderedLinesWith(release: (subscriptionId: string) => Promise<void>): void {
    this.#releaseLine = release;
  }

  newId(): string {
    return DELIVERY_ID_PREFIX + ulid(this.deps.clock(), this.deps.randomBytes(10));
  }

  /**
   * Stores a new delivery. With an Idempotency-Key, the same request again answers the first
   * delivery (duplicate), and a different request with the key is refused (IdempotencyKeyReusedError).
   */
  async create(command: CreateDelivery): Promise<{ id: string; duplicate: boolean }> {
    const key = command.idempotencyKey;
    const digests = key === undefined ? [] : await deliveryRequestDigests({
      source: command.source,
      request: command.request,
      givenSecrets: command.givenSecrets ?? command.secrets,
    }, this.deps.secrets.fingerprints);
    const requestDigest = digests[0];
    const secrets = await this.deps.secrets.seal(command.secrets);
    const build = (id: string, at: number): DeliveryCreated => ({
      type: "delivery.created",
      at: iso(at),
      data: {
        id,
        request: command.request,
        schedule: [...this.deps.schedule],
        secrets,
        source: command.source,
        ...(key !== undefined ? { idempotencyKey: key, requestDigest } : {}),
        ...(command.reports?.callbackUrl ? { callbackUrl: command.reports.callbackUrl } : {}),
        ...(command.reports?.errbackUrl ? { errbackUrl: command.reports.errbackUrl } : {}),
      },
    });
    // A keyed create is deduplicated by JetStream per message, so it keeps a message of its own.
    if (this.deps.batcher && key === undefined) {
      const id = await this.deps.batcher.add(build);
      if (id !== null) return { id, duplicate: false };
    }
    const created = build(this.newId(), this.deps.clock());
    const { id, duplicate, original } = await this.deps.store.create(created);
    const conflicts = original ? deliveryConflicts(original.data, created.data, digests) : [];
    if (conflicts.length > 0) throw new IdempotencyKeyReusedError(key!, "delivery", conflicts);
    return { id, duplicate };
  }

  /**
   * Manual retry of a failed or cancelled delivery; on a pending one it puts the delivery back on the queue.
   * A second retry of a delivery whose first one's round already failed starts another round: what a
   * bulk job taken over must not do to the deliveries its dead runner retried (see BulkOrigin).
   */
  async retry(id: string, origin?: BulkOrigin): Promise<DeliveryState> {
    return this.decide(id, "retried", async (state, seq, inBatch) => {
      // Still in its ingest batch: the batch's worker will attempt it; a work item beside it could send it twice.
      if (state === "pending" && inBatch) return null;
      if (state === "pending") {
        // Only work that was lost is queued again: a second item beside the first could have two workers send it.
        if (!(await this.deps.store.isQueued(id))) await this.deps.store.enqueueWork(id, `requeue:${id}:${seq}`);
        return null;
      }
      if (await this.#alreadyAsked(id, "delivery.retry-requested", origin)) return null;
      return { type: "delivery.retry-requested", at: iso(this.deps.clock()), data: requestData(origin) };
    }, async (seq) => this.deps.store.enqueueWork(id, `retry:${id}:${seq}`));
  }

  async cancel(id: string, origin?: BulkOrigin): Promise<DeliveryState> {
    return this.decide(
      id,
      "cancelled",
      async () => {
        if (await this.#alreadyAsked(id, "delivery.cancel-requested", origin)) return null;
        return { type: "delivery.cancel-requested", at: iso(this.deps.clock()), data: requestData(origin) };
      },
      async (_seq, created) => {
        const { ordered, subscriptionId } = created.data;
        if (ordered && subscriptionId) await this.#releaseLine?.(subscriptionId);
      },
    );
  }

  /** Whether a resumed bulk job already asked this of the delivery (its journal holds the job's request). */
  async #alreadyAsked(id: string, type: DeliveryTransition["type"], origin: BulkOrigin | undefined): Promise<boolean> {
    if (!origin?.resumed) return false;
    const transitions = await this.deps.store.readTransitions(id);
    return transitions.some(({ event }) =>
      event.type === type && "bulkJob" in event.data && event.data.bulkJob === origin.job
    );
  }

  /** Load → decide → append at the expected sequence → retry on conflict. */
  private async decide(
    id: string,
    command: string,
    /** `inBatch`: nothing of the delivery is journaled yet; it waits in its ingest batch. */
    decide: (state: DeliveryState, seq: number, inBatch: boolean) => Promise<DeliveryTransition | null>,
    afterAppend?: (seq: number, created: DeliveryCreated) => Promise<void>,
  ): Promise<DeliveryState> {
    // Before any id goes into a subject: a wildcard would read or journal on every delivery's.
    if (!isDeliveryId(id)) throw new DeliveryNotFoundError(id);
    const created = await this.deps.store.readCreated(id);
    if (!created) throw new DeliveryNotFoundError(id);
    for (let round = 0; round < 5; round++) {
      const head = await this.deps.store.readHead(id);
      const snapshot = head ? restoreDelivery(head.after) : initialDelivery(deliveryInputOf(created.event));
      const inBatch = created.seq === 0 && !head;
      const event = await decide(stateOf(snapshot), head?.seq ?? 0, inBatch);
      if (!event) return stateOf(snapshot);
      const next = applyDeliveryEvent(snapshot, event);
      if (!next) throw new TransitionRefusedError("delivery", command, stateOf(snapshot));
      try {
        // Still in its ingest batch: the batch's worker must read the delivery's journal before sending it, and
        // this append carries the created event (decision record 26), so the journal (and the index that
        // follows it) never holds a transition before the delivery's created event.
        if (inBatch) await this.deps.store.markBatchTouched(id);
        const seq = await this.deps.store.appendTransitions(
          id,
          [{ event, after: persistDelivery(next) }],
          head?.seq ?? 0,
          { from: stateOf(snapshot), tags: tagsOf(created.event) },
          inBatch ? created.event : undefined,
        );
        await afterAppend?.(seq, created.event);
        return stateOf(next);
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
      }
    }
    throw new Error(`delivery ${id} kept changing; try again`);
  }
}
