/** Errors a command can end in, for any kind of actor; the HTTP layer turns them into 404 and 409. */

export type ActorKind = "delivery" | "subscription" | "event" | "bulk-job";

export class ActorNotFoundError extends Error {
  constructor(
    readonly kind: ActorKind,
    readonly id: string,
  ) {
    super(`There is no ${kind} with id "${id}".`);
  }
}

export class TransitionRefusedError extends Error {
  constructor(
    readonly kind: ActorKind,
    readonly command: string,
    readonly state: string,
  ) {
    super(`a ${kind} in state "${state}" cannot be ${command}`);
  }
}

/** A published event that has aged out of the topic log (HOOKD_TOPIC_MAX_AGE): it existed, its payload is gone. */
export class EventExpiredError extends Error {
  constructor(
    readonly eventId: string,
    readonly seq: number,
  ) {
    super(
      `Event "${eventId}" (topic-log sequence ${seq}) has aged out of the topic log (HOOKD_TOPIC_MAX_AGE), and its payload with it.`,
    );
  }
}
