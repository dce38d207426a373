import { subscriptionFold } from "../../actors/subscription.fold.ts";
import { SUBSCRIPTION_ID_PATTERN, ulid } from "../domain/ids.ts";
import type { SubscriptionConfig, SubscriptionTransition } from "../domain/subscription-events.ts";
import { JournalConflictError } from "../nats/journal.ts";
import { ActorNotFoundError, TransitionRefusedError } from "./errors.ts";
import type { StoredSubscription, SubscriptionStore } from "../nats/subscription-store.ts";

/** What a user can ask of subscriptions: load → decide with the machine → append at the expected sequence. */

export class SubscriptionNotFoundError extends ActorNotFoundError {
  constructor(id: string) {
    super("subscription", id);
  }
}

/** What a re-seal's update event says it changed. */
export const SECRET_SEALING = "secret-sealing";

export class SubscriptionCommands {
  constructor(
    private readonly deps: {
      store: SubscriptionStore;
      clock: () => number;
      failureThreshold: number;
      /** Told of every change this instance makes, once it is in the journal, with the state it left (null for a new one). */
      onChange?: (id: string, subscription: StoredSubscription, seq: number, previousState: string | null) => void;
      /** Finishes a new subscription's setting up (an ordered one's line) before create returns. */
      afterCreate?: (id: string, subscription: StoredSubscription) => Promise<void>;
    },
  ) {}

  private now(): string {
    return new Date(this.deps.clock()).toISOString();
  }

  /** Creates a subscription; with a given id (static ones) a second create fails with JournalConflictError. */
  async create(
    config: SubscriptionConfig,
    options: { id?: string; needsVerification?: boolean; expiresAt?: number | null } = {},
  ): Promise<StoredSubscription & { id: string }> {
    const id = options.id ?? "sub_" + ulid(this.deps.clock(), crypto.getRandomValues(new Uint8Array(10)));
    const input = {
      id,
      needsVerification: options.needsVerification ?? false,
      expiresAt: options.expiresAt ?? null,
      failureThreshold: this.deps.failureThreshold,
    };
    const snapshot = subscriptionFold.initial(input);
    const at = this.now();
    const subscription: StoredSubscription = {
      ...subscriptionFold.persist(snapshot),
      config,
      createdAt: at,
      updatedAt: at,
    };
    const seq = await this.deps.store.append(id, { type: "subscription.created", at, data: input }, subscription, 0);
    this.deps.onChange?.(id, subscription, seq, null);
    await this.deps.afterCreate?.(id, subscription);
    return { id, ...subscription };
  }

  async get(id: string): Promise<StoredSubscription> {
    const found = await this.find(id);
    if (!found) throw new SubscriptionNotFoundError(id);
    return found;
  }

  async find(id: string): Promise<StoredSubscription | null> {
    const head = SUBSCRIPTION_ID_PATTERN.test(id) ? await this.deps.store.readHead(id) : null;
    return head?.subscription ?? null;
  }

  /** Changes settings; refused once the subscription is unsubscribed. */
  async update(
    id: string,
    change: (config: SubscriptionConfig) => { config: SubscriptionConfig; changed: string[] },
  ): Promise<StoredSubscription> {
    return this.decide(id, "updated", (current) => {
      if (current.state === "unsubscribed") throw new TransitionRefusedError("subscription", "updated", current.state);
      const { config, changed } = change(current.config);
      const at = this.now();
      return {
        event: { type: "subscription.updated", at, data: { changed } },
        after: { ...current, config, updatedAt: at },
      };
    });
  }

  /**
   * Writes the subscription again as it is, so its secrets are sealed under the current key (after a
   * key rotation). Journaled as an update that changed "secret-sealing"; unsubscribed ones too, since
   * every instance still reads their current entry.
   */
  reseal(id: string): Promise<StoredSubscription> {
    return this.decide(id, "resealed", (current) => ({
      event: { type: "subscription.updated", at: this.now(), data: { changed: [SECRET_SEALING] } },
      after: current,
    }));
  }

  activate(id: string) {
    return this.transition(id, "activated", { type: "subscription.resumed", at: this.now(), data: {} });
  }

  deactivate(id: string, reason = "deactivated by its owner") {
    return this.transition(id, "deactivated", { type: "subscription.paused", at: this.now(), data: { reason } });
  }

  unsubscribe(id: string, reason = "deleted by its owner") {
    return this.transition(id, "unsubscribed", { type: "subscription.unsubscribed", at: this.now(), data: { reason } });
  }

  /** A lifecycle event, decided by the machine. */
  transition(id: string, command: string, event: SubscriptionTransition): Promise<StoredSubscription> {
    return this.decide(id, command, (current) => {
      const next = subscriptionFold.apply(subscriptionFold.restore(current), event);
      if (!next) throw new TransitionRefusedError("subscription", command, current.state);
      return { event, after: { ...current, ...subscriptionFold.persist(next), updatedAt: event.at } };
    });
  }

  private async decide(
    id: string,
    command: string,
    decide: (
      current: StoredSubscription,
    ) => { event: Parameters<SubscriptionStore["append"]>[1]; after: StoredSubscription },
  ): Promise<StoredSubscription> {
    for (let round = 0; round < 5; round++) {
      const head = SUBSCRIPTION_ID_PATTERN.test(id) ? await this.deps.store.readHead(id) : null;
      if (!head) throw new SubscriptionNotFoundError(id);
      const { event, after } = decide(head.subscription);
      try {
        const seq = await this.deps.store.append(id, event, after, head.seq);
        this.deps.onChange?.(id, after, seq, head.subscription.state);
        return after;
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
      }
    }
    throw new Error(`subscription ${id} kept changing while being ${command}; try again`);
  }
}
