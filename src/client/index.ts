/**
 * hookd's client: read a topic stream without missing a message across reconnects and restarts,
 * publish to topics, dispatch webhooks. Web standards only (fetch, streams, AbortSignal), so the
 * same code runs in Node 20+, Deno and browsers.
 */

export { listen, type ListenOptions } from "./listen.ts";
export { publish, type Published, type PublishOptions } from "./publish.ts";
export { dispatch, type DispatchOptions, type DispatchRequest } from "./dispatch.ts";
export { HookdError, type Problem, StreamEndedError } from "./hookd-error.ts";
export type { TopicMessage } from "./topic-message.ts";
export type { BackoffOptions } from "./backoff.ts";
