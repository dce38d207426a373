/** Errors a command can end in, for any kind of actor; the HTTP layer turns them into 404 and 409. */

export type ActorKind = "delivery" | "subscription";

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
